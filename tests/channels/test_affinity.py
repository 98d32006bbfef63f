import numpy as np
import pytest

from stages.channels import ENCODERS, channel_planes, encode_channels
from stages.channels.affinity import affinity_offsets, aggregate_affinities, offsets_from_plane_names
from tests.helpers import touching_squares


@pytest.mark.parametrize("neighborhood, ndim, count", [("4-connectivity", 2, 2), ("8-connectivity", 2, 4), ("6-connectivity", 3, 3),
                                                       ("18-connectivity", 3, 9), ("26-connectivity", 3, 13), (None, 2, 4), (None, 3, 13)])
def test_half_neighbourhoods(neighborhood, ndim, count):
    offsets = affinity_offsets(neighborhood, ndim)
    assert len(offsets) == count == len(set(offsets))
    assert all(next(c for c in o if c) > 0 for o in offsets)  # never both o and -o


def test_affinity_is_one_between_pixels_of_one_instance():
    labels = np.array([[1, 1, 2, 0],
                       [1, 1, 2, 0]], np.uint8)
    planes = encode_channels(labels, ["A"], {"A": {"neighborhood": "4-connectivity"}})
    assert channel_planes(["A"], {"A": {"neighborhood": "4-connectivity"}}, 2) == ["A[1,0]", "A[0,1]"]
    # plane [1,0]: pixel and the one above; plane [0,1]: pixel and the one to its left
    np.testing.assert_array_equal(planes[0], [[0, 0, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(planes[1], [[0, 1, 0, 0], [0, 1, 0, 0]])


def test_aggregated_map_and_foreground():
    labels = touching_squares()
    planes = encode_channels(labels, ["A"])
    names = channel_planes(["A"], {}, 2)
    aggregated, foreground = aggregate_affinities(planes, offsets_from_plane_names(names))
    np.testing.assert_array_equal(foreground > 0, labels > 0)  # every pixel of an object bigger than one has a partner
    assert not aggregated[labels == 0].any() and aggregated.sum() < (labels > 0).sum()


def test_neighbourhood_must_fit_the_dimension():
    with pytest.raises(ValueError, match="in 3D must be one of"):
        ENCODERS["A"].resolve_options({"neighborhood": "8-connectivity"}, 3)
