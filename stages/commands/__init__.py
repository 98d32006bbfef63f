"""The stage commands: the only code, with the rules, that knows config keys.

Each stage command module has a ``settings_from_config(config)`` that turns the resolved
config into the plain settings its library calls take. What that function reads is the
stage's config slice (:func:`stage_slice`), the file its rule depends on: a WATERSHED edit
reruns decode, never training.
"""

from __future__ import annotations

import importlib
from typing import Any

#: the stages whose commands read a config, in workflow order
STAGES = (
    "preprocess",
    "check",
    "encode",
    "train",
    "tune",
    "predict",
    "median_filter",
    "decode",
    "refine",
    "repair_large_blobs",
    "filter_by_properties",
    "measure",
    "evaluate",
    "export",
    "ome_zarr",
)


def post_processing_steps(config: dict) -> list[str]:
    """The label post-processing stages a resolved config turns on, in the order they run
    (BiaPy's: refinement, large-blob repair, removal by properties)."""
    post = config["TEST"]["POST_PROCESSING"]
    enabled = {
        "refine": post["INSTANCE_REFINEMENT"]["ENABLE"]
        or post["FILL_HOLES"]
        or post["CLEAR_BORDER"],
        "repair_large_blobs": post["REPARE_LARGE_BLOBS_SIZE"] > 0,
        "filter_by_properties": post["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]["ENABLE"],
    }
    return [step for step, on in enabled.items() if on]


def stage_settings(stage: str, config: Any) -> Any:
    """The settings stage ``stage`` builds from a resolved config (or a recording view of one)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return importlib.import_module(f"stages.commands.{stage}").settings_from_config(config)


def stage_slice(config: dict, stage: str) -> dict:
    """The part of a resolved config that stage ``stage`` reads (a valid config itself)."""
    from ..config import RecordingConfig, slice_of

    view = RecordingConfig(config)
    stage_settings(stage, view)
    return slice_of(config, view.seen)
