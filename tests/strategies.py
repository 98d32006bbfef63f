"""Hypothesis strategies: random instance label images in 2D and 3D (any integer dtype, ids above
255)."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

# reproducible in CI and never writing an example database into the checkout
settings.register_profile(
    "segpipe", derandomize=True, database=None, deadline=None, max_examples=40
)
settings.load_profile("segpipe")

DTYPES = (np.uint8, np.uint16, np.int32, np.uint32, np.int64)


@st.composite
def label_images(
    draw, ndim: int | None = None, max_side: int = 24, max_objects: int = 8
) -> np.ndarray:
    """Overlapping random boxes (later ones on top), so instances touch, nest and get cut."""
    ndim = ndim or draw(st.sampled_from([2, 3]))
    shape = tuple(
        draw(st.integers(3, max_side if ndim == 2 else max_side // 2)) for _ in range(ndim)
    )
    dtype = draw(st.sampled_from(DTYPES))
    top = 200 if dtype == np.uint8 else 70000 if np.iinfo(dtype).max > 70000 else 300
    labels = np.zeros(shape, dtype=dtype)
    for _ in range(draw(st.integers(0, max_objects))):
        start = [draw(st.integers(0, s - 1)) for s in shape]
        stop = [draw(st.integers(a + 1, s)) for a, s in zip(start, shape)]
        labels[tuple(slice(a, b) for a, b in zip(start, stop))] = draw(st.integers(1, top))
    return labels


@st.composite
def separated_blobs(draw, ndim: int) -> np.ndarray:
    """Boxes of side >= 4 on a grid with gaps: every instance is thick and apart from the others."""
    cells = [draw(st.integers(1, 3)) for _ in range(ndim)]
    cell = 8
    labels = np.zeros(tuple(c * cell for c in cells), dtype=np.uint16)
    next_id = 1
    for index in np.ndindex(*cells):
        if draw(st.booleans()):
            sides = [draw(st.integers(4, cell - 2)) for _ in range(ndim)]
            offsets = [draw(st.integers(1, cell - 1 - s)) for s in sides]
            labels[
                tuple(
                    slice(i * cell + o, i * cell + o + s) for i, o, s in zip(index, offsets, sides)
                )
            ] = next_id
            next_id += draw(st.integers(1, 500))
    return labels
