import numpy as np
import pytest
from stardist.matching import matching

from stages.metrics import METRICS, match_counts, match_instances, overlaps, overlaps_from_counts
from stages.overlap_counts import blockwise_counts, merge_counts, overlap_counts


def _prediction(mask3d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shifted along Z and Y, some nuclei dropped, ids far apart and shuffled."""
    pred = np.roll(mask3d, (1, 2), axis=(0, 1)).astype(np.int64)
    ids = np.unique(pred)[1:]
    pred[np.isin(pred, rng.choice(ids, size=5, replace=False))] = 0
    relabel = np.concatenate([[0], rng.permutation(len(ids)) * 1_000_003 + 7])
    return relabel[np.searchsorted(np.r_[0, ids], pred)]


@pytest.mark.parametrize("block", [(31, 61, 57), (8, 16, 16), (5, 7, 11), (1, 61, 57)])
def test_counts_gathered_block_by_block_match_as_the_whole_volume_and_stardist(mask3d, rng, block):
    pred = _prediction(mask3d, rng)
    counts = blockwise_counts(mask3d, pred, block)
    whole = overlaps(mask3d, pred)
    found = overlaps_from_counts(counts)
    np.testing.assert_array_equal(found.gt_ids, whole.gt_ids)
    np.testing.assert_array_equal(found.pred_ids, whole.pred_ids)
    np.testing.assert_allclose(found.iou, whole.iou, rtol=1e-6)
    thresholds = [0.3, 0.5, 0.75]
    for ours, theirs_whole, threshold in zip(
        match_counts(counts, thresholds), match_instances(mask3d, pred, thresholds), thresholds
    ):
        assert ours.stats == pytest.approx(theirs_whole.stats)
        theirs = matching(mask3d, pred, thresh=threshold)._asdict()
        for metric in METRICS:
            assert ours.stats[metric] == pytest.approx(theirs[metric], abs=1e-6), metric


def test_counts_add_up_over_disjoint_blocks(mask2d):
    pred = np.roll(mask2d, 3, axis=1)
    halves = [overlap_counts(mask2d[:200], pred[:200]), overlap_counts(mask2d[200:], pred[200:])]
    merged, whole = merge_counts(halves), overlap_counts(mask2d, pred)
    for field in ("gt_ids", "gt_sizes", "pred_ids", "pred_sizes", "pair_gt", "pair_pred", "shared"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field), field)


def test_empty_blocks_and_no_blocks():
    zeros = np.zeros((4, 4), np.uint16)
    empty = merge_counts([overlap_counts(zeros, zeros)])
    assert len(empty.gt_ids) == len(empty.pair_gt) == 0
    assert match_counts(merge_counts([]), [0.5])[0].stats["f1"] == 1.0  # nothing to find
    with pytest.raises(ValueError, match="differ in shape"):
        overlap_counts(zeros, np.zeros((4, 5), np.uint16))
