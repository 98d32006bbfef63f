import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.channels import encode_channels
from stages.postprocess import median_filter_channels, median_footprint


@pytest.mark.parametrize(
    ("axes", "size", "ndim", "footprint"),
    [
        ("z", 5, 3, (5, 1, 1)),
        ("yz", 3, 3, (3, 3, 1)),
        ("zy", 4, 3, (5, 5, 1)),  # even sizes made odd, as in BiaPy
        ("xz", 3, 3, (3, 1, 3)),
        ("xy", 3, 3, (1, 3, 3)),
        ("yx", 7, 2, (7, 7)),
    ],
)
def test_the_footprint_covers_the_named_axes_only(axes, size, ndim, footprint):
    assert median_footprint(axes, size, ndim) == footprint


def test_bad_filters_are_refused():
    with pytest.raises(ValueError, match="need 3D data"):
        median_footprint("z", 3, 2)
    with pytest.raises(ValueError, match="unknown median filter axes 'zz'"):
        median_footprint("zz", 3, 3)
    with pytest.raises(ValueError, match="at least 1"):
        median_footprint("xy", 0, 2)


def test_a_slice_the_network_missed_comes_back_from_its_neighbours(mask3d):
    # the real nuclei sampled three times finer in Z, as an isotropic acquisition would be
    foreground = encode_channels(np.repeat(mask3d, 3, axis=0), ["F"])
    damaged = foreground.copy()
    damaged[0, 16] = 0  # a slice where the prediction dropped out
    assert (damaged[0, 16] != foreground[0, 16]).sum() > 500
    repaired = median_filter_channels(damaged, [("z", 3)])
    np.testing.assert_array_equal(repaired[0, 16], foreground[0, 16])
    # a Z median keeps what neighbouring slices agree on: the rest moves by a few pixels only
    assert (repaired != foreground).mean() < 0.01


def test_salt_noise_in_a_2d_foreground_is_removed(mask2d, rng):
    foreground = encode_channels(mask2d[:256, :256], ["F"])
    noisy = foreground.copy()
    flips = rng.random(noisy.shape[1:]) < 0.02
    noisy[0][flips] = 1 - noisy[0][flips]
    cleaned = median_filter_channels(noisy, [("xy", 3)])
    errors_before = (noisy != foreground).sum()
    errors_after = (cleaned != foreground).sum()
    assert errors_after < 0.25 * errors_before


def test_filters_apply_in_order_to_every_channel(mask3d, rng):
    channels = rng.random((2, *mask3d.shape)).astype(np.float32)
    out = median_filter_channels(channels, [("z", 3), ("xy", 3)])
    for index in range(2):
        expected = ndi.median_filter(ndi.median_filter(channels[index], size=(3, 1, 1)), (1, 3, 3))
        np.testing.assert_array_equal(out[index], expected)
    assert out.dtype == channels.dtype
    np.testing.assert_array_equal(median_filter_channels(channels, []), channels)


@pytest.mark.parametrize("block", [(8, 16, 16), (31, 61, 57), (5, 64, 20)])
def test_filtering_by_blocks_gives_the_values_of_filtering_whole(mask3d, block):
    """Several filters in a row: each block's margin is their half windows summed."""
    from stages.channels import encode_channels
    from stages.postprocess import median_filter_by_blocks

    channels = encode_channels(mask3d, ["F", "C", "Db"])
    filters = [("z", 3), ("xy", 5), ("zx", 4)]
    whole = median_filter_channels(channels, filters)
    out = np.full_like(channels, np.nan)
    median_filter_by_blocks(channels, filters, block, out)
    np.testing.assert_array_equal(out, whole)
    with pytest.raises(ValueError, match="one size per spatial axis"):
        median_filter_by_blocks(channels, filters, (8, 16), out)
