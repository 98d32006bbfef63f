"""Marker-controlled watershed from predicted channels (every channel set but E and R).

Seeds are the AND of thresholded seed channels, the topographic surface is one
channel turned so that instance centres are basins, and growth is restricted to
the AND of thresholded growth-mask channels. F, P, Db and D select above their
threshold; C, B, T, Dn and Dc below; H/V/Z through Sobel derivatives of the
offsets (:func:`offset_slope`: an offset to the centre falls along its own axis
inside an instance, is flat across the others and jumps at rims).
Affinity planes (A) are aggregated first: their minimum is the seed map and
surface, their maximum on either side of each pixel the foreground (growth mask).

After the flood, two clean-ups make the decoding of a perfect encoding exact:
foreground components that hold no seed become instances of their own (unless
they are specks under the fragment size), and fragments (regions under a fraction
of the median instance size) are merged into the instance they touch most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label as connected_components

from ..channels import ENCODERS
from ..channels.affinity import aggregate_affinities, offsets_from_plane_names
from ..labels.morphology import as_volume, dilate_mask, erode_mask, remove_small_labels
from .flood import flood_from_seeds
from .fragments import fragment_table
from .settings import WatershedSettings, infer_watershed_defaults  # noqa: F401 (re-exported)


def _polarity(code: str) -> str:
    """How a channel selects seeds, as its encoder records it: above, below or gradient."""
    return ENCODERS[code].polarity


def _is_offset(code: str) -> bool:
    return _polarity(code) == "gradient"


@dataclass
class WatershedResult:
    """``labels`` (uint32, ids 1..n) and what made them: seeds, surface and growth mask."""

    labels: np.ndarray
    seeds: np.ndarray
    surface: np.ndarray
    growth_mask: np.ndarray
    settings: dict = field(default_factory=dict)
    min_seed_size: int = 0
    by_2d_slices: bool = False

    @property
    def seed_map(self) -> np.ndarray:
        """The seeds as the markers of the flood: face-connected components, small ones removed (for
        inspection)."""
        if self.by_2d_slices:
            return np.stack([label_seeds(plane, self.min_seed_size) for plane in self.seeds])
        return label_seeds(self.seeds, self.min_seed_size)


def label_seeds(seeds: np.ndarray, min_size: int = 0) -> np.ndarray:
    """Face-connected components of a seed mask, those under ``min_size`` voxels removed (int64)."""
    return remove_small_labels(
        connected_components(seeds, connectivity=1).astype(np.int64), min_size
    )


def offset_slope(channels: np.ndarray, codes: Sequence[str], used: Sequence[str]) -> np.ndarray:
    """Where the offset channels in ``used`` stop looking like one instance's: < 0 inside, > 0 at
    rims.

    An offset to the centre (centre - coordinate along its axis) falls at a steady rate
    along its own axis inside an instance and does not change across the other axes.
    So the score of a pixel is, over the offsets, the largest of: the Sobel derivative
    along the own axis (it jumps up at every rim along that axis), plus the largest
    Sobel derivative across the other axes (a jump there is the boundary with a
    touching instance whose centre lies elsewhere on this axis). A gradient magnitude
    would mix the two: a small instance's inside is steeper than a large one's rim.
    """
    from ._kernels import offset_slope_volume

    # a 2D image rides as one (1, Y, X) slice, which the kernel reads as 2D
    volume = np.stack([as_volume(channels[codes.index(code)], np.float32) for code in used])
    own_axes = np.array([{"H": 2, "V": 1, "Z": 0}[code] for code in used], dtype=np.int64)
    return offset_slope_volume(volume, own_axes, channels.ndim == 3).reshape(channels.shape[1:])


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold over 256 bins, as skimage.filters.threshold_otsu, compiled."""
    from ._kernels import otsu_256

    values = np.ascontiguousarray(values).ravel()
    low, high = (
        values.min(),
        values.max(),
    )  # numpy's vectorised reductions beat a compiled loop here
    if not high > low:
        return float(low)
    return float(otsu_256(values, low, high))


def _auto_threshold(values: np.ndarray) -> float:
    return otsu_threshold(values) if values.size else 0.0


class ChannelFigures:
    """What an 'auto' threshold reads of one channel, computed once each: Otsu's threshold,
    Otsu's threshold of its positive values, its maximum. From an array in memory, or
    (``blocks``) from a channel read block by block, with the same figures."""

    def __init__(self, values, blocks: Sequence[tuple[slice, ...]] | None = None):
        self.values, self.blocks, self.found = values, blocks, {}

    def _parts(self, positive: bool):
        for box in self.blocks or [...]:
            part = np.asarray(self.values[box]).ravel()
            yield part[part > 0] if positive else part

    def _otsu(self, positive: bool) -> float:
        from ._kernels import histogram_256, otsu_of_counts

        if self.blocks is None:
            values = np.asarray(self.values)
            return _auto_threshold(values[values > 0] if positive else values)
        low, high, size = np.inf, -np.inf, 0
        for part in self._parts(positive):
            if part.size:
                low, high, size = min(low, part.min()), max(high, part.max()), size + part.size
        if not size or not high > low:
            return float(low) if size else 0.0
        counts = np.zeros(256, np.int64)
        for part in self._parts(positive):
            if part.size:
                counts += histogram_256(np.ascontiguousarray(part), low, high)
        return float(otsu_of_counts(counts, low, high))

    def get(self, name: str) -> float:
        if name not in self.found:
            if name == "max":
                self.found[name] = max(float(p.max()) for p in self._parts(False) if p.size)
            else:
                self.found[name] = self._otsu(positive=name == "positive_otsu")
        return self.found[name]


def auto_threshold(code: str, figures: ChannelFigures, *, growth: bool) -> float:
    """The threshold 'auto' stands for on channel ``code`` (not an offset)."""
    if code == "D":
        # D is signed: its boundary is 0 whatever the balance of inside and outside
        # (Otsu over a mostly-background image lands in the background)
        return 0.0 if growth else figures.get("positive_otsu")
    otsu = figures.get("otsu")
    if growth and ENCODERS[code].kind != "binary":
        # distance channels are small near instance rims, so the mask needs a lower cut:
        # BiaPy's Otsu / 2, mirrored for 'below' channels
        above = _polarity(code) not in ("below", "gradient")
        return otsu / 2 if above else (otsu + figures.get("max")) / 2
    # a binary channel learnt with BCE already puts the boundary at its Otsu cut (~0.5);
    # BiaPy's Otsu / 2 grows every instance about a pixel too far
    return otsu


def _select(
    values: np.ndarray,
    code: str,
    threshold: float | str,
    *,
    growth: bool,
    otsu_cache: dict | None = None,
) -> tuple[np.ndarray, float]:
    """Binary selection of one channel (or the offset gradient) and the threshold used."""
    polarity = "below" if _polarity(code) in ("below", "gradient") else "above"
    if threshold == "auto" and _is_offset(code):
        threshold = 0.0  # the offsets fall inside instances and rise at their rims
    elif threshold == "auto":
        # seeds and growth mask often threshold the same channel: its figures serve both
        otsu_cache = {} if otsu_cache is None else otsu_cache
        figures = otsu_cache.setdefault(code, ChannelFigures(values))
        threshold = auto_threshold(code, figures, growth=growth)
    threshold = float(threshold)
    return (values > threshold if polarity == "above" else values < threshold), threshold


def _combine(
    channels: np.ndarray,
    codes: list[str],
    chosen: Sequence[str],
    thresholds: Sequence[float | str],
    *,
    growth: bool,
    otsu_cache: dict | None = None,
) -> tuple[np.ndarray, dict]:
    thresholds = list(thresholds) or ["auto"] * len(chosen)
    used: dict[str, float] = {}
    offsets = [c for c in chosen if _is_offset(c)]
    offset_thresholds = [t for c, t in zip(chosen, thresholds) if _is_offset(c)]
    selections = []
    for code, threshold in zip(chosen, thresholds):
        if _is_offset(code):
            continue
        selected, used[code] = _select(
            channels[codes.index(code)], code, threshold, growth=growth, otsu_cache=otsu_cache
        )
        selections.append(selected)
    if offsets:
        slope = offset_slope(channels, codes, offsets)
        selected, value = _select(slope, offsets[0], offset_thresholds[0], growth=growth)
        used["+".join(offsets)] = value
        selections.append(selected)
    # the AND of the selections, in the first one's array (each is a fresh mask)
    mask = selections[0] if selections else np.ones(channels.shape[1:], dtype=bool)
    for selected in selections[1:]:
        mask &= selected
    return mask, used


def gaussian_3_taps(values: np.ndarray, sigma: float = 1.0, *, negate: bool = False) -> np.ndarray:
    """ndi.gaussian_filter(values, sigma, truncate=1.0) for sigma < 1.5 (a 3-tap kernel), compiled;
    negated on request."""
    from ._kernels import smooth_3_taps

    if not 0 < sigma < 1.5:
        smoothed = ndi.gaussian_filter(values.astype(np.float32), sigma=sigma, truncate=1.0)
        return -smoothed if negate else smoothed
    taps = np.exp(-0.5 / sigma**2 * np.array([1.0, 0.0]))
    side, middle = taps / (2 * taps[0] + taps[1])
    return smooth_3_taps(
        as_volume(values, np.float32), side, middle, -1.0 if negate else 1.0
    ).reshape(values.shape)


def topographic_surface(
    channels: np.ndarray, codes: list[str], surface_channel: str, *, sigma: float = 1.0
) -> np.ndarray:
    """The surface seeds flood: basins at instance centres (negated for 'above' channels)."""
    if _is_offset(surface_channel):
        offsets = [c for c in codes if _is_offset(c)]
        return offset_slope(channels, codes, offsets)
    # a 3-tap kernel (truncate=1) as BiaPy: the same smoothing at the scale that matters,
    # and fewer distinct levels make the watershed about 1.5x faster than the default 9 taps
    return gaussian_3_taps(
        channels[codes.index(surface_channel)], sigma, negate=_polarity(surface_channel) == "above"
    )


def _watershed_once(channels: np.ndarray, codes: list[str], settings: WatershedSettings):
    """Labels (int, ids 1..n with gaps), seeds, surface, growth mask and thresholds of one image."""
    otsu_cache: dict[str, float] = {}
    seeds, seed_used = _combine(
        channels,
        codes,
        settings.seed_channels,
        settings.seed_thresholds,
        growth=False,
        otsu_cache=otsu_cache,
    )
    for operation, radius in zip(settings.seed_morph_sequence, settings.seed_morph_radius):
        seeds = (
            erode_mask(seeds, radius, border_value=0)
            if operation == "erode"
            else dilate_mask(seeds, radius)
        )
    growth, growth_used = _combine(
        channels,
        codes,
        settings.growth_channels,
        settings.growth_thresholds,
        growth=True,
        otsu_cache=otsu_cache,
    )
    if settings.erode_and_dilate_growth_mask:
        growth = dilate_mask(
            erode_mask(growth, settings.fore_erosion_radius), settings.fore_dilation_radius
        )
    surface = topographic_surface(channels, codes, settings.surface_channel)
    # seed components are face-connected, as BiaPy's: seeds that touch only diagonally stay apart
    flood = flood_from_seeds(
        surface,
        seeds,
        growth,
        min_seed_size=settings.remove_small_before if settings.remove_before else 0,
        unseeded_fraction=settings.fragment_fraction if settings.label_unseeded else None,
    )
    # fragments (seeded ids only: unseeded components are never under the fragment size)
    # and gaps merge into one table, so the labels are written once, consecutive, uint32
    table = (
        fragment_table(
            flood.padded.labels,
            surface.ndim,
            settings.fragment_fraction * flood.median_seeded_size,
            flood.sizes,
        )
        if settings.fragment_fraction > 0
        else None
    )
    table = np.arange(flood.sizes.size) if table is None else table
    labels = flood.unpadded(consecutive_ids(table, flood.sizes))
    return (
        labels,
        seeds,
        surface,
        growth,
        {"seed_thresholds": seed_used, "growth_thresholds": growth_used},
    )


def consecutive_ids(table: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """uint32 table that maps each id i to 1..n in the order of ``table[i]``, for the ids whose
    target is not empty.

    ``table`` maps ids to ids (a merge), ``sizes`` counts the voxels of each id before it;
    targets that end up with no voxel leave no gap.
    """
    merged = np.bincount(table, weights=sizes, minlength=sizes.size)
    present = merged > 0
    present[0] = False
    renumber = np.zeros(sizes.size, dtype=np.uint32)
    renumber[present] = np.arange(1, int(present.sum()) + 1, dtype=np.uint32)
    return renumber[table]


def watershed_from_channels(
    channels: np.ndarray,
    codes: Sequence[str],
    settings: WatershedSettings | None = None,
    **options,
) -> WatershedResult:
    """Instances from predicted channels by marker-controlled watershed.

    Parameters
    ----------
    channels : (C, [Z,] Y, X) float array, one map per code in ``codes``.
    codes : the channel codes, in order.
    settings : the watershed's settings; keyword ``options`` (the fields of
        :class:`WatershedSettings`) replace single fields.
    seed_channels, surface_channel, growth_channels : empty to infer them from ``codes``.
    seed_thresholds, growth_thresholds : a number or 'auto' per channel; empty means all 'auto'.
    fragment_fraction : instances under this fraction of the median instance size merge into
        the neighbour they share most faces with (0: off).
    label_unseeded : foreground components without a seed (and not under the fragment size)
        become instances.

    Returns
    -------
    WatershedResult
        ``labels`` (uint32, ids 1..n) and the seed map, surface and growth mask used.
    """
    codes = list(codes)
    channels = np.asarray(channels, dtype=np.float32)
    if channels.ndim not in (3, 4) or channels.shape[0] != len(codes):
        raise ValueError(
            f"`channels` (shape {channels.shape}) must be (C, [Z,] Y, X) with C = {len(codes)} "
            f"for codes {codes}"
        )
    aggregated_from = None
    if codes and all(c.startswith("A[") for c in codes):
        aggregated, foreground = aggregate_affinities(channels, offsets_from_plane_names(codes))
        channels, codes, aggregated_from = (
            np.stack([aggregated, foreground]),
            ["A", "F"],
            len(codes),
        )
    settings = replace(settings or WatershedSettings(), **options).resolved(codes)
    by_2d_slices = settings.by_2d_slices and channels.ndim == 4
    if by_2d_slices:
        parts = [_watershed_once(channels[:, z], codes, settings) for z in range(channels.shape[1])]
        labels = np.zeros(channels.shape[1:], dtype=np.uint32)
        offset = 0
        for z, (slice_labels, *_rest) in enumerate(parts):
            # each slice's ids are 1..n: offset, they stay consecutive and unique
            labels[z] = np.where(slice_labels > 0, slice_labels + offset, 0)
            offset = max(offset, int(labels[z].max()))
        seeds = np.stack([p[1] for p in parts])
        surface = np.stack([p[2] for p in parts])
        growth = np.stack([p[3] for p in parts])
        used = parts[0][4] if parts else {}
    else:
        labels, seeds, surface, growth, used = _watershed_once(channels, codes, settings)
    used_settings = {
        "seed_channels": list(settings.seed_channels),
        "surface_channel": settings.surface_channel,
        "growth_channels": list(settings.growth_channels),
        **used,
    }
    if aggregated_from:
        used_settings["affinities"] = (
            f"A = minimum of {aggregated_from} affinity planes, F = maximum on either side of "
            "each pixel"
        )
    return WatershedResult(
        labels=labels,
        seeds=seeds,
        surface=surface,
        growth_mask=growth,
        settings=used_settings,
        min_seed_size=settings.remove_small_before if settings.remove_before else 0,
        by_2d_slices=by_2d_slices,
    )


def fixed_thresholds(
    channels: np.ndarray,
    codes: Sequence[str],
    settings: WatershedSettings,
    blocks: Sequence[tuple[slice, ...]] | None = None,
) -> WatershedSettings:
    """``settings`` with every 'auto' threshold replaced by its value on the whole ``channels``.

    Decoding block by block needs them: a block's own Otsu cut would differ from the whole
    image's, and from its neighbours'. With ``blocks`` (spatial boxes tiling the image), each
    channel is read block by block (histograms summed), never whole: the same values.
    """
    codes = list(codes)
    settings = settings.resolved(codes)
    if blocks is not None:
        return _fixed_thresholds_by_blocks(channels, codes, settings, blocks)
    cache: dict[str, ChannelFigures] = {}
    fixed = {}
    for name, chosen, thresholds, growth in (
        ("seed_thresholds", settings.seed_channels, settings.seed_thresholds, False),
        ("growth_thresholds", settings.growth_channels, settings.growth_thresholds, True),
    ):
        _, used = _combine(channels, codes, chosen, thresholds, growth=growth, otsu_cache=cache)
        offsets = "+".join(c for c in chosen if _is_offset(c))
        fixed[name] = tuple(float(used.get(c, used.get(offsets, 0.0))) for c in chosen)
    return replace(settings, **fixed)


def _fixed_thresholds_by_blocks(
    channels, codes: list[str], settings: WatershedSettings, blocks
) -> WatershedSettings:
    figures: dict[str, ChannelFigures] = {}
    fixed = {}
    for name, chosen, thresholds, growth in (
        ("seed_thresholds", settings.seed_channels, settings.seed_thresholds, False),
        ("growth_thresholds", settings.growth_channels, settings.growth_thresholds, True),
    ):
        values = []
        for code, threshold in zip(chosen, list(thresholds) or ["auto"] * len(chosen)):
            if threshold != "auto":
                values.append(float(threshold))
            elif _is_offset(code):
                values.append(0.0)  # as _select: the offsets' slope is cut at 0
            else:
                index = codes.index(code)
                found = figures.setdefault(
                    code,
                    ChannelFigures(_OneChannel(channels, index), blocks),
                )
                values.append(auto_threshold(code, found, growth=growth))
        fixed[name] = tuple(values)
    return replace(settings, **fixed)


class _OneChannel:
    """Channel ``index`` of (C, *S) channels, sliced by spatial boxes."""

    def __init__(self, channels, index: int):
        self.channels, self.index = channels, index

    def __getitem__(self, box) -> np.ndarray:
        return np.asarray(self.channels[(self.index, *box)])
