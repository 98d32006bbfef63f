import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.channels import encode_channels
from stages.decode import WatershedSettings
from stages.decode.tune import ValidationImage, mean_f1, tune_thresholds


def _blurred_predictions(mask2d):
    """F and C of real nuclei, blurred and dimmed as an undertrained network's would be."""
    images = []
    for y, x in ((0, 0), (0, 256), (256, 0)):
        truth = mask2d[y : y + 128, x : x + 128]
        channels = encode_channels(truth, ["F", "C"])
        channels = np.stack([ndi.gaussian_filter(c, 1.5) for c in channels]) * 0.7
        images.append(ValidationImage(channels.astype(np.float32), ["F", "C"], truth))
    return images


def test_bad_manual_thresholds_are_tuned_to_better_ones(mask2d):
    images = _blurred_predictions(mask2d)
    # the growth mask needs F above 0.6 of at most 0.7: instances shrink to their cores
    bad = WatershedSettings(seed_thresholds=(0.65, 0.3), growth_thresholds=(0.6,))
    tuned = tune_thresholds(images, {"watershed": bad})
    assert tuned.decoder == "watershed"
    assert tuned.tried[0][0] == {"seed_thresholds": (0.65, 0.3), "growth_thresholds": (0.6,)}
    assert tuned.f1_before == pytest.approx(mean_f1(images, "watershed", bad, {}))
    assert tuned.f1_after > tuned.f1_before + 0.1
    assert tuned.f1_after == max(score for _, score in tuned.tried)
    assert tuned.thresholds["growth_thresholds"][0] < 0.6
    assert len(tuned.tried) == 49


def test_a_config_already_at_its_best_is_kept(mask2d):
    images = _blurred_predictions(mask2d)
    first = tune_thresholds(images, {"watershed": WatershedSettings()})
    best = WatershedSettings(**first.thresholds)
    again = tune_thresholds(images, {"watershed": best})
    assert again.thresholds == first.thresholds
    assert again.f1_after == again.f1_before == pytest.approx(first.f1_after)


def test_stardist_searches_probability_and_overlap(mask2d):
    truth = mask2d[:96, :96]
    channels = encode_channels(truth, ["F", "R"], {"R": {"nrays": 16}})
    planes = ["F"] + [f"R{i}" for i in range(16)]
    tuned = tune_thresholds(
        [ValidationImage(channels, planes, truth)], channel_options={"R": {"nrays": 16}}
    )
    assert tuned.decoder == "stardist" and len(tuned.tried) in (27, 28)
    assert set(tuned.thresholds) == {"prob_thresh", "nms_thresh"}
    assert tuned.f1_after > 0.8


def test_no_images_is_an_error():
    with pytest.raises(ValueError, match="at least one validation image"):
        tune_thresholds([])


def test_the_gradient_flow_searches_its_foreground_cut_and_flow_error(mask2d):
    from stages.decode.settings import GradientFlowSettings

    truth = mask2d[:128, :128]
    channels = encode_channels(truth, ["F", "Gh", "Gv"])
    channels[0] *= 0.45  # a dim foreground: the default cut 0.5 finds nothing
    images = [ValidationImage(channels, ["F", "Gh", "Gv"], truth)]
    tuned = tune_thresholds(images, {"gradient-flow": GradientFlowSettings()})
    assert tuned.decoder == "gradient-flow" and len(tuned.tried) == 15
    assert tuned.f1_before == 0 and tuned.f1_after > 0.95
    assert tuned.thresholds["fg_thresh"] < 0.45
