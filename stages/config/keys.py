"""Dotted key paths into a nested config mapping."""

from __future__ import annotations

from typing import Any

SEG = "PROBLEM.INSTANCE_SEG"
SHED = "PROBLEM.INSTANCE_SEG.WATERSHED"


def get(config: dict, dotted: str, default: Any = None) -> Any:
    """Value at a dotted key path, or ``default`` when a part is missing."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_key(config: dict, dotted: str, value: Any) -> None:
    """Set the value at a dotted key path, creating the mappings on the way."""
    parts = dotted.split(".")
    node = config
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def dotted(path: Any) -> str:
    """A jsonschema error path (keys and list indices) as ``A.B[2].C``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
