import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.channels._distance_kernels import distance_to_other_labels


def reference_distance(labels: np.ndarray, border: bool, background_zero: bool) -> np.ndarray:
    """One binary transform per label (slow, obvious): distance to the nearest pixel of another
    label."""
    padded = (
        np.pad(labels.astype(np.int64), 1, constant_values=-1)
        if border
        else labels.astype(np.int64)
    )
    out = np.full(padded.shape, np.inf)
    for value in np.unique(padded):
        inside = padded == value
        if inside.all():
            continue  # no other label: infinitely far
        out[inside] = ndi.distance_transform_edt(inside)[inside]
    if background_zero:
        out[padded == 0] = 0
    if border:
        out = out[(slice(1, -1),) * labels.ndim]
    return out.astype(np.float32)


def compiled_distance(
    labels: np.ndarray, border: bool, background_zero: bool, threads: int = 2, squared: bool = False
) -> np.ndarray:
    volume = np.ascontiguousarray(labels[np.newaxis] if labels.ndim == 2 else labels)
    return distance_to_other_labels(
        volume, labels.ndim == 2, border, background_zero, squared, threads
    ).reshape(labels.shape)


def random_labels(rng: np.random.Generator, ndim: int) -> np.ndarray:
    shape = tuple(int(n) for n in rng.integers(1, 14, ndim))
    labels = rng.integers(0, int(rng.integers(1, 5)), shape)
    if rng.random() < 0.6:
        # blocks of 3: runs longer than one pixel, as in real masks
        labels = np.kron(labels, np.ones((3,) * ndim, np.int64))[tuple(slice(0, n) for n in shape)]
    return labels.astype(
        rng.choice([np.uint8, np.uint16, np.uint32])
    )  # what check_labels hands the kernel


@pytest.mark.parametrize("ndim", [2, 3])
def test_equal_to_one_transform_per_label_on_random_images(ndim):
    rng = np.random.default_rng(ndim)
    for _ in range(150):
        labels = random_labels(rng, ndim)
        for border in (False, True):
            for background_zero in (False, True):
                np.testing.assert_array_equal(
                    compiled_distance(labels, border, background_zero),
                    reference_distance(labels, border, background_zero),
                )


def test_equal_to_one_transform_per_label_on_real_masks(mask2d, mask3d):
    for labels in (mask2d, mask3d):
        expected = reference_distance(labels, False, False)
        # instance pixels are measured alike either way; the background is 0 or its own distance
        for background_zero in (False, True):
            if background_zero:
                expected = np.where(labels == 0, np.float32(0), expected)
            np.testing.assert_array_equal(
                compiled_distance(labels, False, background_zero), expected
            )
            np.testing.assert_array_equal(
                compiled_distance(labels, False, background_zero, threads=1), expected
            )
            squared = compiled_distance(labels, False, background_zero, squared=True)
            np.testing.assert_array_equal(squared, np.round(expected.astype(np.float64) ** 2))


def test_one_label_is_unbounded_unless_the_border_counts():
    labels = np.full((7, 5, 6), 3, np.uint16)
    assert np.isinf(compiled_distance(labels, False, True)).all()
    bordered = compiled_distance(labels, True, True)
    assert bordered[0, 2, 3] == 1 and bordered[3, 2, 2] == 3  # nearest outside through a Z face
    # a 2D image has no Z faces
    assert compiled_distance(labels[0], True, True)[2, 2] == 3
