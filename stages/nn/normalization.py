"""Per-channel image normalisation (BiaPy's: percentile clip, then zero mean and unit variance,
scale to [0, 1] or division by the type's range), with statistics gathered slab by slab.

The statistics never need the whole image at once: they are sums, extrema and order
statistics gathered over slabs that a caller yields, from an array in memory or from a
volume read region by region. Percentiles are exact (numpy's linear interpolation between
the two nearest order statistics): each value is found in two passes over the slabs, first
the upper 16 bits of an order-preserving integer key of its float32 value, then the lower
16 bits among the values that share them. An image in memory and the same image read in
slabs from disk are normalised identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

#: elements per slab when statistics are gathered slab by slab (bounds the temporaries)
STATISTICS_SLAB = 1 << 20
_HALF = 1 << 16


@dataclass(frozen=True)
class Normalization:
    """What normalising an image does to each channel: clip to [low, high] (when given), then
    subtract, then divide (float32, one value per channel)."""

    subtract: np.ndarray
    divide: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def to_json(self) -> dict:
        as_list = lambda v: None if v is None else [float(x) for x in v]  # noqa: E731
        return {k: as_list(getattr(self, k)) for k in ("subtract", "divide", "low", "high")}

    @classmethod
    def from_json(cls, data: dict) -> Normalization:
        as_array = lambda v: None if v is None else np.asarray(v, dtype=np.float32)  # noqa: E731
        return cls(**{k: as_array(data.get(k)) for k in ("subtract", "divide", "low", "high")})


def slabs_of(image: np.ndarray) -> Iterator[np.ndarray]:
    """Views of ``image`` along its first axis, each of about STATISTICS_SLAB elements."""
    per_row = max(1, image[0].size if image.ndim > 1 else 1)
    step = max(1, STATISTICS_SLAB // per_row)
    for first in range(0, image.shape[0], step):
        yield image[first : first + step]


def rows_per_slab(shape: tuple[int, ...]) -> int:
    """How many first-axis rows of an array of ``shape`` make one slab."""
    per_row = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return max(1, STATISTICS_SLAB // max(per_row, 1))


def normalize_image(image: np.ndarray, settings: dict, *, copy: bool = True) -> np.ndarray:
    """Normalise a channel-last image per channel with its own statistics (or fixed ones).

    Returns float32. The work is done in place on the float32 image (``copy=False`` and a
    float32 input: the input itself); statistics are gathered slab by slab, so no temporary
    is the size of the image.
    """
    image = image.astype(np.float32, copy=copy)
    return apply_normalization(image, image_normalization(lambda: slabs_of(image), settings))


def apply_normalization(image: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Normalise a float32 channel-last image (or a region of one) in place and return it."""
    if normalization.low is not None:
        np.clip(image, normalization.low, normalization.high, out=image)
    image -= normalization.subtract
    image /= normalization.divide
    return image


def division_divisor(image: np.ndarray) -> float:
    """What ``div`` normalisation divides by: the range of the integer type the image's values
    fit in, as BiaPy does (255, 65535, else its maximum)."""
    top = float(image.max()) if image.size else 1.0
    return _divisor(top)


def _divisor(top: float) -> float:
    return 255.0 if top <= 255 else 65535.0 if top <= 65535 else max(top, 1.0)


def image_normalization(slabs: Callable[[], Iterable[np.ndarray]], settings: dict) -> Normalization:
    """The normalisation of the image whose channel-last float32 slabs ``slabs()`` yields
    (called once per pass: two for a percentile clip, one or two for the rest).

    ``settings`` are the model's: ``type`` (zero_mean_unit_variance, scale_range, div),
    ``perc_clip`` with ``lower_perc`` / ``upper_perc``, fixed ``mean`` / ``std`` or None.
    """
    low = high = None
    if settings["perc_clip"]:
        low, high = (
            values.astype(np.float32)
            for values in percentiles(slabs, (settings["lower_perc"], settings["upper_perc"]))
        )

    def clipped() -> Iterator[np.ndarray]:
        for slab in slabs():
            flat = slab.reshape(-1, slab.shape[-1])
            yield flat if low is None else np.clip(flat, low, high)

    kind = settings["type"]
    if kind == "zero_mean_unit_variance":
        mean, std = _mean_std(clipped)
        if settings["mean"] is not None:
            mean = np.broadcast_to(np.asarray(settings["mean"], dtype=np.float64), mean.shape)
        if settings["std"] is not None:
            std = np.broadcast_to(np.asarray(settings["std"], dtype=np.float64), std.shape)
        subtract = mean.astype(np.float32)
        divide = np.maximum(std, 1e-6).astype(np.float32)
    else:
        smallest, largest = _extrema(clipped)
        if kind == "scale_range":
            subtract = smallest
            divide = np.maximum(largest - smallest, np.float32(1e-6))
        else:  # div: one divisor for every channel
            top = float(largest.max()) if largest.size else 1.0
            subtract = np.zeros_like(largest)
            divide = np.full_like(largest, np.float32(_divisor(top)))
    return Normalization(subtract, divide, low, high)


def _mean_std(clipped: Callable[[], Iterable[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (float64; two passes: no cancellation)."""
    total, count = None, 0
    for flat in clipped():
        part = flat.sum(axis=0, dtype=np.float64)
        total = part if total is None else total + part
        count += flat.shape[0]
    mean = total / max(count, 1)
    squares = np.zeros_like(mean)
    for flat in clipped():
        centred = flat.astype(np.float64)
        centred -= mean
        np.square(centred, out=centred)
        squares += centred.sum(axis=0)
    return mean, np.sqrt(squares / max(count, 1))


def _extrema(clipped: Callable[[], Iterable[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    smallest = largest = None
    for flat in clipped():
        if flat.shape[0] == 0:
            continue
        low, high = flat.min(axis=0), flat.max(axis=0)
        smallest = low if smallest is None else np.minimum(smallest, low)
        largest = high if largest is None else np.maximum(largest, high)
    return smallest.astype(np.float32), largest.astype(np.float32)


def float_keys(values: np.ndarray) -> np.ndarray:
    """uint32 keys of float32 ``values`` that sort as the values do."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(0x80000000))


def key_values(keys: np.ndarray) -> np.ndarray:
    """The float32 values of :func:`float_keys`' keys."""
    keys = np.asarray(keys, dtype=np.uint32)
    bits = np.where(keys >> np.uint32(31), keys & np.uint32(0x7FFFFFFF), ~keys)
    return bits.view(np.float32)


def percentiles(
    slabs: Callable[[], Iterable[np.ndarray]], wanted: Iterable[float]
) -> list[np.ndarray]:
    """Per channel, each percentile in ``wanted`` of the channel-last slabs (numpy's linear
    method, exact), one float64 array per percentile."""
    wanted = [float(q) / 100.0 for q in wanted]
    high_counts, count = None, 0
    for slab in slabs():
        keys = float_keys(slab.reshape(-1, slab.shape[-1]))
        if high_counts is None:
            high_counts = np.zeros((keys.shape[1], _HALF), dtype=np.int64)
        for channel in range(keys.shape[1]):
            high_counts[channel] += np.bincount(keys[:, channel] >> 16, minlength=_HALF)
        count += keys.shape[0]
    if not count:
        raise ValueError("an empty image has no percentiles")
    channels = high_counts.shape[0]
    # numpy's virtual index of the linear method (alpha = beta = 1)
    positions = [count * q + (1.0 - q) - 1.0 for q in wanted]
    ranks = sorted({min(int(np.floor(p)) + step, count - 1) for p in positions for step in (0, 1)})
    cumulative = np.cumsum(high_counts, axis=1)
    # (channel, rank) -> (upper 16 bits, rank among the values that share them)
    located = {}
    for channel in range(channels):
        for rank in ranks:
            bucket = int(np.searchsorted(cumulative[channel], rank, side="right"))
            before = int(cumulative[channel, bucket - 1]) if bucket else 0
            located[channel, rank] = (bucket, rank - before)
    buckets = sorted({(c, b) for (c, _), (b, _) in located.items()})
    low_counts = {key: np.zeros(_HALF, dtype=np.int64) for key in buckets}
    for slab in slabs():
        keys = float_keys(slab.reshape(-1, slab.shape[-1]))
        for channel, bucket in buckets:
            column = keys[:, channel]
            inside = column[(column >> 16) == bucket]
            low_counts[channel, bucket] += np.bincount(inside & 0xFFFF, minlength=_HALF)
    values = {}
    for (channel, rank), (bucket, within) in located.items():
        low = int(np.searchsorted(np.cumsum(low_counts[channel, bucket]), within, side="right"))
        values[channel, rank] = float(key_values(np.uint32((bucket << 16) | low)))
    result = []
    for position in positions:
        below = int(np.floor(position))
        above = min(below + 1, count - 1)
        below = min(below, count - 1)
        gamma = position - np.floor(position)
        row = np.empty(channels, dtype=np.float64)
        for channel in range(channels):
            a, b = values[channel, below], values[channel, above]
            row[channel] = b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma
        result.append(row)
    return result
