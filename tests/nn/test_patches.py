import numpy as np
import pytest

from stages.nn.patches import (
    PatchGrid,
    blend_cores,
    crop_core,
    patch_grid,
    read_patch,
    shard_indices,
)


def _padded_image(image: np.ndarray, grid: PatchGrid) -> np.ndarray:
    """The reference for read_patch: the whole image reflect-padded so that every patch of
    ``grid`` can be cut from it."""
    widths = [(q, q + c - s) for s, c, q in zip(grid.image_shape, grid.covered_shape, grid.padding)]
    widths += [(0, 0)] * (image.ndim - len(widths))
    mode = "reflect" if all(s > 1 for s in grid.image_shape) else "edge"
    return np.pad(image, widths, mode=mode)


def _identity_round_trip(image: np.ndarray, patch, padding, overlap, shards: int = 1) -> np.ndarray:
    """Cut a channel-last image into patches, 'predict' each by copying it, and blend."""
    grid = patch_grid(image.shape[:-1], patch, padding, overlap)
    padded = _padded_image(image, grid)
    cores, starts = [], []
    for k in range(1, shards + 1):
        for index in shard_indices(len(grid), k, shards):
            start = grid.starts[index]
            patch_values = padded[tuple(slice(s, s + p) for s, p in zip(start, grid.patch_size))]
            cores.append(crop_core(np.moveaxis(patch_values, -1, 0), grid))
            starts.append(start)
    return blend_cores(np.stack(cores), np.array(starts), image.shape[:-1], grid.core_size, overlap)


@pytest.mark.parametrize(
    "shape, patch, padding, overlap",
    [
        ((97, 131), (32, 32), (4, 4), (0.0, 0.0)),
        ((97, 131), (32, 48), (6, 5), (0.25, 0.5)),
        ((20, 15), (64, 64), (8, 8), (0.5, 0.5)),  # image smaller than one patch
        ((17, 33, 29), (8, 16, 16), (2, 3, 3), (0.0, 0.0, 0.0)),
        ((17, 33, 29), (8, 16, 16), (1, 2, 2), (0.5, 0.3, 0.3)),
    ],
)
def test_identity_model_gives_back_the_input_exactly(shape, patch, padding, overlap, rng):
    image = rng.random(shape + (2,), dtype=np.float32)
    out = _identity_round_trip(image, patch, padding, overlap)
    assert out.shape == (2,) + shape
    np.testing.assert_array_equal(out, np.moveaxis(image, -1, 0))


def test_shards_together_give_the_same_result(rng):
    image = rng.random((50, 61, 1), dtype=np.float32)
    one = _identity_round_trip(image, (16, 16), (2, 2), (0.25, 0.25))
    three = _identity_round_trip(image, (16, 16), (2, 2), (0.25, 0.25), shards=3)
    np.testing.assert_array_equal(one, three)


def test_grid_covers_the_image_and_aligns_the_last_core_to_the_end():
    grid = patch_grid((100,), (40,), (5,), (0.0,))
    assert grid.core_size == (30,)
    assert [s[0] for s in grid.starts] == [0, 30, 60, 70]


def test_missing_patches_are_an_error():
    grid = patch_grid((40, 40), (20, 20), (0, 0), (0.0, 0.0))
    cores = np.ones((len(grid) - 1, 1, 20, 20), np.float32)
    with pytest.raises(ValueError, match="do not cover the whole image"):
        blend_cores(cores, np.array(grid.starts[:-1]), (40, 40), grid.core_size, (0.0, 0.0))


def test_shards_partition_the_patches():
    parts = [shard_indices(10, k, 3) for k in (1, 2, 3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="shard 4/3"):
        shard_indices(10, 4, 3)


def test_bad_grid_arguments():
    with pytest.raises(ValueError, match="leaves no core"):
        patch_grid((10, 10), (8, 8), (4, 4), (0, 0))
    with pytest.raises(ValueError, match="overlap"):
        patch_grid((10, 10), (8, 8), (1, 1), (1.0, 0))


@pytest.mark.parametrize(
    "shape, patch, padding, overlap",
    [((40, 37), (12, 10), (2, 1), (0.25, 0.5)), ((9, 7), (16, 16), (4, 4), (0.0, 0.0)),
     ((3, 30, 22), (8, 12, 12), (3, 2, 2), (0.5, 0.25, 0.0)),
     ((1, 20), (4, 8), (1, 2), (0.0, 0.0))],
)  # fmt: skip
def test_a_patch_read_alone_equals_the_patch_of_the_padded_image(shape, patch, padding, overlap):
    image = np.random.default_rng(0).random(shape + (2,)).astype(np.float32)
    grid = patch_grid(shape, patch, padding, overlap)
    padded = _padded_image(image, grid)
    for index, start in enumerate(grid.starts):
        expected = padded[tuple(slice(s, s + p) for s, p in zip(start, grid.patch_size))]
        np.testing.assert_array_equal(read_patch(image, grid, index), expected)
