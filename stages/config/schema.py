"""The schema of a segpipe config (schema.yaml, JSON schema draft 7) and what is read off it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


#: BiaPy's keys segpipe takes no value from: their fate, reason and BiaPy's default
BIAPY_KEYS_PATH = Path(__file__).with_name("biapy_keys.yaml")
#: how the reference names each fate
FATE_TEXT = {
    "other-workflow": "another BiaPy workflow's key, accepted without effect",
    "no-effect": "no effect in segpipe (a warning when not BiaPy's default)",
    "unsupported": "refused unless BiaPy's default",
}


@lru_cache(maxsize=1)
def load_schema() -> dict:
    """schema.yaml with the fates of biapy_keys.yaml merged in (``x-fate``, ``x-why``,
    ``x-biapy-default``, ``x-acts-as``)."""
    # libyaml's loader when there is one: every command start reads these (0.25 s -> 0.035 s)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SCHEMA_PATH) as handle:
        schema = yaml.load(handle, Loader=loader)
    with open(BIAPY_KEYS_PATH) as handle:
        fates = yaml.load(handle, Loader=loader)
    for dotted, fate in fates.items():
        node = schema
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = resolve_ref(schema, node)
            # a section segpipe lacks (PROBLEM.INSTANCE_SEG.CELLPOSE) holds only fated keys
            node = node["properties"].setdefault(
                part, {"type": "object", "additionalProperties": False, "properties": {}}
            )
        properties = resolve_ref(schema, node).setdefault("properties", {})
        if fate["fate"] == "known":
            if "x-unimplemented" not in properties.get(parts[-1], {}):
                raise ValueError(f"{BIAPY_KEYS_PATH.name}: {dotted} is not x-unimplemented")
            properties[parts[-1]]["x-biapy-default"] = fate["biapy"]
            continue
        if parts[-1] in properties:
            raise ValueError(f"{BIAPY_KEYS_PATH.name}: {dotted} is also in {SCHEMA_PATH.name}")
        properties[parts[-1]] = {
            "x-fate": fate["fate"],
            "x-why": fate["why"],
            **({"x-biapy-default": fate["biapy"]} if "biapy" in fate else {}),
            **({"x-acts-as": fate["acts_as"]} if "acts_as" in fate else {}),
        }
    return schema


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
            if "x-fate" in child:
                biapy = child.get("x-biapy-default")
                default = f"`{biapy!r}` (BiaPy's)" if "x-biapy-default" in child else ""
                rows.append(
                    f"| `{path}` | {default} | {FATE_TEXT[child['x-fate']]}: {child['x-why']} |"
                )
            elif "x-unimplemented" in child:
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
