import pytest

from stages.config import ConfigError, resolve_config


def _watershed(channels, **shed):
    config, _ = resolve_config(
        {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": channels, "WATERSHED": shed}}}
    )
    return config["PROBLEM"]["INSTANCE_SEG"]["WATERSHED"]


def test_thresholds_without_channel_lists_get_the_inferred_lists():
    """As BiaPy does: the thresholds apply to the channels the set's defaults use."""
    shed = _watershed(
        ["F", "C", "Db"], SEED_CHANNELS_THRESH=[0.6, 0.2, 1.0], GROWTH_MASK_CHANNELS_THRESH=[0.4]
    )
    assert shed["SEED_CHANNELS"] == ["F", "C", "Db"] and shed["GROWTH_MASK_CHANNELS"] == ["F"]
    shed = _watershed(["F", "P"], SEED_CHANNELS_THRESH=[0.7])
    assert shed["SEED_CHANNELS"] == ["P"] and shed["GROWTH_MASK_CHANNELS"] == []


def test_lists_given_are_kept_and_a_wrong_count_is_named():
    assert _watershed(["F", "C"], SEED_CHANNELS=["C"], SEED_CHANNELS_THRESH=[0.2])[
        "SEED_CHANNELS"
    ] == ["C"]
    with pytest.raises(ConfigError, match=r"SEED_CHANNELS_THRESH: 1 value\(s\) for 2 channel"):
        _watershed(["F", "C"], SEED_CHANNELS_THRESH=[0.2])


def test_no_thresholds_leave_the_lists_to_the_decoder():
    assert _watershed(["F", "C"])["SEED_CHANNELS"] == []
