"""Predict a volume block by block: each block's channels equal the whole image's prediction.

The patch grid is the whole image's. A block is predicted from the patches whose cores reach
into it, read from the region of the image those patches cover (their padding is the context
around the block), and blended with the whole grid's weights: the summed blending weight at
a voxel is a product of per-axis sums (:func:`stages.nn.blending.axis_weight_totals`), so a
block divides by it without the other blocks' cores. Normalisation uses statistics of the
whole image gathered beforehand. A job therefore holds one block's input region, its
patches in flight and one float64 block of sums, whatever the size of the volume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .blending import axis_weight_totals
from .normalization import Normalization, apply_normalization
from .patches import PatchGrid, blend_window, patch_source


def aligned_block(block: Sequence[int], grid: PatchGrid, overlap: Sequence[float]) -> tuple:
    """``block`` rounded up to whole steps of the patch grid along each axis (never past the
    image), so that the patches of one block are not the next block's too: a patch whose core
    straddles a block face is predicted by both blocks, and unaligned blocks of a few cores
    predict many of them twice."""
    steps = [max(1, int(np.floor(c * (1.0 - o)))) for c, o in zip(grid.core_size, overlap)]
    return tuple(
        min(-(-int(b) // step) * step, max(size, 1))
        for b, step, size in zip(block, steps, grid.image_shape)
    )


def patches_for_block(grid: PatchGrid, box: Sequence[slice]) -> list[int]:
    """Indices (in grid order) of the patches whose cores reach into ``box``."""
    starts = np.asarray(grid.starts, dtype=np.int64).reshape(len(grid), len(grid.core_size))
    inside = np.ones(len(grid), dtype=bool)
    for axis, (part, core) in enumerate(zip(box, grid.core_size)):
        inside &= (starts[:, axis] < part.stop) & (starts[:, axis] + core > part.start)
    return [int(i) for i in np.flatnonzero(inside)]


def source_region(grid: PatchGrid, indices: Sequence[int]) -> tuple[slice, ...]:
    """The smallest region of the image that every patch of ``indices`` is read from."""
    boxes = [patch_source(grid, i) for i in indices]
    return tuple(
        slice(min(b[axis].start for b in boxes), max(b[axis].stop for b in boxes))
        for axis in range(len(grid.image_shape))
    )


class RegionView:
    """A region of a channel-last image in memory, sliced with the whole image's coordinates
    (what :func:`stages.nn.patches.read_patch` reads from)."""

    def __init__(self, values: np.ndarray, region: Sequence[slice], shape: Sequence[int]):
        self.values, self.origin = values, [r.start for r in region]
        self.shape, self.ndim = tuple(shape), len(shape)

    def __getitem__(self, box: tuple[slice, ...]) -> np.ndarray:
        moved = []
        for part, origin, size in zip(box, self.origin, self.values.shape):
            if part.start < origin or part.stop - origin > size:
                raise IndexError(
                    f"{box} leaves the region read (from {self.origin}, {self.values.shape})"
                )
            moved.append(slice(part.start - origin, part.stop - origin))
        return self.values[tuple(moved)]


def read_block_source(
    image, grid: PatchGrid, indices: Sequence[int], normalization: Normalization
) -> RegionView:
    """The normalised float32 region that the patches ``indices`` of ``image`` (an array, or a
    :class:`stages.image_regions.RegionReader`) are read from."""
    region = source_region(grid, indices)
    values = np.array(image[region], dtype=np.float32)  # our own copy, normalised in place
    return RegionView(apply_normalization(values, normalization), region, image.shape)


def blend_block(
    grid: PatchGrid,
    overlap: Sequence[float],
    box: Sequence[slice],
    cores,
    channels: int,
) -> np.ndarray:
    """The (C, *block) float32 blended values in ``box`` of ``cores``: (index, (C, *core))
    pairs of every patch whose core reaches into it."""
    shape = tuple(b.stop - b.start for b in box)
    sums = np.zeros((channels, *shape), dtype=np.float64)
    window = blend_window(grid.core_size, overlap)
    seen = 0
    for index, core in cores:
        start = grid.starts[index]
        lows = [max(s, b.start) for s, b in zip(start, box)]
        highs = [min(s + c, b.stop) for s, c, b in zip(start, grid.core_size, box)]
        if any(lo >= hi for lo, hi in zip(lows, highs)):
            continue
        inner = tuple(slice(lo - s, hi - s) for lo, hi, s in zip(lows, highs, start))
        target = tuple(slice(lo - b.start, hi - b.start) for lo, hi, b in zip(lows, highs, box))
        sums[(slice(None), *target)] += core[(slice(None), *inner)] * window[inner]
        seen += 1
    if not seen:
        raise ValueError(f"no patch core reaches into the block {box}")
    totals = np.ones(())
    for total, b in zip(axis_weight_totals(grid, overlap), box):
        totals = np.multiply.outer(totals, total[b])
    return (sums / totals).astype(np.float32)


def predict_block(
    model,
    meta: dict,
    image,
    grid: PatchGrid,
    overlap: Sequence[float],
    box: Sequence[slice],
    normalization: Normalization,
    **options,
) -> np.ndarray:
    """The (C, *block) float32 channels in ``box`` of the whole image's prediction.

    ``image``: the channel-last raw image, an array or a region reader; ``normalization``:
    the whole image's (:func:`stages.nn.normalization.image_normalization`); ``options`` go
    to :func:`stages.nn.predict.iter_predicted_cores` (batch size, TTA, device)."""
    from .predict import iter_predicted_cores

    indices = patches_for_block(grid, box)
    source = read_block_source(image, grid, indices, normalization)
    cores = iter_predicted_cores(model, meta, source, grid, indices, normalized=True, **options)
    return blend_block(grid, overlap, box, cores, len(meta["channels"]))


def group_blocks(count: int, per_job: int) -> list[list[int]]:
    """Block indices in groups of ``per_job`` consecutive blocks (one group per job)."""
    if per_job < 1:
        raise ValueError(f"{per_job} blocks per job: needs at least one")
    return [list(range(first, min(first + per_job, count))) for first in range(0, count, per_job)]
