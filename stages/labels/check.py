"""The one check of an instance label array, used wherever labels come in."""

from __future__ import annotations

import numpy as np

#: the largest id a label image may hold (ids are written as uint16 or uint32)
MAX_ID = int(np.iinfo(np.uint32).max)


def label_dtype(max_label: int) -> np.dtype:
    """uint16 when the ids fit, else uint32."""
    return np.dtype(np.uint16) if max_label <= np.iinfo(np.uint16).max else np.dtype(np.uint32)


def check_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Instance labels as a native unsigned array of at most 32 bits; ValueError naming ``name``.

    Integer-valued floats are accepted (some tools save labels as float); unsigned 8 to 32 bit
    arrays come back as they are, others as uint16 or uint32, whichever holds the largest id.
    """
    labels = np.asarray(labels)
    if not labels.dtype.isnative:
        # the compiled kernels read native byte order only (a big-endian array from a reader)
        labels = labels.astype(labels.dtype.newbyteorder("="))
    if labels.ndim not in (2, 3):
        raise ValueError(f"{name} must be 2D (Y,X) or 3D (Z,Y,X), got shape {labels.shape}")
    if labels.dtype == bool:
        raise ValueError(
            f"{name} is a boolean mask, not instance ids: give each object its own id "
            "(for example by labelling connected components)"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating):
            raise ValueError(f"{name} must hold integer instance ids, got dtype {labels.dtype}")
        if not np.all(np.isfinite(labels)) or not np.all(np.mod(labels, 1) == 0):
            raise ValueError(
                f"{name} must hold integer instance ids, got dtype {labels.dtype} with "
                "fractional or non-finite values"
            )
    if labels.size == 0:
        return labels.astype(np.uint16)
    if labels.dtype.kind != "u" and labels.min() < 0:
        raise ValueError(f"{name} must be non-negative, found {labels.min()}")
    if labels.dtype.kind == "u" and labels.dtype.itemsize <= 4:
        return labels
    top = labels.max()
    if top > MAX_ID:
        raise ValueError(f"{name} holds ids above 2**32-1 (largest {int(top)})")
    return labels.astype(label_dtype(int(top)))
