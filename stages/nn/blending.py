"""Blend patch cores into final channel values as they are predicted, slab by slab.

The cores of a patch grid tile the image as a Cartesian product of per-axis starts, so the
summed blending weight at a pixel is the product of per-axis sums: every pixel's final value
(weighted sum of the cores over it, divided by that total) can be computed by whoever holds
the cores, without the other shards'. Cores arrive in grid order (first axis non-decreasing),
so the rows before the current core's first row are final: they are handed on and dropped.
The accumulator is one core deep along the first axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .patches import PatchGrid, blend_window


def axis_weight_totals(grid: PatchGrid, overlap: Sequence[float]) -> list[np.ndarray]:
    """Per axis, the summed blending window of every core start along it (float64)."""
    core, covered = grid.core_size, grid.covered_shape
    starts = np.asarray(grid.starts, dtype=np.int64).reshape(len(grid), len(core))
    totals = []
    for axis, (c, o, length) in enumerate(zip(core, overlap, covered)):
        window = blend_window((c,), (o,))
        total = np.zeros(length, dtype=np.float64)
        for start in np.unique(starts[:, axis]):
            total[start : start + c] += window
        totals.append(total)
    return totals


def shard_rows(grid: PatchGrid, indices: Sequence[int]) -> tuple[int, int]:
    """The first-axis rows [first, last) of the image that the cores ``indices`` touch."""
    if len(indices) == 0:
        return 0, 0
    first = grid.starts[indices[0]][0]
    last = min(grid.starts[indices[-1]][0] + grid.core_size[0], grid.image_shape[0])
    return int(first), int(last)


class SlabBlender:
    """Add cores in grid order; ``emit(first_row, values)`` receives final (C, rows, *rest)
    float32 values of this share of the cores, cropped to the image, slab by slab."""

    def __init__(
        self,
        grid: PatchGrid,
        overlap: Sequence[float],
        channels: int,
        emit: Callable[[int, np.ndarray], None],
    ):
        self.grid, self.emit = grid, emit
        self.core = grid.core_size
        self.window = blend_window(self.core, overlap)
        totals = axis_weight_totals(grid, overlap)
        self.row_totals = totals[0]
        rest = np.ones(())
        for total in totals[1:]:
            rest = np.multiply.outer(rest, total)
        self.rest_totals = rest
        self.rest_crop = tuple(slice(0, s) for s in grid.image_shape[1:])
        self.sums = np.zeros((channels, self.core[0]) + grid.covered_shape[1:], dtype=np.float64)
        self.first_row: int | None = None

    def add(self, start: Sequence[int], core: np.ndarray) -> None:
        """Blend one (C, *core_size) core at ``start``; starts must not go back along axis 0."""
        row = int(start[0])
        if self.first_row is None:
            self.first_row = row
        if row < self.first_row:
            raise ValueError(f"cores out of grid order: row {row} after {self.first_row}")
        if row > self.first_row:
            self._emit(row - self.first_row)
        box = (slice(None), slice(0, self.core[0])) + tuple(
            slice(int(s), int(s) + c) for s, c in zip(start[1:], self.core[1:])
        )
        self.sums[box] += core * self.window

    def finish(self) -> None:
        """Hand on what is left (the rows of the last cores)."""
        if self.first_row is not None:
            self._emit(self.core[0])
            self.first_row = None

    def _emit(self, rows: int) -> None:
        first = self.first_row
        last = min(first + rows, self.grid.image_shape[0])
        if last > first:
            totals = np.multiply.outer(self.row_totals[first:last], self.rest_totals)
            values = self.sums[:, : last - first] / totals
            self.emit(first, values[(slice(None), slice(None), *self.rest_crop)].astype(np.float32))
        kept = self.core[0] - rows
        if kept > 0:
            self.sums[:, :kept] = self.sums[:, rows:].copy()
        self.sums[:, max(kept, 0) :] = 0.0
        self.first_row = first + rows
