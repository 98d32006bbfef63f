import pytest

from stages.commands import stage_slice
from stages.config import (
    ConfigError,
    legacy_channels,
    load_config,
    reference_markdown,
    resolve_config,
)


def test_defaults_fill_every_section():
    config, warnings = resolve_config({})
    assert warnings == []
    assert config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] == ["F", "C"]
    assert config["PROBLEM"]["INSTANCE_SEG"]["WATERSHED"]["FORE_EROSION_RADIUS"] == 5
    assert config["TEST"]["MATCHING_STATS_THS"] == [0.3, 0.5, 0.75]
    assert config["DATA"]["PATCH_SIZE"] == [256, 256, 1]
    # empty padding/overlap are completed from the patch size
    assert config["DATA"]["TEST"]["PADDING"] == [32, 32]
    assert config["DATA"]["TEST"]["OVERLAP"] == [0.0, 0.0]


def test_biapy_literal_strings_are_read_as_biapy_reads_them():
    config, _ = resolve_config(
        {
            "DATA": {"PATCH_SIZE": "(64, 64, 1)", "TEST": {"PADDING": "(8,8)"}},
            "TRAIN": {"LR": "1e-4", "PATIENCE": -1},
            "AUGMENTOR": {"VFLIP": "True"},
        }
    )
    assert config["DATA"]["PATCH_SIZE"] == [64, 64, 1]
    assert config["DATA"]["TEST"]["PADDING"] == [8, 8]
    assert config["TRAIN"]["LR"] == pytest.approx(1e-4)
    assert config["TRAIN"]["PATIENCE"] is None
    assert config["AUGMENTOR"]["VFLIP"] is True


@pytest.mark.parametrize(
    "text, codes",
    [
        ("BC", ["F", "C"]),
        ("BCD", ["F", "C", "Db"]),
        ("BCDv2", ["F", "C", "D"]),
        ("BP", ["F", "P"]),
        ("Dv2", ["D"]),
    ],
)
def test_old_string_channels(text, codes):
    assert legacy_channels(text) == codes
    config, _ = resolve_config({"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": text}}})
    assert config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] == codes


def test_list_written_as_string():
    config, _ = resolve_config({"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": "['F', 'C', 'Db']"}}})
    assert config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] == ["F", "C", "Db"]


def test_misspelt_key_names_the_key_and_the_closest_valid_one():
    with pytest.raises(
        ConfigError,
        match=r"unknown key PROBLEM\.INSTANCE_SEG\.DATA_CHANELS; did you mean "
        r"PROBLEM\.INSTANCE_SEG\.DATA_CHANNELS\?",
    ):
        resolve_config({"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANELS": ["F"]}}})


def test_key_at_the_wrong_level_points_to_where_it_lives():
    with pytest.raises(
        ConfigError,
        match=r"unknown key PROBLEM\.WATERSHED; did you mean PROBLEM\.INSTANCE_SEG\.WATERSHED\?",
    ):
        resolve_config({"PROBLEM": {"WATERSHED": {}}})


def test_unimplemented_biapy_key_is_named_in_a_warning():
    config, warnings = resolve_config(
        {"TEST": {"BY_CHUNKS": {"Z_START": 10}}, "SYSTEM": {"NUM_CPUS": 8}}
    )
    assert any("TEST.BY_CHUNKS.Z_START" in w for w in warnings)
    assert any("SYSTEM.NUM_CPUS" in w for w in warnings)
    assert config["TEST"]["BY_CHUNKS"]["Z_START"] == 10  # kept


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"PROBLEM": {"NDIM": "4D"}}, r"PROBLEM\.NDIM: '4D' is not one of"),
        ({"TRAIN": {"EPOCHS": 0}}, r"TRAIN\.EPOCHS: 0 is below the minimum 1"),
        ({"TRAIN": {"OPTIMIZER": "adam"}}, r"TRAIN\.OPTIMIZER"),
        (
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"], "DATA_CHANNEL_WEIGHTS": [0.5]}
                }
            },
            r"DATA_CHANNEL_WEIGHTS: 1 weight\(s\) for 2",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"WATERSHED": {"SEED_CHANNELS": ["Db"]}}}},
            r"SEED_CHANNELS: 'Db' is not in DATA_CHANNELS",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS_EXTRA_OPTS": [{"C": {"mode": "fat"}}]}}},
            r"DATA_CHANNELS_EXTRA_OPTS\.C: option 'mode'",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS_EXTRA_OPTS": [{"F": {"erode": 1}}]}}},
            r"unknown option\(s\) \['erode'\]",
        ),
        (
            {"PROBLEM": {"NDIM": "3D"}, "DATA": {"PATCH_SIZE": "(256, 256, 1)"}},
            r"DATA\.PATCH_SIZE: \[256, 256, 1\] does not fit PROBLEM\.NDIM 3D",
        ),
        (
            {"DATA": {"PATCH_SIZE": [64, 64, 1], "TEST": {"PADDING": [32, 32]}}},
            r"DATA\.TEST\.PADDING",
        ),
        (
            {
                "TEST": {
                    "POST_PROCESSING": {
                        "INSTANCE_REFINEMENT": {"OPERATIONS": ["dilation"], "VALUES": ["none"]}
                    }
                }
            },
            r"'dilation' takes an integer",
        ),
        ({"DATA": {"VAL": {"FROM_TRAIN": False}}}, r"DATA\.VAL\.PATH"),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["C", "R"]}}},
            r"DATA_CHANNELS: channel R needs an object probability channel",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "E"]}}},
            r"DATA_CHANNELS: channel E must be the only channel",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS_LOSSES": ["bce"]}}},
            r"DATA_CHANNELS_LOSSES: 1 loss\(es\) for 2 channel\(s\) \['F', 'C'\]",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS_LOSSES": ["bce", "mse"]}}},
            r"'mse' for channel C not supported in segpipe: a binary channel takes bce or ce",
        ),
        (
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {
                        "DATA_CHANNELS": ["F", "Db"],
                        "DATA_CHANNELS_LOSSES": ["bce", "bce"],
                    }
                }
            },
            r"'bce' for channel Db not supported in segpipe: a regression channel takes l1",
        ),  # fmt: skip
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "Gv"]}}},
            r"DATA_CHANNELS: channel Gv needs Gh beside it",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["C", "Gh", "Gv"]}}},
            r"DATA_CHANNELS: channel Gh needs an object probability channel beside it, one of F, B",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "Gh", "Gv", "Gz"]}}},
            r"channel Gz needs 3D data",
        ),
        (
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {
                        "DATA_CHANNELS": ["F", "Gh", "Gv"],
                        "DATA_CHANNELS_EXTRA_OPTS": [
                            {
                                "Gh": {"gradient_type": "omnipose"},
                                "Gv": {"gradient_type": "cellpose"},
                            }
                        ],
                    }
                }
            },
            r"the flow channels are one vector field and need one gradient_type",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["A", "C"]}}},
            r"DATA_CHANNELS: channel A must be the only channel",
        ),
        (
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {
                        "DATA_CHANNELS": ["F", "C"],
                        "INSTANCE_CREATION_PROCESS": "stardist",
                    }
                }
            },
            r"INSTANCE_CREATION_PROCESS: 'stardist' cannot decode the channels \['F', 'C'\]",
        ),
        (
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {
                        "DATA_CHANNELS": ["A"],
                        "DATA_CHANNELS_EXTRA_OPTS": [{"A": {"neighborhood": "6-connectivity"}}],
                    }
                }
            },
            r"DATA_CHANNELS_EXTRA_OPTS\.A: A option 'neighborhood' in 2D must be one of",
        ),
    ],
)
def test_bad_values_name_their_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(raw)


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("TRAIN:\n  EPOCH: 3\n")
    with pytest.raises(
        ConfigError, match=r"bad\.yaml: unknown key TRAIN\.EPOCH; did you mean TRAIN\.EPOCHS\?"
    ):
        load_config(path)
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("TRAIN: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML"):
        load_config(broken)


def test_patch_size_default_follows_ndim():
    assert resolve_config({"PROBLEM": {"NDIM": "3D"}})[0]["DATA"]["PATCH_SIZE"] == [20, 128, 128, 1]


@pytest.mark.parametrize(
    "raw",
    [
        {"PROBLEM": {"NDIM": "3D"}, "DATA": {"PATCH_SIZE": [16, 32, 32, 1]}},
        {
            "PROBLEM": {
                "INSTANCE_SEG": {
                    "DATA_CHANNELS": ["F", "C", "Db"],
                    "WATERSHED": {"SEED_CHANNELS": ["Db"]},
                }
            }
        },
    ],
)
def test_every_stage_slice_is_a_valid_config(raw):
    config, _ = resolve_config(raw)
    for stage in ("encode", "train", "predict", "decode", "refine", "measure", "evaluate"):
        resolve_config(stage_slice(config, stage))


def test_stage_slices_hold_only_what_the_stage_reads():
    config, _ = resolve_config({})
    decode = stage_slice(config, "decode")
    assert set(decode) == {"PROBLEM", "TEST", "DATA"}
    # the Voronoi step's, block decoding's and the region of interest's switches; their
    # settings join only when on
    assert decode["DATA"] == {"TEST": {"ROI_MASK": {"ENABLE": False, "PATH": "", "AXES_ORDER": ""}}}
    assert decode["TEST"] == {
        "POST_PROCESSING": {"VORONOI_ON_MASK": False},
        "BY_CHUNKS": {"ENABLE": False},
    }
    assert set(decode["PROBLEM"]["INSTANCE_SEG"]) == {
        "DATA_CHANNELS",
        "DATA_CHANNELS_EXTRA_OPTS",
        "INSTANCE_CREATION_PROCESS",
        "WATERSHED",
        "STARDIST",
        "EMBEDSEG",
    }
    train = stage_slice(config, "train")
    assert "WATERSHED" not in train["PROBLEM"]["INSTANCE_SEG"]
    # a slice is itself a valid config
    resolved, _ = resolve_config(train)
    assert resolved["TRAIN"] == config["TRAIN"]


def test_demo_config_and_examples_are_valid():
    from pathlib import Path

    root = Path(__file__).parents[2] / "config"
    for path in [root / "config.yaml", root / "examples" / "3d.yaml"]:
        config, warnings = load_config(path)
        assert warnings == [], path


def test_biapy_template_runs_with_only_its_paths_changed():
    from pathlib import Path

    config, warnings = load_config(
        Path(__file__).parents[2] / "config" / "examples" / "biapy_template_2d.yaml"
    )
    assert config["DATA"]["PATCH_SIZE"] == [256, 256, 1] and config["TRAIN"]["LR"] == pytest.approx(
        1e-4
    )
    named = " ".join(warnings)
    assert "DATA.TEST.IN_MEMORY" in named
    # its workers make the training batches
    assert config["SYSTEM"]["NUM_WORKERS"] == 5 and "NUM_WORKERS" not in named
    # its augmentations are applied: nothing about them is said
    assert "AUGMENTOR" not in named
    assert config["AUGMENTOR"]["RANDOM_ROT"] is True
    # set to BiaPy's own default, a key without effect goes unmentioned
    assert "DATA.TRAIN.IN_MEMORY" not in named
    # the template's Residual U-Net is built, not replaced
    assert config["MODEL"]["ARCHITECTURE"] == "resunet" and "ARCHITECTURE" not in named


def test_reference_lists_every_key():
    text = reference_markdown()
    assert "`PROBLEM.INSTANCE_SEG.WATERSHED.SEED_CHANNELS`" in text
    assert "not implemented yet" in text


def test_the_config_reference_page_is_current():
    from pathlib import Path

    from stages.readme_reference import reference_page

    page = (Path(__file__).parents[2] / "docs" / "config-reference.md").read_text()
    assert page == reference_page(), "docs/config-reference.md is stale: run `make reference`"


_REMOVE = {"ENABLE": True, "PROPS": [["npixels"]], "SIGNS": [["lt"]], "VALUES": [[100]]}


@pytest.mark.parametrize(
    "ndim, post, message",
    [
        ("2D", {"MEDIAN_FILTER": True}, r"MEDIAN_FILTER_AXIS: MEDIAN_FILTER is on, list"),
        (
            "3D",
            {"MEDIAN_FILTER": True, "MEDIAN_FILTER_AXIS": ["z", "xy"], "MEDIAN_FILTER_SIZE": [3]},
            r"MEDIAN_FILTER_SIZE: needs one size per MEDIAN_FILTER_AXIS entry \(2\), got 1",
        ),
        (
            "2D",
            {"MEDIAN_FILTER": True, "MEDIAN_FILTER_AXIS": ["yz"], "MEDIAN_FILTER_SIZE": [3]},
            r"\['yz'\] filter\(s\) across Z need 3D data",
        ),
        ("2D", {"MEDIAN_FILTER_AXIS": ["q"]}, r"MEDIAN_FILTER_AXIS\[0\]: 'q' is not one of"),
        ("2D", {"REPARE_LARGE_BLOBS_SIZE": -2}, r"REPARE_LARGE_BLOBS_SIZE: -2 is below"),
        (
            "2D",
            {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": {**_REMOVE, "PROPS": []}}},
            r"REMOVE_BY_PROPERTIES.PROPS: REMOVE_BY_PROPERTIES is on, give its conditions",
        ),
        (
            "2D",
            {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": {**_REMOVE, "VALUES": [[1, 2]]}}},
            r"REMOVE_BY_PROPERTIES.VALUES: must have the shape of PROPS \[1\]",
        ),
        (
            "2D",
            {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": {**_REMOVE, "SIGNS": [["eq"]]}}},
            r"REMOVE_BY_PROPERTIES.SIGNS\[0\]\[0\]: 'eq' is not one of",
        ),
        (
            "3D",
            {
                "MEASURE_PROPERTIES": {
                    "REMOVE_BY_PROPERTIES": {**_REMOVE, "PROPS": [["elongation"]]}
                }
            },
            r"REMOVE_BY_PROPERTIES.PROPS: elongation is measured in 2D only",
        ),
    ],
)
def test_post_processing_keys_are_checked(ndim, post, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config({"PROBLEM": {"NDIM": ndim}, "TEST": {"POST_PROCESSING": post}})


def test_the_reference_writer_takes_no_option_for_a_page(tmp_path):
    """`python -m stages.readme_reference --help` once wrote the page to a file named --help."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "stages.readme_reference", "--help"],
                          cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0 and "usage:" in done.stderr
    assert not (tmp_path / "--help").exists() and not list(tmp_path.iterdir())


def test_a_gradient_type_given_to_one_flow_component_holds_for_the_others():
    # as BiaPy's Omnipose template writes it: on Gh alone
    config, _ = resolve_config(
        {
            "PROBLEM": {
                "INSTANCE_SEG": {
                    "DATA_CHANNELS": ["Db", "Gh", "Gv"],
                    "DATA_CHANNELS_EXTRA_OPTS": [{"Gh": {"gradient_type": "omnipose"}}],
                }
            }
        }
    )
    options = config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_EXTRA_OPTS"]
    assert options["Gv"] == options["Gh"] == {"gradient_type": "omnipose"}


def test_the_decoder_takes_the_flow_section_of_the_gradient_type():
    from stages.commands.decode import settings_from_config

    def flow_settings(gradient_type):
        config, _ = resolve_config(
            {
                "PROBLEM": {
                    "INSTANCE_SEG": {
                        "DATA_CHANNELS": ["F", "Gh", "Gv"],
                        "DATA_CHANNELS_EXTRA_OPTS": [{"Gv": {"gradient_type": gradient_type}}],
                        "CELLPOSE": {"FG_THRESH": 0.3, "FLOW_THRESHOLD": 0.2, "N_STEPS": 50},
                        "OMNIPOSE": {"FLOW_THRESHOLD": 0.7, "NITER": 0},
                    }
                }
            }
        )
        return settings_from_config(config).decoders["gradient-flow"]

    cellpose, omnipose = flow_settings("cellpose"), flow_settings("omnipose")
    assert (cellpose.fg_thresh, cellpose.flow_threshold, cellpose.n_steps) == (0.3, 0.2, 50)
    assert (omnipose.fg_thresh, omnipose.flow_threshold, omnipose.n_steps) == (0.3, 0.7, 200)
