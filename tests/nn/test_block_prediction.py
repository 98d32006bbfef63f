import numpy as np
import pytest

from stages.decode.blocks import block_boxes
from stages.nn.block_prediction import (
    RegionView,
    blend_block,
    patches_for_block,
    source_region,
)
from stages.nn.patches import blend_cores, patch_grid, read_patch

GRIDS = [
    ((40, 37), (12, 10), (2, 1), (0.25, 0.5)),
    ((5, 30, 22), (4, 12, 12), (1, 2, 2), (0.5, 0.25, 0.0)),
    ((9, 7), (16, 16), (2, 2), (0.25, 0.25)),  # smaller than one core
]


def test_blocks_tile_the_image_once():
    boxes = block_boxes((10, 7), (4, 3))
    cover = np.zeros((10, 7), int)
    for box in boxes:
        cover[box] += 1
    assert len(boxes) == 9 and np.all(cover == 1)


@pytest.mark.parametrize("shape, patch, padding, overlap", GRIDS)
@pytest.mark.parametrize("side", [3, 8, 17])
def test_blending_block_by_block_equals_blending_the_whole_image(
    shape, patch, padding, overlap, side
):
    grid = patch_grid(shape, patch, padding, overlap)
    cores = np.random.default_rng(0).random((len(grid), 2) + grid.core_size)
    expected = blend_cores(cores, np.array(grid.starts), shape, grid.core_size, overlap)
    got = np.full_like(expected, np.nan)
    for box in block_boxes(shape, (side,) * len(shape)):
        indices = patches_for_block(grid, box)
        got[(slice(None), *box)] = blend_block(
            grid, overlap, box, ((i, cores[i]) for i in indices), 2
        )
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("shape, patch, padding, overlap", GRIDS)
def test_patches_read_from_a_block_source_equal_those_read_from_the_image(
    shape, patch, padding, overlap
):
    grid = patch_grid(shape, patch, padding, overlap)
    image = np.random.default_rng(1).random((*shape, 2)).astype(np.float32)
    for box in block_boxes(shape, (5,) * len(shape)):
        indices = patches_for_block(grid, box)
        region = source_region(grid, indices)
        view = RegionView(image[region].copy(), region, image.shape)
        for index in indices:
            np.testing.assert_array_equal(
                read_patch(view, grid, index), read_patch(image, grid, index)
            )


def test_a_view_refuses_reads_outside_its_region():
    view = RegionView(np.zeros((4, 4, 1)), (slice(2, 6), slice(0, 4)), (10, 4, 1))
    with pytest.raises(IndexError, match="leaves the region"):
        view[(slice(1, 3), slice(0, 2))]


@pytest.mark.parametrize("block", [(8, 24, 24), (31, 61, 57), (5, 16, 40)])
def test_a_volume_predicted_block_by_block_from_zarr_equals_the_whole_prediction(
    tmp_path, img3d, block
):
    """Real nuclei: a 3D network predicts the volume block by block, read region by region
    from a Zarr array, and gives the channels of predicting it whole."""
    import torch
    import zarr

    from stages.image_regions import open_raw_regions
    from stages.nn.block_prediction import predict_block
    from stages.nn.model import build_model
    from stages.nn.normalization import image_normalization, normalize_image
    from stages.nn.predict import predict_cores
    from stages.nn.settings import ModelSpec

    torch.manual_seed(0)
    network = build_model(
        ModelSpec(ndim=3, in_channels=1, out_channels=2, architecture="unet",
                  feature_maps=(4, 8), norm="bn")
    ).eval()  # fmt: skip
    meta = {
        "channels": ["F", "C"],
        "spec": {"in_channels": 1},
        "normalization": {"type": "zero_mean_unit_variance", "perc_clip": True,
                          "lower_perc": 1.0, "upper_perc": 99.8, "mean": None, "std": None},
        "activations": ["sigmoid", "sigmoid"],
    }  # fmt: skip
    overlap = (0.0, 0.25, 0.25)
    grid = patch_grid(img3d.shape, (8, 24, 24), (1, 4, 4), overlap)
    image = img3d[..., np.newaxis]
    whole = blend_cores(
        predict_cores(network, meta, normalize_image(image, meta["normalization"]), grid,
                      range(len(grid)), normalized=True),
        np.array(grid.starts), img3d.shape, grid.core_size, overlap,
    )  # fmt: skip
    stored = zarr.create_array(tmp_path / "raw.zarr", shape=img3d.shape, chunks=(4, 16, 16),
                               dtype=img3d.dtype)  # fmt: skip
    stored[...] = img3d
    stored.attrs["axes"] = "ZYX"
    reader, _ = open_raw_regions(tmp_path / "raw.zarr", 3)
    normalization = image_normalization(
        lambda: (reader[z : z + 3].astype(np.float32) for z in range(0, 31, 3)),
        meta["normalization"],
    )
    got = np.full_like(whole, np.nan)
    for box in block_boxes(img3d.shape, block):
        got[(slice(None), *box)] = predict_block(
            network, meta, reader, grid, overlap, box, normalization, batch_size=3
        )
    np.testing.assert_allclose(got, whole, rtol=1e-4, atol=1e-5)
    assert whole.std() > 0.01


def test_aligned_blocks_share_no_patch_without_overlap():
    """Blocks rounded to whole steps of a grid without overlap: every patch is predicted by
    one block only (but the last, aligned to the image end); unaligned blocks repeat many."""
    from stages.nn.block_prediction import aligned_block

    grid = patch_grid((60, 200, 190), (16, 64, 64), (2, 8, 8), (0.0, 0.0, 0.0))
    overlap = (0.0, 0.0, 0.0)
    block = aligned_block((32, 128, 128), grid, overlap)
    assert block == (36, 144, 144)

    def predicted(side):
        return sum(len(patches_for_block(grid, box)) for box in block_boxes(grid.image_shape, side))

    assert predicted(block) <= len(grid) * 1.5 < predicted((32, 128, 128))
    assert aligned_block((500, 500, 500), grid, overlap) == (60, 200, 190)  # never past it
