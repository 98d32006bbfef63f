"""The schema of a segpipe config (schema.yaml, JSON schema draft 7) and what is read off it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


@lru_cache(maxsize=1)
def load_schema() -> dict:
    with open(SCHEMA_PATH) as handle:
        return yaml.safe_load(handle)


def resolve_ref(schema: dict, node: dict) -> dict:
    """``node`` with its ``$ref`` (to ``#/definitions/...``) merged in."""
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = {**schema["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def expected_types(node: dict) -> set[str]:
    """The JSON types a schema node accepts (through ``anyOf`` too); empty for any type."""
    types = node.get("type")
    if types is None:
        found: set[str] = set()
        for option in node.get("anyOf", []):
            found |= expected_types(option)
        return found
    return {types} if isinstance(types, str) else set(types)


def all_paths(schema: dict, node: dict | None = None, prefix: str = "") -> list[str]:
    """Every dotted key path the schema defines below ``node`` (the root by default)."""
    node = resolve_ref(schema, schema if node is None else node)
    paths = []
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        paths.append(path)
        paths.extend(all_paths(schema, child, path + "."))
    return paths


def reference_markdown() -> str:
    """A table of every key, its default and description, for the README."""
    schema = load_schema()
    rows = ["| key | default | description |", "|---|---|---|"]

    def visit(node: dict, prefix: str) -> None:
        node = resolve_ref(schema, node)
        for name, child in node.get("properties", {}).items():
            child = resolve_ref(schema, child)
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
