"""One class per instance from a per-pixel class map (issue 16)."""

import numpy as np
import pytest

from stages.labels.classes import (
    DEFAULT_CLASS,
    class_table,
    classes_by_majority,
    instance_classes,
    paint_classes,
)

from ..helpers import classes_by_intensity, with_huge_ids


@pytest.mark.parametrize("which", ["mask2d", "mask3d"])
def test_majority_restores_each_nucleus_class_from_noisy_pixels(which, request, rng):
    labels = request.getfixturevalue(which)
    truth = ((labels % 2) + 1) * (labels > 0)  # class 1 or 2 per nucleus
    noisy = truth.copy()
    flipped = (rng.random(labels.shape) < 0.3) & (labels > 0)
    noisy[flipped] = 3 - noisy[flipped]  # 30% of each nucleus's pixels voted the other way
    noisy[(rng.random(labels.shape) < 0.1) & (labels > 0)] = 0  # and some unclassified
    restored = classes_by_majority(labels, noisy)
    np.testing.assert_array_equal(restored, truth)
    table = class_table(labels, noisy)
    assert len(table) == len(np.unique(labels)) - 1
    assert all(c == (i % 2) + 1 for i, c in table.items())


def test_an_unclassified_instance_gets_the_default_and_ties_the_smaller_class():
    labels = np.zeros((4, 8), np.uint16)
    labels[:, :4], labels[:, 4:] = 1, 7
    class_map = np.zeros_like(labels)
    class_map[:2, 4:], class_map[2:, 4:] = 2, 1  # instance 7: four pixels each of 1 and 2
    ids, classes = instance_classes(labels, class_map)
    assert list(ids) == [1, 7] and list(classes) == [DEFAULT_CLASS, 1]


def test_huge_ids_and_painting_back(mask2d, img2d):
    classes = classes_by_intensity(mask2d, img2d)
    huge, _ = with_huge_ids(mask2d)
    ids, found = instance_classes(huge, classes)
    assert ids.max() > 2**20
    np.testing.assert_array_equal(paint_classes(huge, ids, found), classes)
    # an instance missing from the table is painted with the default class
    painted = paint_classes(huge, ids[1:], found[1:])
    assert set(np.unique(painted[huge == ids[0]])) == {DEFAULT_CLASS}


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="differ in shape"):
        instance_classes(np.zeros((3, 3), np.uint8), np.zeros((3, 4), np.uint8))
