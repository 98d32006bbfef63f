"""Matching on random label pairs equals stardist.matching (hypothesis)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stardist.matching import matching

from stages.metrics import METRICS, PERFECT_WHEN_BOTH_EMPTY, match_instances
from tests.strategies import label_images


@given(
    st.sampled_from([2, 3]).flatmap(
        lambda n: st.tuples(label_images(ndim=n, max_side=12), label_images(ndim=n, max_side=12))
    ),
    st.sampled_from([0.1, 0.3, 0.5, 0.75]),
)
def test_equals_stardist_on_random_pairs(pair, threshold):
    gt, pred = pair
    shape = tuple(min(a, b) for a, b in zip(gt.shape, pred.shape))
    box = tuple(slice(0, s) for s in shape)
    gt, pred = gt[box], pred[box]
    ours = match_instances(gt, pred, [threshold])[0].stats
    theirs = matching(gt, pred, thresh=threshold)._asdict()
    if not gt.any() and not pred.any():
        # stardist scores 0 where both are empty; segpipe calls it a perfect match
        theirs.update({name: 1.0 for name in PERFECT_WHEN_BOTH_EMPTY})
    for metric in METRICS:
        assert ours[metric] == pytest.approx(theirs[metric], abs=1e-6), metric
