"""Validate a config against the JSON schema; one error naming the key, with a "did you mean"."""

from __future__ import annotations

import difflib
from typing import Any

import jsonschema

from .errors import ConfigError
from .keys import dotted
from .schema import all_paths


def _closest(key: str, path: str, allowed: list[str], schema: dict) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"{path.rsplit('.', 1)[0] + '.' if '.' in path else ''}{close[0]}"
    # the key may exist elsewhere in the tree (a section placed at the wrong level)
    everywhere = all_paths(schema)
    same_name = [p for p in everywhere if p.rsplit(".", 1)[-1] == key]
    if same_name:
        return same_name[0]
    # or be misspelt there: compare names, not paths (a shared prefix is no likeness)
    by_name: dict[str, str] = {}
    for candidate in everywhere:
        by_name.setdefault(candidate.rsplit(".", 1)[-1], candidate)
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.75)
    return by_name[close[0]] if close else ""


def _unknown_key(error: jsonschema.ValidationError, schema: dict) -> str:
    allowed = list(error.schema.get("properties", {}))
    key = next(str(k) for k in error.instance if k not in allowed)
    where = dotted(error.absolute_path)
    path = f"{where}.{key}" if where else key
    hint = _closest(key, path, allowed, schema)
    if hint:
        return f"unknown key {path}; did you mean {hint}?"
    return f"unknown key {path}; valid keys here: {', '.join(allowed)}"


def _describe(error: jsonschema.ValidationError) -> str:
    """What is wrong with the value, in the words of the old validator (tests name them)."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        names = [limit] if isinstance(limit, str) else list(limit)
        if names == ["object"]:
            return f"expected a mapping of keys, got {type(value).__name__} {value!r}"
        return f"expected {' or '.join(names)}, got {type(value).__name__} {value!r}"
    if kind == "anyOf":
        reasons = [_describe(sub) for sub in error.context] or [error.message]
        return f"{value!r} is not valid ({'; or '.join(dict.fromkeys(reasons))})"
    refused = error.schema.get("x-not-supported", {})
    if kind == "enum" and isinstance(value, str) and value in refused:
        return f"{value!r} not supported in segpipe: {refused[value]}"
    words: dict[str, Any] = {
        "enum": lambda: f"{value!r} is not one of {limit}",
        "minimum": lambda: f"{value} is below the minimum {limit}",
        "maximum": lambda: f"{value} is above the maximum {limit}",
        "exclusiveMinimum": lambda: f"{value} must be greater than {limit}",
        "exclusiveMaximum": lambda: f"{value} must be less than {limit}",
        "pattern": lambda: f"{value!r} does not match {limit}",
        "minItems": lambda: f"needs at least {limit} item(s), got {value!r}",
        "maxItems": lambda: f"takes at most {limit} item(s), got {value!r}",
    }
    return words[kind]() if kind in words else error.message


def _order(error: jsonschema.ValidationError) -> tuple:
    # an unknown key first (its "did you mean" is the likeliest fix), then in document order
    return (error.validator != "additionalProperties", [str(p) for p in error.absolute_path])


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For ``anyOf``, the error of the option whose type matched (the one the user meant)."""
    while error.validator == "anyOf":
        by_option: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            by_option.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [
            sub
            for subs in by_option.values()
            if not any(sub.validator == "type" and not sub.relative_path for sub in subs)
            for sub in subs
        ]
        if not meant:
            break
        error = min(meant, key=_order)
    return error


def validate(schema: dict, config: dict) -> None:
    """Raise ConfigError for the first thing in ``config`` that ``schema`` does not allow."""
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(config), key=_order)
    if not errors:
        return
    error = _deepest(errors[0])
    if error.validator == "additionalProperties":
        raise ConfigError(_unknown_key(error, schema))
    raise ConfigError(f"{dotted(error.absolute_path) or 'config'}: {_describe(error)}")
