"""Pixel counts of instances and of overlapping instance pairs, additive over blocks.

The counts of disjoint blocks of two label images add up to the counts of the whole
images, so matching (:func:`stages.metrics.match_counts`) can be computed for a volume read
block by block, never whole. Ids are the images' own (any non-negative integers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OverlapCounts:
    """Sizes of each instance and shared pixels of each overlapping (gt, pred) pair."""

    gt_ids: np.ndarray  # sorted, without 0
    gt_sizes: np.ndarray  # int64
    pred_ids: np.ndarray
    pred_sizes: np.ndarray
    pair_gt: np.ndarray  # ids, pairs sorted by (gt, pred)
    pair_pred: np.ndarray
    shared: np.ndarray  # int64


def _sizes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, sizes = np.unique(labels, return_counts=True)
    keep = ids != 0
    return ids[keep].astype(np.int64), sizes[keep].astype(np.int64)


def _pairs(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    both = (gt != 0) & (pred != 0)
    if not both.any():
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    gt_ids, pred_ids = gt[both].astype(np.uint64), pred[both].astype(np.uint64)
    if int(gt_ids.max()) < 2**32 and int(pred_ids.max()) < 2**32:
        # one packed key per pixel: a 1D unique, far faster than unique over rows
        keys, shared = np.unique((gt_ids << np.uint64(32)) | pred_ids, return_counts=True)
        return (
            (keys >> np.uint64(32)).astype(np.int64),
            (keys & np.uint64(2**32 - 1)).astype(np.int64),
            shared.astype(np.int64),
        )
    stacked = np.stack([gt_ids.astype(np.int64), pred_ids.astype(np.int64)], axis=1)
    pairs, shared = np.unique(stacked, axis=0, return_counts=True)
    return pairs[:, 0], pairs[:, 1], shared.astype(np.int64)


def overlap_counts(gt: np.ndarray, pred: np.ndarray) -> OverlapCounts:
    """The counts of one block (or of whole images): two label arrays of one shape."""
    if gt.shape != pred.shape:
        raise ValueError(f"gt (shape {gt.shape}) and pred (shape {pred.shape}) differ in shape")
    gt_ids, gt_sizes = _sizes(gt)
    pred_ids, pred_sizes = _sizes(pred)
    return OverlapCounts(gt_ids, gt_sizes, pred_ids, pred_sizes, *_pairs(gt, pred))


def _summed(ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


def merge_counts(parts: Iterable[OverlapCounts]) -> OverlapCounts:
    """The counts of the union of disjoint blocks."""
    parts = list(parts)
    if not parts:
        empty = np.zeros(0, np.int64)
        return OverlapCounts(empty, empty, empty, empty, empty, empty, empty)
    gt_ids, gt_sizes = _summed(
        np.concatenate([p.gt_ids for p in parts]), np.concatenate([p.gt_sizes for p in parts])
    )
    pred_ids, pred_sizes = _summed(
        np.concatenate([p.pred_ids for p in parts]),
        np.concatenate([p.pred_sizes for p in parts]),
    )
    stacked = np.stack(
        [np.concatenate([p.pair_gt for p in parts]), np.concatenate([p.pair_pred for p in parts])],
        axis=1,
    )
    shared = np.concatenate([p.shared for p in parts])
    if len(stacked):
        pairs, inverse = np.unique(stacked, axis=0, return_inverse=True)
        shared = np.bincount(inverse.ravel(), weights=shared, minlength=len(pairs))
        pair_gt, pair_pred = pairs[:, 0], pairs[:, 1]
    else:
        pair_gt = pair_pred = np.zeros(0, np.int64)
    return OverlapCounts(
        gt_ids, gt_sizes, pred_ids, pred_sizes, pair_gt, pair_pred, shared.astype(np.int64)
    )


#: block counts merged into the running total this many at a time
MERGE_EVERY = 32


def blockwise_counts(gt, pred, block: tuple[int, ...]) -> OverlapCounts:
    """Counts of two label arrays gathered block by block (arrays or lazy arrays that slice:
    Zarr, HDF5, :class:`stages.evaluate_blocks.LabelBlocks`), each block read once."""
    from .decode.blocks import block_boxes

    if tuple(gt.shape) != tuple(pred.shape):
        raise ValueError(f"gt (shape {gt.shape}) and pred (shape {pred.shape}) differ in shape")
    parts: list[OverlapCounts] = []
    for box in block_boxes(gt.shape, block):
        parts.append(overlap_counts(np.asarray(gt[box]), np.asarray(pred[box])))
        if len(parts) == MERGE_EVERY:  # bounded: a few blocks' counts and the running total
            parts = [merge_counts(parts)]
    return merge_counts(parts)
