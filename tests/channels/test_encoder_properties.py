"""Encoders on random label images, 2D and 3D (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from stages.channels import encode_channels
from stages.nn.data import flip_and_rotate
from tests.strategies import label_images

ALL_2D = ["F", "B", "P", "C", "T", "Db", "Dc", "D", "H", "V"]


@given(label_images())
def test_every_channel_is_finite_bounded_and_consistent(labels):
    codes = ALL_2D + (["Z"] if labels.ndim == 3 else [])
    out = encode_channels(labels, codes)
    assert (
        out.shape == (len(codes),) + labels.shape
        and out.dtype == np.float32
        and np.isfinite(out).all()
    )
    channel = dict(zip(codes, out))
    inside = labels > 0
    np.testing.assert_array_equal(channel["F"], inside)
    np.testing.assert_array_equal(channel["B"], ~inside)
    for code in ("P", "T"):
        assert not channel[code][~inside].any(), code  # only inside instances
    for code in ("Db", "Dc"):
        assert (
            channel[code].min() >= 0
            and channel[code].max() <= 1
            and not channel[code][~inside].any()
        )
        assert (channel[code][inside] > 0).all(), code  # mask_values must see every instance pixel
    for code in ("D", "H", "V") + (("Z",) if labels.ndim == 3 else ()):
        assert np.abs(channel[code]).max() <= 1 + 1e-6
    assert (channel["D"][inside] > 0).all() and (channel["D"][~inside] <= 0).all()
    # every instance keeps at least one centre point
    ids = np.unique(labels[inside])
    assert set(np.unique(labels[channel["P"] > 0])) == set(ids.tolist())


@given(label_images(ndim=2), st.sampled_from([(), (-1,), (-2,), (-2, -1)]), st.integers(0, 3))
def test_encoding_commutes_with_flips_and_rotations(labels, flips, k):
    if labels.shape[0] != labels.shape[1]:
        labels = labels[: min(labels.shape), : min(labels.shape)]
    codes = ["F", "C", "Db", "H", "V"]
    moved = flip_and_rotate(labels[np.newaxis], flips, k)[0]
    np.testing.assert_allclose(
        flip_and_rotate(encode_channels(labels, codes), flips, k, codes),
        encode_channels(moved, codes),
        atol=1e-5,
    )


@given(label_images())
def test_windowed_neighbour_distance_matches_the_whole_image_reference(labels):
    from stages.channels.distance import _distance_to_other_instances
    from tests.channels.test_distance import _slow_distance_to_others

    fast, _ = _distance_to_other_instances(labels)
    np.testing.assert_allclose(fast, _slow_distance_to_others(labels), rtol=1e-6)
