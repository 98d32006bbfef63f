"""Read a BiaPy-style YAML config, fill defaults and validate it against schema.yaml.

BiaPy writes tuples and small numbers as strings that Python's ``ast.literal_eval``
reads (``PATCH_SIZE: (256, 256, 1)``, ``LR: 1e-4``), and old templates write
``DATA_CHANNELS: BC``. Both are read as BiaPy reads them. A wrong key is an error
naming the key and the closest valid one; a BiaPy key that segpipe does not act on
yet is returned as a warning naming it.
"""

from __future__ import annotations

import ast
import copy
import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")

# Old DATA_CHANNELS strings (BiaPy <= 3.5): B meant foreground, D distance to boundary, Dv2 today's
# D.
_LEGACY_CODES = {
    "B": "F",
    "C": "C",
    "P": "P",
    "D": "Db",
    "Dv2": "D",
    "T": "T",
    "Db": "Db",
    "Dc": "Dc",
    "Dn": "Dn",
    "H": "H",
    "V": "V",
    "Z": "Z",
    "F": "F",
}
_LEGACY_TOKEN = re.compile(r"Dv2|Db|Dc|Dn|[A-Z]")
# BiaPy writes -1 for "unset" in a few numeric keys; we use null.
_MINUS_ONE_MEANS_UNSET = {
    "TRAIN.PATIENCE",
    "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.MEAN_VAL",
    "DATA.NORMALIZATION.ZERO_MEAN_UNIT_VAR.STD_VAL",
}


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key."""


@lru_cache(maxsize=1)
def load_schema() -> dict:
    with open(SCHEMA_PATH) as handle:
        return yaml.safe_load(handle)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = {**schema["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _expected_types(node: dict) -> set[str]:
    types = node.get("type")
    if types is None:
        found: set[str] = set()
        for option in node.get("anyOf", []):
            found |= _expected_types(option)
        return found
    return {types} if isinstance(types, str) else set(types)


def _literal(value: str, key: str) -> Any:
    """Read a BiaPy literal string such as '(256, 256, 1)' or '1e-4'."""
    text = value.strip()
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return value
    if isinstance(parsed, tuple):
        parsed = list(parsed)
    return parsed


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_to_lists(v) for k, v in value.items()}
    return value


def legacy_channels(value: str) -> list[str]:
    """Convert an old DATA_CHANNELS string ('BC', 'BCDv2', 'BP') into today's code list."""
    tokens = _LEGACY_TOKEN.findall(value)
    if "".join(tokens) != value or not tokens:
        raise ConfigError(
            f"PROBLEM.INSTANCE_SEG.DATA_CHANNELS: cannot read the old-style string {value!r}"
        )
    unknown = [t for t in tokens if t not in _LEGACY_CODES]
    if unknown:
        raise ConfigError(
            f"PROBLEM.INSTANCE_SEG.DATA_CHANNELS: old-style code(s) {unknown} in {value!r} are "
            "not supported"
        )
    return [_LEGACY_CODES[t] for t in tokens]


def _all_paths(schema: dict, node: dict, prefix: str = "") -> list[str]:
    node = _resolve(schema, node)
    paths = []
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        paths.append(path)
        paths.extend(_all_paths(schema, child, path + "."))
    return paths


def _closest(key: str, path: str, allowed: list[str], schema: dict) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"{path.rsplit('.', 1)[0] + '.' if '.' in path else ''}{close[0]}"
    # the key may exist elsewhere in the tree (a section placed at the wrong level)
    everywhere = _all_paths(schema, schema)
    same_name = [p for p in everywhere if p.rsplit(".", 1)[-1] == key]
    if same_name:
        return same_name[0]
    close = difflib.get_close_matches(path, everywhere, n=1, cutoff=0.5)
    return close[0] if close else ""


def _walk(schema: dict, node: dict, value: Any, path: str, warnings: list[str]) -> Any:
    """Convert literals, fill defaults, check types; returns the resolved value."""
    node = _resolve(schema, node)
    if "x-unimplemented" in node:
        warnings.append(
            f"{path} is a BiaPy key that segpipe does not implement yet "
            f"({node['x-unimplemented']}); it has no effect"
        )
        return value
    expected = _expected_types(node)
    if isinstance(value, str) and expected and "string" not in expected:
        value = _literal(value, path)
    if path in _MINUS_ONE_MEANS_UNSET and value == -1:
        value = None
    value = _tuples_to_lists(value)
    if node.get("type") == "object":
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(
                f"{path or 'config'}: expected a mapping of keys, got {type(value).__name__} "
                f"{value!r}"
            )
        properties = node.get("properties", {})
        resolved = {}
        for key, child_value in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if key not in properties:
                hint = _closest(str(key), child_path, list(properties), schema)
                message = f"unknown key {child_path}"
                raise ConfigError(
                    message
                    + (
                        f"; did you mean {hint}?"
                        if hint
                        else f"; valid keys here: {', '.join(properties)}"
                    )
                )
            resolved[key] = _walk(schema, properties[key], child_value, child_path, warnings)
        for key, child in properties.items():
            child = _resolve(schema, child)
            if key not in resolved and "default" in child:
                child_path = f"{path}.{key}" if path else key
                resolved[key] = _walk(
                    schema, child, copy.deepcopy(child["default"]), child_path, []
                )
        return resolved
    _check_value(schema, node, value, path)
    return value


def _type_ok(value: Any, name: str) -> bool:
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "null": value is None,
    }[name]


def _check_value(schema: dict, node: dict, value: Any, path: str) -> None:
    if "anyOf" in node:
        errors = []
        for option in node["anyOf"]:
            try:
                _check_value(schema, _resolve(schema, option), value, path)
                return
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(f"{path}: {value!r} is not valid ({'; or '.join(errors)})")
    types = node.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_type_ok(value, n) for n in names):
            raise ConfigError(
                f"{path}: expected {' or '.join(names)}, got {type(value).__name__} {value!r}"
            )
    if value is None:
        return
    if "enum" in node and value not in node["enum"]:
        raise ConfigError(f"{path}: {value!r} is not one of {node['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            raise ConfigError(f"{path}: {value} is below the minimum {node['minimum']}")
        if "maximum" in node and value > node["maximum"]:
            raise ConfigError(f"{path}: {value} is above the maximum {node['maximum']}")
        if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
            raise ConfigError(f"{path}: {value} must be greater than {node['exclusiveMinimum']}")
        if "exclusiveMaximum" in node and value >= node["exclusiveMaximum"]:
            raise ConfigError(f"{path}: {value} must be less than {node['exclusiveMaximum']}")
    if isinstance(value, str) and "pattern" in node and not re.match(node["pattern"], value):
        raise ConfigError(f"{path}: {value!r} does not match {node['pattern']}")
    if isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            raise ConfigError(f"{path}: needs at least {node['minItems']} item(s), got {value!r}")
        if "maxItems" in node and len(value) > node["maxItems"]:
            raise ConfigError(f"{path}: takes at most {node['maxItems']} item(s), got {value!r}")
        if "items" in node:
            item_node = _resolve(schema, node["items"])
            for i, item in enumerate(value):
                _check_value(schema, item_node, item, f"{path}[{i}]")


def get(config: dict, dotted: str, default: Any = None) -> Any:
    """Value at a dotted key path, or ``default`` when a part is missing."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _set(config: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = config
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


SEG = "PROBLEM.INSTANCE_SEG"
SHED = "PROBLEM.INSTANCE_SEG.WATERSHED"


def _complete(cfg: dict) -> None:
    """Fill the defaults that depend on other keys (the schema's defaults are already in).

    The one place where a resolved config gains values it was not given: the patch size by
    NDIM, test padding and overlap by the patch, one options mapping per channel code, the
    activation's lower-case spelling.
    """
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    if not cfg["DATA"]["PATCH_SIZE"]:
        cfg["DATA"]["PATCH_SIZE"] = [256, 256, 1] if ndim == 2 else [20, 128, 128, 1]
    spatial = cfg["DATA"]["PATCH_SIZE"][:-1]
    test = cfg["DATA"]["TEST"]
    if not test["PADDING"]:
        test["PADDING"] = [size // 8 for size in spatial]
    if not test["OVERLAP"]:
        test["OVERLAP"] = [0.0] * len(spatial)
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    extra = seg["DATA_CHANNELS_EXTRA_OPTS"]
    if isinstance(extra, list):
        extra = extra[0] if extra else {}
    seg["DATA_CHANNELS_EXTRA_OPTS"] = {
        **{code: {} for code in seg["DATA_CHANNELS"]},
        **{code: dict(options or {}) for code, options in extra.items()},
    }
    cfg["MODEL"]["ACTIVATION"] = cfg["MODEL"]["ACTIVATION"].lower()


@dataclass(frozen=True)
class Check:
    """A rule over several keys: ``run`` raises ConfigError naming the key at fault.

    ``reads`` lists the keys it checks and ``context`` the keys it checks them against: a
    stage's config slice that holds one of ``reads`` holds them all and the context, so every
    slice passes the checks its full config passed (a slice holding only a context key, such
    as PROBLEM.NDIM, gets defaults that agree with it).
    """

    reads: tuple[str, ...]
    run: Callable[[dict], None]
    context: tuple[str, ...] = ()


CHECKS: list[Check] = []


def check(
    *reads: str, context: tuple[str, ...] = ()
) -> Callable[[Callable[[dict], None]], Callable[[dict], None]]:
    """Register a check of the dotted keys ``reads`` against the keys ``context``."""

    def register(function: Callable[[dict], None]) -> Callable[[dict], None]:
        CHECKS.append(Check(tuple(reads), function, tuple(context)))
        return function

    return register


@check(f"{SEG}.DATA_CHANNELS", f"{SEG}.INSTANCE_CREATION_PROCESS", context=("PROBLEM.NDIM",))
def _check_channels(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes = seg["DATA_CHANNELS"]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{SEG}.DATA_CHANNELS: repeated code in {codes}")
    from .channels import ENCODERS, check_combination  # light: numpy/scipy/numba only
    from .decode import decoder_for

    for code in codes:
        if code not in ENCODERS:
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS: channel {code!r} is not implemented yet "
                f"(available: {', '.join(ENCODERS)})"
            )
    try:
        check_combination(codes, 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3)
    except ValueError as error:
        raise ConfigError(f"{SEG}.DATA_CHANNELS: {error}") from None
    process = seg["INSTANCE_CREATION_PROCESS"]
    if process and process != decoder_for(codes):
        raise ConfigError(
            f"{SEG}.INSTANCE_CREATION_PROCESS: {process!r} cannot decode the channels {codes} "
            f"(they need {decoder_for(codes)!r})"
        )


@check(f"{SEG}.DATA_CHANNEL_WEIGHTS", context=(f"{SEG}.DATA_CHANNELS",))
def _check_weights(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    weights, codes = seg["DATA_CHANNEL_WEIGHTS"], seg["DATA_CHANNELS"]
    if weights and len(weights) != len(codes):
        raise ConfigError(
            f"{SEG}.DATA_CHANNEL_WEIGHTS: {len(weights)} weight(s) for {len(codes)} channel(s) "
            f"{codes}"
        )


@check(f"{SEG}.DATA_CHANNELS_EXTRA_OPTS", context=(f"{SEG}.DATA_CHANNELS", "PROBLEM.NDIM"))
def _check_channel_options(cfg: dict) -> None:
    from .channels import ENCODERS

    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes = seg["DATA_CHANNELS"]
    for code, options in seg["DATA_CHANNELS_EXTRA_OPTS"].items():
        if code not in codes:
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS_EXTRA_OPTS: options for {code!r}, which is not in "
                f"DATA_CHANNELS {codes}"
            )
        try:
            ENCODERS[code].resolve_options(options, cfg["PROBLEM"]["NDIM"])
        except ValueError as error:
            raise ConfigError(f"{SEG}.DATA_CHANNELS_EXTRA_OPTS.{code}: {error}") from None


@check(
    f"{SHED}.SEED_CHANNELS",
    f"{SHED}.SEED_CHANNELS_THRESH",
    f"{SHED}.GROWTH_MASK_CHANNELS",
    f"{SHED}.GROWTH_MASK_CHANNELS_THRESH",
    f"{SHED}.TOPOGRAPHIC_SURFACE_CHANNEL",
    f"{SHED}.SEED_MORPH_SEQUENCE",
    f"{SHED}.SEED_MORPH_RADIUS",
    context=(f"{SEG}.DATA_CHANNELS",),
)
def _check_watershed(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes, shed = seg["DATA_CHANNELS"], seg["WATERSHED"]
    for channels_key, thresh_key in (
        ("SEED_CHANNELS", "SEED_CHANNELS_THRESH"),
        ("GROWTH_MASK_CHANNELS", "GROWTH_MASK_CHANNELS_THRESH"),
    ):
        for code in shed[channels_key]:
            if code not in codes:
                raise ConfigError(
                    f"{SHED}.{channels_key}: {code!r} is not in DATA_CHANNELS {codes}"
                )
        if shed[thresh_key] and len(shed[thresh_key]) != len(shed[channels_key]):
            raise ConfigError(
                f"{SHED}.{thresh_key}: {len(shed[thresh_key])} value(s) for "
                f"{len(shed[channels_key])} channel(s) in {channels_key}"
            )
    surface = shed["TOPOGRAPHIC_SURFACE_CHANNEL"]
    if surface and surface not in codes:
        raise ConfigError(
            f"{SHED}.TOPOGRAPHIC_SURFACE_CHANNEL: {surface!r} is not in DATA_CHANNELS {codes}"
        )
    if len(shed["SEED_MORPH_SEQUENCE"]) != len(shed["SEED_MORPH_RADIUS"]):
        raise ConfigError(
            f"{SHED}.SEED_MORPH_RADIUS: needs one radius per SEED_MORPH_SEQUENCE entry"
        )


@check("DATA.PATCH_SIZE", "DATA.TEST.PADDING", "DATA.TEST.OVERLAP", context=("PROBLEM.NDIM",))
def _check_patches(cfg: dict) -> None:
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    patch = cfg["DATA"]["PATCH_SIZE"]
    if len(patch) != ndim + 1:
        raise ConfigError(
            f"DATA.PATCH_SIZE: {patch} does not fit PROBLEM.NDIM {cfg['PROBLEM']['NDIM']} "
            f"(expected {ndim} spatial sizes and the channel count)"
        )
    test = cfg["DATA"]["TEST"]
    for key in ("PADDING", "OVERLAP"):
        if len(test[key]) != ndim:
            raise ConfigError(
                f"DATA.TEST.{key}: {test[key]} needs {ndim} value(s), one per spatial axis"
            )
    for axis, (pad, size) in enumerate(zip(test["PADDING"], patch[:-1])):
        if 2 * pad >= size:
            raise ConfigError(
                f"DATA.TEST.PADDING: {test['PADDING']} leaves no patch core on axis {axis} of "
                f"DATA.PATCH_SIZE {patch}"
            )


@check("DATA.TEST.RESOLUTION", context=("PROBLEM.NDIM",))
def _check_resolution(cfg: dict) -> None:
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    resolution = cfg["DATA"]["TEST"]["RESOLUTION"]
    if resolution and len(resolution) != ndim:
        raise ConfigError(
            f"DATA.TEST.RESOLUTION: {resolution} needs {ndim} value(s), one per spatial axis"
        )


@check("MODEL.FEATURE_MAPS", "MODEL.DROPOUT_VALUES", "MODEL.Z_DOWN")
def _check_model(cfg: dict) -> None:
    model = cfg["MODEL"]
    levels = len(model["FEATURE_MAPS"])
    if model["DROPOUT_VALUES"] and len(model["DROPOUT_VALUES"]) != levels:
        raise ConfigError(
            f"MODEL.DROPOUT_VALUES: {len(model['DROPOUT_VALUES'])} value(s) for {levels} levels "
            "of MODEL.FEATURE_MAPS"
        )
    if model["Z_DOWN"] and len(model["Z_DOWN"]) != levels - 1:
        raise ConfigError(
            f"MODEL.Z_DOWN: needs {levels - 1} value(s) (one per pooling) for MODEL.FEATURE_MAPS "
            f"{model['FEATURE_MAPS']}"
        )


@check(
    "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.OPERATIONS",
    "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.VALUES",
)
def _check_refinement(cfg: dict) -> None:
    refinement = cfg["TEST"]["POST_PROCESSING"]["INSTANCE_REFINEMENT"]
    key = "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.VALUES"
    if len(refinement["OPERATIONS"]) != len(refinement["VALUES"]):
        raise ConfigError(
            f"{key}: needs one value per OPERATIONS entry ('none' where none applies)"
        )
    for op, value in zip(refinement["OPERATIONS"], refinement["VALUES"]):
        needs_value = op in ("dilation", "erosion", "remove_small_objects", "remove_large_objects")
        if needs_value != isinstance(value, int):
            raise ConfigError(
                f"{key}: {op!r} takes {'an integer' if needs_value else 'none'}, got {value!r}"
            )


@check("DATA.VAL.FROM_TRAIN", "DATA.VAL.PATH", "DATA.VAL.GT_PATH")
def _check_validation_folder(cfg: dict) -> None:
    val = cfg["DATA"]["VAL"]
    if not val["FROM_TRAIN"] and not (val["PATH"] and val["GT_PATH"]):
        raise ConfigError(
            "DATA.VAL.PATH: with DATA.VAL.FROM_TRAIN false, set DATA.VAL.PATH and DATA.VAL.GT_PATH"
        )


def _warnings(cfg: dict) -> list[str]:
    if cfg["MODEL"]["ARCHITECTURE"] != "unet":
        return [
            f"MODEL.ARCHITECTURE {cfg['MODEL']['ARCHITECTURE']!r} is not implemented yet: a U-Net "
            "is trained instead"
        ]
    return []


def resolve_config(raw: dict | None) -> tuple[dict, list[str]]:
    """Validate a config mapping and fill its defaults.

    Returns
    -------
    config, warnings
        The full resolved config and one warning per BiaPy key set but not implemented.
    """
    schema = load_schema()
    warnings: list[str] = []
    raw = copy.deepcopy(raw or {})
    channels = get(raw, "PROBLEM.INSTANCE_SEG.DATA_CHANNELS")
    if isinstance(channels, str):
        literal = _literal(channels, "PROBLEM.INSTANCE_SEG.DATA_CHANNELS")
        _set(
            raw,
            "PROBLEM.INSTANCE_SEG.DATA_CHANNELS",
            list(literal) if isinstance(literal, (list, tuple)) else legacy_channels(channels),
        )
    config = _walk(schema, schema, raw, "", warnings)
    _complete(config)
    for rule in CHECKS:
        rule.run(config)
    return config, warnings + _warnings(config)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with ``safe_load``; errors name the file."""
    path = Path(path)
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, got {type(data).__name__}"
        )
    return data


def load_config(path: str | Path) -> tuple[dict, list[str]]:
    """Read, validate and complete a config file. Errors name the file and the key."""
    try:
        return resolve_config(read_yaml(path))
    except ConfigError as error:
        message = str(error)
        if not message.startswith("config file"):
            message = f"{path}: {message}"
        raise ConfigError(message) from None


class RecordingConfig(Mapping):
    """A read-only view of a resolved config that notes the dotted path of every value read.

    A stage's settings builder reads its config through one; the paths it read make the
    stage's config slice (:func:`slice_of`), so the slice follows what the code reads.
    """

    def __init__(self, data: Mapping, path: str = "", seen: set[str] | None = None) -> None:
        self._data, self._path = data, path
        self.seen: set[str] = set() if seen is None else seen

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        path = f"{self._path}.{key}" if self._path else str(key)
        if isinstance(value, Mapping):
            return RecordingConfig(value, path, self.seen)
        self.seen.add(path)
        return copy.deepcopy(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def whole(section: Mapping) -> dict:
    """A plain deep copy of a config section, read as a whole (all of it joins the slice)."""
    if isinstance(section, RecordingConfig):
        section.seen.add(section._path)
        return copy.deepcopy(dict(section._data))
    return copy.deepcopy(dict(section))


def slice_of(config: dict, read: set[str]) -> dict:
    """The part of a resolved ``config`` at the dotted paths ``read``, closed under the checks.

    A check that reads one of the paths brings every key it reads, so the slice is a
    config that passes the same checks (``DATA.VAL.FROM_TRAIN`` brings ``DATA.VAL.PATH``).
    """

    def related(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    paths = set(read)
    grown = True
    while grown:
        grown = False
        for rule in CHECKS:
            needed = set(rule.reads) | set(rule.context)
            if any(related(p, r) for p in paths for r in rule.reads) and not needed <= paths:
                paths |= needed
                grown = True
    sliced: dict = {}
    for dotted in sorted(paths):
        _set(sliced, dotted, copy.deepcopy(get(config, dotted)))
    return sliced


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def reference_markdown() -> str:
    """A table of every key, its default and description, for the README."""
    schema = load_schema()
    rows = ["| key | default | description |", "|---|---|---|"]

    def visit(node: dict, prefix: str) -> None:
        node = _resolve(schema, node)
        for name, child in node.get("properties", {}).items():
            child = _resolve(schema, child)
            path = f"{prefix}{name}"
            if "x-unimplemented" in child:
                rows.append(
                    f"| `{path}` | | not implemented yet: {child['x-unimplemented']} (warning) |"
                )
            elif child.get("type") == "object":
                visit(child, path + ".")
            else:
                default = child.get("default")
                text = child.get("description", "").replace("|", "\\|")
                if "enum" in child:
                    text += f" One of: {', '.join(repr(v) for v in child['enum'])}."
                rows.append(f"| `{path}` | `{default!r}` | {text} |")

    visit(schema, "")
    return "\n".join(rows)
