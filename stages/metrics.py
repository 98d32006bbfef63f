"""Instance matching at IoU thresholds: precision, recall, accuracy, F1, panoptic quality (as
stardist.matching)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components
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


#: the scores an image empty in both ground truth and prediction gets: 1 (a perfect match)
PERFECT_WHEN_BOTH_EMPTY = (
    "precision",
    "recall",
    "accuracy",
    "f1",
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


@dataclass(frozen=True)
class Overlaps:
    """The instance pairs of two label images that share pixels, with their IoU.

    ``rows``/``cols`` index ``gt_ids``/``pred_ids`` (the original ids, in increasing order).
    Sized by the number of overlapping pairs, never by n_gt x n_pred.
    """

    rows: np.ndarray
    cols: np.ndarray
    iou: np.ndarray  # float32
    gt_ids: np.ndarray
    pred_ids: np.ndarray


def _check_pair(gt: np.ndarray, pred: np.ndarray) -> None:
    if gt.shape != pred.shape:
        raise ValueError(
            f"`gt` (shape {gt.shape}) and `pred` (shape {pred.shape}) must have the same shape"
        )
    for name, array in (("gt", gt), ("pred", pred)):
        if not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
            raise ValueError(
                f"`{name}` must hold non-negative integer labels, got dtype {array.dtype}"
            )


def overlaps(gt: np.ndarray, pred: np.ndarray) -> Overlaps:
    """Every (gt, pred) pair of instances that overlap, and its IoU, from the pixels they share."""
    _check_pair(gt, pred)
    gt_seq, _, gt_map = relabel_sequential(gt)
    pred_seq, _, pred_map = relabel_sequential(pred)
    n_gt, n_pred = int(gt_seq.max(initial=0)), int(pred_seq.max(initial=0))
    size_gt = np.bincount(gt_seq.ravel(), minlength=n_gt + 1)[1:]
    size_pred = np.bincount(pred_seq.ravel(), minlength=n_pred + 1)[1:]
    both = (gt_seq > 0) & (pred_seq > 0)
    keys = gt_seq[both].astype(np.int64) * (n_pred + 1) + pred_seq[both].astype(np.int64)
    keys, shared = np.unique(keys, return_counts=True)
    rows, cols = keys // (n_pred + 1) - 1, keys % (n_pred + 1) - 1
    iou = (shared / (size_gt[rows] + size_pred[cols] - shared)).astype(np.float32)
    return Overlaps(
        rows, cols, iou, np.asarray(gt_map[1 : n_gt + 1]), np.asarray(pred_map[1 : n_pred + 1])
    )


def _match_above(found: Overlaps, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The most pairs with IoU >= threshold, each instance in one pair, the largest total IoU
    among those; returns rows, cols and IoUs.

    The pairs above the threshold form small connected groups (above 0.5 every group is one
    pair); each group with a choice is solved alone by the Hungarian method.
    """
    keep = found.iou >= threshold
    rows, cols, iou = found.rows[keep], found.cols[keep], found.iou[keep]
    if len(rows) == 0:
        return rows, cols, iou
    n_gt = len(found.gt_ids)
    graph = sparse.coo_matrix(
        (np.ones(len(rows)), (rows, cols + n_gt)), shape=(n_gt + len(found.pred_ids),) * 2
    )
    group = connected_components(graph, directed=False)[1][rows]
    order = np.argsort(group, kind="stable")
    rows, cols, iou, group = rows[order], cols[order], iou[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    alone = ends - starts == 1
    picked = [starts[alone]]
    for start, end in zip(starts[~alone], ends[~alone]):
        group_rows, row_index = np.unique(rows[start:end], return_inverse=True)
        group_cols, col_index = np.unique(cols[start:end], return_inverse=True)
        scores = np.zeros((len(group_rows), len(group_cols)))
        scores[row_index, col_index] = iou[start:end]
        edge = np.full(scores.shape, -1)
        edge[row_index, col_index] = np.arange(start, end)
        # more matches first, then the larger IoU
        costs = -(scores > 0).astype(float) - scores / (2 * min(scores.shape))
        chosen_rows, chosen_cols = linear_sum_assignment(costs)
        chosen = edge[chosen_rows, chosen_cols]
        picked.append(chosen[chosen >= 0])
    picked_edges = np.sort(np.concatenate(picked))
    return rows[picked_edges], cols[picked_edges], iou[picked_edges]


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b > 0 else 0.0


def _same_class_pairs(
    found: Overlaps, gt: np.ndarray, pred: np.ndarray, classes: tuple[np.ndarray, np.ndarray]
) -> Overlaps:
    """``found`` without the pairs whose two instances are of different classes."""
    from .labels.classes import instance_classes

    gt_ids, gt_class = instance_classes(gt, classes[0])
    pred_ids, pred_class = instance_classes(pred, classes[1])
    # both id lists are the sorted ids present, as found's are
    same = gt_class[found.rows] == pred_class[found.cols]
    assert np.array_equal(gt_ids, found.gt_ids) and np.array_equal(pred_ids, found.pred_ids)
    return Overlaps(
        found.rows[same], found.cols[same], found.iou[same], found.gt_ids, found.pred_ids
    )


def overlaps_from_counts(counts) -> Overlaps:
    """The overlapping pairs and their IoU from :class:`~stages.overlap_counts.OverlapCounts`
    (gathered block by block, say)."""
    rows = np.searchsorted(counts.gt_ids, counts.pair_gt)
    cols = np.searchsorted(counts.pred_ids, counts.pair_pred)
    union = counts.gt_sizes[rows] + counts.pred_sizes[cols] - counts.shared
    iou = (counts.shared / np.maximum(union, 1)).astype(np.float32)
    return Overlaps(rows, cols, iou, counts.gt_ids, counts.pred_ids)


def match_counts(counts, thresholds: Sequence[float] = (0.5,)) -> list[Matching]:
    """:func:`match_instances` from overlap counts instead of the label images."""
    return _matchings(overlaps_from_counts(counts), thresholds)


def match_instances(
    gt: np.ndarray,
    pred: np.ndarray,
    thresholds: Sequence[float] = (0.5,),
    classes: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Matching]:
    """Optimal one-to-one matching at each IoU threshold (pairs with IoU >= threshold count).

    With ``classes`` (the class maps of ``gt`` and ``pred``), an instance matches only an
    instance of its own class. Memory and time follow the number of overlapping pairs:
    100,000 instances take seconds.
    """
    found = overlaps(gt, pred)
    if classes is not None:
        found = _same_class_pairs(found, gt, pred, classes)
    return _matchings(found, thresholds)


def _matchings(found: Overlaps, thresholds: Sequence[float]) -> list[Matching]:
    """The matching of ``found``'s instances at each threshold, with its scores."""
    n_true, n_pred = len(found.gt_ids), len(found.pred_ids)
    best_iou_gt = np.zeros(n_true, np.float32)
    best_iou_pred = np.zeros(n_pred, np.float32)
    np.maximum.at(best_iou_gt, found.rows, found.iou)
    np.maximum.at(best_iou_pred, found.cols, found.iou)
    results = []
    for threshold in thresholds:
        threshold = float(threshold)
        rows, cols, matched = _match_above(found, threshold)
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
        if n_true == n_pred == 0:
            # nothing to find and nothing found: a perfect result, not a score of 0
            stats.update({name: 1.0 for name in PERFECT_WHEN_BOTH_EMPTY})
        results.append(
            Matching(
                threshold,
                stats,
                found.gt_ids,
                found.pred_ids,
                rows,
                cols,
                matched,
                best_iou_gt,
                best_iou_pred,
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


def channel_iou(
    channels: np.ndarray,
    planes: Sequence[str],
    truth: np.ndarray,
    channel_options: dict | None = None,
    threshold: float = 0.5,
    patch: Sequence[int] | None = None,
) -> dict[str, float]:
    """IoU of each binary predicted channel (F, B, C, P, T...) above ``threshold`` against the
    same channel encoded from the ground truth (the spec's per-image channel IoU).

    With ``patch`` (spatial sizes), the spec's per-patch IoU instead: the mean over the
    image's non-overlapping patch cells (the last ones cut at the border) of each cell's IoU.
    Channels of several planes (A, E, R) and regressions (distances) are left out; a channel
    (or cell) empty in both scores 1.
    """
    return channel_ious(channels, planes, truth, channel_options, threshold, [patch])[0]


def binary_channel_codes(planes: Sequence[str]) -> list[tuple[int, str]]:
    """(plane index, code) of the binary one-plane channels whose IoU is scored (F, B, C, P, T,
    ...); several-plane channels (A, E, R), regressions and the class head are left out."""
    from .channels import ENCODERS, plane_code

    found = []
    for index, plane in enumerate(planes):
        if plane.startswith("class "):  # the class head: see class_iou
            continue
        code = plane_code(plane)
        if code == plane and code in ENCODERS and ENCODERS[code].kind == "binary":
            found.append((index, code))
    return found


def channel_cell_counts(
    channels: np.ndarray,
    planes: Sequence[str],
    truth: np.ndarray,
    channel_options: dict | None = None,
    threshold: float = 0.5,
    patches: Sequence[Sequence[int] | None] = (None,),
    inner: tuple[slice, ...] | None = None,
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{code: per patch choice, (shared, joined) pixel counts of the predicted channel above
    ``threshold`` and the channel encoded from ``truth``, in all or per patch cell}.

    ``inner``: the region of ``truth`` the channels cover (truth grown by a halo, so that the
    encoding near the region's faces sees the objects beyond). The counts add up over blocks:
    the cells of blocks that are whole multiples of a patch concatenate to the image's cells.
    """
    from .channels import encode_channels

    counts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for index, code in binary_channel_codes(planes):
        options = {code: (channel_options or {}).get(code, {})}
        expected = encode_channels(truth, [code], options)[0]
        expected = (expected if inner is None else expected[inner]) > 0.5
        predicted = np.asarray(channels[index]) > threshold
        both, union = expected & predicted, expected | predicted
        counts[code] = [(_cell_counts(both, p), _cell_counts(union, p)) for p in patches]
    return counts


def channel_scores(
    counts: dict[str, list[tuple[np.ndarray, np.ndarray]]],
) -> list[dict[str, float]]:
    """Per patch choice, {code: mean IoU over the cells} from :func:`channel_cell_counts`; a
    cell empty in both scores 1."""
    scores: list[dict[str, float]] = []
    for code, per_patch in counts.items():
        for position, (shared, joined) in enumerate(per_patch):
            if len(scores) <= position:
                scores.append({})
            per_cell = np.divide(shared, joined, out=np.ones(joined.shape), where=joined > 0)
            scores[position][code] = float(per_cell.mean())
    return scores


def channel_ious(
    channels: np.ndarray,
    planes: Sequence[str],
    truth: np.ndarray,
    channel_options: dict | None = None,
    threshold: float = 0.5,
    patches: Sequence[Sequence[int] | None] = (None,),
) -> list[dict[str, float]]:
    """:func:`channel_iou` for each of ``patches`` (None: the whole image), the ground truth
    encoded once."""
    counts = channel_cell_counts(channels, planes, truth, channel_options, threshold, patches)
    return channel_scores(counts) or [{} for _ in patches]


def _cell_counts(mask: np.ndarray, patch: Sequence[int] | None) -> np.ndarray:
    """How many pixels of ``mask`` are set, in all (``patch`` None) or per patch cell."""
    if patch is None:
        return np.asarray([np.count_nonzero(mask)], dtype=np.float64)
    patch = tuple(int(p) for p in patch)
    padded = np.pad(mask, [(0, -s % p) for s, p in zip(mask.shape, patch)])
    cells = padded.reshape([v for s, p in zip(padded.shape, patch) for v in (s // p, p)])
    return cells.sum(axis=tuple(range(1, 2 * mask.ndim, 2)), dtype=np.float64).ravel()


def class_iou(true_classes: np.ndarray, predicted_classes: np.ndarray) -> float:
    """Mean IoU over the classes (background 0 left out) present in either class map; 1 when
    neither holds any (BiaPy's 'IoU (classes)')."""
    present = np.union1d(np.unique(true_classes), np.unique(predicted_classes))
    scores = []
    for value in present[present > 0]:
        truth, predicted = true_classes == value, predicted_classes == value
        scores.append(np.count_nonzero(truth & predicted) / np.count_nonzero(truth | predicted))
    return float(np.mean(scores)) if scores else 1.0


def match_instances_per_class(
    gt: np.ndarray,
    gt_classes: np.ndarray,
    pred: np.ndarray,
    pred_classes: np.ndarray,
    thresholds: Sequence[float] = (0.5,),
) -> dict[int, list[Matching]]:
    """{class: matchings of that class's instances only}, for every class (not 0) of either
    image; instances take their majority class."""
    from .labels.classes import classes_by_majority

    gt_classes = classes_by_majority(gt, gt_classes)
    pred_classes = classes_by_majority(pred, pred_classes)
    present = np.union1d(np.unique(gt_classes), np.unique(pred_classes))
    return {
        int(value): match_instances(
            np.where(gt_classes == value, gt, 0),
            np.where(pred_classes == value, pred, 0),
            thresholds,
        )
        for value in present[present > 0]
    }
