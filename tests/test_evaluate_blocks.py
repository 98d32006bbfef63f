import numpy as np
import pytest
import tifffile
import zarr

from stages.containers import create_picture_store
from stages.evaluate_blocks import (
    blockwise_channel_counts,
    evaluation_block,
    open_label_blocks,
    write_association_blocks,
)
from stages.io import InputError, write_labels
from stages.metrics import association_image, channel_ious, channel_scores, match_instances


def _prediction(mask: np.ndarray) -> np.ndarray:
    """Shifted by one pixel along the last axis, ids apart from the truth's."""
    return (
        np.where(mask > 0, mask.astype(np.uint32) + 1000, 0)
        .astype(np.uint32)
        .take(np.r_[1 : mask.shape[-1], mask.shape[-1] - 1], axis=-1)
    )


@pytest.mark.parametrize(
    ("shape", "unit", "budget", "expected"),
    [
        ((31, 61, 57), (4, 8, 8), 4096, (8, 16, 32)),  # in turn, last axes first
        ((1000, 1000), (64, 64), 2**22, (1024, 1024)),  # never past the image
        ((10, 10), (16, 16), 64, (16, 16)),  # at least one unit
        ((512, 512, 512), (64, 64, 64), 2**22, (128, 128, 256)),
    ],
)
def test_evaluation_blocks_are_whole_units_within_the_budget(shape, unit, budget, expected):
    block = evaluation_block(shape, unit, budget)
    assert block == expected
    assert all(b % u == 0 for b, u in zip(block, unit))


@pytest.mark.parametrize("block", [(8, 16, 16), (4, 8, 8), (32, 64, 64)])
def test_channel_counts_by_blocks_equal_the_whole_image(mask3d, block):
    """F, C and P (a centroid: its whole object) of blocks encoded with a halo larger than any
    nucleus score as the whole image, in all and per patch cell."""
    truth = mask3d.astype(np.uint32)
    shifted = _prediction(mask3d) > 0
    channels = np.stack([shifted, shifted, shifted]).astype(np.float32) * 0.9
    planes, patch = ["F", "C", "P"], (4, 8, 8)
    whole = channel_ious(channels, planes, truth, {}, patches=[None, patch])
    counts = blockwise_channel_counts(
        channels, planes, truth, {}, block, halo=(31, 61, 57), patches=[None, patch]
    )
    by_blocks = channel_scores(counts)
    for ours, theirs in zip(by_blocks, whole):
        assert ours.keys() == theirs.keys() == {"F", "C", "P"}
        for code in ours:
            assert ours[code] == pytest.approx(theirs[code], abs=1e-12), code
    assert 0.2 < whole[0]["F"] < 0.99  # a real difference to score


def test_a_block_that_cuts_patch_cells_is_refused(mask3d):
    with pytest.raises(ValueError, match="not a multiple of the patch"):
        blockwise_channel_counts(
            np.zeros((1, *mask3d.shape), np.float32), ["F"], mask3d, {}, (6, 8, 8), (0, 0, 0),
            patches=[(4, 8, 8)],
        )  # fmt: skip


def test_association_picture_by_blocks_equals_the_whole_one(mask3d, tmp_path):
    pred = _prediction(mask3d)
    matching = match_instances(mask3d, pred, [0.5])[0]
    picture = create_picture_store(tmp_path / "a.zarr", mask3d.shape, (8, 16, 16))
    write_association_blocks(mask3d, pred, matching, (8, 16, 16), picture)
    stored = zarr.open_array(str(tmp_path / "a.zarr"), mode="r")
    np.testing.assert_array_equal(stored[...], association_image(mask3d, pred, matching))
    assert stored.attrs["axes"] == "ZYXC"


def test_label_blocks_read_ids_of_two_channel_labels_and_name_bad_files(mask2d, tmp_path):
    classes = np.where(mask2d > 0, 1 + mask2d % 2, 0)
    write_labels(tmp_path / "two.tif", mask2d, classes=classes)
    labels = open_label_blocks(tmp_path / "two.tif", None)  # 2D: the axes segpipe wrote
    assert labels.has_classes and labels.shape == mask2d.shape
    np.testing.assert_array_equal(labels[slice(10, 50), slice(0, 512)], mask2d[10:50])
    labels.close()
    zarr.save_array(str(tmp_path / "frac.zarr"), mask2d.astype(np.float32) + 0.5)
    labels = open_label_blocks(tmp_path / "frac.zarr", 2)
    with pytest.raises(InputError, match="frac.zarr: labels must hold integer instance ids"):
        labels[slice(0, 8), slice(0, 8)]
    tifffile.imwrite(
        tmp_path / "three.tif", np.zeros((3, 40, 40), np.uint16), photometric="minisblack"
    )
    with pytest.raises(InputError, match="three.tif: label image with 3 channels"):
        open_label_blocks(tmp_path / "three.tif", 2)
