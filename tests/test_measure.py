import numpy as np
import pandas as pd
import pytest
from skimage.morphology import ball, disk

from stages.measure import measure_instances, surface_area


@pytest.mark.parametrize("radius", [10, 20])
def test_sphericity_of_a_ball_is_one_within_5_percent(radius):
    labels = np.pad(ball(radius), 2).astype(np.uint16)
    table = measure_instances(labels)
    assert table["sphericity"].iloc[0] == pytest.approx(1.0, rel=0.05)
    assert table["surface_area"].iloc[0] == pytest.approx(4 * np.pi * radius**2, rel=0.03)


def test_sphericity_with_anisotropic_spacing():
    z, y, x = np.ogrid[-8:9, -18:19, -18:19]
    ellipsoid = ((2 * z) ** 2 + y**2 + x**2 <= 15**2).astype(
        np.uint8
    )  # a ball of radius 15 sampled with z spacing 2
    table = measure_instances(ellipsoid, spacing=(2.0, 1.0, 1.0))
    assert table["sphericity"].iloc[0] == pytest.approx(1.0, rel=0.05)
    assert table["volume"].iloc[0] == pytest.approx(4 / 3 * np.pi * 15**3, rel=0.03)


def test_object_filling_its_box_has_a_surface():
    cube = np.ones((6, 6, 6), np.uint8)
    assert surface_area(cube) > 0.8 * 6 * 36
    assert measure_instances(cube)["surface_area"].iloc[0] > 0


def test_2d_measurements_of_a_disk():
    labels = np.pad(disk(20), 3).astype(np.uint8) * 5
    row = measure_instances(labels, spacing=(0.5, 0.5)).iloc[0]
    assert row["label"] == 5
    assert row["npixels"] == (labels > 0).sum()
    assert row["area"] == pytest.approx(row["npixels"] * 0.25)
    assert row["diameter"] == 41
    assert (row["center_y"], row["center_x"]) == (23.0, 23.0)
    assert row["circularity"] == pytest.approx(1.0, abs=0.12)
    assert row["elongation"] == pytest.approx(1 / row["circularity"])


def test_extra_properties_and_real_masks(mask2d, mask3d):
    table = measure_instances(mask2d, extra_properties=["eccentricity", "solidity"])
    assert len(table) == len(np.unique(mask2d)) - 1
    assert {"eccentricity", "solidity"} <= set(table.columns)
    assert table["npixels"].sum() == (mask2d > 0).sum()
    table3 = measure_instances(mask3d)
    assert {"volume", "surface_area", "sphericity"} <= set(table3.columns)
    assert table3["sphericity"].between(0.2, 1.1).all()  # cut and flattened nuclei go low


def test_bad_spacing_is_named():
    with pytest.raises(ValueError, match="`spacing`"):
        measure_instances(np.ones((3, 3), np.uint8), spacing=(1.0,))


def test_huge_ids_are_measured_under_their_own_ids(mask2d):
    """Ids near 2**31 cost what the instance count costs (issue 13: find_objects on them
    asked for gigabytes) and keep their ids in the table."""
    from tests.helpers import with_huge_ids

    huge, mapping = with_huge_ids(mask2d)
    expected = measure_instances(mask2d, extra_properties=["solidity"])
    expected["label"] = expected["label"].map(mapping)
    pd.testing.assert_frame_equal(
        measure_instances(huge, extra_properties=["solidity"]), expected, check_dtype=False
    )
