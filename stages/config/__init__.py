"""A segpipe config: read as BiaPy reads it, validated against schema.yaml, checked, completed.

Only ``stages.commands`` (and the workflow's rules) read config keys; they build each stage's
settings from the resolved config and derive its slice from the keys they read.

- :mod:`.load`: YAML, BiaPy literal strings, old channel strings, the schema's defaults;
- :mod:`.validate`: ``jsonschema`` against the schema, one error naming the key (and the
  closest valid key for an unknown one);
- :mod:`.defaults`: the defaults that depend on other keys, filled in one place;
- :mod:`.checks`: rules over several keys, which only check;
- :mod:`.slices`: a stage's slice, from the keys its settings builder read.
"""

from __future__ import annotations

from pathlib import Path

from .checks import CHECKS, Check, check, warnings_for
from .defaults import complete
from .errors import ConfigError
from .keys import SEG, SHED, get, set_key
from .load import dump_yaml, legacy_channels, read_config, read_yaml
from .schema import SCHEMA_PATH, load_schema, reference_markdown
from .slices import RecordingConfig, slice_of, whole
from .validate import validate

__all__ = [
    "CHECKS",
    "Check",
    "ConfigError",
    "RecordingConfig",
    "SCHEMA_PATH",
    "SEG",
    "SHED",
    "check",
    "dump_yaml",
    "get",
    "legacy_channels",
    "load_config",
    "load_schema",
    "read_yaml",
    "reference_markdown",
    "resolve_config",
    "set_key",
    "slice_of",
    "whole",
]


def resolve_config(raw: dict | None) -> tuple[dict, list[str]]:
    """Read, validate, complete and check a config mapping.

    Returns
    -------
    config, warnings
        The full resolved config and one warning per BiaPy key set but not implemented.
    """
    schema = load_schema()
    config, warnings = read_config(schema, raw)
    validate(schema, config)
    complete(config)
    for rule in CHECKS:
        rule.run(config)
    return config, warnings + warnings_for(config)


def load_config(path: str | Path) -> tuple[dict, list[str]]:
    """Read, validate and complete a config file. Errors name the file and the key."""
    try:
        return resolve_config(read_yaml(path))
    except ConfigError as error:
        message = str(error)
        if not message.startswith("config file"):
            message = f"{path}: {message}"
        raise ConfigError(message) from None
