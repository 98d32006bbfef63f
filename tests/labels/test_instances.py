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


@pytest.mark.parametrize("block", [(8, 16, 16), (31, 61, 57)])
def test_boxes_by_blocks_are_find_objects_boxes_held_in_two_arrays(mask3d, block):
    from scipy import ndimage as ndi

    from stages.labels import label_boxes_by_blocks

    labels = np.where(mask3d > 0, mask3d.astype(np.int64) * 3 + 10, 0)  # ids with gaps
    boxes = label_boxes_by_blocks(labels, block)
    expected = {i + 1: box for i, box in enumerate(ndi.find_objects(labels)) if box is not None}
    assert dict(boxes.items()) == expected and len(boxes) == len(expected)
    assert 0 not in boxes and 13 not in boxes and 25 in boxes and 10**6 not in boxes
    with pytest.raises(KeyError):
        boxes[13]
    boxes[25] = (slice(0, 2), slice(1, 3), slice(2, 4))  # as a repair grows an instance
    assert boxes[25] == (slice(0, 2), slice(1, 3), slice(2, 4))
    assert boxes.low.nbytes + boxes.high.nbytes == 2 * 8 * 3 * (labels.max() + 1)
