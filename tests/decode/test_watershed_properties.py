"""The watershed on random label images, 2D and 3D (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from stages.channels import encode_channels
from stages.decode.watershed import watershed_from_channels
from stages.metrics import match_instances
from tests.strategies import label_images, separated_blobs


@given(
    label_images(),
    st.sampled_from(
        [["F", "C"], ["F", "Db"], ["F", "P"], ["B", "C"], ["F", "T"], ["D", "C"], ["F", "Dn"]]
    ),
)
def test_instances_stay_in_the_foreground_with_consecutive_ids(labels, codes):
    result = watershed_from_channels(encode_channels(labels, codes), codes)
    assert result.labels.dtype == np.uint32 and result.labels.shape == labels.shape
    assert not result.labels[labels == 0].any()
    ids = np.unique(result.labels)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))


@given(
    st.sampled_from([2, 3]).flatmap(separated_blobs),
    st.sampled_from([["F", "C"], ["F", "Db"], ["F", "P"], ["F", "C", "Db"], ["D", "C"]]),
)
def test_round_trip_is_exact_for_thick_separate_instances(labels, codes):
    result = watershed_from_channels(encode_channels(labels, codes), codes)
    stats = match_instances(labels, result.labels, [0.99])[0].stats
    assert stats["fp"] == 0 and stats["fn"] == 0
