"""agent-sandbox objects (SandboxTemplate, SandboxWarmPool, SandboxClaim) against the shipped schemas.

The example objects are read from docs/agent-sandbox.md, so the document and the schemas cannot
drift apart. The embedded pod spec of a SandboxTemplate is open in the CRD copy (see
blueprint/schemas/README.md); the last tests pin that and show the PodSpec check that must close it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from blueprint.gates.crd_schema import (
    SCHEMA_FILES,
    json_schema_from_crd,
    load_schema,
    supported_kinds,
    validate_custom_object,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "blueprint" / "schemas"
DOC = ROOT / "docs" / "agent-sandbox.md"

GROUP_VERSION = "extensions.agents.x-k8s.io/v1beta1"
# kind -> (CRD copy, shipped JSON Schema, sha256 of the CRD copy as recorded in the README)
SANDBOX_KINDS = {
    "SandboxTemplate": (
        "crds/extensions.agents.x-k8s.io_sandboxtemplates.yaml",
        "extensions.agents.x-k8s.io_v1beta1_sandboxtemplate.json",
        "9c2e09dbd404f3cb48fef0bed348ccc63cf579cd2f372b2c4e8ac96ae6c45378",
    ),
    "SandboxWarmPool": (
        "crds/extensions.agents.x-k8s.io_sandboxwarmpools.yaml",
        "extensions.agents.x-k8s.io_v1beta1_sandboxwarmpool.json",
        "36b8c459ab48054b5603329de46d01a1a3880f92563679b78f1db1ab5babb0fa",
    ),
    "SandboxClaim": (
        "crds/extensions.agents.x-k8s.io_sandboxclaims.yaml",
        "extensions.agents.x-k8s.io_v1beta1_sandboxclaim.json",
        "3ab700c131d362dd609586c98654568dd580b15ef120a0e8ee3fe654e5e180e2",
    ),
}
DROPPED = "Kubernetes would silently drop it"


def _doc_objects() -> list[dict]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [obj for block in blocks for obj in yaml.safe_load_all(block) if obj]


def _example(kind: str) -> dict:
    (obj,) = [o for o in _doc_objects() if o.get("apiVersion") == GROUP_VERSION and o.get("kind") == kind]
    return copy.deepcopy(obj)


def _known() -> str:
    return ", ".join(f"{a} {k}" for a, k in supported_kinds())


# ------------------------------------------------------------------ the document's objects


def test_doc_shows_one_object_of_each_sandbox_kind():
    kinds = sorted(o["kind"] for o in _doc_objects() if o.get("apiVersion") == GROUP_VERSION)
    assert kinds == ["SandboxClaim", "SandboxTemplate", "SandboxWarmPool"]


@pytest.mark.parametrize("kind", sorted(SANDBOX_KINDS))
def test_doc_examples_validate(kind):
    assert validate_custom_object(_example(kind)) == []


def test_doc_template_turns_the_managed_network_policy_off_and_pool_points_at_it():
    template, pool, claim = (_example(k) for k in ("SandboxTemplate", "SandboxWarmPool", "SandboxClaim"))
    assert template["spec"]["networkPolicyManagement"] == "Unmanaged"
    assert "networkPolicy" not in template["spec"]
    assert pool["spec"]["sandboxTemplateRef"] == {"name": template["metadata"]["name"]}
    assert claim["spec"]["warmPoolRef"] == {"name": pool["metadata"]["name"]}
    assert claim["spec"]["lifecycle"]["shutdownPolicy"] == "Delete"
    assert template["metadata"]["namespace"] == pool["metadata"]["namespace"] == claim["metadata"]["namespace"]


def test_doc_broker_role_grants_only_create_get_delete_on_claims():
    (role,) = [o for o in _doc_objects() if o.get("kind") == "Role"]
    assert role["rules"] == [
        {"apiGroups": ["extensions.agents.x-k8s.io"], "resources": ["sandboxclaims"], "verbs": ["create", "get", "delete"]}
    ]
    (binding,) = [o for o in _doc_objects() if o.get("kind") == "RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "session-broker"}
    assert binding["metadata"]["namespace"] == role["metadata"]["namespace"] == "agent-code-interpreter"


# ------------------------------------------------------------------ failures, with exact messages


def test_unknown_fields_fail():
    template = _example("SandboxTemplate")
    template["spec"]["networkPolicyManagment"] = "Unmanaged"  # misspelled: the API server would prune it
    assert validate_custom_object(template) == [
        "$.spec.networkPolicyManagment: unknown field (allowed here: envVarsInjectionPolicy, networkPolicy, "
        f"networkPolicyManagement, podTemplate, service, volumeClaimTemplates, volumeClaimTemplatesPolicy); {DROPPED}"
    ]
    pool = _example("SandboxWarmPool")
    pool["spec"]["templateRef"] = {"name": "code-interpreter"}  # the Go field name, not the JSON one
    assert validate_custom_object(pool) == [
        f"$.spec.templateRef: unknown field (allowed here: replicas, sandboxTemplateRef, updateStrategy); {DROPPED}"
    ]
    claim = _example("SandboxClaim")
    claim["spec"]["sandboxTemplateRef"] = {"name": "code-interpreter"}  # the v1alpha1 shape
    claim["spec"]["lifecycle"]["ttl"] = 3600
    assert validate_custom_object(claim) == [
        f"$.spec.lifecycle.ttl: unknown field (allowed here: shutdownPolicy, shutdownTime, ttlSecondsAfterFinished); {DROPPED}",
        "$.spec.sandboxTemplateRef: unknown field (allowed here: additionalPodMetadata, env, lifecycle, "
        f"volumeClaimTemplates, warmPoolRef); {DROPPED}",
    ]


def test_unknown_field_in_pod_template_metadata_fails():
    template = _example("SandboxTemplate")
    template["spec"]["podTemplate"]["metadata"]["name"] = "fixed"  # only labels/annotations are used
    assert validate_custom_object(template) == [
        f"$.spec.podTemplate.metadata.name: unknown field (allowed here: annotations, labels); {DROPPED}"
    ]


def test_wrong_types_and_values_fail():
    pool = _example("SandboxWarmPool")
    pool["spec"]["replicas"] = "2"
    assert validate_custom_object(pool) == ["$.spec.replicas: '2' is not of type 'integer'"]
    pool["spec"]["replicas"] = -1
    assert validate_custom_object(pool) == ["$.spec.replicas: -1 is less than the minimum of 0"]
    template = _example("SandboxTemplate")
    template["spec"]["networkPolicyManagement"] = "Off"
    template["spec"]["service"] = "false"
    assert validate_custom_object(template) == [
        "$.spec.networkPolicyManagement: 'Off' is not one of ['Managed', 'Unmanaged']",
        "$.spec.service: 'false' is not of type 'boolean'",
    ]
    claim = _example("SandboxClaim")
    claim["spec"]["lifecycle"]["shutdownPolicy"] = "Expire"
    assert validate_custom_object(claim) == [
        "$.spec.lifecycle.shutdownPolicy: 'Expire' is not one of ['Delete', 'DeleteForeground', 'Retain']"
    ]


def test_fields_blueprint_requires_fail_when_missing():
    template = _example("SandboxTemplate")
    del template["spec"]["networkPolicyManagement"]  # the CRD would default it to Managed
    del template["spec"]["podTemplate"]["metadata"]
    assert validate_custom_object(template) == [
        "$.spec.networkPolicyManagement: required field is missing",
        "$.spec.podTemplate.metadata: required field is missing",
    ]
    pool = _example("SandboxWarmPool")
    del pool["spec"]["replicas"]  # the CRD would default it to 1
    assert validate_custom_object(pool) == ["$.spec.replicas: required field is missing"]
    claim = _example("SandboxClaim")
    del claim["spec"]["lifecycle"]["shutdownTime"]
    del claim["spec"]["warmPoolRef"]
    assert validate_custom_object(claim) == [
        "$.spec.lifecycle.shutdownTime: required field is missing",
        "$.spec.warmPoolRef: required field is missing",
    ]
    del claim["spec"]["lifecycle"]
    assert validate_custom_object(claim) == [
        "$.spec.lifecycle: required field is missing",
        "$.spec.warmPoolRef: required field is missing",
    ]


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("extensions.agents.x-k8s.io/v1alpha1", "SandboxTemplate"),  # removed in v1.0.0
        ("extensions.agents.x-k8s.io/v1beta1", "SandboxTemplates"),
        ("agents.x-k8s.io/v1beta1", "SandboxWarmPool"),  # wrong group
        ("agents.x-k8s.io/v1beta1", "Sandbox"),  # core kind: blueprint never emits one
    ],
)
def test_unknown_kind_or_version_fails(api_version, kind):
    obj = _example("SandboxWarmPool") | {"apiVersion": api_version, "kind": kind}
    assert validate_custom_object(obj) == [
        f"$: no schema for apiVersion {api_version!r} kind {kind!r}: blueprint validates only {_known()}"
    ]


# ------------------------------------------------------------------ the open pod spec


def test_embedded_pod_spec_is_open_except_containers():
    schema = load_schema(GROUP_VERSION, "SandboxTemplate")
    pod_spec = schema["properties"]["spec"]["properties"]["podTemplate"]["properties"]["spec"]
    assert pod_spec == {"required": ["containers"], "type": "object", "x-kubernetes-preserve-unknown-fields": True}
    template = _example("SandboxTemplate")
    del template["spec"]["podTemplate"]["spec"]["containers"]
    assert validate_custom_object(template) == ["$.spec.podTemplate.spec.containers: required field is missing"]
    template = _example("SandboxTemplate")
    template["spec"]["podTemplate"]["spec"]["containers"][0]["securityContxt"] = {}
    assert validate_custom_object(template) == []  # the CRD schema cannot see this: see the next test


def test_embedded_pod_spec_is_checked_as_a_core_pod_template():
    """What closes the gap: the pod spec against the core schema, as a v1 PodTemplate."""
    utils = pytest.importorskip("kubernetes_validate.utils")
    template = _example("SandboxTemplate")

    def as_pod_template(obj: dict) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]},
            "template": obj["spec"]["podTemplate"],
        }

    utils.validate(as_pod_template(template), "1.33.0", strict=True)
    template["spec"]["podTemplate"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(utils.ValidationError, match="'securityContxt' was unexpected"):
        utils.validate(as_pod_template(template), "1.33.0", strict=True)


# ------------------------------------------------------------------ shipped files


def test_sandbox_kinds_are_registered():
    assert {(GROUP_VERSION, kind) for kind in SANDBOX_KINDS} <= set(SCHEMA_FILES)
    for kind, (_, json_name, _) in SANDBOX_KINDS.items():
        assert SCHEMA_FILES[(GROUP_VERSION, kind)] == json_name
        Draft202012Validator.check_schema(load_schema(GROUP_VERSION, kind))


@pytest.mark.parametrize("kind", sorted(SANDBOX_KINDS))
def test_crd_copy_is_the_recorded_v1beta1_only_crd(kind):
    crd_name, _, sha = SANDBOX_KINDS[kind]
    raw = (SCHEMAS / crd_name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == sha, "CRD copy changed: update the sha256 here and in the README"
    assert sha in (SCHEMAS / "README.md").read_text(encoding="utf-8")
    crd = yaml.safe_load(raw)
    assert crd["spec"]["group"] == "extensions.agents.x-k8s.io"
    assert crd["spec"]["names"]["kind"] == kind
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [("v1beta1", True, True)]
    assert "conversion" not in crd["spec"]  # v1.0.0 removed v1alpha1 and the conversion webhook


@pytest.mark.parametrize("kind", sorted(SANDBOX_KINDS))
def test_shipped_schema_is_generated_from_the_crd_copy(kind):
    """The JSON is json_schema_from_crd(CRD copy); BLUEPRINT_REGENERATE_SCHEMAS=1 rewrites it."""
    crd_name, json_name, _ = SANDBOX_KINDS[kind]
    crd = yaml.safe_load((SCHEMAS / crd_name).read_text(encoding="utf-8"))
    expected = json.dumps(json_schema_from_crd(crd, "v1beta1"), indent=2, sort_keys=True) + "\n"
    if os.environ.get("BLUEPRINT_REGENERATE_SCHEMAS") == "1":
        (SCHEMAS / json_name).write_text(expected, encoding="utf-8")
    assert (SCHEMAS / json_name).read_text(encoding="utf-8") == expected, (
        "the shipped schema differs from the CRD copy: regenerate with BLUEPRINT_REGENERATE_SCHEMAS=1"
    )
