"""JSON Schema (draft 2020-12) of the inputs, exported from the pydantic models for editors.

The models stay the single source of truth: the committed files in blueprint/schemas/ must equal
this export (a test fails when they are stale). What JSON Schema cannot say (model validators such
as "requests within limits", CIDR host bits, least-privilege refusals) is still checked by
`blueprint validate`; the schema is for completion and early feedback in an editor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from blueprint import writer
from blueprint.errors import InputError, Location, Problem
from blueprint.models import AgentProfile, Environment
from blueprint.models.base import API_VERSION

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = f"https://{API_VERSION}/schemas/"  # https://blueprint.dev/v1alpha1/schemas/
NAMES = ("profile", "environment")
SCHEMA_DIR = Path(__file__).parent / "schemas"
REGENERATE = "blueprint schema all --out blueprint/schemas"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator without the titles it derives from field names ("Maxpods"): noise in hovers."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def committed_path(name: str) -> Path:
    """Where the shipped copy lives (package data, so an installed blueprint has it too)."""
    return SCHEMA_DIR / file_name(name)


def _close_maps(node: Any) -> None:
    """A dict field with constrained keys becomes `patternProperties`; without `additionalProperties:
    false` a key outside the grammar would pass. Close every such map, recursively."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_maps(value)


def _model_schema(model: type) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_Generator)
    _close_maps(schema)
    return schema


def _overlay(node: Any, defs: dict[str, Any]) -> Any:
    """The schema of a value as an `extends:` overlay may write it: mappings merge key by key, so no
    key of a mapping is required; lists and scalars replace the base's, so they stay complete."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if defs[name].get("type") == "object" and not name.endswith("Overlay"):
            overlay_name = f"{name}Overlay"
            if overlay_name not in defs:
                defs[overlay_name] = {}  # reserve the name first: a recursive model must terminate
                defs[overlay_name] = _overlay(defs[name], defs)
                defs[overlay_name]["title"] = f"{defs[name].get('title', name)} (overlay)"
            node["$ref"] = f"#/$defs/{overlay_name}"
    for key in ("anyOf", "oneOf"):
        if key in node:
            node[key] = [_overlay(member, defs) for member in node[key]]
    if node.get("type") == "object":
        node.pop("required", None)
        if "properties" in node:
            node["properties"] = {k: _overlay(v, defs) for k, v in node["properties"].items()}
        if "patternProperties" in node:
            node["patternProperties"] = {k: _overlay(v, defs) for k, v in node["patternProperties"].items()}
    return node


def _profile() -> dict[str, Any]:
    full = _model_schema(AgentProfile)
    defs = full.pop("$defs", {})
    defs["AgentProfile"] = full
    defs["AgentProfileOverlay"] = _overlay(full, defs)
    defs["AgentProfileOverlay"]["title"] = "AgentProfile (overlay: the file has extends)"
    return {
        "$schema": DRAFT,
        "$id": ID_BASE + file_name("profile"),
        "title": "blueprint AgentProfile",
        "description": f"One agent's permission profile ({API_VERSION}). Generated from blueprint's models "
                       f"by `{REGENERATE}`; do not edit.",
        # A profile with `extends:` is merged onto its base before validation, so as written it may
        # leave out anything the base provides, at any depth of mappings. The loader accepts that, so
        # every file is checked against the overlay schema (the same keys, grammars and bounds, no
        # required key), and a file without `extends:` against the complete profile as well. The
        # overlay comes first and unconditionally so that editors complete from it.
        "allOf": [
            {"$ref": "#/$defs/AgentProfileOverlay"},
            {"if": {"type": "object", "required": ["extends"]}, "else": {"$ref": "#/$defs/AgentProfile"}},
        ],
        "$defs": dict(sorted(defs.items())),
    }


def _environment() -> dict[str, Any]:
    schema = _model_schema(Environment)
    defs = schema.pop("$defs", {})
    return {
        "$schema": DRAFT,
        "$id": ID_BASE + file_name("environment"),
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "blueprint Environment",
        "description": f"One cluster's settings and egress destinations ({API_VERSION}). Generated from "
                       f"blueprint's models by `{REGENERATE}`; do not edit.",
        "$defs": dict(sorted(defs.items())),
    }


_BUILDERS = {"profile": _profile, "environment": _environment}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one input kind: 'profile' or 'environment'."""
    return _BUILDERS[name]()  # built afresh on each call: callers may change it


def text(name: str) -> str:
    """The schema as committed: stable key order (the models' field order), two-space indent."""
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"


def files(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """File name -> text, for the writer."""
    return {file_name(name): text(name) for name in names}


def write(out_dir: Path, schema_files: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write the files into out_dir; (written, unchanged). Only the schema files are touched: no
    manifest and no stale-file removal (`writer.write_tree` would leave a manifest in blueprint/schemas/)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError([Problem(Location(str(out_dir)), "--out must be a folder, not a file")])
    written, unchanged = [], []
    for rel, content in sorted(schema_files.items()):
        target = out_dir / rel
        if target.is_file() and target.read_text(encoding="utf-8") == content:
            unchanged.append(rel)
            continue
        writer.write_file(target, content)
        written.append(rel)
    return written, unchanged
