import numpy as np
from skimage.segmentation import watershed

from stages.channels import encode_channels
from stages.decode.flood import flood_from_markers, quantise
from stages.decode.watershed import watershed_from_channels


def test_two_basins_split_at_the_ridge():
    surface = np.abs(np.arange(11, dtype=np.float32) - 5)[None].repeat(3, axis=0)
    surface = -surface  # basins at both ends, the ridge at column 5
    markers = np.zeros(surface.shape, np.int32)
    markers[1, 0], markers[1, 10] = 1, 2
    labels = flood_from_markers(surface, markers)
    assert (labels[:, :5] == 1).all() and (labels[:, 6:] == 2).all()
    assert labels.dtype == np.int32


def test_the_mask_bounds_the_flood_and_drops_markers_outside_it():
    surface = np.zeros((6, 6), np.float32)
    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:3] = True
    markers = np.zeros((6, 6), np.int32)
    markers[2, 2], markers[0, 5] = 1, 2
    labels = flood_from_markers(surface, markers, mask)
    np.testing.assert_array_equal(labels > 0, mask)
    assert set(np.unique(labels)) == {0, 1}


def test_agrees_with_skimage_on_real_seeds_up_to_ties(mask2d, mask3d):
    for labels in (mask2d, mask3d):
        result = watershed_from_channels(encode_channels(labels, ["F", "C"]), ["F", "C"], fragment_fraction=0, label_unseeded=False)
        rng = np.random.default_rng(0)
        # a surface without ties: the same flood order, the same labels
        surface = rng.random(labels.shape).astype(np.float32)
        ours = flood_from_markers(surface, result.seed_map, result.growth_mask)
        theirs = watershed(surface, result.seed_map, mask=result.growth_mask)
        assert (ours != theirs).mean() < 1e-3
        # the real surface: plateaus, so a few voxels at equal levels may go either way
        ours = flood_from_markers(result.surface, result.seed_map, result.growth_mask)
        theirs = watershed(result.surface, result.seed_map, mask=result.growth_mask)
        assert (ours != theirs).sum() <= 0.002 * result.growth_mask.sum()


def test_flat_and_empty_inputs():
    assert quantise(np.ones((3, 3), np.float32), np.ones((3, 3), bool)).max() == 0
    assert flood_from_markers(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.int64)).max() == 0
    levels = quantise(np.array([[0.0, 0.5, 1.0]], np.float32), np.ones((1, 3), bool))
    np.testing.assert_array_equal(levels, [[0, 32768, 65535]])
