import numpy as np
import pytest
import tifffile

from stages.roi import ChannelsInRegion, roi_mask_file, roi_region


def test_a_coarse_mask_is_scaled_onto_the_image_axis_by_axis():
    mask = np.array([[1, 0], [0, 1]], np.uint8)
    region = roi_region(mask, (4, 6))
    expected = np.zeros((4, 6), bool)
    expected[:2, :3] = expected[2:, 3:] = True
    np.testing.assert_array_equal(region, expected)
    # a box of it, as a block decoder reads it
    np.testing.assert_array_equal(roi_region(mask, (4, 6), (slice(1, 3), slice(2, 5))),
                                  expected[1:3, 2:5])  # fmt: skip
    full = np.random.default_rng(0).integers(0, 2, (5, 7, 9))
    np.testing.assert_array_equal(roi_region(full, full.shape), full > 0)
    with pytest.raises(ValueError, match="a 2D region of interest for a 3D image"):
        roi_region(mask, (2, 4, 6))


def test_channels_read_by_boxes_are_zero_outside_the_region(mask3d):
    channels = np.stack([mask3d > 0, mask3d > 0]).astype(np.float32)
    mask = np.zeros((2, 2, 2), np.uint8)
    mask[0, 1, 1] = 1
    view = ChannelsInRegion(channels, mask)
    whole = channels * roi_region(mask, mask3d.shape)[np.newaxis]
    box = (slice(3, 20), slice(10, 50), slice(0, 57))
    np.testing.assert_array_equal(view[(slice(None), *box)], whole[(slice(None), *box)])
    np.testing.assert_array_equal(view[(1, *box)], whole[(1, *box)])
    np.testing.assert_array_equal(np.asarray(view), whole)
    assert whole.sum() > 0 and whole[:, 16:].sum() == 0


def test_the_mask_of_an_image_is_the_file_the_folder_s_only_one_or_the_one_of_its_name(
    tmp_path,
):
    (tmp_path / "many").mkdir()
    for name in ("a", "b"):
        tifffile.imwrite(tmp_path / "many" / f"{name}.tif", np.ones((4, 4), np.uint8))
    (tmp_path / "one").mkdir()
    tifffile.imwrite(tmp_path / "one" / "any.tif", np.ones((4, 4), np.uint8))
    assert roi_mask_file(tmp_path / "many", "b") == tmp_path / "many" / "b.tif"
    assert roi_mask_file(tmp_path / "one", "b") == tmp_path / "one" / "any.tif"
    assert roi_mask_file(tmp_path / "one" / "any.tif", "z") == tmp_path / "one" / "any.tif"
    with pytest.raises(ValueError, match="holds 2 masks and none named 'c'"):
        roi_mask_file(tmp_path / "many", "c")
    with pytest.raises(ValueError, match="does not exist"):
        roi_mask_file(tmp_path / "nothing", "c")
