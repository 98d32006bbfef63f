import jsonschema
import pytest

from stages.config import ConfigError, load_schema, resolve_config
from stages.config.load import read_config
from stages.config.validate import validate


def test_schema_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(load_schema())


def test_every_default_of_the_schema_is_valid():
    schema = load_schema()
    config, _ = read_config(schema, {})
    validate(schema, config)  # raises on a default the schema itself forbids


@pytest.mark.parametrize(
    "raw, message",
    [
        # an item of a list is named by its index
        ({"DATA": {"PATCH_SIZE": [64, "wide", 1]}}, r"^DATA\.PATCH_SIZE\[1\]: expected integer"),
        ({"TRAIN": 5}, r"^TRAIN: expected a mapping of keys, got int 5"),
        ({"RUN": {"NAME": "my run"}}, r"^RUN\.NAME: 'my run' does not match"),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "Q"]}}},
            r"^PROBLEM\.INSTANCE_SEG\.DATA_CHANNELS\[1\]: 'Q' is not one of",
        ),
        (
            {"TEST": {"POST_PROCESSING": {"INSTANCE_REFINEMENT": {"VALUES": [1.5]}}}},
            r"VALUES\[0\]: 1\.5 is not valid \(expected integer, got float 1\.5; or expected str",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"WATERSHED": {"SEED_CHANNELS_THRESH": ["high"]}}}},
            r"SEED_CHANNELS_THRESH\[0\]: 'high' is not one of \['auto'\]",
        ),
    ],
)
def test_schema_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(raw)


@pytest.mark.parametrize(
    "raw, message",
    [
        # BiaPy 3.7.1's synapse channels: its codes, refused with the reason
        (
            {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F_pre", "F_post"]}}},
            r"DATA_CHANNELS\[0\]: 'F_pre' not supported in segpipe: synapse channels",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"WATERSHED": {"SEED_CHANNELS": ["F_cleft"]}}}},
            r"SEED_CHANNELS\[0\]: 'F_cleft' not supported in segpipe: synapse",
        ),
        (
            {"PROBLEM": {"INSTANCE_SEG": {"INSTANCE_CREATION_PROCESS": "agglomeration"}}},
            r"INSTANCE_CREATION_PROCESS: 'agglomeration' not supported in segpipe: .*waterz",
        ),
    ],
)
def test_biapy_values_segpipe_lacks_are_refused_saying_why(raw, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(raw)


def test_an_unknown_key_is_reported_before_a_wrong_value():
    with pytest.raises(ConfigError, match=r"^unknown key TRAIN\.EPOCH; did you mean TRAIN\.EPOCHS"):
        resolve_config({"PROBLEM": {"NDIM": "4D"}, "TRAIN": {"EPOCH": 3}})


def test_unknown_key_far_from_any_valid_one_lists_the_valid_keys():
    with pytest.raises(
        ConfigError, match=r"unknown key RUN\.QWERTYUIOPASDFGH; valid keys here: RESULT_DIR"
    ):
        resolve_config({"RUN": {"QWERTYUIOPASDFGH": 1}})


def test_the_schema_at_the_top_of_the_repository_is_the_one_the_package_reads():
    from pathlib import Path

    from stages.config import SCHEMA_PATH

    top = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"
    assert top.read_text() == SCHEMA_PATH.read_text()  # a link that broke would fail here


def test_a_key_misspelt_in_another_section_is_found_by_its_name():
    with pytest.raises(
        ConfigError, match=r"unknown key MODEL\.PATCH_SIZ; did you mean DATA\.PATCH_SIZE"
    ):
        resolve_config({"MODEL": {"PATCH_SIZ": "(64, 64, 1)"}})
