"""CRD-backed objects are validated against the schemas in blueprint/schemas, loudly."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from blueprint.gates.crd_schema import (
    SCHEMA_FILES,
    close_unknown_fields,
    json_schema_from_crd,
    load_schema,
    supported_kinds,
    validate_custom_object,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "blueprint" / "schemas"
SPC_CRD = SCHEMAS / "crds" / "secrets-store.csi.x-k8s.io_secretproviderclasses.yaml"
SPC_SCHEMA = SCHEMAS / "secrets-store.csi.x-k8s.io_v1_secretproviderclass.json"

AWS_SPC = {
    "apiVersion": "secrets-store.csi.x-k8s.io/v1",
    "kind": "SecretProviderClass",
    "metadata": {
        "name": "agent-secrets",
        "namespace": "agent-customer-support",
        "labels": {"app.kubernetes.io/managed-by": "blueprint", "blueprint.dev/agent": "customer-support"},
    },
    "spec": {
        "provider": "aws",
        "parameters": {
            "objects": '- objectName: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/support/'
            'llm-api-key-AbCdEf"\n  objectType: "secretsmanager"\n  objectAlias: "llm-api-key"\n',
            "region": "eu-west-1",
        },
    },
}
VAULT_SPC = {
    "apiVersion": "secrets-store.csi.x-k8s.io/v1",
    "kind": "SecretProviderClass",
    "metadata": {"name": "agent-secrets", "namespace": "agent-research"},
    "spec": {
        "provider": "vault",
        "parameters": {
            "audience": "vault",
            "objects": '- objectName: "search-token"\n  secretPath: "secret/data/prod/research/search"\n'
            '  secretKey: "token"\n',
            "roleName": "blueprint-prod-research",
            "vaultAddress": "https://vault.internal.example:8200",
            "vaultKubernetesMountPath": "kubernetes",
        },
    },
}
KNOWN = ", ".join(f"{a} {k}" for a, k in sorted(SCHEMA_FILES))


def spc(**changes):
    """AWS_SPC with dotted-path changes; a value of None deletes the key."""
    obj = copy.deepcopy(AWS_SPC)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = obj
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return obj


@pytest.mark.parametrize("obj", [AWS_SPC, VAULT_SPC], ids=["aws", "vault"])
def test_valid_secret_provider_class_passes(obj):
    assert validate_custom_object(obj) == []


def test_missing_provider_fails():
    assert validate_custom_object(spc(spec__provider=None)) == ["$.spec.provider: required field is missing"]


def test_missing_parameters_namespace_and_spec_fail():
    assert validate_custom_object(spc(spec__parameters=None, metadata__namespace=None)) == [
        "$.metadata.namespace: required field is missing",
        "$.spec.parameters: required field is missing",
    ]
    assert validate_custom_object(spc(spec=None)) == ["$.spec: required field is missing"]


def test_wrong_types_fail_with_their_path():
    assert validate_custom_object(spc(spec__provider=["aws"])) == ["$.spec.provider: ['aws'] is not of type 'string'"]
    assert validate_custom_object(spc(spec__parameters={"objects": "- x", "usePodIdentity": True})) == [
        "$.spec.parameters.usePodIdentity: True is not of type 'string'"
    ]
    assert validate_custom_object(spc(metadata__labels={"app.kubernetes.io/name": 1})) == [
        "$.metadata.labels['app.kubernetes.io/name']: 1 is not of type 'string'"
    ]


def test_unknown_fields_fail_instead_of_being_pruned():
    assert validate_custom_object(spc(spec__secretObject=[])) == [
        "$.spec.secretObject: unknown field (allowed here: parameters, provider, secretObjects); "
        "Kubernetes would silently drop it"
    ]
    assert validate_custom_object(spc(metadata__namspace="agent-x", extra={"a": 1})) == [
        "$.extra: unknown field (allowed here: apiVersion, kind, metadata, spec, status); "
        "Kubernetes would silently drop it",
        "$.metadata.namspace: unknown field (allowed here: annotations, labels, name, namespace); "
        "Kubernetes would silently drop it",
    ]
    nested = spc(spec__secretObjects=[{"secretName": "s", "data": [{"key": "k", "objectname": "o"}]}])
    assert validate_custom_object(nested) == [
        "$.spec.secretObjects[0].data[0].objectname: unknown field (allowed here: key, objectName); "
        "Kubernetes would silently drop it"
    ]


def test_every_error_is_reported():
    errors = validate_custom_object(spc(spec__provider=3, spec__parameters=None, spec__x="y"))
    assert errors == [
        "$.spec.parameters: required field is missing",
        "$.spec.provider: 3 is not of type 'string'",
        "$.spec.x: unknown field (allowed here: parameters, provider, secretObjects); Kubernetes would silently drop it",
    ]


@pytest.mark.parametrize(
    ("obj", "shown"),
    [
        (spc(kind="SecretProviderClas"), "apiVersion 'secrets-store.csi.x-k8s.io/v1' kind 'SecretProviderClas'"),
        (spc(apiVersion="secrets-store.csi.x-k8s.io/v1alpha1"),
         "apiVersion 'secrets-store.csi.x-k8s.io/v1alpha1' kind 'SecretProviderClass'"),
        ({"apiVersion": "agents.x-k8s.io/v1alpha1", "kind": "Sandbox"}, "apiVersion 'agents.x-k8s.io/v1alpha1' kind 'Sandbox'"),
        ({"spec": {}}, "apiVersion None kind None"),
    ],
    ids=["misspelled-kind", "old-version", "unknown-kind", "no-type"],
)
def test_unknown_api_version_or_kind_fails(obj, shown):
    assert validate_custom_object(obj) == [f"$: no schema for {shown}: blueprint validates only {KNOWN}"]


def test_non_object_fails():
    assert validate_custom_object(["not", "a", "mapping"]) == ["$: expected an object with apiVersion and kind, got list"]


def test_shipped_schemas_are_valid_json_schemas():
    assert supported_kinds() == sorted(SCHEMA_FILES)
    assert ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass") in supported_kinds()
    for api_version, kind in SCHEMA_FILES:
        Draft202012Validator.check_schema(load_schema(api_version, kind))


def test_shipped_schema_is_generated_from_the_crd_copy():
    """The JSON is json_schema_from_crd(CRD copy); BLUEPRINT_REGENERATE_SCHEMAS=1 rewrites it."""
    crd = yaml.safe_load(SPC_CRD.read_text(encoding="utf-8"))
    expected = json.dumps(json_schema_from_crd(crd, "v1"), indent=2, sort_keys=True) + "\n"
    if os.environ.get("BLUEPRINT_REGENERATE_SCHEMAS") == "1":
        SPC_SCHEMA.write_text(expected, encoding="utf-8")
    assert SPC_SCHEMA.read_text(encoding="utf-8") == expected, (
        "the shipped schema differs from the CRD copy: regenerate with BLUEPRINT_REGENERATE_SCHEMAS=1"
    )


def test_crd_copy_is_the_upstream_v1_schema():
    crd = yaml.safe_load(SPC_CRD.read_text(encoding="utf-8"))
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["spec"]["group"] == "secrets-store.csi.x-k8s.io"
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    assert versions["v1"]["storage"] is True and versions["v1"]["served"] is True
    spec = versions["v1"]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert sorted(spec) == ["parameters", "provider", "secretObjects"]


def test_close_unknown_fields_keeps_maps_and_preserved_objects_open():
    schema = {
        "type": "object",
        "properties": {
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    closed = close_unknown_fields(schema)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["map"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in closed["properties"]["free"]
    assert closed["properties"]["closed"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # the input is not modified
