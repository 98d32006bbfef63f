import numpy as np
import pytest

from stages.labels import check_labels


@pytest.mark.parametrize(
    "array, message",
    [
        (np.array([[0.5, 1.0]]), "integer instance ids, got dtype float64 with fractional"),
        (np.array([[np.nan, 1.0]]), "fractional or non-finite"),
        (np.array([[-1, 2]]), "non-negative, found -1"),
        (np.array([[True, False]]), "boolean mask, not instance ids"),
        (np.array([["a", "b"]]), "integer instance ids, got dtype <U1"),
        (np.zeros((2, 2, 2, 2), np.uint8), "2D \\(Y,X\\) or 3D"),
        (np.array([[0, 2**33]], dtype=np.int64), "ids above 2\\*\\*32-1"),
    ],
)
def test_bad_labels_are_named(array, message):
    with pytest.raises(ValueError, match=f"^masks .*{message}"):
        check_labels(array, "masks")


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.uint8, np.uint8),
        (np.uint32, np.uint32),
        (np.int64, np.uint16),
        (np.float32, np.uint16),
        (np.dtype(">u2"), np.uint16),  # big-endian from a TIFF: native order for the kernels
    ],
)
def test_accepted_dtypes(dtype, expected):
    labels = check_labels(np.array([[0, 3], [3, 1]]).astype(dtype))
    assert labels.dtype == expected and labels.dtype.isnative
    assert labels.tolist() == [[0, 3], [3, 1]]


def test_large_ids_keep_32_bits():
    assert check_labels(np.array([[0, 70000]], dtype=np.int64)).dtype == np.uint32
