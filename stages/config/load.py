"""Read a config file as BiaPy reads it: YAML, literal strings, old channel strings, defaults.

BiaPy writes tuples and small numbers as strings that Python's ``ast.literal_eval`` reads
(``PATCH_SIZE: (256, 256, 1)``, ``LR: 1e-4``), and old templates write ``DATA_CHANNELS: BC``.
Reading fills the schema's defaults and notes each BiaPy key segpipe does not act on yet; it
checks nothing (validation does, on what reading returns).
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .keys import SEG, get, set_key
from .migrate import migrate, old_channel_string
from .schema import expected_types, resolve_ref

# BiaPy writes -1 for "unset" in a few numeric keys; we use null.
_MINUS_ONE_MEANS_UNSET = {
    "TRAIN.PATIENCE",
    "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.MEAN_VAL",
    "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.STD_VAL",
}
#: BiaPy 3.7.1 writes -1 (or a list of -1) for these when unset: read as segpipe's default
_MINUS_ONE_MEANS_DEFAULT = {
    "DATA.NORMALIZATION.PERC_CLIP.LOWER_PERC",
    "DATA.NORMALIZATION.PERC_CLIP.UPPER_PERC",
    "DATA.TEST.RESOLUTION",
    "TRAIN.LR_SCHEDULER.MIN_LR",
    "TRAIN.LR_SCHEDULER.REDUCEONPLATEAU_PATIENCE",
    "TRAIN.LR_SCHEDULER.WARMUP_COSINE_DECAY_EPOCHS",
}


#: the most values a config may hold once its YAML aliases are expanded (a BiaPy config
#: holds a few hundred); nested aliases ("billion laughs") would otherwise expand without end
MAX_EXPANDED_VALUES = 100_000


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the YAML graph holds with every alias expanded (stops past the bound)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise ConfigError("a YAML alias refers to the mapping or list that holds it")
        visiting.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        visiting.discard(key)
        sizes[key] = min(total, MAX_EXPANDED_VALUES + 1)
        return sizes[key]

    return size(root)


def _load_bounded(text: str) -> object:
    """``yaml.safe_load`` that refuses documents whose aliases expand past the bound."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_EXPANDED_VALUES:
            raise ConfigError(
                f"its YAML aliases expand to more than {MAX_EXPANDED_VALUES} values; write the "
                "values out"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping (safe types only, aliases bounded); errors name the file."""
    path = Path(path)
    try:
        data = _load_bounded(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (UnicodeDecodeError, IsADirectoryError) as error:
        raise ConfigError(f"config file {path} is not a text file: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    except ConfigError as error:
        raise ConfigError(f"config file {path}: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, got {type(data).__name__}"
        )
    return data


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def literal(value: str) -> Any:
    """Read a BiaPy literal string such as '(256, 256, 1)' or '1e-4' (unreadable: unchanged)."""
    text = value.strip()
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return value
    return list(parsed) if isinstance(parsed, tuple) else parsed


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_to_lists(v) for k, v in value.items()}
    return value


def legacy_channels(value: str, ndim: int = 2) -> list[str]:
    """An old DATA_CHANNELS string ('BC', 'BCDv2', 'BCM') as BiaPy 3.7 reads it."""
    codes = old_channel_string(value, ndim)
    if codes is None:
        raise ConfigError(f"{SEG}.DATA_CHANNELS: cannot read the old-style string {value!r}")
    return codes


def _read_channels(raw: dict) -> None:
    channels = get(raw, f"{SEG}.DATA_CHANNELS")
    if isinstance(channels, str):
        parsed = literal(channels)
        set_key(
            raw,
            f"{SEG}.DATA_CHANNELS",
            list(parsed) if isinstance(parsed, (list, tuple)) else legacy_channels(channels),
        )


_NO_DEFAULT = object()


def _same_value(value: Any, default: Any) -> bool:
    """Whether a config value is BiaPy's default (tuples, and BiaPy's literal strings such as
    '(512, 512)', read as lists)."""
    if default is _NO_DEFAULT:
        return False
    if isinstance(value, str) and not isinstance(default, str):
        value = literal(value)
    return _tuples_to_lists(value) == _tuples_to_lists(default)


def _read(schema: dict, node: dict, value: Any, path: str, warnings: list[tuple[str, str]]) -> Any:
    node = resolve_ref(schema, node)
    fate = node.get("x-fate")
    if fate == "other-workflow":
        return value  # as in BiaPy: an instance segmentation run never reads it
    if fate is not None or "x-unimplemented" in node:
        expected = node.get("x-acts-as", node.get("x-biapy-default", _NO_DEFAULT))
        if _same_value(value, expected):
            return value  # a config BiaPy wrote out: silent
        if fate == "unsupported":
            raise ConfigError(f"{path}: not supported in segpipe: {node['x-why']}")
        if fate == "no-effect":
            warnings.append((path, f"no effect in segpipe: {node['x-why']}"))
        else:
            warnings.append(
                (path, f"not implemented in segpipe yet, no effect: {node['x-unimplemented']}")
            )
        return value
    expected = expected_types(node)
    if isinstance(value, str) and expected and "string" not in expected:
        value = literal(value)
    if path in _MINUS_ONE_MEANS_UNSET:
        # BiaPy 3.7.1 writes per-channel lists: [-1.0] is unset, [0.5] is 0.5 for every channel
        if isinstance(value, (list, tuple)) and len(set(value)) == 1:
            value = value[0]
        if value == -1:
            value = None
    if path in _MINUS_ONE_MEANS_DEFAULT and (
        value == -1 or (isinstance(value, (list, tuple)) and set(value) == {-1})
    ):
        value = copy.deepcopy(node["default"])
    value = _tuples_to_lists(value)
    if node.get("type") != "object":
        return value
    if value is None:
        value = {}
    if not isinstance(value, dict):
        return value  # validation names the key
    properties = node.get("properties", {})
    read = {
        key: (
            _read(schema, properties[key], child, f"{path}.{key}" if path else str(key), warnings)
            if key in properties
            else child  # unknown: validation names it and the closest valid key
        )
        for key, child in value.items()
    }
    for key, child in properties.items():
        child = resolve_ref(schema, child)
        if key not in read and "default" in child:
            child_path = f"{path}.{key}" if path else key
            read[key] = _read(schema, child, copy.deepcopy(child["default"]), child_path, [])
    return read


def read_config(schema: dict, raw: dict | None) -> tuple[dict, list[str]]:
    """A raw config mapping as BiaPy reads it, with the schema's defaults filled in.

    Returns
    -------
    config, warnings
        The config (not yet validated), and the migration notes and one warning per reason
        that BiaPy keys set away from BiaPy's default have no effect.
    """
    raw, notes = migrate(raw or {})
    _read_channels(raw)
    ignored: list[tuple[str, str]] = []
    config = _read(schema, schema, raw, "", ignored)
    # one line per reason: a config BiaPy wrote names many keys for the same one
    by_reason: dict[str, list[str]] = {}
    for path, reason in ignored:
        by_reason.setdefault(reason, []).append(path)
    return config, notes + [f"{', '.join(paths)}: {reason}" for reason, paths in by_reason.items()]
