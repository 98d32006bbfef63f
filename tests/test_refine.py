import numpy as np
import pytest

from stages.refine import fill_instance_holes, refine_instances
from tests.helpers import touching_squares


def test_dilation_never_grows_into_a_neighbour():
    labels = touching_squares()
    grown = refine_instances(labels, ["dilation"], [2])
    assert (grown[labels > 0] == labels[labels > 0]).all()
    assert (grown > 0).sum() > (labels > 0).sum()


def test_erosion_is_per_instance():
    labels = touching_squares()
    eroded = refine_instances(labels, ["erosion"], [1])
    assert set(np.unique(eroded)) == {0, 1, 2}
    assert (eroded == 1).sum() == 4 * 4 and not eroded[:, 7:9].any()


def test_fill_holes_fills_background_holes_only():
    labels = np.zeros((9, 9), np.uint16)
    labels[1:8, 1:8] = 1
    labels[4, 4] = 0
    labels[3, 3] = 2  # another instance inside is left alone
    filled = fill_instance_holes(labels)
    assert filled[4, 4] == 1 and filled[3, 3] == 2


def test_clear_border_and_size_filters(mask2d):
    cleared = refine_instances(mask2d, ["clear_border"], ["none"])
    border_ids = set(
        np.unique(np.concatenate([mask2d[0], mask2d[-1], mask2d[:, 0], mask2d[:, -1]]))
    ) - {0}
    assert not (set(np.unique(cleared)) & border_ids)
    sizes = np.bincount(mask2d.ravel())[1:]
    sizes = sizes[sizes > 0]
    small = refine_instances(mask2d, ["remove_small_objects"], [200])
    assert len(np.unique(small)) - 1 == (sizes >= 200).sum()
    large = refine_instances(mask2d, ["remove_large_objects"], [200])
    assert len(np.unique(large)) - 1 == (sizes <= 200).sum()


def test_operations_apply_in_order_in_3d(mask3d):
    out = refine_instances(mask3d, ["erosion", "dilation"], [1, 1])
    assert out.shape == mask3d.shape and out.max() <= mask3d.max()


def test_bad_operation_is_named():
    with pytest.raises(ValueError, match="unknown refinement operation 'smooth'"):
        refine_instances(np.zeros((3, 3), np.uint8), ["smooth"], ["none"])


def test_huge_ids_are_refined_and_kept(mask2d):
    from tests.helpers import with_huge_ids

    huge, mapping = with_huge_ids(mask2d)
    operations, values = ["erosion", "fill_holes", "remove_small_objects"], [1, "none", 30]
    small = refine_instances(mask2d, operations, values)
    table = np.zeros(int(mask2d.max()) + 1, np.uint32)
    for old, new in mapping.items():
        table[old] = new
    refined = refine_instances(huge, operations, values)
    assert refined.dtype == huge.dtype
    np.testing.assert_array_equal(refined, table[small])
