import numpy as np
import pytest

from stages.labels import compact_ids, instance_boxes, restore_ids
from stages.labels.instances import DIRECT_IDS
from tests.helpers import with_huge_ids


def test_boxes_of_small_ids_are_find_objects_boxes(mask2d):
    from scipy import ndimage as ndi

    expected = [(i + 1, b) for i, b in enumerate(ndi.find_objects(mask2d)) if b is not None]
    assert instance_boxes(mask2d) == expected
    assert compact_ids(mask2d)[1] is None  # nothing renumbered: no copy


def test_huge_ids_are_renumbered_and_mapped_back(mask2d):
    # ids near 2**31, spread apart: find_objects on them would allocate gigabytes
    huge, mapping = with_huge_ids(mask2d)
    ids, new_ids = np.array(list(mapping)), np.array(list(mapping.values()))
    compact, original = compact_ids(huge)
    assert compact.max() == len(ids) and original.tolist() == new_ids.tolist()
    np.testing.assert_array_equal(restore_ids(compact, original, np.uint32), huge)
    boxes = instance_boxes(huge)
    assert [label_id for label_id, _ in boxes] == new_ids.tolist()
    small_boxes = dict(instance_boxes(mask2d))
    assert [box for _, box in boxes] == [small_boxes[int(i)] for i in ids]


@pytest.mark.parametrize("shape", [(5, 6), (3, 5, 6)])
def test_background_only_and_3d(shape):
    empty = np.zeros(shape, np.uint32)
    assert instance_boxes(empty) == []
    one = empty.copy()
    one[(1,) * len(shape)] = DIRECT_IDS + 5
    assert instance_boxes(one) == [(DIRECT_IDS + 5, tuple(slice(1, 2) for _ in shape))]
