"""Cut an image into overlapping padded patches and blend patch predictions back.

Each patch is a *core* (what the prediction keeps) plus ``padding`` of context on
every side, read from the image and reflect-padded where it leaves it (the image
itself is never padded whole). Cores tile the image
with the requested overlap; the last core on each axis is aligned to the image
end, so no pixel is left out. Blending weights each core by a separable window
that ramps over the overlap and divides by the summed weights, accumulating in
float64 so that identical patch values give back the input exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PatchGrid:
    image_shape: tuple[int, ...]
    patch_size: tuple[int, ...]
    padding: tuple[int, ...]
    starts: tuple[tuple[int, ...], ...]

    @property
    def core_size(self) -> tuple[int, ...]:
        return tuple(p - 2 * q for p, q in zip(self.patch_size, self.padding))

    @property
    def covered_shape(self) -> tuple[int, ...]:
        """Image shape grown to at least one core per axis."""
        return tuple(max(s, c) for s, c in zip(self.image_shape, self.core_size))

    def __len__(self) -> int:
        return len(self.starts)


def _axis_starts(size: int, core: int, overlap: float) -> list[int]:
    length = max(size, core)
    step = max(1, int(np.floor(core * (1.0 - overlap))))
    starts = list(range(0, length - core + 1, step))
    if starts[-1] != length - core:
        starts.append(length - core)
    return starts


def patch_grid(
    image_shape: Sequence[int],
    patch_size: Sequence[int],
    padding: Sequence[int],
    overlap: Sequence[float],
) -> PatchGrid:
    """Core positions covering ``image_shape`` (spatial axes only)."""
    image_shape, patch_size, padding = (
        tuple(map(int, image_shape)),
        tuple(map(int, patch_size)),
        tuple(map(int, padding)),
    )
    if not (len(image_shape) == len(patch_size) == len(padding) == len(overlap)):
        raise ValueError(
            f"image shape {image_shape}, patch size {patch_size}, padding {padding} and overlap "
            f"{tuple(overlap)} must have one entry per spatial axis"
        )
    for axis, (p, q) in enumerate(zip(patch_size, padding)):
        if p - 2 * q < 1:
            raise ValueError(
                f"padding {padding} leaves no core in patch {patch_size} on axis {axis}"
            )
    for o in overlap:
        if not 0 <= o < 1:
            raise ValueError(f"overlap {tuple(overlap)} must lie in [0, 1)")
    per_axis = [
        _axis_starts(s, p - 2 * q, o)
        for s, p, q, o in zip(image_shape, patch_size, padding, overlap)
    ]
    starts = tuple(
        tuple(int(v) for v in combo)
        for combo in np.array(np.meshgrid(*per_axis, indexing="ij")).reshape(len(per_axis), -1).T
    )
    return PatchGrid(image_shape, patch_size, padding, starts)


def patch_source(grid: PatchGrid, index: int) -> tuple[slice, ...]:
    """The region of the image that patch ``index`` is read from: the patch within the image,
    and where it leaves the image, as far inside as its mirrored part reaches."""
    box = []
    for begin, patch, pad, size in zip(
        grid.starts[index], grid.patch_size, grid.padding, grid.image_shape
    ):
        low, high = begin - pad, begin - pad + patch
        first, last = max(low, 0), min(high, size)
        # reflect mode mirrors about the edge pixel: read as far as the mirrored part reaches
        if low < 0:
            last = max(last, min(size, 1 - low))
        if high > size:
            first = min(first, max(0, 2 * size - 1 - high))
        box.append(slice(first, last))
    return tuple(box)


def read_patch(image: np.ndarray, grid: PatchGrid, index: int) -> np.ndarray:
    """Patch ``index`` of a channel-last ``image``, padded where it leaves the image as padding
    the whole image would (mirrored about the edge pixel; repeated edge values along an axis of
    one pixel), without a padded copy of the whole image."""
    box = patch_source(grid, index)
    widths, offsets = [], []
    for begin, patch, pad, size, read in zip(
        grid.starts[index], grid.patch_size, grid.padding, grid.image_shape, box
    ):
        low, high = begin - pad, begin - pad + patch
        widths.append((max(0, -low), max(0, high - size)))
        offsets.append(low - read.start + max(0, -low))
    region = image[box]
    if not any(w for pair in widths for w in pair):
        return region
    widths += [(0, 0)] * (image.ndim - len(widths))
    mode = "reflect" if all(s > 1 for s in grid.image_shape) else "edge"
    padded = np.pad(region, widths, mode=mode)
    return padded[tuple(slice(o, o + p) for o, p in zip(offsets, grid.patch_size))]


def crop_core(prediction: np.ndarray, grid: PatchGrid) -> np.ndarray:
    """Drop the padding from a (C, *patch_size) prediction."""
    box = (slice(None),) + tuple(slice(q, q + c) for q, c in zip(grid.padding, grid.core_size))
    return prediction[box]


def _axis_window(core: int, overlap_pixels: int) -> np.ndarray:
    window = np.ones(core, dtype=np.float64)
    if overlap_pixels > 0:
        ramp = np.arange(1, overlap_pixels + 1, dtype=np.float64) / (overlap_pixels + 1)
        window[:overlap_pixels] = ramp
        window[core - overlap_pixels :] = np.minimum(window[core - overlap_pixels :], ramp[::-1])
    return window


def blend_window(core_size: Sequence[int], overlap: Sequence[float]) -> np.ndarray:
    """Separable weights that fall off over the overlap (never zero)."""
    windows = [
        _axis_window(c, c - max(1, int(np.floor(c * (1.0 - o)))))
        for c, o in zip(core_size, overlap)
    ]
    weight = windows[0]
    for w in windows[1:]:
        weight = np.multiply.outer(weight, w)
    return weight


def blend_cores(
    cores: np.ndarray,
    starts: np.ndarray,
    image_shape: Sequence[int],
    core_size: Sequence[int],
    overlap: Sequence[float],
) -> np.ndarray:
    """Blend (N, C, *core) predictions at ``starts`` into a (C, *image_shape) float32 map."""
    cores = np.asarray(cores)
    covered = tuple(max(s, c) for s, c in zip(image_shape, core_size))
    total = np.zeros((cores.shape[1],) + covered, dtype=np.float64)
    weights = np.zeros(covered, dtype=np.float64)
    window = blend_window(core_size, overlap)
    for core, start in zip(cores, starts):
        box = tuple(slice(int(s), int(s) + c) for s, c in zip(start, core_size))
        total[(slice(None),) + box] += core * window
        weights[box] += window
    if np.any(weights == 0):
        raise ValueError("the patches do not cover the whole image (a shard is missing?)")
    crop = (slice(None),) + tuple(slice(0, s) for s in image_shape)
    return (total / weights)[crop].astype(np.float32)


def shard_indices(count: int, shard: int, shards: int) -> np.ndarray:
    """Patch indices of shard ``shard`` (1-based) out of ``shards`` contiguous shares."""
    if not 1 <= shard <= shards:
        raise ValueError(f"shard {shard}/{shards}: k must lie in 1..n")
    return np.array_split(np.arange(count), shards)[shard - 1]
