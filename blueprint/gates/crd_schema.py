"""Validate CRD-backed objects (SecretProviderClass, agent-sandbox kinds) against shipped CRD schemas.

kubernetes-validate knows only built-in kinds: for a custom resource it warns "couldn't find
schema" and exits 0. This module closes that gap for the kinds blueprint emits through
`kubernetes_manifest`, with JSON Schemas in `blueprint/schemas/`, each converted from the
openAPIV3Schema of one version of the upstream CRD (provenance in blueprint/schemas/README.md).

The conversion is stricter than the API server on purpose:

- Unknown fields are errors. A structural CRD schema makes the API server *prune* fields it does
  not know, so a misspelled key (`secretObject`, `namspace`) would vanish silently. Every object
  schema therefore gets `additionalProperties: false`, unless the CRD says
  `x-kubernetes-preserve-unknown-fields: true` or declares `additionalProperties` itself (a map).
- `metadata` (only `type: object` in a CRD; the API server validates it as ObjectMeta) is
  checked as the ObjectMeta subset blueprint emits: `name`, `namespace`, `labels`, `annotations`.
- A per-kind overlay adds what the object needs to be of any use, which the CRD leaves
  optional (for a SecretProviderClass: `spec.provider` and `spec.parameters`), and pins
  `apiVersion` and `kind`.
- The agent-sandbox SandboxTemplate copy leaves the embedded pod spec (`spec.podTemplate.spec`)
  open: only `containers` is required there. Validate that pod spec separately, against the core
  PodSpec schema of the environment's Kubernetes version (blueprint/schemas/README.md).

`validate_custom_object` never passes silently: an object whose apiVersion/kind has no shipped
schema is an error, like any schema violation. Pure functions, no I/O besides reading the
shipped schemas.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_PACKAGE = "blueprint.schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# (apiVersion, kind) -> shipped JSON Schema file in blueprint/schemas/
SCHEMA_FILES: dict[tuple[str, str], str] = {
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"): "secrets-store.csi.x-k8s.io_v1_secretproviderclass.json",
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxTemplate"): "extensions.agents.x-k8s.io_v1beta1_sandboxtemplate.json",
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxWarmPool"): "extensions.agents.x-k8s.io_v1beta1_sandboxwarmpool.json",
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxClaim"): "extensions.agents.x-k8s.io_v1beta1_sandboxclaim.json",
}

# What blueprint accepts in metadata: the ObjectMeta fields it emits (see the module docstring).
OBJECT_META_SCHEMA: dict[str, Any] = {
    "description": "ObjectMeta, restricted to the fields blueprint emits (added by blueprint).",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string", "minLength": 1},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["name", "namespace"],
    "additionalProperties": False,
}

# Per (apiVersion, kind): JSON-pointer-like paths of object schemas -> fields they must have.
REQUIRED_OVERLAY: dict[tuple[str, str], dict[tuple[str, ...], list[str]]] = {
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"): {
        (): ["apiVersion", "kind", "metadata", "spec"],
        ("spec",): ["provider", "parameters"],
    },
    # The controller's default (Managed) creates a NetworkPolicy with wide egress: say it, always.
    # Labels on the pod template are what blueprint's own NetworkPolicies select.
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxTemplate"): {
        (): ["apiVersion", "kind", "metadata", "spec"],
        ("spec",): ["networkPolicyManagement"],
        ("spec", "podTemplate"): ["metadata"],
        ("spec", "podTemplate", "metadata"): ["labels"],
    },
    # replicas defaults to 1 in the CRD: a pool's size is stated, 0 meaning cold start only.
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxWarmPool"): {
        (): ["apiVersion", "kind", "metadata", "spec"],
        ("spec",): ["replicas"],
    },
    # A session claim without an end would live until someone deletes it (shutdownPolicy defaults
    # to Retain, which keeps the claim object after expiry).
    ("extensions.agents.x-k8s.io/v1beta1", "SandboxClaim"): {
        (): ["apiVersion", "kind", "metadata", "spec"],
        ("spec",): ["lifecycle"],
        ("spec", "lifecycle"): ["shutdownTime", "shutdownPolicy"],
    },
}

_PATH_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # the keys jsonschema writes as `.key`


def supported_kinds() -> list[tuple[str, str]]:
    """The (apiVersion, kind) pairs with a shipped schema, sorted."""
    return sorted(SCHEMA_FILES)


@cache
def load_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The shipped JSON Schema for apiVersion/kind; KeyError when none is shipped."""
    name = SCHEMA_FILES[(api_version, kind)]
    text = resources.files(SCHEMA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator(api_version: str, kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(api_version, kind))


def validate_custom_object(obj: Any) -> list[str]:
    """Every schema error of one custom object, as `<JSON path>: <message>`, sorted; [] when valid.

    The schema is picked by the object's apiVersion and kind; an object with no shipped schema
    (unknown or misspelled apiVersion/kind, or none at all) is an error, never a pass.
    """
    if not isinstance(obj, Mapping):
        return [f"$: expected an object with apiVersion and kind, got {type(obj).__name__}"]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    key = (api_version, kind)
    if key not in SCHEMA_FILES:
        known = ", ".join(f"{a} {k}" for a, k in supported_kinds())
        return [
            f"$: no schema for apiVersion {api_version!r} kind {kind!r}: blueprint validates only {known}"
        ]
    validator = _validator(api_version, kind)
    messages = {message for error in validator.iter_errors(obj) for message in _messages(error)}
    return sorted(messages)


def _json_path(parts: Iterable[Any]) -> str:
    """A JSON path in jsonschema's notation: `$.spec.parameters['my-key']`, `$.items[0]`."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PATH_KEY_RE.match(part):
            path += f".{part}"
        else:
            path += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return path


def _messages(error: ValidationError) -> list[str]:
    """One or more messages for a jsonschema error, each located at the offending field."""
    where = list(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in known) if isinstance(error.instance, Mapping) else []
        allowed = ", ".join(sorted(known)) or "none"
        return [
            f"{_json_path([*where, extra])}: unknown field (allowed here: {allowed}); "
            "Kubernetes would silently drop it"
            for extra in extras
        ]
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [name for name in error.validator_value if name not in error.instance]
        return [f"{_json_path([*where, name])}: required field is missing" for name in missing]
    return [f"{_json_path(where)}: {error.message}"]


# ------------------------------------------------------------------ building schemas from CRDs


def crd_version_schema(crd: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The openAPIV3Schema of one served version of a CustomResourceDefinition."""
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return copy.deepcopy(entry["schema"]["openAPIV3Schema"])
    raise KeyError(f"{crd['metadata']['name']} has no version {version!r}")


def close_unknown_fields(node: Any) -> Any:
    """Copy of an OpenAPI v3 structural schema where every object rejects unknown fields.

    An object keeps open only where the CRD says so: `x-kubernetes-preserve-unknown-fields: true`
    or its own `additionalProperties` (a map, such as `parameters` or `labels`).
    """
    if isinstance(node, list):
        return [close_unknown_fields(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: close_unknown_fields(value) for key, value in node.items()}
    if (
        node.get("type") == "object"
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def json_schema_from_crd(crd: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The JSON Schema blueprint ships for one version of a CRD (see the module docstring)."""
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    api_version = f"{group}/{version}"
    schema = crd_version_schema(crd, version)
    schema["properties"]["metadata"] = OBJECT_META_SCHEMA
    schema = close_unknown_fields(schema)
    schema["properties"]["apiVersion"]["const"] = api_version
    schema["properties"]["kind"]["const"] = kind
    for path, required in REQUIRED_OVERLAY.get((api_version, kind), {}).items():
        node = schema
        for key in path:
            node = node["properties"][key]
        node["required"] = sorted(set(node.get("required", [])) | set(required))
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$comment": (
            f"Generated by blueprint from the {version} openAPIV3Schema of CRD {crd['metadata']['name']} "
            "(see README.md): unknown fields rejected, metadata limited to name/namespace/labels/annotations, "
            "required fields added. Do not edit; regenerate."
        ),
        **schema,
    }
