import numpy as np
import pytest

from stages.nn.data import FILTER_DRAWS, PatchSampler, Sample, filter_cells, leaves_out
from stages.nn.sample_filter import sample_filter


def test_a_sample_is_left_out_when_it_meets_every_condition_of_one_group(mask2d, img2d):
    crop, image = mask2d[:64, :64], img2d[:64, :64]
    share = np.count_nonzero(crop) / crop.size
    assert 0.05 < share < 0.95
    # one group, two conditions: both must hold
    both = sample_filter([["foreground", "max"]], [[share + 0.01, image.max() - 1]],
                         [["lt", "gt"]])  # fmt: skip
    assert both.leaves_out(image, crop)
    assert not sample_filter([["foreground", "max"]], [[share - 0.01, image.max() - 1]],
                             [["lt", "gt"]]).leaves_out(image, crop)  # fmt: skip
    # two groups: either suffices
    either = sample_filter([["mean"], ["target_max"]], [[1e9], [crop.max()]], [["gt"], ["ge"]])
    assert either.leaves_out(image, crop)
    assert sample_filter([["min"]], [[image.min()]], [["le"]]).leaves_out(image, crop)
    assert not sample_filter([["min"]], [[image.min()]], [["lt"]]).leaves_out(image, crop)
    assert both.needs_raw and both.needs_labels
    assert not sample_filter([["mean"]], [[0]], [["gt"]], normalized=True).needs_raw


@pytest.mark.parametrize(
    ("props", "values", "signs", "message"),
    [
        ([["diff"]], [[1]], [["gt"]], "'diff' is not supported in segpipe"),
        ([["area"]], [[1]], [["gt"]], "unknown property 'area'"),
        ([["mean"]], [[1]], [["eq"]], "unknown sign 'eq'"),
        ([["mean", "max"]], [[1]], [["gt", "gt"]], "group 1"),
        ([["mean"]], [[1], [2]], [["gt"]], "one list per condition group, got 1, 2 and 1"),
    ],
)
def test_bad_filters_are_one_clear_error(props, values, signs, message):
    with pytest.raises(ValueError, match=message):
        sample_filter(props, values, signs)


def _sample(labels: np.ndarray, image: np.ndarray) -> Sample:
    return Sample(
        image=image[np.newaxis].astype(np.float32) / 255.0,
        targets=(labels > 0)[np.newaxis].astype(np.float32),
        foreground=labels > 0,
        raw=image[np.newaxis],
        filter_labels=labels,
    )


def test_training_patches_left_out_are_drawn_again(mask2d, img2d, rng):
    """Patches with under 20% nuclei are left out: none is drawn, though many exist."""
    samples = [_sample(mask2d, img2d)]
    chosen = sample_filter([["foreground"]], [[0.2]], [["lt"]])
    box_share = []
    plain = PatchSampler(samples, (32, 32), [[]], np.random.default_rng(1))
    for _ in range(200):
        _, box = plain.draw()
        box_share.append(np.count_nonzero(mask2d[box]) / 32**2)
    assert np.mean(np.array(box_share) < 0.2) > 0.2  # a real share of such patches exists
    filtered = PatchSampler(samples, (32, 32), [[]], rng, chosen)
    for _ in range(200):
        index, box = filtered.draw()
        assert np.count_nonzero(mask2d[box]) / 32**2 >= 0.2
        assert not leaves_out(samples[index], box, chosen)
    # raw values: the image's own maximum is in no patch above it
    never = sample_filter([["max"]], [[-1]], [["gt"]])
    with pytest.raises(ValueError, match=f"left out all of {FILTER_DRAWS} patches"):
        PatchSampler(samples, (32, 32), [[]], rng, never).draw()


def test_validation_cells_are_filtered_and_one_must_be_left(mask2d, img2d):
    samples = [_sample(mask2d, img2d)]
    cells = [[(y, x) for y in range(0, 512, 64) for x in range(0, 512, 64)]]
    chosen = sample_filter([["foreground"]], [[0.1]], [["lt"]])
    kept = filter_cells(samples, (64, 64), cells, chosen)
    shares = {(y, x): np.count_nonzero(mask2d[y : y + 64, x : x + 64]) / 64**2 for y, x in cells[0]}
    expected = [c for c in cells[0] if shares[c] >= 0.1]
    assert kept == [expected] and 0 < len(expected) < len(cells[0])
    with pytest.raises(ValueError, match="leaves out every validation patch"):
        filter_cells(samples, (64, 64), cells, sample_filter([["min"]], [[0]], [["ge"]]))
