"""The policy-test suite: least-privilege invariants over the emitted files, parsed back.

These compare what the Terraform will create against what the inputs declare, independently of
the generator: a bug in the plan or the emitter that widens anything fails here.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any, Iterable

from blueprint.hcl_reader import BLOCK_MARK, Expression, Resource, block, blocks
from blueprint.gates.result import Finding, GateResult
from blueprint.models import AgentProfile, Environment
from blueprint.models.types import NAMESPACE_PREFIX

GATE = "invariants"
STAGE = "agents/"
ESCALATION = {"escalate", "bind", "impersonate", "*"}
PSA_REQUIRED = ("enforce", "audit", "warn")
META_ARGUMENTS = {"depends_on"}
# The only resource types the agents stage may hold; anything else is a generator bug or a hand edit.
ALLOWED_TYPES = {
    "kubernetes_namespace_v1", "kubernetes_service_account_v1", "kubernetes_role_v1", "kubernetes_role_binding_v1",
    "kubernetes_cluster_role_v1", "kubernetes_cluster_role_binding_v1", "kubernetes_network_policy_v1",
    "kubernetes_resource_quota_v1", "kubernetes_limit_range_v1", "kubernetes_config_map_v1",
    "kubernetes_deployment_v1", "kubernetes_service_v1",
}
RULE_KEYS = {"api_groups", "resources", "verbs", "resource_names", BLOCK_MARK}
PORT_KEYS = {"port", "protocol", BLOCK_MARK}
FORBIDDEN_META = ("count", "for_each", "provider", "lifecycle", "provisioner", "connection")


@dataclass(frozen=True)
class Declared:
    """What one profile declares, read from the inputs (not from the plan)."""

    profile: AgentProfile
    waived: frozenset[str]

    @property
    def namespace(self) -> str:
        return NAMESPACE_PREFIX + self.profile.name


def _labels(resource: Resource) -> dict[str, Any]:
    return block(resource.body, "metadata").get("labels", {}) or {}


def _namespace_of(resource: Resource) -> str | None:
    return block(resource.body, "metadata").get("namespace")


def _agent_of(resource: Resource) -> str | None:
    return _labels(resource).get("blueprint.dev/agent")


def _expressions(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, Expression):
        yield path
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, Expression):
                yield f"{path}[{key}] (key)"
            if key != BLOCK_MARK and not (path == "" and key in META_ARGUMENTS):
                yield from _expressions(item, f"{path}.{key}" if path else key)


def _rule_tuples(rules: Iterable[dict[str, Any]]) -> set[tuple]:
    out = set()
    for rule in rules:
        names = tuple(sorted(rule.get("resource_names", []) or []))
        for group in rule.get("api_groups", []):
            for res in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    out.add((group, res, verb, names))
    return out


def _declared_rules(profile: AgentProfile, namespace: str | None) -> set[tuple]:
    own = NAMESPACE_PREFIX + profile.name
    out = set()
    for rule in profile.kubernetes.rules:
        target = None if rule.scope == "cluster" else (rule.namespace or own)
        if target != namespace:
            continue
        names = tuple(sorted(rule.resource_names))
        for group in rule.api_groups:
            for res in rule.resources:
                for verb in rule.verbs:
                    out.add((group, res, verb, names))
    return out


def _peer_key(peer: dict[str, Any]) -> tuple:
    ip = block(peer, "ip_block")
    if ip:
        return ("cidr", ip.get("cidr"), tuple(sorted(ip.get("except", []) or [])))
    ns = block(peer, "namespace_selector").get("match_labels", {}) if "namespace_selector" in peer else None
    pod = block(peer, "pod_selector").get("match_labels", {}) if "pod_selector" in peer else None
    return ("selector", tuple(sorted((ns or {}).items())) if ns is not None else None,
            tuple(sorted((pod or {}).items())) if pod is not None else None)


def _allowed_egress(declared: Declared, env: Environment) -> set[tuple]:
    """(peer key, port, protocol) triples the profile's declarations allow."""
    allowed: set[tuple] = set()
    dns = env.cluster.dns
    dns_peers = [("selector", (("kubernetes.io/metadata.name", dns.namespace),), tuple(sorted(dns.pod_labels.items())))]
    if dns.node_local_address:
        net = ipaddress.ip_network(dns.node_local_address)
        dns_peers.append(("cidr", str(net), ()))
    for peer in dns_peers:
        allowed |= {(peer, "53", "UDP"), (peer, "53", "TCP")}
    if declared.profile.kubernetes.rules:
        api = env.cluster.api_server
        allowed |= {(("cidr", c, ()), str(api.port), "TCP") for c in api.cidrs}
    names = set(declared.profile.egress)
    runtime = declared.profile.runtime
    if runtime is not None and runtime.tracing.enabled and runtime.tracing.collector:
        names.add(runtime.tracing.collector)
    for name in names:
        dest = env.destinations[name]
        if dest.cidrs:
            peers = [("cidr", c, ()) for c in dest.cidrs]
        else:
            peers = [("selector",
                      tuple(sorted(dest.namespace_selector.match_labels.items())) if dest.namespace_selector else None,
                      tuple(sorted(dest.pod_selector.match_labels.items())) if dest.pod_selector else None)]
        allowed |= {(p, str(port.port), port.protocol) for p in peers for port in dest.ports}
    return allowed


class _Checker:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.passed = 0

    def expect(self, ok: bool, check_id: str, message: str, resource: Resource | None = None, file: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.findings.append(Finding(GATE, check_id, message, resource.file if resource else file,
                                         resource.address if resource else ""))


def _check_role(c: _Checker, res: Resource, declared: Declared) -> None:
    rules = blocks(res.body, "rule")
    waived = declared.waived
    c.expect(set(res.body) <= {"metadata", "rule", "depends_on", BLOCK_MARK}, "INV_RBAC_EXACT",
             f"unexpected role fields {sorted(set(res.body) - {'metadata', 'rule', 'depends_on', BLOCK_MARK})} "
             "(aggregation rules and the like are never declared by a profile)", res)
    for rule in rules:
        c.expect(set(rule) <= RULE_KEYS, "INV_RBAC_EXACT",
                 f"unexpected rule fields {sorted(set(rule) - RULE_KEYS)}", res)
        for field in ("api_groups", "resources", "verbs"):
            wild = [v for v in rule.get(field, []) if v == "*" or str(v).endswith("/*")]
            c.expect(not wild or "wildcard" in waived, "INV_RBAC_NO_WILDCARD",
                     f"{field} contains a wildcard {wild}", res)
        bad = ESCALATION & set(rule.get("verbs", []))
        c.expect(not bad or "escalation-verb" in waived, "INV_RBAC_NO_ESCALATION",
                 f"escalation verbs {sorted(bad)}", res)
        unnamed = not rule.get("resource_names")
        reads = set(rule.get("verbs", [])) & {"get", "list", "watch", "*"}
        resources_ = set(rule.get("resources", []))
        secret = unnamed and ((reads and {"secrets", "*"} & resources_)
                              or {"serviceaccounts/token", "serviceaccounts/*", "*/*"} & resources_)
        c.expect(not secret or "unnamed-secret-read" in waived, "INV_RBAC_SECRETS_BY_NAME",
                 "reads secrets or mints tokens without resource_names", res)
    namespace = _namespace_of(res)
    emitted = _rule_tuples(rules)
    expected = _declared_rules(declared.profile, namespace)
    c.expect(emitted == expected, "INV_RBAC_EXACT",
             f"rules differ from the profile's for {namespace or 'cluster scope'}: "
             f"extra {sorted(emitted - expected)}, missing {sorted(expected - emitted)}", res)
    if namespace is None:
        c.expect("cluster-scope" in waived, "INV_RBAC_NO_CLUSTER_SCOPE",
                 "cluster-scoped role without a cluster-scope exception", res)


def _check_binding(c: _Checker, res: Resource, declared: Declared) -> None:
    subjects = blocks(res.body, "subject")
    ok = len(subjects) == 1 and subjects[0].get("kind") == "ServiceAccount" \
        and subjects[0].get("name") == declared.profile.name and subjects[0].get("namespace") == declared.namespace
    c.expect(ok, "INV_BINDING_SUBJECT", "a binding must name exactly the agent's own ServiceAccount", res)
    ref = block(res.body, "role_ref")
    c.expect(ref.get("name") == declared.namespace and ref.get("api_group") == "rbac.authorization.k8s.io",
             "INV_BINDING_ROLE", f"binds {ref.get('kind')} {ref.get('name')!r}, not the agent's own role", res)


def _is_default_deny(res: Resource) -> bool:
    spec = block(res.body, "spec")
    selector = block(spec, "pod_selector")
    empty_selector = "pod_selector" in spec and not {k for k in selector if k != BLOCK_MARK}
    return empty_selector and sorted(spec.get("policy_types", [])) == ["Egress", "Ingress"] \
        and not blocks(spec, "ingress") and not blocks(spec, "egress")


def _allowed_ingress(declared: Declared) -> set[tuple]:
    runtime = declared.profile.runtime
    if runtime is None:
        return set()
    out = set()
    for caller in declared.profile.callers:
        ns = tuple(sorted(caller.namespace_selector.match_labels.items()))
        pods = tuple(sorted(caller.pod_selector.match_labels.items())) if caller.pod_selector else None
        out.add((("selector", ns, pods), str(runtime.port), "TCP"))
    return out


def _check_network_policy(c: _Checker, res: Resource, declared: Declared, env: Environment) -> None:
    spec = block(res.body, "spec")
    allowed_in = _allowed_ingress(declared)
    for rule in blocks(spec, "ingress"):
        ports = [(str(p.get("port")), p.get("protocol", "TCP")) for p in blocks(rule, "ports")]
        peers = blocks(rule, "from")
        c.expect(bool(ports) and bool(peers), "INV_INGRESS_DECLARED",
                 "an ingress rule without ports or peers admits everything", res)
        for peer in peers:
            for port, proto in ports:
                c.expect((_peer_key(peer), port, proto) in allowed_in, "INV_INGRESS_DECLARED",
                         f"ingress from {_peer_key(peer)[1:]} on {port}/{proto} is not a declared caller", res)
    allowed = _allowed_egress(declared, env)
    for rule in blocks(spec, "egress"):
        for p in blocks(rule, "ports"):
            c.expect(set(p) <= PORT_KEYS, "INV_EGRESS_DECLARED",
                     f"port fields {sorted(set(p) - PORT_KEYS)} widen the declared port", res)
        ports = [(str(p.get("port")), p.get("protocol", "TCP")) for p in blocks(rule, "ports")]
        c.expect(bool(ports), "INV_EGRESS_PORTS", "an egress rule without ports allows every port", res)
        peers = blocks(rule, "to")
        c.expect(bool(peers), "INV_EGRESS_PEERS", "an egress rule without peers allows every destination", res)
        for peer in peers:
            key = _peer_key(peer)
            for port, proto in ports:
                c.expect((key, port, proto) in allowed, "INV_EGRESS_DECLARED",
                         f"egress to {key[1:]} on {port}/{proto} is not declared by the profile", res)


def _check_pod(c: _Checker, res: Resource, pod: dict[str, Any], declared: Declared, env: Environment) -> None:
    """The Pod Security restricted profile and our workload rules, on one pod spec."""
    profile = declared.profile
    runtime = profile.runtime
    want_token = bool(profile.kubernetes.rules)
    c.expect(pod.get("automount_service_account_token") is False, "INV_POD_TOKEN",
             "automount_service_account_token must be false (a token comes only as a short projected volume)", res)
    c.expect(pod.get("service_account_name") == profile.name, "INV_POD_IDENTITY",
             "the pod must run as the agent's own ServiceAccount", res)
    c.expect(not any(pod.get(k) for k in ("host_network", "host_pid", "host_ipc")), "INV_POD_HOST",
             "host namespaces are never shared", res)
    c.expect(pod.get("enable_service_links") is False, "INV_POD_SERVICE_LINKS",
             "service links leak every Service's address into the environment", res)
    wanted_class = env.runtime.runtime_class_name if env.runtime else None
    c.expect(pod.get("runtime_class_name") == wanted_class, "INV_POD_RUNTIME_CLASS",
             f"runtime_class_name must be the environment's ({wanted_class})", res)
    ctx = block(pod, "security_context")
    uid = ctx.get("run_as_user")
    c.expect(ctx.get("run_as_non_root") is True and isinstance(uid, int) and uid >= 1000, "INV_POD_NON_ROOT",
             "the pod must run as a numeric non-root user (>= 1000)", res)
    c.expect(block(ctx, "seccomp_profile").get("type") == "RuntimeDefault", "INV_POD_SECCOMP",
             "the pod's seccomp profile must be RuntimeDefault", res)
    containers = blocks(pod, "container")
    c.expect(len(containers) == 1 and not blocks(pod, "init_container"), "INV_POD_CONTAINERS",
             "exactly one container, no init containers", res)
    for container in containers:
        cctx = block(container, "security_context")
        ok = (cctx.get("allow_privilege_escalation") is False and cctx.get("privileged") is False
              and cctx.get("read_only_root_filesystem") is True and cctx.get("run_as_non_root") is True
              and block(cctx, "capabilities").get("drop") == ["ALL"] and not block(cctx, "capabilities").get("add")
              and block(cctx, "seccomp_profile").get("type") == "RuntimeDefault")
        c.expect(ok, "INV_POD_HARDENED", "the container must drop ALL capabilities, never escalate, run non-root "
                 "with a read-only root filesystem and seccomp RuntimeDefault", res)
        c.expect(runtime is not None and container.get("image") == runtime.image, "INV_POD_IMAGE",
                 "the image must be exactly the profile's", res)
        limits = block(container, "resources").get("limits", {})
        c.expect({"cpu", "memory"} <= set(limits), "INV_POD_LIMITS", "cpu and memory limits are required", res)
        c.expect(bool(block(container, "readiness_probe")) and bool(block(container, "liveness_probe")),
                 "INV_POD_PROBES", "readiness and liveness probes are required", res)
        c.expect(bool(block(block(block(container, "lifecycle"), "pre_stop"), "exec").get("command")),
                 "INV_POD_CLEANUP", "a preStop hook must clean the session up", res)
        for mount in blocks(container, "volume_mount"):
            c.expect(mount.get("read_only") is True or mount.get("mount_path") == "/tmp", "INV_POD_READ_ONLY_MOUNTS",
                     f"mount {mount.get('mount_path')} must be read-only (only /tmp is writable)", res)
            c.expect(not mount.get("sub_path"), "INV_POD_READ_ONLY_MOUNTS", "subPath mounts are not used", res)
    declared_maps = ({m.config_map for m in runtime.config_maps} | {"agent-runtime"}) if runtime else set()
    for volume in blocks(pod, "volume"):
        kinds = {k for k in volume if k not in ("name", BLOCK_MARK)}
        if kinds == {"empty_dir"}:
            empty = block(volume, "empty_dir")
            ok = empty.get("medium") == "Memory" and bool(empty.get("size_limit"))
        elif kinds == {"config_map"}:
            ok = block(volume, "config_map").get("name") in declared_maps
        elif kinds == {"projected"}:
            # The API token, only for agents with API rules: short-lived, plus the CA and namespace.
            projected = block(volume, "projected")
            sources = blocks(projected, "sources")
            kinds_in = sorted(k for src in sources for k in src if k != BLOCK_MARK)
            tokens = [block(src, "service_account_token") for src in sources if "service_account_token" in src]
            ok = (want_token and kinds_in == ["config_map", "downward_api", "service_account_token"]
                  and len(tokens) == 1 and isinstance(tokens[0].get("expiration_seconds"), int)
                  and tokens[0]["expiration_seconds"] <= 3600 and not tokens[0].get("audience"))
        elif kinds == {"csi"}:
            csi = block(volume, "csi")
            ok = (profile.secrets != [] and csi.get("driver") == "secrets-store.csi.k8s.io" and csi.get("read_only") is True
                  and csi.get("volume_attributes") == {"secretProviderClass": "agent-secrets"})
        else:
            ok = False
        c.expect(ok, "INV_POD_VOLUMES", f"volume {volume.get('name')!r} ({sorted(kinds)}) is not one the profile "
                 "declares (memory-backed /tmp, runtime config, declared ConfigMaps, the secrets mount)", res)


BROKER_RULES = {("extensions.agents.x-k8s.io", "sandboxclaims", verb, ()) for verb in ("create", "delete", "get")}


def _check_broker(c: _Checker, broker: list[Resource], declared: Declared, env: Environment) -> None:
    """The session broker's Role and binding: only for per-session agents, only sandbox claims,
    only the environment's broker ServiceAccount."""
    runtime = declared.profile.runtime
    per_session = runtime is not None and runtime.isolation == "per-session"
    wanted = env.runtime.session_broker if env.runtime else None
    c.expect(per_session == bool(broker), "INV_BROKER", "a session-broker Role exists exactly for per-session agents",
             broker[0] if broker else None, f"agent {declared.profile.name}")
    for res in broker:
        if res.type == "kubernetes_role_v1":
            c.expect(_rule_tuples(blocks(res.body, "rule")) == BROKER_RULES and _namespace_of(res) == declared.namespace,
                     "INV_BROKER", "the broker may only create, get and delete sandbox claims in the agent's namespace",
                     res)
        elif res.type == "kubernetes_role_binding_v1":
            subjects = blocks(res.body, "subject")
            ok = wanted is not None and len(subjects) == 1 and subjects[0].get("kind") == "ServiceAccount" \
                and subjects[0].get("name") == wanted.service_account and subjects[0].get("namespace") == wanted.namespace \
                and block(res.body, "role_ref").get("name") == "session-broker"
            c.expect(ok, "INV_BROKER", "the broker binding must name exactly the environment's session broker", res)
        else:
            c.expect(False, "INV_BROKER", f"unexpected session-broker resource {res.type}", res)


def check_invariants(resources: list[Resource], profiles: list[AgentProfile], env: Environment) -> GateResult:
    """The invariants over the agents stage (other stages have their own gates)."""
    started = time.perf_counter()
    c = _Checker()
    declared = {p.name: Declared(p, frozenset(w.waives for w in p.exceptions)) for p in profiles}
    by_agent: dict[str, list[Resource]] = {name: [] for name in declared}
    resources = [r for r in resources if r.file.startswith(STAGE)]

    for res in resources:
        c.expect(res.mode == "managed" and res.type in ALLOWED_TYPES, "INV_ALLOWED_TYPES",
                 f"{res.address} is not a type the agents stage emits", res)
        meta = [m for m in FORBIDDEN_META if m in res.body]
        c.expect(not meta, "INV_META_ARGUMENTS", f"meta-arguments {meta} change what is created", res)
        for path in _expressions(res.body, ""):
            c.expect(False, "INV_LITERAL_VALUES", f"{path} is an expression; every checked value must be literal", res)
        agent = _agent_of(res)
        c.expect(agent in declared, "INV_OWNED", f"resource belongs to no profile (agent label {agent!r})", res)
        if agent in declared:
            by_agent[agent].append(res)

    for name, d in declared.items():
        mine = by_agent[name]
        kinds = {r.type for r in mine}
        namespaces = [r for r in mine if r.type == "kubernetes_namespace_v1"]
        c.expect(len(namespaces) == 1, "INV_NAMESPACE", f"agent {name} must have exactly one namespace",
                 file=f"agent {name}")
        for ns in namespaces:
            labels = _labels(ns)
            for mode in PSA_REQUIRED:
                c.expect(labels.get(f"pod-security.kubernetes.io/{mode}") == "restricted", "INV_PSA_RESTRICTED",
                         f"Pod Security {mode} label is not 'restricted'", ns)
            c.expect(bool(labels.get("pod-security.kubernetes.io/enforce-version")), "INV_PSA_VERSION",
                     "Pod Security enforce-version label is missing", ns)
        in_ns = [r for r in mine if _namespace_of(r) == d.namespace]
        c.expect(any(r.type == "kubernetes_network_policy_v1" and _is_default_deny(r) for r in in_ns),
                 "INV_DEFAULT_DENY", f"namespace {d.namespace} has no default-deny policy for ingress and egress",
                 file=f"agent {name}")
        c.expect("kubernetes_resource_quota_v1" in {r.type for r in in_ns}, "INV_QUOTA",
                 f"namespace {d.namespace} has no ResourceQuota", file=f"agent {name}")
        c.expect("kubernetes_limit_range_v1" in {r.type for r in in_ns}, "INV_LIMIT_RANGE",
                 f"namespace {d.namespace} has no LimitRange", file=f"agent {name}")
        c.expect("kubernetes_service_account_v1" in kinds, "INV_SERVICE_ACCOUNT",
                 f"agent {name} has no ServiceAccount", file=f"agent {name}")
        role_namespaces = set()
        broker = [r for r in mine if _labels(r).get("blueprint.dev/role") == "session-broker"]
        _check_broker(c, broker, d, env)
        for res in [r for r in mine if r not in broker]:
            if res.type == "kubernetes_service_account_v1":
                c.expect(res.body.get("automount_service_account_token") is False, "INV_AUTOMOUNT_OFF",
                         "automount_service_account_token must be false", res)
            elif res.type in ("kubernetes_role_v1", "kubernetes_cluster_role_v1"):
                _check_role(c, res, d)
                role_namespaces.add(_namespace_of(res))
            elif res.type in ("kubernetes_role_binding_v1", "kubernetes_cluster_role_binding_v1"):
                _check_binding(c, res, d)
            elif res.type == "kubernetes_network_policy_v1":
                _check_network_policy(c, res, d, env)
            elif res.type == "kubernetes_deployment_v1":
                template = block(block(res.body, "spec"), "template")
                _check_pod(c, res, block(template, "spec"), d, env)
                c.expect(d.profile.runtime is not None and d.profile.runtime.isolation == "shared",
                         "INV_WORKLOAD", "a Deployment only for shared isolation", res)
        wanted = {None if r.scope == "cluster" else (r.namespace or d.namespace) for r in d.profile.kubernetes.rules}
        c.expect(role_namespaces == wanted, "INV_RBAC_EXACT",
                 f"agent {name} has roles in {sorted(map(str, role_namespaces))}, profile asks for "
                 f"{sorted(map(str, wanted))}", file=f"agent {name}")
    return GateResult(GATE, c.passed, c.findings, time.perf_counter() - started)
