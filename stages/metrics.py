"""Instance matching at IoU thresholds: precision, recall, accuracy, F1, panoptic quality (as
stardist.matching)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from skimage.segmentation import relabel_sequential

METRICS = (
    "fp",
    "tp",
    "fn",
    "precision",
    "recall",
    "accuracy",
    "f1",
    "n_true",
    "n_pred",
    "mean_true_score",
    "mean_matched_score",
    "panoptic_quality",
)


@dataclass
class Matching:
    threshold: float
    stats: dict
    gt_ids: np.ndarray  # original ids, one per ground-truth instance
    pred_ids: np.ndarray
    matched_gt: np.ndarray  # indices into gt_ids of true positives
    matched_pred: np.ndarray
    matched_iou: np.ndarray
    best_iou_gt: np.ndarray  # best IoU of each gt instance with any prediction
    best_iou_pred: np.ndarray


def iou_matrix(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every (gt, pred) pair of instances, from one bincount over pixels.

    Returns the float32 IoU matrix (background row/column dropped) and the original ids.
    """
    if gt.shape != pred.shape:
        raise ValueError(
            f"`gt` (shape {gt.shape}) and `pred` (shape {pred.shape}) must have the same shape"
        )
    for name, array in (("gt", gt), ("pred", pred)):
        if not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
            raise ValueError(
                f"`{name}` must hold non-negative integer labels, got dtype {array.dtype}"
            )
    gt_seq, _, gt_map = relabel_sequential(gt)
    pred_seq, _, pred_map = relabel_sequential(pred)
    n_gt, n_pred = int(gt_seq.max()) + 1, int(pred_seq.max()) + 1
    pairs = gt_seq.astype(np.int64).ravel() * n_pred + pred_seq.astype(np.int64).ravel()
    overlap = np.bincount(pairs, minlength=n_gt * n_pred).reshape(n_gt, n_pred)
    pixels_gt = overlap.sum(axis=1, keepdims=True)
    pixels_pred = overlap.sum(axis=0, keepdims=True)
    union = pixels_gt + pixels_pred - overlap
    iou = np.zeros(overlap.shape, dtype=np.float32)
    np.divide(overlap, union, out=iou, where=union > 0)
    return iou[1:, 1:], np.asarray(gt_map[1:n_gt]), np.asarray(pred_map[1:n_pred])


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b > 0 else 0.0


def match_instances(
    gt: np.ndarray, pred: np.ndarray, thresholds: Sequence[float] = (0.5,)
) -> list[Matching]:
    """Optimal one-to-one matching at each IoU threshold (pairs with IoU >= threshold count)."""
    scores, gt_ids, pred_ids = iou_matrix(gt, pred)
    n_true, n_pred = scores.shape
    n_matched = min(n_true, n_pred)
    results = []
    for threshold in thresholds:
        threshold = float(threshold)
        if n_matched > 0:
            # maximise the number of matches above the threshold, IoU breaking ties
            costs = -(scores >= threshold).astype(float) - scores / (2 * n_matched)
            rows, cols = linear_sum_assignment(costs)
            ok = scores[rows, cols] >= threshold
            rows, cols = rows[ok], cols[ok]
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
        matched = scores[rows, cols]
        tp = int(len(rows))
        fp, fn = n_pred - tp, n_true - tp
        total = float(matched.sum())
        stats = {
            "fp": fp,
            "tp": tp,
            "fn": fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "accuracy": _ratio(tp, tp + fp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "n_true": n_true,
            "n_pred": n_pred,
            "mean_true_score": _ratio(total, n_true),
            "mean_matched_score": _ratio(total, tp),
            "panoptic_quality": _ratio(total, tp + fp / 2 + fn / 2),
        }
        results.append(
            Matching(
                threshold,
                stats,
                gt_ids,
                pred_ids,
                rows,
                cols,
                matched,
                scores.max(axis=1) if n_pred else np.zeros(n_true, np.float32),
                scores.max(axis=0) if n_true else np.zeros(n_pred, np.float32),
            )
        )
    return results


def associations(matching: Matching) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(gt associations, false positives) tables: every gt instance tagged TP or FN, every unmatched
    prediction."""
    pred_of_gt = np.full(len(matching.gt_ids), -1, dtype=np.int64)
    iou_of_gt = matching.best_iou_gt.astype(np.float64).copy()
    pred_of_gt[matching.matched_gt] = matching.pred_ids[matching.matched_pred]
    iou_of_gt[matching.matched_gt] = matching.matched_iou
    gt_table = pd.DataFrame(
        {
            "gt_id": matching.gt_ids.astype(np.int64),
            "pred_id": pred_of_gt,
            "iou": iou_of_gt,
            "tag": np.where(pred_of_gt >= 0, "TP", "FN"),
        }
    )
    unmatched = np.setdiff1d(np.arange(len(matching.pred_ids)), matching.matched_pred)
    fp_table = pd.DataFrame(
        {
            "pred_id": matching.pred_ids[unmatched].astype(np.int64),
            "best_iou": matching.best_iou_pred[unmatched].astype(np.float64),
        }
    )
    return gt_table, fp_table


def association_image(gt: np.ndarray, pred: np.ndarray, matching: Matching) -> np.ndarray:
    """RGB uint8 image: true positives green, false negatives red, false positives blue."""
    rgb = np.zeros(gt.shape + (3,), dtype=np.uint8)
    matched_pred = np.isin(pred, matching.pred_ids[matching.matched_pred])
    unmatched_pred = (pred > 0) & ~matched_pred
    unmatched_gt = (gt > 0) & ~np.isin(gt, matching.gt_ids[matching.matched_gt])
    rgb[unmatched_gt, 0] = 255
    rgb[matched_pred, 1] = 255
    rgb[unmatched_pred, 2] = 255
    return rgb


def metrics_row(name: str, matchings: Sequence[Matching], tag: str = "") -> dict:
    """One row of test_results_metrics.csv with BiaPy's column names ('0.5 TH f1', '0.5 TH
    (post)f1')."""
    row: dict = {"file": name}
    for matching in matchings:
        for metric in METRICS:
            row[f"{matching.threshold:g} TH {tag}{metric}"] = matching.stats[metric]
    return row
