import numpy as np
import pytest

from stages.measure import measure_instances
from stages.postprocess import Condition, remove_by_properties
from tests.helpers import three_squares


def test_groups_are_or_and_conditions_within_a_group_are_and():
    labels = three_squares()
    labels[16:26, 2:12] = 0
    labels[16:20, 2:6] = 3  # 16 pixels
    labels[22:24, 14:29] = 4  # 30 pixels, elongated
    table = measure_instances(labels)
    groups = [
        [Condition("npixels", "lt", 20)],  # removes 3
        [Condition("npixels", "lt", 50), Condition("circularity", "le", 0.6)],  # removes 4
        [Condition("npixels", "ge", 100), Condition("diameter", "gt", 10)],  # matches nothing
    ]
    kept, stats = remove_by_properties(labels, table, groups)
    assert set(np.unique(kept)) == {0, 1, 2}
    np.testing.assert_array_equal(kept[labels <= 2], labels[labels <= 2])
    by_label = stats.set_index("label")
    assert list(by_label["comment"]) == ["Correct", "Correct", "Removed", "Removed"]
    assert by_label.loc[3, "conditions"] == "['Satisfied', 'No satisfied', 'No satisfied']"
    assert by_label.loc[4, "conditions"] == "['No satisfied', 'Satisfied', 'No satisfied']"
    assert by_label.loc[1, "conditions"] == "['No satisfied', 'No satisfied', 'No satisfied']"


def test_real_nuclei_below_a_size_are_removed_and_no_other(mask2d):
    labels = mask2d
    table = measure_instances(labels)
    kept, stats = remove_by_properties(labels, table, [[Condition("npixels", "lt", 200)]])
    small = set(table.loc[table["npixels"] < 200, "label"])
    assert 5 < len(small) < len(table) - 5  # the real sample has both
    assert set(np.unique(kept)[1:]) == set(table["label"]) - small
    np.testing.assert_array_equal(kept[kept > 0], labels[kept > 0])
    assert set(stats.loc[stats["comment"] == "Removed", "label"]) == small
    # nothing to test, nothing removed
    same, stats = remove_by_properties(labels, table, [])
    np.testing.assert_array_equal(same, labels)
    assert (stats["comment"] == "Correct").all()


def test_3d_reads_sphericity_and_surface_area(mask3d):
    table = measure_instances(mask3d)
    flat = set(table.loc[table["sphericity"] < 0.6, "label"])
    large_surface = set(table.loc[table["surface_area"] > 600, "label"])
    assert 0 < len(flat) < len(table) and 0 < len(large_surface) < len(table)
    kept, _ = remove_by_properties(mask3d, table, [[Condition("circularity", "lt", 0.6)]])
    assert set(np.unique(kept)[1:]) == set(table["label"]) - flat
    kept, _ = remove_by_properties(mask3d, table, [[Condition("perimeter", "gt", 600)]])
    assert set(np.unique(kept)[1:]) == set(table["label"]) - large_surface
    with pytest.raises(ValueError, match="elongation is measured in 2D only"):
        remove_by_properties(mask3d, table, [[Condition("elongation", "gt", 1)]])


def test_unknown_properties_and_signs_are_refused():
    with pytest.raises(ValueError, match="unknown property 'size'"):
        Condition("size", "lt", 3)
    with pytest.raises(ValueError, match="unknown sign 'eq'"):
        Condition("area", "eq", 3)
    assert str(Condition("npixels", "lt", 100)) == "npixels lt 100"
