"""The JSON Schema export: committed copies are current, every example validates, mistakes do not,
and the schema agrees with the models on what they reject."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ENVIRONMENTS, REPO
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from blueprint import schema_export
from blueprint.cli import main
from blueprint.loader import read_yaml
from blueprint.models import AgentProfile, Environment

PROFILES = sorted(ENVIRONMENTS.glob("*/agents/*.yaml")) + sorted((ENVIRONMENTS / "_shared").glob("*.yaml"))
ENVIRONMENT_FILES = sorted(ENVIRONMENTS.glob("*/environment.yaml"))


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft202012Validator]:
    return {name: Draft202012Validator(schema_export.schema(name)) for name in schema_export.NAMES}


def errors(validator: Draft202012Validator, data: Any) -> list[str]:
    """Distinct messages: the overlay and the complete schema may both report one mistake."""
    return sorted({f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)})


def data(path: Path) -> dict[str, Any]:
    """The file as the loader reads it (same YAML scalars, same rejection of aliases)."""
    return read_yaml(path).data


@pytest.mark.parametrize("name", schema_export.NAMES)
def test_committed_schema_is_current(name: str) -> None:
    committed = schema_export.committed_path(name)
    assert committed.is_file(), f"{committed} is missing; run `{schema_export.REGENERATE}`"
    assert committed.read_text(encoding="utf-8") == schema_export.text(name), (
        f"{committed.relative_to(REPO)} is stale: the models changed. Regenerate it with `{schema_export.REGENERATE}` "
        "and commit the result.")


@pytest.mark.parametrize("name", schema_export.NAMES)
def test_schema_is_draft_2020_12_with_id_and_title(name: str) -> None:
    schema = schema_export.schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.schema.json") and schema["$id"].startswith("https://")
    assert schema["title"].startswith("blueprint ")


@pytest.mark.parametrize("name", schema_export.NAMES)
def test_every_object_is_closed(name: str) -> None:
    """extra=forbid everywhere: no object, and no map with constrained keys, takes unknown keys."""
    open_objects = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if ("properties" in node or "patternProperties" in node) and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema_export.schema(name), "#")
    assert open_objects == []


def test_aliases_descriptions_grammar_and_bounds_are_kept() -> None:
    defs = schema_export.schema("profile")["$defs"]
    profile = defs["AgentProfile"]
    assert profile["required"] == ["apiVersion", "kind", "name", "owner", "resources"]
    assert "credentialTtl" in profile["properties"] and "credential_ttl" not in profile["properties"]
    name = profile["properties"]["name"]
    assert name["pattern"] == "^[a-z]([-a-z0-9]*[a-z0-9])?$" and (name["minLength"], name["maxLength"]) == (2, 57)
    assert "becomes namespace 'agent-<name>'" in name["description"]
    assert "cluster-scope" in defs["Waiver"]["properties"]["waives"]["enum"]
    assert defs["Resources"]["properties"]["maxPods"] == {"default": 2, "maximum": 100, "minimum": 1, "type": "integer"}
    assert "title" not in profile["properties"]["owner"]  # no "Owner" noise derived from the field name


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: str(p.relative_to(ENVIRONMENTS)))
def test_every_example_profile_validates_as_written(path: Path, validators) -> None:
    assert errors(validators["profile"], data(path)) == []


MODELINE = "# yaml-language-server: $schema="


@pytest.mark.parametrize("path", PROFILES + ENVIRONMENT_FILES, ids=lambda p: str(p.relative_to(ENVIRONMENTS)))
def test_every_example_names_its_schema_on_the_first_line(path: Path) -> None:
    """Editors complete and validate the file from the committed schema the modeline points at."""
    first = path.read_text(encoding="utf-8").partition("\n")[0]
    assert first.startswith(MODELINE), f"{path}: add `{MODELINE}<relative path>` as the first line"
    kind = "environment" if path.name == "environment.yaml" else "profile"
    assert (path.parent / first.removeprefix(MODELINE)).resolve() == schema_export.committed_path(kind).resolve()


@pytest.mark.parametrize("path", ENVIRONMENT_FILES, ids=lambda p: str(p.relative_to(ENVIRONMENTS)))
def test_every_example_environment_validates(path: Path, validators) -> None:
    assert errors(validators["environment"], data(path)) == []


def test_examples_include_partial_profiles() -> None:
    """The overlay schema is exercised: some examples leave required keys to their base."""
    partial = [p for p in PROFILES if "extends" in data(p) and "owner" not in data(p)]
    nested = [p for p in PROFILES if "extends" in data(p) and "requests" not in data(p).get("resources", {"requests": 1})]
    assert partial and nested


BASE = ENVIRONMENTS / "_shared" / "cluster-triage.yaml"


def _complete() -> dict[str, Any]:
    return copy.deepcopy(data(BASE))


def _set(doc: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


PROFILE_MISTAKES = {
    "unknown top-level key": ((("egres",), ["x"]), "Additional properties are not allowed ('egres' was unexpected)"),
    "unknown nested key": ((("kubernetes", "rules", 0, "nameSpace"), "x"), "('nameSpace' was unexpected)"),
    "verb outside the grammar": ((("kubernetes", "rules", 0, "verbs"), ["get", "get all"]), "'get all' does not match"),
    "terraform expression": ((("kubernetes", "rules", 0, "namespace"), "${var.x}"),
                             "namespace: '${var.x}' is not valid under any of the given schemas"),
    "unknown refusal code": ((("exceptions",), [{"name": "x", "waives": "everything", "reason": "r" * 20}]),
                             "'everything' is not one of"),
    "bound": ((("resources", "maxPods"), 101), "101 is greater than the maximum of 100"),
    "strict type": ((("resources", "maxPods"), "2"), "'2' is not of type 'integer'"),
    "agent name": ((("name",), "1triage"), "'1triage' does not match"),
}


@pytest.mark.parametrize("case", PROFILE_MISTAKES, ids=str)
def test_profile_mistakes_are_rejected_like_the_model(case: str, validators) -> None:
    (path, value), message = PROFILE_MISTAKES[case]
    doc = _set(_complete(), path, value)
    found = errors(validators["profile"], doc)
    assert any(message in e for e in found), found
    with pytest.raises(ValidationError):  # the schema is not stricter than the model
        AgentProfile.model_validate(doc)


def test_wildcard_verb_is_grammar_valid_and_refused_later(validators) -> None:
    """`*` is in the verb grammar on purpose: least privilege refuses it (exit 1) unless a named
    exception waives it, so the schema, like the model, must accept it."""
    doc = _set(_complete(), ("kubernetes", "rules", 0, "verbs"), ["get", "*"])
    assert errors(validators["profile"], doc) == []
    AgentProfile.model_validate(doc)


def test_required_keys_only_without_extends(validators) -> None:
    doc = _complete()
    del doc["owner"], doc["resources"]["limits"]
    assert errors(validators["profile"], doc) == [": 'owner' is a required property",
                                                  "resources: 'limits' is a required property"]
    doc["extends"] = "../_shared/base.yaml"  # merged onto a base: the base may provide both
    assert errors(validators["profile"], doc) == []


def test_overlay_still_rejects_unknown_keys_and_bad_values(validators) -> None:
    overlay = {"extends": "../../_shared/research.yaml", "resources": {"maxPod": 3}, "egress": ["LLM_api"]}
    assert errors(validators["profile"], overlay) == [
        "egress/0: 'LLM_api' does not match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        "resources: Additional properties are not allowed ('maxPod' was unexpected)",
    ]


def test_lists_in_an_overlay_must_be_complete(validators) -> None:
    """Lists replace the base's, never merge: an overlay's list items need every required key."""
    overlay = {"extends": "../../_shared/research.yaml", "kubernetes": {"rules": [{"apiGroups": [""], "resources": ["pods"]}]}}
    assert errors(validators["profile"], overlay) == ["kubernetes/rules/0: 'verbs' is a required property"]


ENV = ENVIRONMENTS / "dev" / "environment.yaml"
ENV_MISTAKES = {
    "bad CIDR": ((("cluster", "podCidrs"), ["10.0.0.0/8; rm -rf"]), "does not match"),
    "not a CIDR": ((("destinations", "llm-api", "cidrs"), ["llm.example.com"]), "'llm.example.com' does not match"),
    "destination name outside the grammar": ((("destinations", "LLM_api"), {"cidrs": ["192.0.2.10/32"], "ports": [{"port": 443}]}),
                                             "'LLM_api' does not match any of the regexes"),
    "unknown key": ((("cluster", "apiServer", "cidr"), ["192.0.2.1/32"]), "('cidr' was unexpected)"),
    "unknown state type": ((("state",), {"type": "gcs"}), "is not valid under any of the given schemas"),
    "kubernetes version": ((("cluster", "kubernetesVersion"), "1.24"), "'1.24' does not match"),
}


@pytest.mark.parametrize("case", ENV_MISTAKES, ids=str)
def test_environment_mistakes_are_rejected_like_the_model(case: str, validators) -> None:
    (path, value), message = ENV_MISTAKES[case]
    doc = _set(copy.deepcopy(data(ENV)), path, value)
    found = errors(validators["environment"], doc)
    assert any(message in e for e in found), found
    with pytest.raises(ValidationError):
        Environment.model_validate(doc)


# ---------------------------------------------------------------- the command

def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_schema_prints_the_schema(capsys) -> None:
    code, out, _ = run(capsys, "schema", "profile")
    assert code == 0 and json.loads(out) == schema_export.schema("profile")


def test_schema_all_prints_a_map(capsys) -> None:
    code, out, _ = run(capsys, "schema", "--format", "json")
    assert code == 0 and json.loads(out) == {name: schema_export.schema(name) for name in schema_export.NAMES}


def test_schema_out_writes_the_committed_files_and_nothing_else(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "schema", "all", "--out", str(tmp_path / "s"))
    assert code == 0 and json.loads(out)["written"] == ["environment.schema.json", "profile.schema.json"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["environment.schema.json", "profile.schema.json"]
    for name in schema_export.NAMES:
        assert (tmp_path / "s" / f"{name}.schema.json").read_text() == schema_export.committed_path(name).read_text()
    code, out, _ = run(capsys, "schema", "environment", "--out", str(tmp_path / "s"), "--format", "table")
    assert code == 0 and "0 written, 1 unchanged" in out and "environment.schema.json" in out


def test_schema_table_summarises(capsys) -> None:
    code, out, _ = run(capsys, "schema", "--format", "table")
    assert code == 0 and "profile.schema.json" in out and "environment.schema.json" in out and "{" not in out


def test_schema_out_onto_a_file_exits_2(capsys, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    code, _, err = run(capsys, "schema", "--out", str(tmp_path / "f"), "--format", "table")
    assert code == 2 and f"{tmp_path / 'f'}: --out must be a folder" in err and "Traceback" not in err
    assert (tmp_path / "f").read_text() == "x"


def test_schema_unknown_kind_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["schema", "agents"])
    assert info.value.code == 2 and "invalid choice: 'agents'" in capsys.readouterr().err
