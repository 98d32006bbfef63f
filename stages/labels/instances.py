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


class InstanceBoxes:
    """id -> bounding box (a tuple of slices) of instances, held as two int64 arrays (first
    voxel and one past the last, per id and axis): 48 bytes an id in 3D, where a dict of slice
    tuples takes about 500, which at 111,000 instances was a quarter of a block-wise repair's
    memory (benchmarks/RESULTS.md, 2026-12-04). Ids without a box are absent."""

    def __init__(self, low: np.ndarray, high: np.ndarray):
        self.low, self.high = low, high

    def __contains__(self, label_id) -> bool:
        return 0 < int(label_id) < len(self.high) and self.high[int(label_id), 0] >= 0

    def __getitem__(self, label_id) -> tuple[slice, ...]:
        if label_id not in self:
            raise KeyError(label_id)
        index = int(label_id)
        return tuple(slice(int(a), int(b)) for a, b in zip(self.low[index], self.high[index]))

    def __setitem__(self, label_id, box: tuple[slice, ...]) -> None:
        index = int(label_id)
        if not 0 < index < len(self.high):
            raise KeyError(label_id)
        self.low[index] = [s.start for s in box]
        self.high[index] = [s.stop for s in box]

    def keys(self) -> np.ndarray:
        present = np.flatnonzero(self.high[:, 0] >= 0)
        return present[present > 0]

    def __len__(self) -> int:
        return len(self.keys())

    def items(self):
        for label_id in self.keys():
            yield int(label_id), self[label_id]


def label_boxes_by_blocks(labels, block) -> InstanceBoxes:
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
    return InstanceBoxes(low, high)
