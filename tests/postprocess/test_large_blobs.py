import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.postprocess import repair_large_blobs
from tests.helpers import with_huge_ids


def _broken_copy(labels: np.ndarray, label_id: int, new_id: int) -> np.ndarray:
    """The instance split (its centre given another id) and pierced (a background hole)."""
    broken = labels.copy()
    mask = labels == label_id
    inner = ndi.binary_erosion(mask, iterations=3)
    centre = np.round(np.argwhere(inner).mean(axis=0)).astype(int)
    coords = np.indices(labels.shape)
    distance = np.sqrt(sum((c - p) ** 2 for c, p in zip(coords, centre)))
    broken[(distance <= 2) & mask] = new_id  # the extra seed
    ring = (distance > 3) & (distance <= 4) & inner
    broken[ring] = 0  # a closed hole around it, in every plane it crosses
    return broken


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_a_split_and_pierced_large_nucleus_is_made_whole_again(which, mask2d, mask3d):
    labels = (mask2d[:256, :256] if which == "2d" else mask3d).astype(np.int32)
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    largest = int(ids[np.argmax(sizes)])
    broken = _broken_copy(labels, largest, int(labels.max()) + 1)
    assert len(np.unique(broken)) == len(np.unique(labels)) + 1
    repaired = repair_large_blobs(broken, int(sizes.max()) // 2)
    # the large nucleus is whole again with its id, every other nucleus untouched
    np.testing.assert_array_equal(repaired, labels)


def test_small_instances_and_far_neighbours_are_left_alone(mask2d):
    labels = mask2d[:256, :256].astype(np.int32)
    broken = _broken_copy(labels, int(labels[labels > 0][0]), int(labels.max()) + 1)
    # nothing is large enough
    np.testing.assert_array_equal(repair_large_blobs(broken, 10**6), broken)
    np.testing.assert_array_equal(repair_large_blobs(broken, 0), broken)


def test_a_touching_neighbour_mostly_outside_the_box_is_not_merged():
    labels = np.zeros((40, 60), np.uint16)
    labels[5:35, 5:30] = 1  # large
    labels[10:30, 30:50] = 2  # touches it, but lies outside its box
    labels[15:20, 25:33] = 3  # straddles the border: 5 of 8 columns inside (62%)
    labels[12:15, 12:15] = 4  # inside, touching
    out = repair_large_blobs(labels, 500)
    assert set(np.unique(out)) == {0, 1, 2, 3}
    assert (out[12:15, 12:15] == 1).all()
    # a looser share merges the straddling one too
    loose = repair_large_blobs(labels, 500, inside_fraction=0.6)
    assert set(np.unique(loose)) == {0, 1, 2}


def test_huge_ids_are_kept(mask2d):
    labels = mask2d[:128, :128].astype(np.int32)
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    largest = int(ids[np.argmax(sizes)])
    broken = _broken_copy(labels, largest, int(labels.max()) + 1)
    huge, mapping = with_huge_ids(broken)
    repaired = repair_large_blobs(huge, int(sizes.max()) // 2)
    assert repaired.dtype == huge.dtype
    expected, _ = with_huge_ids(broken)
    expected[broken == int(labels.max()) + 1] = mapping[largest]
    expected[(labels == largest) & (broken == 0)] = mapping[largest]
    np.testing.assert_array_equal(repaired, expected)
