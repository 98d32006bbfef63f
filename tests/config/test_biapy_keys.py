"""Every BiaPy key has a fate (issue 14, item 2): another workflow's, no effect, or refused
away from BiaPy's default — never "unknown key"."""

import re
from pathlib import Path

import pytest
import yaml

from stages.config import ConfigError, resolve_config
from stages.config.keys import set_key
from stages.config.schema import BIAPY_KEYS_PATH

FATES = yaml.safe_load(BIAPY_KEYS_PATH.read_text())


def _config(values: dict) -> dict:
    config: dict = {}
    for dotted, value in values.items():
        set_key(config, dotted, value)
    return config


def test_every_key_at_biapys_default_loads_silently():
    """The keys as a config BiaPy wrote out holds them; another workflow's sections hold
    anything. Only the one key whose BiaPy default segpipe does not follow speaks."""
    values = {k: f["biapy"] for k, f in FATES.items() if "biapy" in f}
    values.update(
        {k: {"ANY": {"NESTED": [1, 2]}} for k, f in FATES.items() if f["fate"] == "other-workflow"}
    )
    config, warnings = resolve_config(_config(values))
    assert warnings == [
        "DATA.TRAIN.EXTRACT_RANDOM_PATCH: no effect in segpipe: training patches are always "
        "sampled at random positions of the images (as BiaPy with true); the fixed grid of "
        "false is not offered"
    ]
    # BiaPy's placeholders read as unset: -1 percentiles, [-1.0] means, a (-1,) resolution
    config, _ = resolve_config(
        _config({
            "DATA.NORMALIZATION.PERC_CLIP.LOWER_PERC": -1.0,
            "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.MEAN_VAL": [-1.0],
            "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.STD_VAL": [0.25],
            "DATA.TEST.RESOLUTION": [-1],
            "TRAIN.LR_SCHEDULER.WARMUP_COSINE_DECAY_EPOCHS": -1,
        })
    )  # fmt: skip
    normalization = config["DATA"]["NORMALIZATION"]
    assert normalization["PERC_CLIP"]["LOWER_PERC"] == 0.0
    assert normalization["ZERO_MEAN_UNIT_VAR"] == {"MEAN_VAL": None, "STD_VAL": 0.25}
    assert config["DATA"]["TEST"]["RESOLUTION"] == []
    assert config["TRAIN"]["LR_SCHEDULER"]["WARMUP_COSINE_DECAY_EPOCHS"] == 5


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("DATA.PREPROCESS.ZOOM.ENABLE", True, "zooms the patches of TEST.BY_CHUNKS only"),
        ("DATA.PREPROCESS.RESIZE.PRESERVE_RANGE", False, "into 0s and 1s"),
        ("TRAIN.CHECKPOINT_MONITOR", "val_iou", "the lowest validation loss"),
        ("PROBLEM.INSTANCE_SEG.TYPE", "synapses", "synapse detection"),
        ("TEST.AUGMENTATION_MODE", "max", "averages (mean)"),
    ],
)
def test_a_value_segpipe_cannot_honour_is_refused_with_the_reason(key, value, reason):
    match = rf"^{re.escape(key)}: not supported in segpipe: .*{re.escape(reason)}"
    with pytest.raises(ConfigError, match=match):
        resolve_config(_config({key: value}))


def test_keys_without_effect_warn_once_per_reason_when_set_away_from_biapys_default():
    _, warnings = resolve_config(
        _config({
            "PROBLEM.INSTANCE_SEG.CELLPOSE.DIAMETER": 17.0,
            "PROBLEM.INSTANCE_SEG.CELLPOSE.DIAM_MEAN": 17.0,
            "DATA.PREPROCESS.GAUSSIAN_BLUR.CHANNEL_AXIS": 2,
            "MODEL.SAVE_CKPT_FREQ": -1,  # BiaPy's default: silent
        })
    )  # fmt: skip
    assert warnings == [
        "PROBLEM.INSTANCE_SEG.CELLPOSE.DIAMETER, PROBLEM.INSTANCE_SEG.CELLPOSE.DIAM_MEAN: no "
        "effect in segpipe: segpipe's flow following runs at the images' own scale: no resizing "
        "to a cell diameter (resize the images with DATA.PREPROCESS.RESIZE)",
        "DATA.PREPROCESS.GAUSSIAN_BLUR.CHANNEL_AXIS: no effect in segpipe: the blur runs along "
        "the spatial axes of each channel: channels are never blurred together",
    ]
    # a BiaPy literal string equal to the default is the default
    _, warnings = resolve_config(_config({"DATA.PREPROCESS.GAUSSIAN_BLUR.CHANNEL_AXIS": "None"}))
    assert warnings == []


def test_a_misspelt_key_is_still_unknown():
    with pytest.raises(ConfigError, match="unknown key PROBLEM.INSTANCE_SEG.CELLPOSE.N_STEP"):
        resolve_config(_config({"PROBLEM.INSTANCE_SEG.CELLPOSE.N_STEP": 100}))


def test_the_readme_key_fate_table_is_current():
    from stages.readme_reference import readme_with_key_fates

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert readme == readme_with_key_fates(readme), "README key fates are stale: make reference"


def test_the_paper_configs_older_keys_are_read_as_biapy_3_7_1_reads_them():
    """MitoEM's MASK_PATH, the ovarian reserve study's DATA.EXTRACT_RANDOM_PATCH and SpineDL's
    FILTER_SAMPLES (applied: no warning)."""
    config, warnings = resolve_config(
        _config({
            "DATA.TRAIN.MASK_PATH": "masks/train",
            "DATA.TEST.MASK_PATH": "masks/test",
            "DATA.EXTRACT_RANDOM_PATCH": True,
            "DATA.TRAIN.FILTER_SAMPLES": {
                "ENABLE": True, "PROPS": [["mean"]], "VALUES": [[0.05]], "SIGNS": [["lt"]]
            },
        })
    )  # fmt: skip
    assert config["DATA"]["TRAIN"]["GT_PATH"] == "masks/train"
    assert config["DATA"]["TEST"]["GT_PATH"] == "masks/test"
    assert "read DATA.TRAIN.MASK_PATH as DATA.TRAIN.GT_PATH" in warnings
    assert "read DATA.EXTRACT_RANDOM_PATCH as DATA.TRAIN.EXTRACT_RANDOM_PATCH" in warnings
    assert not any("EXTRACT_RANDOM_PATCH: no effect" in w for w in warnings)  # true: as segpipe
    assert config["DATA"]["TRAIN"]["FILTER_SAMPLES"]["PROPS"] == [["mean"]]
    assert not any("FILTER_SAMPLES" in w for w in warnings)


def test_keys_biapy_3_7_1_renames_or_drops_on_load_are_read_so():
    """Each key BiaPy 3.7.1's update code moves (checked against its check_configuration.py
    in the benchmark environment): renamed, dropped, or rebuilt."""
    config, notes = resolve_config(
        _config({
            "MODEL.CONVNEXT_LAYERS": [1, 1, 1, 1, 1],
            "MODEL.UNETR_DEC_KERNEL_SIZE": 5,
            "MODEL.BMZ.EXPORT_MODEL": {"ENABLE": True, "NAME": "nuclei", "LICENSE": "MIT"},
            "MODEL.LOAD_CHECKPOINT_ONLY_WEIGHTS": True,
            "AUGMENTOR.BRIGHTNESS_EM": True,
            "TRAIN.ACCUM_ITER": 2,
            "DATA.TRAIN.MINIMUM_FOREGROUND_PER": 0.1,
            "TEST.POST_PROCESSING.REMOVE_BY_PROPERTIES": ["circularity"],
            "TEST.POST_PROCESSING.REMOVE_BY_PROPERTIES_VALUES": [0.5],
            "TEST.POST_PROCESSING.REMOVE_BY_PROPERTIES_SIGN": ["lt"],
        })
    )  # fmt: skip
    model = config["MODEL"]
    assert model["CONV_LAYERS"] == [1, 1, 1, 1, 1] and model["KERNEL_SIZE"] == 5
    export = model["BMZ"]["EXPORT"]
    assert export["ENABLE"] and export["MODEL_NAME"] == "nuclei" and export["LICENSE"] == "MIT"
    remove = config["TEST"]["POST_PROCESSING"]["MEASURE_PROPERTIES"]
    assert remove["ENABLE"] and remove["REMOVE_BY_PROPERTIES"]["ENABLE"]
    assert remove["REMOVE_BY_PROPERTIES"]["PROPS"] == [["circularity"]]
    assert remove["REMOVE_BY_PROPERTIES"]["SIGNS"] == [["lt"]]
    assert "read TRAIN.ACCUM_ITER as nothing (BiaPy 3.7.1 drops it)" in notes
    assert "read DATA.TRAIN.MINIMUM_FOREGROUND_PER as DATA.TRAIN.FILTER_SAMPLES" in notes
