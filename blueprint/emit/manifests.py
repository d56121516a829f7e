"""Kubernetes manifests derived from the *parsed* Terraform: the objects `terraform apply` creates.

Gates read emitted files, so this module starts from `hcl_reader.Resource` (a `.tf` file parsed
back), never from the plan. Each `kubernetes_*_v1` resource type has one converter: a declarative
`Shape` naming, for every argument and nested block the provider accepts and blueprint supports,
the API field it becomes and how its value converts. The provider's shape differs from the API's:

- blocks are lists: a single block (`metadata`, `spec`, `security_context`) becomes an object, a
  repeated block becomes a list and is often renamed (`container` -> `containers`, `port` ->
  `ports`, `rule` -> `rules`, `subject` -> `subjects`, `limit` -> `limits`, `volume_mount` ->
  `volumeMounts`);
- names are snake_case -> camelCase, with the API's exceptions (`clusterIP`, `hostIPC`,
  `nonResourceURLs`, ...);
- Terraform-only arguments (`depends_on`, `wait_for_rollout`, `timeouts`, ...) are dropped;
- some values change type: NetworkPolicy and probe ports, `max_surge`/`max_unavailable` and a
  Service's `target_port` are strings in Terraform and int-or-string in the API (a numeric string
  becomes an int: the API reads "53" as a port *name*); `run_as_user`, `fs_group`, `replicas` are
  strings in the provider and integers in the API; volume modes are octal strings ("0444" -> 292);
- the provider sends some values even when the argument is absent, and they differ from the
  API's own defaults where it matters for security: a ServiceAccount's and a pod spec's
  `automount_service_account_token` default to true, so the manifest says so (the API would
  otherwise inherit the ServiceAccount's setting).

Nothing is dropped silently: an argument a converter does not know, an unknown resource type, a
value Terraform evaluates (a reference, a template), `count`/`for_each` or a repeated single
block is an error naming the file, the Terraform address and the path. Every converted object of
a built-in kind is then checked field by field against the `kubernetes` Python client's models
(`openapi_types` / `attribute_map`, recursively): a field the API does not have, or a value of the
wrong type, is an error naming the API path. `kubernetes_manifest` already holds the object: it
is passed through (custom kinds are validated by the gates against the CRD schemas we ship).

Pure functions; the only I/O is importing the kubernetes client's model classes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from blueprint.errors import BlueprintError, Location, Problem
from blueprint.hcl_reader import BLOCK_MARK, Expression, Resource

# ------------------------------------------------------------------------------------ errors


class ManifestError(BlueprintError):
    """A resource cannot be turned into the object it creates: a generator bug (exit 1)."""


class _Problems(list):
    """The problems of one resource, each located at a Terraform or API path."""

    def __init__(self, resource: Resource):
        super().__init__()
        self.resource = resource

    def add(self, path: str, message: str) -> None:
        where = self.resource.address + (f".{path}" if path and not path.startswith("[") else path)
        self.append(Problem(Location(self.resource.file, path=where), message))


# ------------------------------------------------------------------------------------ values

_INT = re.compile(r"^-?[0-9]+$")
_OCTAL = re.compile(r"^0?[0-7]+$")


def _literal(value: Any, path: str, problems: _Problems) -> bool:
    if isinstance(value, Expression):
        problems.add(path, f"is not a literal ({value!s}): Terraform evaluates it, so the object it creates "
                           "cannot be derived; emit literal values only")
        return False
    return True


def _tf_string(value: Any) -> str | None:
    """Terraform's conversion of a primitive to string (numbers and bools convert, like `= 53`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, str):
        return value
    return None


def to_str(value: Any) -> Any:
    converted = _tf_string(value)
    if converted is None:
        raise ValueError(f"expected a string, got {_describe(value)}")
    return converted


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {_describe(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value):
        return int(value)
    raise ValueError(f"expected an integer, got {_describe(value)}")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(f"expected a bool, got {_describe(value)}")


def to_int_or_string(value: Any) -> int | str:
    """IntOrString: a number, or a numeric string, is a number; any other string is a name."""
    if isinstance(value, bool):
        raise ValueError(f"expected a port number or name, got {_describe(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if _INT.match(value) else value
    raise ValueError(f"expected a number or a string, got {_describe(value)}")


def to_octal_mode(value: Any) -> int:
    """A file mode: the provider parses its string as octal ("0444" -> 0o444 = 292)."""
    text = _tf_string(value)
    if isinstance(value, bool) or text is None or not _OCTAL.match(text):
        raise ValueError(f"expected an octal file mode such as \"0444\", got {_describe(value)}")
    return int(text, 8)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


# ------------------------------------------------------------------------------------ shapes


@dataclass(frozen=True)
class F:
    """How one Terraform argument or block becomes an API field.

    kind: "scalar", "map" (string map), "list" (list of scalars), "one" (a single nested block ->
    an object), "many" (a repeated block -> a list of objects), "drop" (Terraform-only) or
    "custom" (convert(value, path, problems) does all the work).
    """

    kind: str
    api: str | None = None  # the API field name; None: camelCase of the Terraform name
    convert: Callable[[Any], Any] = to_str
    shape: Mapping[str, F] | None = None
    default: Any = None  # a value the provider sends when the argument is absent
    custom: Callable[[Any, str, _Problems], Any] | None = None


Shape = Mapping[str, F]


def S(api: str | None = None, convert: Callable[[Any], Any] = to_str, default: Any = None) -> F:
    return F("scalar", api, convert, default=default)


def INT(api: str | None = None) -> F:
    return F("scalar", api, to_int)


def BOOL(api: str | None = None, default: bool | None = None) -> F:
    return F("scalar", api, to_bool, default=default)


def IOS(api: str | None = None) -> F:
    return F("scalar", api, to_int_or_string)


def MODE(api: str | None = None) -> F:
    return F("scalar", api, to_octal_mode)


def MAP(api: str | None = None) -> F:
    return F("map", api)


def LIST(api: str | None = None, convert: Callable[[Any], Any] = to_str) -> F:
    return F("list", api, convert)


def ONE(shape: Shape, api: str | None = None) -> F:
    return F("one", api, shape=shape)


def MANY(shape: Shape, api: str | None = None) -> F:
    return F("many", api, shape=shape)


DROP = F("drop")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Meta-arguments and Terraform-only arguments at the top level of a resource.
TERRAFORM_ONLY: Shape = {
    "depends_on": DROP, "lifecycle": DROP, "provider": DROP, "timeouts": DROP,
}
# Arguments that make one resource create several objects (or none): never literal.
MULTIPLYING = ("count", "for_each")

METADATA: Shape = {
    "name": S(), "namespace": S(), "generate_name": S(), "labels": MAP(), "annotations": MAP(),
}
LABEL_SELECTOR: Shape = {
    "match_labels": MAP(),
    "match_expressions": MANY({"key": S(), "operator": S(), "values": LIST()}),
}
LOCAL_REF: Shape = {"name": S()}
KEY_REF: Shape = {"name": S(), "key": S(), "optional": BOOL()}
KEY_TO_PATH: Shape = {"key": S(), "path": S(), "mode": MODE()}

# --- RBAC
POLICY_RULE: Shape = {
    "api_groups": LIST(), "resources": LIST(), "resource_names": LIST(), "verbs": LIST(),
    "non_resource_urls": LIST("nonResourceURLs"),
}
ROLE_REF: Shape = {"api_group": S(), "kind": S(), "name": S()}
SUBJECT: Shape = {"api_group": S(), "kind": S(), "name": S(), "namespace": S()}

# --- NetworkPolicy
NP_PORT: Shape = {"port": IOS(), "protocol": S(), "end_port": INT()}
NP_PEER: Shape = {
    "ip_block": ONE({"cidr": S(), "except": LIST()}),
    "namespace_selector": ONE(LABEL_SELECTOR),
    "pod_selector": ONE(LABEL_SELECTOR),
}
NP_SPEC: Shape = {
    "pod_selector": ONE(LABEL_SELECTOR),
    "policy_types": LIST(),
    "ingress": MANY({"ports": MANY(NP_PORT), "from": MANY(NP_PEER)}),
    "egress": MANY({"ports": MANY(NP_PORT), "to": MANY(NP_PEER)}),
}

# --- quotas
RQ_SPEC: Shape = {
    "hard": MAP(),
    "scopes": LIST(),
    "scope_selector": ONE({"match_expression": MANY({"scope_name": S(), "operator": S(), "values": LIST()},
                                                   "matchExpressions")}),
}
LR_SPEC: Shape = {
    "limit": MANY({"type": S(), "default": MAP(), "default_request": MAP(), "max": MAP(), "min": MAP(),
                   "max_limit_request_ratio": MAP()}, "limits"),
}

# --- Service
SERVICE_SPEC: Shape = {
    "type": S(), "selector": MAP(),
    "port": MANY({"name": S(), "port": INT(), "target_port": IOS(), "protocol": S(), "node_port": INT(),
                  "app_protocol": S()}, "ports"),
    "cluster_ip": S("clusterIP"), "cluster_ips": LIST("clusterIPs"), "external_ips": LIST("externalIPs"),
    "external_name": S(), "external_traffic_policy": S(), "internal_traffic_policy": S(),
    "ip_families": LIST(), "ip_family_policy": S(), "load_balancer_class": S(),
    "load_balancer_ip": S("loadBalancerIP"), "load_balancer_source_ranges": LIST(),
    "publish_not_ready_addresses": BOOL(), "session_affinity": S(), "allocate_load_balancer_node_ports": BOOL(),
    "health_check_node_port": INT(),
    "session_affinity_config": ONE({"client_ip": ONE({"timeout_seconds": INT()}, "clientIP")}),
}

# --- pods
SECCOMP: Shape = {"type": S(), "localhost_profile": S()}
SE_LINUX: Shape = {"level": S(), "role": S(), "type": S(), "user": S()}
POD_SECURITY_CONTEXT: Shape = {
    "fs_group": INT(), "fs_group_change_policy": S(), "run_as_group": INT(), "run_as_non_root": BOOL(),
    "run_as_user": INT(), "seccomp_profile": ONE(SECCOMP), "se_linux_options": ONE(SE_LINUX, "seLinuxOptions"),
    "supplemental_groups": LIST(convert=to_int), "sysctl": MANY({"name": S(), "value": S()}, "sysctls"),
}
CONTAINER_SECURITY_CONTEXT: Shape = {
    "allow_privilege_escalation": BOOL(), "privileged": BOOL(), "read_only_root_filesystem": BOOL(),
    "run_as_non_root": BOOL(), "run_as_user": INT(), "run_as_group": INT(), "proc_mount": S(),
    "capabilities": ONE({"add": LIST(), "drop": LIST()}),
    "seccomp_profile": ONE(SECCOMP), "se_linux_options": ONE(SE_LINUX, "seLinuxOptions"),
}
HTTP_GET: Shape = {
    "path": S(), "port": IOS(), "scheme": S(), "host": S(),
    "http_header": MANY({"name": S(), "value": S()}, "httpHeaders"),
}
EXEC: Shape = {"command": LIST()}
TCP_SOCKET: Shape = {"port": IOS(), "host": S()}
HANDLER: Shape = {
    "exec": ONE(EXEC), "http_get": ONE(HTTP_GET), "tcp_socket": ONE(TCP_SOCKET), "sleep": ONE({"seconds": INT()}),
}
PROBE: Shape = {
    **HANDLER,
    "grpc": ONE({"port": INT(), "service": S()}),
    "initial_delay_seconds": INT(), "period_seconds": INT(), "timeout_seconds": INT(),
    "success_threshold": INT(), "failure_threshold": INT(), "termination_grace_period_seconds": INT(),
}
del PROBE["sleep"]  # a lifecycle handler only
ENV: Shape = {
    "name": S(), "value": S(),
    "value_from": ONE({
        "config_map_key_ref": ONE(KEY_REF), "secret_key_ref": ONE(KEY_REF),
        "field_ref": ONE({"field_path": S(), "api_version": S()}),
        "resource_field_ref": ONE({"container_name": S(), "resource": S(), "divisor": S()}),
    }),
}
CONTAINER: Shape = {
    "name": S(), "image": S(), "image_pull_policy": S(), "command": LIST(), "args": LIST(), "working_dir": S(),
    "port": MANY({"name": S(), "container_port": INT(), "protocol": S(), "host_port": INT(),
                  "host_ip": S("hostIP")}, "ports"),
    "env": MANY(ENV),
    "env_from": MANY({"prefix": S(), "config_map_ref": ONE({"name": S(), "optional": BOOL()}),
                      "secret_ref": ONE({"name": S(), "optional": BOOL()})}),
    "resources": ONE({"limits": MAP(), "requests": MAP()}),
    "security_context": ONE(CONTAINER_SECURITY_CONTEXT),
    "readiness_probe": ONE(PROBE), "liveness_probe": ONE(PROBE), "startup_probe": ONE(PROBE),
    "lifecycle": ONE({"pre_stop": ONE(HANDLER), "post_start": ONE(HANDLER)}),
    "volume_mount": MANY({"name": S(), "mount_path": S(), "read_only": BOOL(), "sub_path": S(),
                          "sub_path_expr": S(), "mount_propagation": S()}, "volumeMounts"),
    "stdin": BOOL(), "stdin_once": BOOL(), "tty": BOOL(),
    "termination_message_path": S(), "termination_message_policy": S(),
}


def _projected_sources(value: Any, path: str, problems: _Problems) -> list[dict] | None:
    """Terraform's `sources` blocks each hold any number of typed blocks; the API's `sources` is
    a flat list of projections holding one each (the provider appends them in this order)."""
    kinds: dict[str, tuple[str, Shape]] = {
        "config_map": ("configMap", {"name": S(), "optional": BOOL(), "items": MANY(KEY_TO_PATH)}),
        "secret": ("secret", {"name": S(), "optional": BOOL(), "items": MANY(KEY_TO_PATH)}),
        "service_account_token": ("serviceAccountToken",
                                  {"audience": S(), "expiration_seconds": INT(), "path": S()}),
        "downward_api": ("downwardAPI", {"items": MANY({
            "path": S(), "mode": MODE(),
            "field_ref": ONE({"field_path": S(), "api_version": S()}),
            "resource_field_ref": ONE({"container_name": S(), "resource": S(), "divisor": S()}),
        })}),
    }
    out: list[dict] = []
    for i, source in enumerate(_block_list(value, path, problems) or []):
        for key in _keys(source):
            if key not in kinds:
                problems.add(f"{path}[{i}].{key}", _unsupported(key, kinds))
                continue
            api, shape = kinds[key]
            for j, item in enumerate(_block_list(source[key], f"{path}[{i}].{key}", problems) or []):
                out.append({api: _convert(item, shape, f"{path}[{i}].{key}[{j}]", problems)})
    return out


VOLUME: Shape = {
    "name": S(),
    "empty_dir": ONE({"medium": S(), "size_limit": S()}),
    "config_map": ONE({"name": S(), "default_mode": MODE(), "optional": BOOL(), "items": MANY(KEY_TO_PATH)}),
    "secret": ONE({"secret_name": S(), "default_mode": MODE(), "optional": BOOL(), "items": MANY(KEY_TO_PATH)}),
    "csi": ONE({"driver": S(), "read_only": BOOL(), "fs_type": S(), "volume_attributes": MAP(),
                "node_publish_secret_ref": ONE(LOCAL_REF)}),
    "persistent_volume_claim": ONE({"claim_name": S(), "read_only": BOOL()}),
    "projected": ONE({"default_mode": MODE(), "sources": F("custom", custom=_projected_sources)}),
}
POD_SPEC: Shape = {
    "active_deadline_seconds": INT(),
    # The provider sends true when the argument is absent (the API would inherit the SA's setting).
    "automount_service_account_token": BOOL(default=True),
    "enable_service_links": BOOL(default=True),
    "container": MANY(CONTAINER, "containers"),
    "init_container": MANY(CONTAINER, "initContainers"),
    "dns_policy": S(), "hostname": S(), "node_name": S(), "node_selector": MAP(),
    "host_ipc": BOOL("hostIPC"), "host_network": BOOL(), "host_pid": BOOL("hostPID"),
    "image_pull_secrets": MANY(LOCAL_REF),
    "os": ONE({"name": S()}),
    "priority_class_name": S(), "restart_policy": S(), "runtime_class_name": S(), "scheduler_name": S(),
    "readiness_gate": MANY({"condition_type": S()}, "readinessGates"),
    "security_context": ONE(POD_SECURITY_CONTEXT),
    "service_account_name": S(), "share_process_namespace": BOOL(), "subdomain": S(),
    "termination_grace_period_seconds": INT(),
    "toleration": MANY({"effect": S(), "key": S(), "operator": S(), "toleration_seconds": INT(), "value": S()},
                       "tolerations"),
    "volume": MANY(VOLUME, "volumes"),
}
DEPLOYMENT_SPEC: Shape = {
    "replicas": INT(), "min_ready_seconds": INT(), "paused": BOOL(), "progress_deadline_seconds": INT(),
    "revision_history_limit": INT(),
    "selector": ONE(LABEL_SELECTOR),
    "strategy": ONE({"type": S(), "rolling_update": ONE({"max_surge": IOS(), "max_unavailable": IOS()})}),
    "template": ONE({"metadata": ONE(METADATA), "spec": ONE(POD_SPEC)}),
}


@dataclass(frozen=True)
class Converter:
    """One resource type: the object's apiVersion and kind, and the shape of its top level."""

    api_version: str
    kind: str
    shape: Shape
    model: str  # the kubernetes client's model class

    def __call__(self, resource: Resource, problems: _Problems) -> dict[str, Any]:
        body = _convert(resource.body, {**TERRAFORM_ONLY, **self.shape}, "", problems)
        return {"apiVersion": self.api_version, "kind": self.kind, **body}


CONVERTERS: dict[str, Converter] = {
    "kubernetes_namespace_v1": Converter("v1", "Namespace", {
        "metadata": ONE(METADATA), "wait_for_default_service_account": DROP}, "V1Namespace"),
    "kubernetes_service_account_v1": Converter("v1", "ServiceAccount", {
        "metadata": ONE(METADATA),
        # The provider sends true when the argument is absent.
        "automount_service_account_token": BOOL(default=True),
        "image_pull_secret": MANY(LOCAL_REF, "imagePullSecrets"),
        "secret": MANY(LOCAL_REF, "secrets"),
    }, "V1ServiceAccount"),
    "kubernetes_role_v1": Converter("rbac.authorization.k8s.io/v1", "Role", {
        "metadata": ONE(METADATA), "rule": MANY(POLICY_RULE, "rules")}, "V1Role"),
    "kubernetes_cluster_role_v1": Converter("rbac.authorization.k8s.io/v1", "ClusterRole", {
        "metadata": ONE(METADATA), "rule": MANY(POLICY_RULE, "rules"),
        "aggregation_rule": ONE({"cluster_role_selectors": MANY(LABEL_SELECTOR)}),
    }, "V1ClusterRole"),
    "kubernetes_role_binding_v1": Converter("rbac.authorization.k8s.io/v1", "RoleBinding", {
        "metadata": ONE(METADATA), "role_ref": ONE(ROLE_REF), "subject": MANY(SUBJECT, "subjects")}, "V1RoleBinding"),
    "kubernetes_cluster_role_binding_v1": Converter("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", {
        "metadata": ONE(METADATA), "role_ref": ONE(ROLE_REF), "subject": MANY(SUBJECT, "subjects"),
    }, "V1ClusterRoleBinding"),
    "kubernetes_network_policy_v1": Converter("networking.k8s.io/v1", "NetworkPolicy", {
        "metadata": ONE(METADATA), "spec": ONE(NP_SPEC)}, "V1NetworkPolicy"),
    "kubernetes_resource_quota_v1": Converter("v1", "ResourceQuota", {
        "metadata": ONE(METADATA), "spec": ONE(RQ_SPEC)}, "V1ResourceQuota"),
    "kubernetes_limit_range_v1": Converter("v1", "LimitRange", {
        "metadata": ONE(METADATA), "spec": ONE(LR_SPEC)}, "V1LimitRange"),
    "kubernetes_config_map_v1": Converter("v1", "ConfigMap", {
        "metadata": ONE(METADATA), "data": MAP(), "binary_data": MAP(), "immutable": BOOL()}, "V1ConfigMap"),
    "kubernetes_service_v1": Converter("v1", "Service", {
        "metadata": ONE(METADATA), "spec": ONE(SERVICE_SPEC), "wait_for_load_balancer": DROP}, "V1Service"),
    "kubernetes_deployment_v1": Converter("apps/v1", "Deployment", {
        "metadata": ONE(METADATA), "spec": ONE(DEPLOYMENT_SPEC), "wait_for_rollout": DROP}, "V1Deployment"),
}
# kubernetes_manifest: the object is its `manifest`; the rest is Terraform-only.
MANIFEST_ARGUMENTS: Shape = {
    **TERRAFORM_ONLY, "manifest": F("custom"), "computed_fields": DROP, "field_manager": DROP,
    "wait": DROP, "wait_for": DROP,
}
# The client's model for each built-in (apiVersion, kind) we produce or accept in kubernetes_manifest.
MODELS: dict[tuple[str, str], str] = {(c.api_version, c.kind): c.model for c in CONVERTERS.values()}


def supported_types() -> list[str]:
    return sorted([*CONVERTERS, "kubernetes_manifest"])


# ------------------------------------------------------------------------------------ walking


def _keys(body: Mapping[str, Any]) -> list[str]:
    return [k for k in body if k != BLOCK_MARK]


def _unsupported(key: str, shape: Mapping[str, Any]) -> str:
    known = ", ".join(sorted(shape)) or "none"
    return (f"'{key}' is not supported by blueprint's manifest converter (supported here: {known}); "
            "add it to blueprint/emit/manifests.py rather than let it vanish from the derived object")


def _block_list(value: Any, path: str, problems: _Problems) -> list[dict] | None:
    if isinstance(value, list) and all(isinstance(v, dict) and v.get(BLOCK_MARK) for v in value):
        return value
    problems.add(path, f"expected nested blocks, got an attribute ({_describe(value)})")
    return None


def _convert(body: Mapping[str, Any], shape: Shape, path: str, problems: _Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _keys(body):
        where = f"{path}.{key}" if path else key
        if isinstance(key, Expression):
            problems.add(where, "a computed argument name is not a literal")
            continue
        if key in MULTIPLYING:
            problems.add(where, f"'{key}' makes one resource create several objects; blueprint emits "
                                "one literal resource per object")
            continue
        spec = shape.get(key)
        if spec is None:
            problems.add(where, _unsupported(key, shape))
            continue
        if spec.kind == "drop":
            continue
        api = spec.api or camel(key)
        if api in out:
            problems.add(where, f"two arguments set the API field '{api}'")
            continue
        value = _field(body[key], spec, where, problems)
        if value is not _SKIP:
            out[api] = value
    for key, spec in shape.items():
        if spec.default is not None and key not in body:
            out.setdefault(spec.api or camel(key), spec.default)
    return out


_SKIP = object()


def _field(value: Any, spec: F, path: str, problems: _Problems) -> Any:
    if spec.kind == "custom":
        assert spec.custom is not None
        return spec.custom(value, path, problems)
    if spec.kind in ("one", "many"):
        blocks = _block_list(value, path, problems)
        if blocks is None:
            return _SKIP
        assert spec.shape is not None
        if spec.kind == "one":
            if len(blocks) != 1:
                problems.add(path, f"expected one block, got {len(blocks)}")
                return _SKIP
            return _convert(blocks[0], spec.shape, path, problems)
        return [_convert(b, spec.shape, f"{path}[{i}]", problems) for i, b in enumerate(blocks)]
    if isinstance(value, list) and value and isinstance(value[0], dict) and value[0].get(BLOCK_MARK):
        problems.add(path, "expected an attribute, got a nested block")
        return _SKIP
    if not _literal(value, path, problems):
        return _SKIP
    if spec.kind == "map":
        if not isinstance(value, dict):
            problems.add(path, f"expected a map, got {_describe(value)}")
            return _SKIP
        out = {}
        for k, v in value.items():
            if k == BLOCK_MARK:
                problems.add(path, "expected a map attribute (`name = { ... }`), got a block")
                return _SKIP
            if not (_literal(k, f"{path}[{k!r}]", problems) and _literal(v, f"{path}[{k!r}]", problems)):
                continue
            text = _tf_string(v)
            if text is None:
                problems.add(f"{path}[{k!r}]", f"expected a string, got {_describe(v)}")
                continue
            out[k] = text
        return out
    if spec.kind == "list":
        if not isinstance(value, list):
            problems.add(path, f"expected a list, got {_describe(value)}")
            return _SKIP
        out_list = []
        for i, item in enumerate(value):
            if not _literal(item, f"{path}[{i}]", problems):
                continue
            try:
                out_list.append(spec.convert(item))
            except ValueError as exc:
                problems.add(f"{path}[{i}]", str(exc))
        return out_list
    try:
        return spec.convert(value)
    except ValueError as exc:
        problems.add(path, str(exc))
        return _SKIP


def _plain(value: Any, path: str, problems: _Problems) -> Any:
    """A kubernetes_manifest value as plain data (no block marks, no Expressions)."""
    if isinstance(value, dict):
        if value.get(BLOCK_MARK):
            problems.add(path, "expected an object attribute (`manifest = { ... }`), got a block")
            return None
        return {k: _plain(v, f"{path}.{k}", problems) for k, v in value.items()
                if _literal(k, f"{path}.{k}", problems)}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    _literal(value, path, problems)
    return value


def _manifest(resource: Resource, problems: _Problems) -> dict[str, Any] | None:
    for key in _keys(resource.body):
        if key in MULTIPLYING:
            problems.add(key, f"'{key}' makes one resource create several objects; blueprint emits "
                              "one literal resource per object")
        elif key not in MANIFEST_ARGUMENTS:
            problems.add(key, _unsupported(key, MANIFEST_ARGUMENTS))
    manifest = resource.body.get("manifest")
    if not isinstance(manifest, dict) or isinstance(manifest, Expression):
        problems.add("manifest", f"expected a literal object, got {_describe(manifest)}")
        return None
    obj = _plain(manifest, "manifest", problems)
    for required in ("apiVersion", "kind", "metadata"):
        if required not in obj:
            problems.add("manifest", f"has no '{required}'")
    return copy.deepcopy(obj)


# ------------------------------------------------------------------------------------ API check

_LIST_TYPE = re.compile(r"^(?:List\[(.+)\]|list\[(.+)\])$")
_DICT_TYPE = re.compile(r"^(?:Dict\[str, (.+)\]|dict\(str, (.+)\))$")
_PRIMITIVE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "datetime": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, str),
    "bytes": lambda v: isinstance(v, str),
    "object": lambda v: True,  # IntOrString, RawExtension, JSON: any value
}


@cache
def _model(name: str) -> type:
    import kubernetes.client  # imported lazily: it is slow to import

    model = getattr(kubernetes.client, name, None)
    if model is None or not hasattr(model, "openapi_types"):
        raise KeyError(name)
    return model


@cache
def _fields(name: str) -> dict[str, tuple[str, str]]:
    """API field name -> (type string, python attribute) of a client model."""
    model = _model(name)
    return {model.attribute_map[attr]: (typ, attr) for attr, typ in model.openapi_types.items()}


def api_problems(obj: Any, model: str, path: str = "") -> list[str]:
    """Every field of `obj` the API model `model` (e.g. "V1Deployment") does not have, and every
    value of the wrong type, as `<API path>: <message>`; [] when the object fits the API."""
    found: list[str] = []
    _check(obj, model, path, found)
    return found


def _check(value: Any, typ: str, path: str, found: list[str]) -> None:
    shown = path or "(object)"
    if typ in _PRIMITIVE_CHECKS:
        if not _PRIMITIVE_CHECKS[typ](value):
            found.append(f"{shown}: expected {typ}, got {_describe(value)}")
        return
    match = _LIST_TYPE.match(typ)
    if match:
        if not isinstance(value, list):
            found.append(f"{shown}: expected a list, got {_describe(value)}")
            return
        for i, item in enumerate(value):
            _check(item, match.group(1) or match.group(2), f"{path}[{i}]", found)
        return
    match = _DICT_TYPE.match(typ)
    if match:
        if not isinstance(value, dict):
            found.append(f"{shown}: expected a map, got {_describe(value)}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                found.append(f"{shown}: map key {key!r} is not a string")
            _check(item, match.group(1) or match.group(2), f"{path}[{key!r}]", found)
        return
    try:
        fields = _fields(typ)
    except KeyError:
        found.append(f"{shown}: the kubernetes client has no model {typ!r} (a client too old or too new?)")
        return
    if not isinstance(value, dict):
        found.append(f"{shown}: expected an object ({typ}), got {_describe(value)}")
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            known = ", ".join(sorted(fields))
            found.append(f"{where}: the Kubernetes API has no field '{key}' in {typ} (its fields: {known})")
            continue
        _check(item, fields[key][0], where, found)


# ------------------------------------------------------------------------------------ public API


@dataclass(frozen=True)
class Manifest:
    """One derived object and where it comes from."""

    object: dict[str, Any] = field(compare=False)
    file: str  # the .tf file, as hcl_reader located it
    address: str  # the Terraform address

    @property
    def api_version(self) -> str:
        return str(self.object.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.object.get("kind", ""))

    @property
    def namespace(self) -> str:
        return str((self.object.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.object.get("metadata") or {}).get("name") or "")

    @property
    def ref(self) -> str:
        """`Kind namespace/name` (cluster-scoped: `Kind name`)."""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return _sort_key(self.object)

    @property
    def builtin(self) -> bool:
        """A kind the kubernetes client models (else a custom resource)."""
        return (self.api_version, self.kind) in MODELS


def _sort_key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or ""),
            str(obj.get("apiVersion", "")))


def convert_resource(resource: Resource) -> tuple[Manifest | None, list[Problem]]:
    """The object one resource creates, or the problems that prevent deriving it."""
    problems = _Problems(resource)
    if resource.mode != "managed":
        problems.add("", "a data source creates no object")
        return None, problems
    if resource.type == "kubernetes_manifest":
        obj = _manifest(resource, problems)
    elif resource.type in CONVERTERS:
        obj = CONVERTERS[resource.type](resource, problems)
    else:
        problems.add("", f"no manifest converter for resource type {resource.type} "
                         f"(supported: {', '.join(supported_types())})")
        return None, problems
    if obj is None or problems:
        return None, problems
    model = MODELS.get((obj.get("apiVersion"), obj.get("kind")))
    if model is not None:
        for message in api_problems(obj, model):
            problems.add("", f"{obj['kind']}: {message}")
    if not (obj.get("metadata") or {}).get("name"):
        problems.add("metadata.name", "the object has no name")
    return (None, problems) if problems else (Manifest(obj, resource.file, resource.address), [])


def derive(resources: Iterable[Resource]) -> tuple[list[Manifest], list[Problem]]:
    """Every resource's object, sorted by kind/namespace/name, and every problem (never raises)."""
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for resource in resources:
        manifest, found = convert_resource(resource)
        problems += found
        if manifest is not None:
            manifests.append(manifest)
    manifests.sort(key=lambda m: (m.sort_key, m.file, m.address))
    seen: dict[tuple[str, str, str, str], Manifest] = {}
    for manifest in manifests:
        key = manifest.sort_key
        if key in seen:
            first = seen[key]
            problems.append(Problem(Location(manifest.file, path=manifest.address),
                                    f"creates the same object as {first.address} in {first.file} "
                                    f"({manifest.ref}): one would overwrite the other at apply"))
        seen.setdefault(key, manifest)
    return manifests, problems


def manifests(resources: Iterable[Resource]) -> list[Manifest]:
    """Like derive(), but any problem raises ManifestError listing all of them."""
    found, problems = derive(resources)
    if problems:
        raise ManifestError(problems)
    return found


def manifests_from_resources(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """The Kubernetes objects the resources create, as plain dicts sorted by kind/namespace/name.

    Raises ManifestError for an unknown type, an unconvertible or unsupported argument, a value
    Terraform evaluates, or a field the Kubernetes API does not have.
    """
    return [m.object for m in manifests(resources)]


def is_kubernetes_resource(resource: Resource) -> bool:
    """A resource of the kubernetes provider (the ones that create Kubernetes objects)."""
    return resource.mode == "managed" and resource.type.startswith("kubernetes_")


# ------------------------------------------------------------------------------------ YAML

_TOP_ORDER = ("apiVersion", "kind", "metadata")
_FIRST = {"name": 0, "namespace": 1}
# go-yaml (kubectl, Argo CD, Flux) reads these plain scalars as booleans; PyYAML does not quote them.
_YAML11_BOOLS = re.compile(r"^(y|Y|n|N)$")


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases, and strings quoted wherever another YAML reader could retype them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if _YAML11_BOOLS.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Expression, _represent_str)


def ordered(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with keys in a stable order: apiVersion, kind, metadata, then the rest sorted;
    in nested objects `name` and `namespace` first, then the rest sorted."""
    top = {k: _ordered(obj[k]) for k in _TOP_ORDER if k in obj}
    top.update({k: _ordered(obj[k]) for k in sorted(obj) if k not in _TOP_ORDER})
    return top


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_FIRST.get(k, len(_FIRST)), str(k)))
        return {k: _ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def dump_manifest(obj: Mapping[str, Any]) -> str:
    """One object as a YAML document (no `---`)."""
    return yaml.dump(ordered(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)


def dump_manifests(objects: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML, deterministic: objects sorted by kind/namespace/name, keys ordered."""
    docs = sorted(objects, key=_sort_key)
    return "".join("---\n" + dump_manifest(obj) for obj in docs)
