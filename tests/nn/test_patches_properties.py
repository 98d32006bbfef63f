"""Cutting into patches and blending back is the identity for any geometry (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.nn.test_patches import _identity_round_trip


@st.composite
def geometries(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.integers(1, 40)) for _ in range(ndim))
    patch = tuple(draw(st.integers(4, 24)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, (p - 1) // 2)) for p in patch)
    overlap = tuple(draw(st.sampled_from([0.0, 0.25, 0.5, 0.75])) for _ in range(ndim))
    return shape, patch, padding, overlap


@given(geometries(), st.integers(1, 3))
def test_identity_round_trip(geometry, shards):
    shape, patch, padding, overlap = geometry
    image = np.random.default_rng(0).random(shape + (1,), dtype=np.float32)
    np.testing.assert_array_equal(
        _identity_round_trip(image, patch, padding, overlap, shards=shards),
        np.moveaxis(image, -1, 0),
    )
