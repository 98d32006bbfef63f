import numpy as np
import pytest

from stages.nn.blending import SlabBlender, axis_weight_totals, shard_rows
from stages.nn.patches import blend_cores, blend_window, patch_grid, shard_indices

GRIDS = [
    ((40, 37), (12, 10), (2, 1), (0.25, 0.5)),
    ((64, 64), (32, 32), (4, 4), (0.25, 0.25)),
    ((5, 30, 22), (4, 12, 12), (1, 2, 2), (0.5, 0.25, 0.0)),
    ((9, 7), (16, 16), (2, 2), (0.25, 0.25)),  # smaller than one core
]


def _blend_in_shards(grid, overlap, cores, shards):
    out = np.zeros((cores.shape[1], *grid.image_shape), np.float32)
    for k in range(1, shards + 1):
        indices = shard_indices(len(grid), k, shards)
        first, last = shard_rows(grid, indices)
        slabs = []
        blender = SlabBlender(
            grid, overlap, cores.shape[1], lambda r, v, found=slabs: found.append((r, v))
        )
        for index in indices:
            blender.add(grid.starts[index], cores[index])
        blender.finish()
        for row, values in slabs:
            assert first <= row and row + values.shape[1] <= last
            out[:, row : row + values.shape[1]] += values
    return out


@pytest.mark.parametrize("shape, patch, padding, overlap", GRIDS)
@pytest.mark.parametrize("shards", [1, 3])
def test_slab_blending_in_shards_equals_blending_all_cores(shape, patch, padding, overlap, shards):
    grid = patch_grid(shape, patch, padding, overlap)
    cores = np.random.default_rng(0).random((len(grid), 2) + grid.core_size)
    expected = blend_cores(cores, np.array(grid.starts), shape, grid.core_size, overlap)
    got = _blend_in_shards(grid, overlap, cores, shards)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_identical_cores_give_back_their_value_exactly():
    grid = patch_grid((50, 37), (12, 12), (2, 2), (0.5, 0.25))
    cores = np.full((len(grid), 1) + grid.core_size, 0.7, np.float32)
    got = _blend_in_shards(grid, (0.5, 0.25), cores, 1)
    assert np.unique(got).tolist() == [np.float32(0.7)]


def test_the_weight_totals_are_the_summed_windows_of_every_core():
    grid = patch_grid((40, 37), (12, 10), (2, 1), (0.25, 0.5))
    starts = np.array(grid.starts)
    weights = np.zeros(grid.covered_shape)
    window = blend_window(grid.core_size, (0.25, 0.5))
    for start in starts:
        box = tuple(slice(s, s + c) for s, c in zip(start, grid.core_size))
        weights[box] += window
    rows, cols = axis_weight_totals(grid, (0.25, 0.5))
    np.testing.assert_allclose(np.multiply.outer(rows, cols), weights)


def test_cores_out_of_grid_order_are_refused():
    grid = patch_grid((40, 40), (12, 12), (2, 2), (0.0, 0.0))
    blender = SlabBlender(grid, (0.0, 0.0), 1, lambda r, v: None)
    core = np.zeros((1,) + grid.core_size)
    blender.add((20, 0), core)
    with pytest.raises(ValueError, match="out of grid order"):
        blender.add((0, 0), core)
