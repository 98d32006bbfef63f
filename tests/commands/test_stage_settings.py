"""The config boundary: a stage's slice is what its command reads and gives the same settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from stages.commands import STAGES, stage_settings, stage_slice
from stages.config import ConfigError, load_config, load_schema, resolve_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted([REPO / "config" / "config.yaml", *(REPO / "config" / "examples").glob("*.yaml")])

WITH_VALIDATION_FOLDER = {
    "DATA": {"VAL": {"FROM_TRAIN": False, "PATH": "val/raw", "GT_PATH": "val/label"}},
}
STARDIST = {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["Db", "R"]}}}
SEEDS_FROM_P = {
    "PROBLEM": {
        "INSTANCE_SEG": {
            "DATA_CHANNELS": ["F", "P"],
            "WATERSHED": {"SEED_CHANNELS": ["P"], "SEED_CHANNELS_THRESH": [0.4]},
        }
    }
}


def _configs():
    for path in EXAMPLES:
        yield path.name, load_config(path)[0]
    for name, raw in [
        ("validation folder", WITH_VALIDATION_FOLDER),
        ("stardist", STARDIST),
        ("seeds from P", SEEDS_FROM_P),
    ]:
        yield name, resolve_config(raw)[0]


@pytest.mark.parametrize(
    "name, config", list(_configs()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_stage_gets_the_same_settings_from_its_slice(name, config):
    for stage in STAGES:
        sliced = stage_slice(config, stage)
        # the slice goes through a YAML file on its way to the command
        again, _ = resolve_config(yaml.safe_load(yaml.safe_dump(sliced)))
        assert stage_settings(stage, again) == stage_settings(stage, config), (name, stage)


def test_the_train_slice_keeps_the_validation_folder():
    config, _ = resolve_config(WITH_VALIDATION_FOLDER)
    sliced = stage_slice(config, "train")
    wanted = {"FROM_TRAIN": False, "PATH": "val/raw", "GT_PATH": "val/label"}
    assert wanted.items() <= sliced["DATA"]["VAL"].items()
    assert stage_settings("train", config).val_folders == ("val/raw", "val/label")


def test_a_decode_key_is_not_in_the_train_slice_and_back():
    config, _ = resolve_config({})
    assert "WATERSHED" not in stage_slice(config, "train")["PROBLEM"]["INSTANCE_SEG"]
    assert "TRAIN" not in stage_slice(config, "decode")


LIBRARY = [
    p
    for p in (REPO / "stages").rglob("*.py")
    if not {"commands", "config"} & set(p.parts) and p.name != "readme_reference.py"
]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(REPO)))
def test_library_code_reads_no_config_key(path):
    """Only the commands and the config module know config keys (["PROBLEM"], ["TRAIN"], ...)."""
    # environment variables (os.environ["CUDA_VISIBLE_DEVICES"]) are not config keys
    keys = re.findall(r"(?<!environ)\[\s*[\"']([A-Z][A-Z0-9_]{2,})[\"']\s*\]", path.read_text())
    assert keys == [], f"{path.relative_to(REPO)} indexes config keys {sorted(set(keys))}"


def test_schema_enums_follow_the_registries():
    from stages.channels import ENCODERS
    from stages.decode import DECODERS

    schema = load_schema()
    assert schema["definitions"]["channel_code"]["enum"] == list(ENCODERS)
    seg = schema["properties"]["PROBLEM"]["properties"]["INSTANCE_SEG"]["properties"]
    assert sorted(seg["INSTANCE_CREATION_PROCESS"]["enum"]) == sorted(["", *DECODERS])
    claimed = {code for decoder in DECODERS.values() for code in decoder.claims}
    watershed_codes = [c for c in ENCODERS if c not in claimed]
    assert seg["WATERSHED"]["properties"]["TOPOGRAPHIC_SURFACE_CHANNEL"]["enum"] == [
        "",
        *watershed_codes,
    ]


def test_post_processing_steps_follow_their_keys_in_biapy_order():
    from stages.commands import post_processing_steps
    from stages.config import resolve_config

    assert post_processing_steps(resolve_config({})[0]) == []
    post = {
        "REPARE_LARGE_BLOBS_SIZE": 100,
        "INSTANCE_REFINEMENT": {"ENABLE": True},
        "MEASURE_PROPERTIES": {
            "REMOVE_BY_PROPERTIES": {
                "ENABLE": True,
                "PROPS": [["area"]],
                "SIGNS": [["gt"]],
                "VALUES": [[9]],
            }
        },
    }
    config, _ = resolve_config({"TEST": {"POST_PROCESSING": post}})
    assert post_processing_steps(config) == ["refine", "repair_large_blobs", "filter_by_properties"]
    post["INSTANCE_REFINEMENT"]["ENABLE"] = False
    post["REPARE_LARGE_BLOBS_SIZE"] = -1
    config, _ = resolve_config({"TEST": {"POST_PROCESSING": post}})
    assert post_processing_steps(config) == ["filter_by_properties"]


def test_clear_border_and_fill_holes_are_refinement_after_the_listed_operations():
    from stages.commands import post_processing_steps
    from stages.config import resolve_config

    post = {
        "CLEAR_BORDER": True,
        "FILL_HOLES": True,
        "INSTANCE_REFINEMENT": {"ENABLE": True, "OPERATIONS": ["erosion"], "VALUES": [1]},
    }
    config, _ = resolve_config({"TEST": {"POST_PROCESSING": post}})
    settings = stage_settings("refine", config)
    assert settings.operations == ("erosion", "fill_holes", "clear_border")
    assert settings.values == (1, "none", "none")
    post["INSTANCE_REFINEMENT"]["ENABLE"] = False
    post["FILL_HOLES"] = False
    config, _ = resolve_config({"TEST": {"POST_PROCESSING": post}})
    assert stage_settings("refine", config).operations == ("clear_border",)
    assert post_processing_steps(config) == ["refine"]


def test_larger_io_and_isotropy_shape_the_network_the_train_stage_builds():
    config, _ = resolve_config(
        {"PROBLEM": {"NDIM": "3D"}, "MODEL": {"LARGER_IO": True, "ISOTROPY": False}}
    )
    spec = stage_settings("train", config).loop.model
    assert spec.larger_io and spec.isotropy == (False,) * 5 and spec.layout == 3
    listed, _ = resolve_config(
        {"PROBLEM": {"NDIM": "3D"}, "MODEL": {"ISOTROPY": [True, True, False, False, False]}}
    )
    assert stage_settings("train", listed).loop.model.isotropy == (True, True, False, False, False)
    with pytest.raises(ConfigError, match="MODEL.ISOTROPY has 2 value.s. for 5 levels"):
        resolve_config({"MODEL": {"ISOTROPY": [True, False]}})
