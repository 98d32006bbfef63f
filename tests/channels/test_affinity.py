import numpy as np
import pytest

from stages.channels import ENCODERS, channel_planes, encode_channels
from stages.channels.affinity import (
    affinity_offsets,
    aggregate_affinities,
    offsets_from_plane_names,
)
from tests.helpers import touching_squares


@pytest.mark.parametrize(
    "neighborhood, ndim, count",
    [
        ("4-connectivity", 2, 2),
        ("8-connectivity", 2, 4),
        ("6-connectivity", 3, 3),
        ("18-connectivity", 3, 9),
        ("26-connectivity", 3, 13),
        (None, 2, 4),
        (None, 3, 13),
    ],
)
def test_half_neighbourhoods(neighborhood, ndim, count):
    offsets = affinity_offsets(neighborhood, ndim)
    assert len(offsets) == count == len(set(offsets))
    assert all(next(c for c in o if c) > 0 for o in offsets)  # never both o and -o


def test_affinity_is_one_between_pixels_of_one_instance():
    labels = np.array([[1, 1, 2, 0], [1, 1, 2, 0]], np.uint8)
    planes = encode_channels(labels, ["A"], {"A": {"neighborhood": "4-connectivity"}})
    assert channel_planes(["A"], {"A": {"neighborhood": "4-connectivity"}}, 2) == [
        "A[1,0]",
        "A[0,1]",
    ]
    # plane [1,0]: pixel and the one above; plane [0,1]: pixel and the one to its left
    np.testing.assert_array_equal(planes[0], [[0, 0, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(planes[1], [[0, 1, 0, 0], [0, 1, 0, 0]])


def test_aggregated_map_and_foreground():
    labels = touching_squares()
    planes = encode_channels(labels, ["A"])
    names = channel_planes(["A"], {}, 2)
    aggregated, foreground = aggregate_affinities(planes, offsets_from_plane_names(names))
    np.testing.assert_array_equal(
        foreground > 0, labels > 0
    )  # every pixel of an object bigger than one has a partner
    assert not aggregated[labels == 0].any() and aggregated.sum() < (labels > 0).sum()


def test_neighbourhood_must_fit_the_dimension():
    with pytest.raises(ValueError, match="in 3D must be one of"):
        ENCODERS["A"].resolve_options({"neighborhood": "8-connectivity"}, 3)


def test_biapy_axis_lists_give_axis_offsets_long_range_included():
    options = {"z_affinities": [1, 3], "y_affinities": [1, 3], "x_affinities": [1, 4]}
    assert affinity_offsets(None, 3, **options) == [
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 1),
        (3, 0, 0),
        (0, 3, 0),
        (0, 0, 4),
    ]
    assert channel_planes(["A"], {"A": options}, 3)[-1] == "A[0,0,4]"
    labels = np.zeros((6, 8, 10), np.uint16)
    labels[:, :, :5] = 1
    labels[:, :, 5:] = 2
    planes = encode_channels(labels, ["A"], {"A": options})
    x4 = planes[-1]
    # p and p - (0,0,4) in the same instance: x in 4 (from 0) and 9 (from 5) only, per instance
    np.testing.assert_array_equal(np.flatnonzero(x4[0, 0]), [4, 9])
    # 2D takes y/x lists; a z list there, unequal lengths or non-positive distances are errors
    assert affinity_offsets(None, 2, y_affinities=[2], x_affinities=[2]) == [(2, 0), (0, 2)]
    for bad, message in (
        ({"z_affinities": [1]}, "needs 3D"),
        ({"y_affinities": [1, 2], "x_affinities": [1]}, "equal lengths"),
        ({"y_affinities": [0], "x_affinities": [1]}, "positive integers"),
    ):
        with pytest.raises(ValueError, match=message):
            ENCODERS["A"].resolve_options(bad, 2)


def test_widen_borders_clears_pixels_near_another_instance_in_their_slice(mask3d):
    from stages.channels.affinity import widen_instance_borders

    labels = np.zeros((2, 6, 8), np.uint16)
    labels[:, 1:5, 1:4] = 1
    labels[:, 1:5, 4:7] = 2
    widened = widen_instance_borders(labels, 1)
    assert (widened[:, 1:5, 3:5] == 0).all()  # the two columns along the contact
    assert (widened[:, 1:5, 1:3] == 1).all() and (widened[:, 1:5, 5:7] == 2).all()
    # an instance alone next to background keeps every pixel
    alone = np.zeros((5, 5), np.uint16)
    alone[1:4, 1:4] = 7
    np.testing.assert_array_equal(widen_instance_borders(alone, 1), alone)
    planes = encode_channels(
        mask3d,
        ["A"],
        {"A": {"z_affinities": [1], "y_affinities": [1], "x_affinities": [1], "widen_borders": 1}},
    )
    assert (
        planes.shape[0] == 3
        and planes.sum()
        < encode_channels(mask3d, ["A"], {"A": {"neighborhood": "6-connectivity"}}).sum()
    )
