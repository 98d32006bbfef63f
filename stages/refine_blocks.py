"""INSTANCE_REFINEMENT block by block, for label volumes on disk that are never read whole.

Each operation is one pass over the blocks, reading the previous pass's labels and writing
its own: dilation and erosion read each block with a margin of their radius, hole filling
with a halo that should hold the largest instance, and the operations that need a figure of
the whole volume get it first from a pass of their own (the instances touching the volume's
faces for clear_border, every instance's size for the removals). A last pass numbers the
instances left 1..n in the order of their ids. For instances within the halo the labels are
those of :func:`stages.refine.refine_instances` and a sequential relabelling on the whole
volume (tested); hole filling cannot see the whole of a larger instance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .decode.blocks import block_boxes
from .labels import label_sizes_by_blocks
from .labels.morphology import erode_labels
from .refine import OPERATIONS, fill_instance_holes


def border_ids(labels) -> np.ndarray:
    """The ids of the instances that touch a face of the volume (read face by face)."""
    found = [np.zeros(1, labels.dtype)]
    for axis in range(len(labels.shape)):
        for index in (0, labels.shape[axis] - 1):
            face = tuple(
                slice(index, index + 1) if a == axis else slice(None)
                for a in range(len(labels.shape))
            )
            found.append(np.unique(np.asarray(labels[face])))
    ids = np.unique(np.concatenate(found))
    return ids[ids > 0]


def _local_pass(source, target, block, margin: Sequence[int], operation: Callable) -> None:
    """``target`` = ``operation`` of ``source``, each block read with ``margin`` around it."""
    shape = tuple(source.shape)
    for box in block_boxes(shape, block):
        region = tuple(
            slice(max(b.start - m, 0), min(b.stop + m, s)) for b, m, s in zip(box, margin, shape)
        )
        result = operation(np.asarray(source[region]))
        target[box] = result[tuple(slice(b.start - r.start, b.stop - r.start)
                                   for b, r in zip(box, region))]  # fmt: skip


def _map_pass(source, target, block, table: np.ndarray) -> None:
    """``target`` = ``table[source]`` block by block (ids beyond the table keep their value)."""
    for box in block_boxes(source.shape, block):
        values = np.asarray(source[box])
        mapped = np.where(values < len(table), table[np.minimum(values, len(table) - 1)], values)
        target[box] = mapped.astype(values.dtype, copy=False)


def remove_ids_by_blocks(source, target, block: Sequence[int], ids: np.ndarray) -> None:
    """``target`` = ``source`` without the instances ``ids`` (the others keep their ids),
    written block by block."""
    ids = np.asarray(ids, dtype=np.int64)
    length = int(ids.max()) + 1 if len(ids) else 1
    _map_pass(source, target, block, _removal_table(ids, length))


def _removal_table(remove: np.ndarray, length: int) -> np.ndarray:
    """An id table that sends the ids of ``remove`` to 0 and keeps the others."""
    table = np.arange(length, dtype=np.int64)
    table[remove[remove < length]] = 0
    return table


def refine_by_blocks(
    labels,
    operations: Sequence[str],
    values: Sequence[int | str],
    block: Sequence[int],
    halo: Sequence[int],
    scratch: Callable[[int], object],
    out,
) -> int:
    """Refine the label volume ``labels`` (an array, or a Zarr read block by block) into
    ``out`` (zeroed, of the same shape), ids renumbered 1..n. ``scratch(k)`` gives a fresh
    array of the volume's shape and dtype for the labels after operation k (on disk for a
    volume larger than memory). Returns the number of instances left."""
    if len(operations) != len(values):
        raise ValueError(
            f"`values` ({len(values)}) must have one entry per operation ({len(operations)})"
        )
    ndim = len(labels.shape)
    if not (len(block) == len(halo) == ndim):
        raise ValueError(f"block {list(block)} and halo {list(halo)} need {ndim} values each")
    current = labels
    for step, (operation, value) in enumerate(zip(operations, values)):
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown refinement operation {operation!r}; valid: {', '.join(OPERATIONS)}"
            )
        target = scratch(step)
        if operation == "dilation":
            from skimage.segmentation import expand_labels

            radius = int(value)
            _local_pass(current, target, block, (radius,) * ndim,
                        lambda region, r=radius: expand_labels(region, distance=r))  # fmt: skip
        elif operation == "erosion":
            radius = int(value)
            _local_pass(current, target, block, (radius,) * ndim,
                        lambda region, r=radius: erode_labels(region, r))  # fmt: skip
        elif operation == "fill_holes":
            _local_pass(current, target, block, halo, fill_instance_holes)
        elif operation == "clear_border":
            ids = border_ids(current)
            length = int(ids.max()) + 1 if len(ids) else 1
            _map_pass(current, target, block, _removal_table(ids, length))
        else:
            sizes = label_sizes_by_blocks(current, block)
            ids = np.arange(len(sizes))
            if operation == "remove_small_objects":
                if int(value) <= 1:
                    remove = ids[:0]
                else:
                    remove = ids[(sizes < int(value)) & (ids > 0)]
            else:
                remove = ids[(sizes > int(value)) & (ids > 0)]
            _map_pass(current, target, block, _removal_table(remove, len(sizes)))
        current = target
    sizes = label_sizes_by_blocks(current, block)
    present = np.flatnonzero(sizes)
    present = present[present > 0]
    table = np.zeros(len(sizes), np.int64)
    table[present] = np.arange(1, len(present) + 1)
    _map_pass(current, out, block, table)
    return len(present)
