import numpy as np
import pytest

from stages.channels import encode_channels
from stages.decode.voronoi import voronoi_mask, voronoi_on_mask
from stages.labels.morphology import erode_labels
from stages.metrics import match_instances


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_eroded_instances_grow_back_to_fill_the_true_foreground(which, mask2d, mask3d):
    labels = mask2d[:256, :256] if which == "2d" else mask3d
    eroded = erode_labels(labels, 2)
    grown = voronoi_on_mask(eroded, labels > 0)
    # the whole foreground is covered, and nothing outside it
    np.testing.assert_array_equal(grown > 0, labels > 0)
    # every instance that survived the erosion keeps its id and is found again
    survivors = np.unique(eroded)[1:]
    np.testing.assert_array_equal(np.unique(grown)[1:], survivors)
    stats = match_instances(labels, grown, [0.5])[0].stats
    assert stats["tp"] >= 0.9 * len(survivors)


def test_instance_pixels_outside_the_mask_are_kept():
    labels = np.zeros((9, 9), np.uint16)
    labels[1:4, 1:4] = 1
    labels[5:8, 5:8] = 7
    mask = np.zeros((9, 9), bool)
    mask[:, :5] = True  # instance 7 lies outside the mask
    grown = voronoi_on_mask(labels, mask)
    assert (grown[5:8, 5:8] == 7).all()
    assert set(np.unique(grown[mask])) <= {1, 7} and (grown[mask] > 0).all()
    assert (grown[~mask & (labels == 0)] == 0).all()


def test_the_mask_is_the_union_of_foreground_and_contour_channels(mask2d):
    labels = mask2d[:128, :128]
    channels = encode_channels(labels, ["F", "C"])
    mask = voronoi_mask(channels, ["F", "C"], 0.5)
    np.testing.assert_array_equal(mask, (channels[0] > 0.5) | (channels[1] > 0.5))
    with pytest.raises(ValueError, match="needs one of the channels F, B, C"):
        voronoi_mask(channels[:1], ["Db"], 0.5)
