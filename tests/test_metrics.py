import numpy as np
import pytest
from stardist.matching import matching

from stages.metrics import METRICS, association_image, associations, match_instances, metrics_row


def _perturbed(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible prediction: shifted, some instances dropped, some split, ids shuffled."""
    pred = np.roll(labels, (2, -1), axis=(0, 1)).astype(np.int64)
    ids = np.unique(pred)[1:]
    pred[np.isin(pred, rng.choice(ids, size=len(ids) // 10, replace=False))] = 0
    split = rng.choice(ids, size=5, replace=False)
    for label_id in split:
        ys, xs = np.nonzero(pred == label_id)
        if len(ys):
            pred[(pred == label_id) & (np.arange(pred.shape[1])[None, :] > np.median(xs))] = (
                labels.max() + 1000 + label_id
            )
    permutation = np.concatenate([[0], rng.permutation(np.arange(1, pred.max() + 1))])
    return permutation[pred]


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.75, 0.9])
def test_equals_stardist_matching_on_real_masks(mask2d, rng, threshold):
    pred = _perturbed(mask2d, rng)
    ours = match_instances(mask2d, pred, [threshold])[0].stats
    theirs = matching(mask2d, pred, thresh=threshold)._asdict()
    for metric in METRICS:
        assert ours[metric] == pytest.approx(theirs[metric], abs=1e-6), metric


def test_equals_stardist_matching_in_3d(mask3d, rng):
    pred = np.roll(mask3d, 1, axis=0)
    for threshold in (0.3, 0.5, 0.75):
        ours = match_instances(mask3d, pred, [threshold])[0].stats
        theirs = matching(mask3d, pred, thresh=threshold)._asdict()
        assert {m: pytest.approx(theirs[m], abs=1e-6) for m in METRICS} == ours


def test_perfect_and_empty_predictions(mask2d):
    perfect = match_instances(mask2d, mask2d, [0.5])[0].stats
    assert perfect["f1"] == 1.0 and perfect["panoptic_quality"] == 1.0
    empty = match_instances(mask2d, np.zeros_like(mask2d), [0.5])[0].stats
    assert empty["tp"] == 0 and empty["fn"] == len(np.unique(mask2d)) - 1 and empty["f1"] == 0.0


def test_associations_tag_every_instance(mask2d, rng):
    pred = _perturbed(mask2d, rng)
    result = match_instances(mask2d, pred, [0.5])[0]
    gt_table, fp_table = associations(result)
    assert len(gt_table) == result.stats["n_true"]
    assert (gt_table["tag"] == "TP").sum() == result.stats["tp"]
    assert len(fp_table) == result.stats["fp"]
    assert set(gt_table.loc[gt_table.tag == "TP", "pred_id"]).isdisjoint(fp_table["pred_id"])
    tp = gt_table[gt_table.tag == "TP"].iloc[0]
    inter = np.sum((mask2d == tp.gt_id) & (pred == tp.pred_id))
    union = np.sum((mask2d == tp.gt_id) | (pred == tp.pred_id))
    assert tp.iou == pytest.approx(inter / union, rel=1e-6)
    rgb = association_image(mask2d, pred, result)
    assert rgb.shape == mask2d.shape + (3,) and rgb[..., 1].any()


def test_metrics_row_uses_biapy_column_names():
    labels = np.zeros((4, 4), np.uint8)
    labels[1:3, 1:3] = 1
    row = metrics_row("img", match_instances(labels, labels, [0.5]), "(post)")
    assert row["file"] == "img" and row["0.5 TH (post)f1"] == 1.0


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r"`gt` \(shape \(2, 2\)\) and `pred` \(shape \(3, 3\)\)"):
        match_instances(np.zeros((2, 2), np.uint8), np.zeros((3, 3), np.uint8))


def test_a_hundred_thousand_instances_match_through_their_overlaps():
    """The dense n_gt x n_pred overlap would need 131,072**2 cells; the sparse one is sized by
    the overlapping pairs (issue 13)."""
    grid = np.arange(1, 512 * 256 + 1, dtype=np.uint32).reshape(512, 256)
    gt = np.zeros((2048, 1024), np.uint32)
    for dy in range(3):
        for dx in range(3):
            gt[dy::4, dx::4] = grid  # 3x3 squares, one pixel of background between them
    pred = np.roll(gt, 1, axis=1)  # each square moved right by one pixel: IoU 6/12 = 0.5
    pred[:, 0] = 0
    low, high = match_instances(gt, pred, [0.5, 0.75])
    assert low.stats["n_true"] == low.stats["n_pred"] == 131072
    assert low.stats["tp"] == 131072 and low.stats["mean_matched_score"] == pytest.approx(0.5)
    assert high.stats["tp"] == 0 and high.stats["fp"] == high.stats["fn"] == 131072


def test_an_image_empty_in_both_is_a_perfect_match():
    empty = np.zeros((8, 8), np.uint16)
    stats = match_instances(empty, empty, [0.5])[0].stats
    assert stats["tp"] == stats["fp"] == stats["fn"] == 0
    assert stats["f1"] == stats["precision"] == stats["recall"] == stats["panoptic_quality"] == 1.0


def test_channel_iou_scores_binary_channels_against_the_encoded_truth(mask2d):
    from stages.channels import encode_channels
    from stages.metrics import channel_iou

    truth = mask2d[:128, :128]
    channels = encode_channels(truth, ["F", "C", "Db"])
    scores = channel_iou(channels, ["F", "C", "Db"], truth)
    assert scores == {"F": 1.0, "C": 1.0}  # Db is a regression: left out
    shifted = np.roll(channels, 3, axis=2)
    moved = channel_iou(shifted, ["F", "C", "Db"], truth)
    foreground = truth > 0
    moved_foreground = np.roll(foreground, 3, axis=1)
    expected = (foreground & moved_foreground).sum() / (foreground | moved_foreground).sum()
    assert moved["F"] == pytest.approx(expected)
    assert moved["C"] < moved["F"]  # thin contours lose more to a shift
    empty = np.zeros((1, 8, 8), np.float32)
    assert channel_iou(empty, ["F"], np.zeros((8, 8), np.uint16)) == {"F": 1.0}


def _two_classes(labels: np.ndarray) -> np.ndarray:
    return ((labels % 2) + 1) * (labels > 0)


def test_an_instance_matches_only_one_of_its_class(mask2d):
    from stages.metrics import class_iou, match_instances_per_class

    gt_classes = _two_classes(mask2d)
    pred_classes = gt_classes.copy()
    wrong = [i for i in np.unique(mask2d)[1:] if i % 5 == 0]  # every fifth nucleus misclassified
    swap = np.isin(mask2d, wrong)
    pred_classes[swap] = 3 - pred_classes[swap]
    plain = match_instances(mask2d, mask2d, [0.5])[0].stats
    aware = match_instances(mask2d, mask2d, [0.5], classes=(gt_classes, pred_classes))[0].stats
    assert plain["tp"] == 125 and aware["tp"] == 125 - len(wrong)
    assert aware["fp"] == aware["fn"] == len(wrong)
    per_class = match_instances_per_class(mask2d, gt_classes, mask2d, pred_classes, [0.5])
    assert set(per_class) == {1, 2}
    assert sum(m[0].stats["tp"] for m in per_class.values()) == aware["tp"]
    assert sum(m[0].stats["n_true"] for m in per_class.values()) == 125
    # the class maps' IoU: each class loses the swapped nuclei's pixels on both sides
    ones, twos = gt_classes == 1, gt_classes == 2
    expected = np.mean(
        [
            np.sum(ones & (pred_classes == 1)) / np.sum(ones | (pred_classes == 1)),
            np.sum(twos & (pred_classes == 2)) / np.sum(twos | (pred_classes == 2)),
        ]
    )
    assert class_iou(gt_classes, pred_classes) == pytest.approx(expected)
    assert class_iou(gt_classes, gt_classes) == 1.0


def test_channel_iou_per_image_and_per_patch_cell(mask2d):
    from stages.channels import encode_channels
    from stages.metrics import channel_iou

    truth = mask2d[:128, :120]
    channels = encode_channels(truth, ["F", "C"]).astype(np.float32)
    channels[0, :64, :64] = 0  # the foreground missed in one 64x64 cell
    whole = channel_iou(channels, ["F", "C"], truth)
    inside = np.count_nonzero(truth > 0)
    assert whole["C"] == 1.0
    assert whole["F"] == pytest.approx(1 - np.count_nonzero(truth[:64, :64]) / inside)
    cells = channel_iou(channels, ["F", "C"], truth, patch=(64, 64))
    # four cells (the right ones cut to 56 wide): one scores 0, three score 1
    assert cells["F"] == pytest.approx(0.75) and cells["C"] == 1.0
