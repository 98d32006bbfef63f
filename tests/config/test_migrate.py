"""Older BiaPy keys read with their BiaPy 3.7 meaning (a config written as BiaPy 3.5 users did)."""

import pytest

from stages.config import ConfigError, legacy_channels, resolve_config
from stages.config.migrate import migrate

SEG = "PROBLEM.INSTANCE_SEG"

OLD_2D = {
    "PROBLEM": {
        "NDIM": "2D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": "BCM",
            "DATA_MW_TH_TYPE": "manual",
            "DATA_MW_TH_BINARY_MASK": 0.6,
            "DATA_MW_TH_CONTOUR": 0.2,
            "DATA_MW_TH_FOREGROUND": 0.4,
            "DATA_MW_TH_DISTANCE": 1.0,  # no distance channel: nothing to apply it to
            "DATA_REMOVE_BEFORE_MW": True,
            "DATA_REMOVE_SMALL_OBJ_BEFORE": 10,
            "SEED_MORPH_SEQUENCE": ["erode"],
            "SEED_MORPH_RADIUS": [2],
            "WATERSHED_BY_2D_SLICES": False,
        },
    },
    "DATA": {"NORMALIZATION": {"PERC_CLIP": True, "PERC_LOWER": 1.0, "PERC_UPPER": 99.0}},
    "MODEL": {"BATCH_NORMALIZATION": True},
    "TEST": {
        "STATS": {"FULL_IMG": False},
        "POST_PROCESSING": {"FILL_HOLES": True, "CLEAR_BORDER": True},
    },
}


def test_an_old_config_reads_as_biapy_3_7_reads_it():
    config, warnings = resolve_config(OLD_2D)
    seg = config["PROBLEM"]["INSTANCE_SEG"]
    assert seg["DATA_CHANNELS"] == ["F", "C"]
    shed = seg["WATERSHED"]
    assert shed["SEED_CHANNELS"] == ["F", "C"] and shed["SEED_CHANNELS_THRESH"] == [0.6, 0.2]
    assert shed["GROWTH_MASK_CHANNELS"] == ["F"] and shed["GROWTH_MASK_CHANNELS_THRESH"] == [0.4]
    assert shed["DATA_REMOVE_BEFORE_MW"] is True and shed["DATA_REMOVE_SMALL_OBJ_BEFORE"] == 10
    assert shed["SEED_MORPH_SEQUENCE"] == ["erode"] and shed["SEED_MORPH_RADIUS"] == [2]
    assert config["MODEL"]["NORMALIZATION"] == "bn"
    clip = config["DATA"]["NORMALIZATION"]["PERC_CLIP"]
    assert clip["ENABLE"] is True and (clip["LOWER_PERC"], clip["UPPER_PERC"]) == (1.0, 99.0)
    # BiaPy 3.7's own keys, kept; the refine step applies them (tests/commands)
    post = config["TEST"]["POST_PROCESSING"]
    assert post["FILL_HOLES"] is True and post["CLEAR_BORDER"] is True
    assert post["INSTANCE_REFINEMENT"]["ENABLE"] is False
    said = "\n".join(warnings)
    for note in (
        f"read {SEG}.DATA_CHANNELS 'BCM' as ['F', 'C']",
        f"read {SEG}.DATA_REMOVE_BEFORE_MW as {SEG}.WATERSHED.DATA_REMOVE_BEFORE_MW",
        f"read {SEG}.WATERSHED_BY_2D_SLICES as {SEG}.WATERSHED.BY_2D_SLICES",
        f"read {SEG}.DATA_MW_TH_BINARY_MASK 0.6 as the seed threshold of channel F",
        "read MODEL.BATCH_NORMALIZATION as MODEL.NORMALIZATION 'bn'",
    ):
        assert note in said, note
    assert said.count("read ") == len(set(line for line in warnings if "read " in line))


def test_thresholds_without_manual_type_stay_auto():
    raw = {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": "BC", "DATA_MW_TH_CONTOUR": 0.3}}}
    config, warnings = resolve_config(raw)
    assert config["PROBLEM"]["INSTANCE_SEG"]["WATERSHED"]["SEED_CHANNELS"] == []
    assert any("DATA_MW_TH_CONTOUR as unset" in w for w in warnings)


@pytest.mark.parametrize(
    "text, ndim, codes",
    [
        ("BC", 2, ["F", "C"]),
        ("BCD", 3, ["F", "C", "Db"]),
        ("BCDv2", 2, ["F", "C", "D"]),
        ("BP", 2, ["F", "P"]),
        ("BF", 2, ["F", "H", "V"]),  # the old F: flows
        ("BF", 3, ["F", "H", "V", "Z"]),
        ("A", 3, ["A"]),
    ],
)
def test_old_channel_strings_have_their_3_7_meaning(text, ndim, codes):
    assert legacy_channels(text, ndim) == codes
    migrated, notes = migrate(
        {"PROBLEM": {"NDIM": f"{ndim}D", "INSTANCE_SEG": {"DATA_CHANNELS": text}}}
    )
    assert migrated["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] == codes and len(notes) == 1


def test_the_raw_mapping_is_left_alone():
    raw = {"MODEL": {"BATCH_NORMALIZATION": True}}
    migrate(raw)
    assert raw == {"MODEL": {"BATCH_NORMALIZATION": True}}


@pytest.mark.parametrize("value, expected", [(True, True), ("auto", True), ("none", False)])
def test_loss_class_rebalance_of_biapy_3_7_turns_on_the_channel_rebalance(value, expected):
    from stages.commands.train import settings_from_config

    config, warnings = resolve_config({"LOSS": {"CLASS_REBALANCE": value}})
    assert settings_from_config(config).loop.rebalance is expected
    assert not any("LOSS" in w for w in warnings)


def test_list_valued_optimizer_keys_of_one_group_are_read_as_their_value():
    config, warnings = resolve_config(
        {"TRAIN": {"OPTIMIZER": ["ADAMW"], "LR": "[1.e-4]", "LR_SCHEDULER": {"MIN_LR": [5e-6]}}}
    )
    assert config["TRAIN"]["OPTIMIZER"] == "ADAMW" and config["TRAIN"]["LR"] == 1e-4
    assert config["TRAIN"]["LR_SCHEDULER"]["MIN_LR"] == 5e-6
    assert "read TRAIN.OPTIMIZER ['ADAMW'] as 'ADAMW' (one parameter group)" in warnings
    with pytest.raises(Exception, match=r"TRAIN\.LR"):
        resolve_config({"TRAIN": {"LR": [1e-4, 1e-3]}})  # two groups: segpipe trains one


def test_old_z_and_yz_filtering_become_median_filters_in_order():
    config, notes = resolve_config(
        {
            "PROBLEM": {"NDIM": "3D"},
            "TEST": {
                "POST_PROCESSING": {
                    "Z_FILTERING": True,
                    "Z_FILTERING_SIZE": 3,
                    "YZ_FILTERING": True,  # no size: BiaPy's 5
                }
            },
        }
    )
    post = config["TEST"]["POST_PROCESSING"]
    assert post["MEDIAN_FILTER"] is True
    assert post["MEDIAN_FILTER_AXIS"] == ["z", "yz"]
    assert post["MEDIAN_FILTER_SIZE"] == [3, 5]
    assert "Z_FILTERING" not in post and "YZ_FILTERING_SIZE" not in post
    assert any("Z_FILTERING as a MEDIAN_FILTER along 'z' of size 3" in n for n in notes)
    off, _ = resolve_config({"TEST": {"POST_PROCESSING": {"Z_FILTERING": False}}})
    assert off["TEST"]["POST_PROCESSING"]["MEDIAN_FILTER"] is False


def test_the_spec_sign_key_and_flat_condition_lists_are_read_as_one_group():
    remove = {"ENABLE": True, "PROPS": ["npixels", "circularity"], "VALUES": [100, 0.7]}
    remove["SIGN"] = ["lt", "le"]
    config, notes = resolve_config(
        {"TEST": {"POST_PROCESSING": {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": remove}}}}
    )
    read = config["TEST"]["POST_PROCESSING"]["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]
    assert read == {
        "ENABLE": True,
        "PROPS": [["npixels", "circularity"]],
        "VALUES": [[100, 0.7]],
        "SIGNS": [["lt", "le"]],
    }
    assert any("SIGN as" in n for n in notes)


def test_class_counts_old_and_new():
    config, notes = resolve_config({"MODEL": {"N_CLASSES": 1}})
    assert config["DATA"]["N_CLASSES"] == 2 and "read MODEL.N_CLASSES as DATA.N_CLASSES" in notes
    assert resolve_config({"DATA": {"N_CLASSES": 2}})[0]["DATA"]["N_CLASSES"] == 2
    assert resolve_config({"DATA": {"N_CLASSES": 3}})[0]["DATA"]["N_CLASSES"] == 3
    with pytest.raises(
        ConfigError, match="LOSS.CLASS_WEIGHTS has 2 weight.s. for DATA.N_CLASSES 3"
    ):
        resolve_config({"DATA": {"N_CLASSES": 3}, "LOSS": {"CLASS_WEIGHTS": [1, 2]}})
    with pytest.raises(
        ConfigError, match="LOSS.CLASS_WEIGHTS weighs the classes of the class head"
    ):
        resolve_config({"LOSS": {"CLASS_WEIGHTS": [1, 2]}})


@pytest.mark.parametrize(
    "seg, classes, weights",
    [
        ({"DATA_CHANNELS": "BCD", "DATA_CHANNEL_WEIGHTS": "(1,1)"}, 2, [1, 1, 1]),
        ({"DATA_CHANNELS": ["F", "C", "Db"], "DATA_CHANNEL_WEIGHTS": [1]}, 2, [1, 1, 1]),
        ({"DATA_CHANNELS": ["F", "C"], "DATA_CHANNEL_WEIGHTS": [1, 1]}, 3, [1, 1]),
        ({"DATA_CHANNELS": ["F", "C", "Db"], "DATA_CHANNEL_WEIGHTS": [1, 1]}, 3, [1, 1, 1, 1]),
        # E weighs its own parts; BiaPy replaces any weights by EmbedSeg's
        ({"DATA_CHANNELS": ["E_offset", "E_sigma", "E_seediness"]}, 2, [1]),
        ({"DATA_CHANNELS": ["E"], "DATA_CHANNEL_WEIGHTS": [10, 1, 10, 1]}, 2, [1]),
    ],
)
def test_default_channel_weights_for_another_channel_count_read_as_biapy_reads_them(
    seg, classes, weights
):
    """BiaPy 3.7.1 replaces its default (1, 1) by one 1 per channel (the 2D template's value
    kept in a 3D BCD config, as the ovarian reserve tutorial's inference config has it)."""
    raw = {"PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": dict(seg)}, "DATA": {"N_CLASSES": classes}}
    raw["PROBLEM"]["INSTANCE_SEG"].setdefault("DATA_CHANNEL_WEIGHTS", [1, 1])
    config, notes = resolve_config(raw)
    assert config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNEL_WEIGHTS"] == weights
    changed = [n for n in notes if "DATA_CHANNEL_WEIGHTS" in n]
    assert len(changed) == (weights != [1, 1])


@pytest.mark.parametrize(
    "seg, classes, said",
    [
        ({"DATA_CHANNELS": ["F", "C", "Db"], "DATA_CHANNEL_WEIGHTS": [0.5, 1]}, 2, "2 weight"),
        ({"DATA_CHANNELS": ["F", "C"], "DATA_CHANNEL_WEIGHTS": [1, 1, 1]}, 2, "3 weight"),
        ({"DATA_CHANNELS": ["F", "C"], "DATA_CHANNEL_WEIGHTS": [1, 2, 1, 1]}, 3, "class head"),
    ],
)
def test_other_channel_weight_counts_are_refused_naming_the_key(seg, classes, said):
    raw = {"PROBLEM": {"INSTANCE_SEG": seg}, "DATA": {"N_CLASSES": classes}}
    with pytest.raises(ConfigError, match=rf"DATA_CHANNEL_WEIGHTS: .*{said}"):
        resolve_config(raw)


def test_what_a_biapy_run_writes_into_its_job_folder_loads():
    """A BiaPy 3.7.1 run writes its config with every key, BiaPy's 2D default (0, 0) test
    padding and overlap even in 3D (its check reads them as (0, 0, 0)) and the path it derives
    from DATA.TEST.GT_PATH, PATHS.TEST_FULL_GT_H5, which is not one of its keys
    (benchmarks/check_biapy_config.py writes such configs with BiaPy's own code)."""
    written = {
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C", "Db"]}},
        "DATA": {"PATCH_SIZE": "(20, 128, 128, 1)",
                 "TEST": {"PADDING": "(0, 0)", "OVERLAP": [0, 0], "GT_PATH": "/data/test/label"},
                 "TRAIN": {"PADDING": "(0, 0)", "OVERLAP": "(0, 0)"}},
        "PATHS": {"TEST_FULL_GT_H5": "/data/test/label/h5"},
    }  # fmt: skip
    config, notes = resolve_config(written)
    assert config["DATA"]["TEST"]["PADDING"] == [0, 0, 0]
    assert config["DATA"]["TEST"]["OVERLAP"] == [0, 0, 0]
    assert "read DATA.TEST.PADDING (0, 0) as [0, 0, 0] (3D, as BiaPy reads it)" in notes
    assert not any("TEST_FULL_GT_H5" in n or "DATA.TRAIN" in n for n in notes)  # silent
    flat, _ = resolve_config({**written, "PROBLEM": {"NDIM": "2D"},
                              "DATA": {"TEST": {"PADDING": "(0, 0)"}}})  # fmt: skip
    assert flat["DATA"]["TEST"]["PADDING"] == [0, 0]


def test_keys_of_biapy_3_0_to_3_4_guis_read_with_their_meaning():
    """BiaPy's 3.x GUI wrote DATA_CONTOUR_MODE (when not thick) and ERODE_AND_DILATE_FOREGROUND;
    3.7.1's update no longer knows them (it stops at them): read as the C encoder's mode and
    the watershed's growth-mask erosion and dilation they became."""
    raw = {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": "BCD", "DATA_CONTOUR_MODE": "inner", "DISTANCE_CHANNEL_MASK": False,
        "ERODE_AND_DILATE_FOREGROUND": True, "FORE_EROSION_RADIUS": 3}}}  # fmt: skip
    config, notes = resolve_config(raw)
    seg = config["PROBLEM"]["INSTANCE_SEG"]
    assert seg["DATA_CHANNELS"] == ["F", "C", "Db"]
    assert seg["DATA_CHANNELS_EXTRA_OPTS"]["C"]["mode"] == "inner"
    assert seg["WATERSHED"]["ERODE_AND_DILATE_GROWTH_MASK"] is True
    assert seg["WATERSHED"]["FORE_EROSION_RADIUS"] == 3
    assert f"read {SEG}.DATA_CONTOUR_MODE 'inner' as DATA_CHANNELS_EXTRA_OPTS C mode" in notes


def test_encoder_options_biapys_check_fills_in_read_as_segpipes():
    """BiaPy's check writes every option of every channel; those at what segpipe's encoders
    do are read as segpipe's, H/V/Z's 'linear' activation is kept (segpipe's default for
    normalised offsets is tanh), the EmbedSeg parts' options become E's, and the appended
    raw-label channel I is dropped."""
    from stages.channels import ENCODERS

    raw = {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["F", "P", "Db", "H", "V", "I"],
        "DATA_CHANNELS_LOSSES": ["bce", "bce", "l1", "l1", "l1"],
        "DATA_CHANNELS_EXTRA_OPTS": [{
            "P": {"type": "centroid", "skeleton_mode": "full", "dilation": 1, "erosion": 0},
            "Db": {"val_type": "norm", "act": "sigmoid", "mask_values": True},
            "H": {"norm": True, "act": "linear"},
            "V": {"norm": True, "act": "linear"}}]}}}  # fmt: skip
    config, notes = resolve_config(raw)
    seg = config["PROBLEM"]["INSTANCE_SEG"]
    assert seg["DATA_CHANNELS"] == ["F", "P", "Db", "H", "V"]
    options = seg["DATA_CHANNELS_EXTRA_OPTS"]
    assert options["P"] == {"type": "centroid", "dilation": 1, "erosion": 0}
    assert options["Db"] == {"mask_values": True}
    h = ENCODERS["H"].resolve_options(options["H"], 2)
    assert ENCODERS["H"].plane_activations(h, 2) == ["linear"]
    assert ENCODERS["H"].plane_activations(ENCODERS["H"].resolve_options({}, 2), 2) == ["tanh"]
    assert any("I and We are BiaPy's own auxiliary channels" in n for n in notes)
    embedseg, _ = resolve_config({"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["E_offset", "E_sigma", "E_seediness"],
        "DATA_CHANNELS_LOSSES": ["embedseg"] * 3,
        "DATA_CHANNELS_EXTRA_OPTS": [{"E_offset": {"center_mode": "medoid",
                                                   "medoid_max_points": 10000},
                                      "E_sigma": {}, "E_seediness": {}}]}}})  # fmt: skip
    assert embedseg["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_EXTRA_OPTS"]["E"] == {
        "center_mode": "medoid", "medoid_max_points": 10000}  # fmt: skip
    with pytest.raises(ConfigError, match=r"Db: val_type 'discretize' not supported.*10 distance"):
        extra = [{"Db": {"val_type": "discretize"}}]
        resolve_config({"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "Db"],
                        "DATA_CHANNELS_EXTRA_OPTS": extra}}})  # fmt: skip
    extra = [{"Db": {"val_type": "omnipose", "act": "", "mask_values": False}}]
    omnipose, notes = resolve_config({"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["Db", "Gh", "Gv"], "DATA_CHANNELS_EXTRA_OPTS": extra}}})  # fmt: skip
    assert omnipose["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_EXTRA_OPTS"]["Db"] == {
        "norm": False, "background": -5.0, "mask_values": False, "act": ""}  # fmt: skip
    assert "Db val_type omnipose as Db norm false, background -5" in notes[0]
    extra = [{"Db": {"val_type": "raw", "mask_values": True}}]
    raw_distances, notes = resolve_config({"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["F", "Db"], "DATA_CHANNELS_EXTRA_OPTS": extra}}})  # fmt: skip
    assert raw_distances["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_EXTRA_OPTS"]["Db"] == {
        "norm": False, "mask_values": True}  # fmt: skip
    assert notes == [f"read {SEG}.DATA_CHANNELS_EXTRA_OPTS Db val_type raw as Db norm false"]


def test_batch_normalization_false_leaves_the_normalization_as_biapy_does():
    """BiaPy's GUI writes MODEL.BATCH_NORMALIZATION false when asked for none; BiaPy 3.7.1's
    update drops it, so MODEL.NORMALIZATION keeps its value (the note says so, not 'bn')."""
    config, notes = resolve_config({"MODEL": {"BATCH_NORMALIZATION": False}})
    assert config["MODEL"]["NORMALIZATION"] == "in"
    assert "read MODEL.BATCH_NORMALIZATION false as nothing" in notes
