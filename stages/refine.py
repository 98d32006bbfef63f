"""TEST.POST_PROCESSING.INSTANCE_REFINEMENT: per-instance operations that never let one instance
grow into another."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import expand_labels

from .labels import compact_ids, instance_boxes, restore_ids
from .labels.morphology import erode_labels, remove_large_labels, remove_small_labels

OPERATIONS = (
    "dilation",
    "erosion",
    "fill_holes",
    "clear_border",
    "remove_small_objects",
    "remove_large_objects",
)


def fill_instance_holes(labels: np.ndarray) -> np.ndarray:
    """Fill the holes of each instance with its id, only where the hole is background."""
    out = labels.copy()
    for label_id, box in instance_boxes(labels):
        mask = labels[box] == label_id
        holes = ndi.binary_fill_holes(mask) & (labels[box] == 0)
        out[box][holes] = label_id
    return out


def clear_border_instances(labels: np.ndarray) -> np.ndarray:
    """The instances that touch a face of the image removed, whole. skimage's clear_border
    (BiaPy's) removes the same instances, except that of an instance made of separate pieces
    it removes only the pieces on the border; segpipe removes the instance, so that a volume
    refined block by block (which sees the faces, not every piece) gives the same labels."""
    on_faces = [np.zeros(1, labels.dtype)]
    for axis in range(labels.ndim):
        on_faces += [np.take(labels, 0, axis).ravel(), np.take(labels, -1, axis).ravel()]
    touching = np.unique(np.concatenate(on_faces))
    return np.where(np.isin(labels, touching[touching > 0]), 0, labels).astype(labels.dtype)


def refine_instances(
    labels: np.ndarray, operations: Sequence[str], values: Sequence[int | str]
) -> np.ndarray:
    """Apply ``operations`` in order; ``values`` holds a radius or size per operation ('none' where
    none applies).

    Dilation grows instances into background only (nearest instance wins), erosion is
    per instance, so neighbours never bleed into each other.
    """
    if len(operations) != len(values):
        raise ValueError(
            f"`values` ({len(values)}) must have one entry per operation ({len(operations)})"
        )
    labels = np.asarray(labels)
    # sizes and boxes are tables over ids: huge sparse ids are renumbered, then restored
    out, original_ids = compact_ids(labels)
    for operation, value in zip(operations, values):
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown refinement operation {operation!r}; valid: {', '.join(OPERATIONS)}"
            )
        if operation == "dilation":
            out = expand_labels(out, distance=int(value))
        elif operation == "erosion":
            out = erode_labels(out, int(value))
        elif operation == "fill_holes":
            out = fill_instance_holes(out)
        elif operation == "clear_border":
            out = clear_border_instances(out)
        elif operation == "remove_small_objects":
            out = remove_small_labels(out, int(value))
        else:
            out = remove_large_labels(out, int(value))
    return restore_ids(out, original_ids, labels.dtype)
