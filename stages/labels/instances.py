"""Per-instance work through bounding boxes, with memory bounded by the number of instances.

``scipy.ndimage.find_objects`` and per-id tables allocate one entry per id up to the largest
one: labels with ids near 2**31 would ask for gigabytes. Such labels are renumbered 1..n
first (and mapped back where the output keeps the input's ids).
"""

from __future__ import annotations

import numpy as np

from .._lazy import lazy_import

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")

#: largest id used as it is; above it, ids are renumbered before per-id tables are built
#: (a table of 2**20 ids costs a few MB)
DIRECT_IDS = 1 << 20


def compact_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels with small ids, and the original id of each new one (None when unchanged).

    Returns
    -------
    labels, ids
        When the largest id is above :data:`DIRECT_IDS`, the instances renumbered 1..n in
        the order of their ids and ``ids[k - 1]`` the original id of instance ``k``;
        otherwise ``labels`` itself and None.
    """
    if labels.size == 0 or int(labels.max()) <= DIRECT_IDS:
        return labels, None
    ids, inverse = np.unique(labels, return_inverse=True)
    if ids[0] != 0:
        ids = np.concatenate([[0], ids])
        inverse = inverse + 1
    dtype = np.uint16 if len(ids) <= np.iinfo(np.uint16).max else np.uint32
    return inverse.reshape(labels.shape).astype(dtype), ids[1:]


def restore_ids(labels: np.ndarray, ids: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """Undo :func:`compact_ids` on labels derived from its output (0 stays background)."""
    if ids is None:
        return labels.astype(dtype, copy=False)
    table = np.concatenate([[0], ids]).astype(dtype)
    return table[labels]


def instance_boxes(labels: np.ndarray) -> list[tuple[int, tuple[slice, ...]]]:
    """(id, bounding box) of every instance present, in id order.

    Memory grows with the number of instances, not with the largest id.
    """
    compact, ids = compact_ids(labels)
    return [
        (index + 1 if ids is None else int(ids[index]), box)
        for index, box in enumerate(ndi.find_objects(compact))
        if box is not None
    ]


def instance_count(labels: np.ndarray) -> int:
    """How many instances (distinct non-zero ids) ``labels`` holds."""
    ids = np.unique(labels)
    return int(np.count_nonzero(ids))


def label_sizes_by_blocks(labels, block) -> np.ndarray:
    """Voxels per id (index = id) of labels read by regions (an array, or a lazy one that
    slices), summed block by block: the memory of one block and a table up to the largest id."""
    from ..decode.blocks import block_boxes

    sizes = np.zeros(1, np.int64)
    for box in block_boxes(labels.shape, block):
        counts = np.bincount(np.asarray(labels[box]).ravel())
        if len(counts) > len(sizes):
            sizes = np.concatenate([sizes, np.zeros(len(counts) - len(sizes), np.int64)])
        sizes[: len(counts)] += counts
    return sizes


def instance_count_by_blocks(labels, block) -> int:
    """:func:`instance_count` of labels read by regions, block by block."""
    return int(np.count_nonzero(label_sizes_by_blocks(labels, block)[1:]))


def label_boxes_by_blocks(labels, block) -> dict:
    """id -> bounding box (slices) of every instance of labels read by regions, block by
    block."""
    from ..decode.blocks import block_boxes

    low = np.zeros((0, len(labels.shape)), np.int64)
    high = np.zeros((0, len(labels.shape)), np.int64)
    for box in block_boxes(labels.shape, block):
        ids, inverse = np.unique(np.asarray(labels[box]), return_inverse=True)
        if ids[-1] >= len(low):
            grow = int(ids[-1]) + 1 - len(low)
            low = np.concatenate([low, np.full((grow, low.shape[1]), np.iinfo(np.int64).max)])
            high = np.concatenate([high, np.full((grow, high.shape[1]), -1)])
        local = ndi.find_objects(inverse.reshape(tuple(b.stop - b.start for b in box)) + 1)
        for index, found in enumerate(local):
            if found is None or ids[index] == 0:
                continue
            starts = [f.start + b.start for f, b in zip(found, box)]
            stops = [f.stop + b.start for f, b in zip(found, box)]
            low[ids[index]] = np.minimum(low[ids[index]], starts)
            high[ids[index]] = np.maximum(high[ids[index]], stops)
    return {
        int(i): tuple(slice(int(a), int(b)) for a, b in zip(low[i], high[i]))
        for i in np.flatnonzero(high[:, 0] >= 0)
        if i > 0
    }
