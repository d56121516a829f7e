"""Least privilege by refusal: find every grant a profile asks for that breaks the secure defaults.

Pure functions over the models. Each refusal carries a code (the only thing an exception can
waive), the profile field path that asked for it and, for destinations, the environment field path
that defines it; the caller turns paths into file:line:column.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from blueprint.models import AgentProfile, Environment
from blueprint.models.profile import Waiver

ESCALATION_VERBS = ("escalate", "bind", "impersonate")
READ_VERBS = ("get", "list", "watch", "*")
# Resources that exist outside any namespace: a Role cannot grant them, only a ClusterRole.
CLUSTER_SCOPED = frozenset({
    "nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings",
    "customresourcedefinitions", "storageclasses", "certificatesigningrequests", "apiservices",
    "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "priorityclasses",
    "runtimeclasses", "csidrivers", "csinodes", "volumeattachments", "ingressclasses",
    "validatingadmissionpolicies", "validatingadmissionpolicybindings", "tokenreviews",
    "subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews",
})
METADATA_ADDRESSES = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    profile_path: Path_
    env_path: Path_ | None = None
    destination: str | None = None

    @property
    def subject(self) -> str:
        """What was refused, for the report's list of waived findings."""
        return f"{self.code} ({self.destination})" if self.destination else self.code


def _waiver_hint(code: str, destination: str | None = None) -> str:
    scope = f", destination: {destination}" if destination else ""
    return f"or add an exception {{name: ..., waives: {code}{scope}, reason: ...}} to the profile"


def rbac_refusals(profile: AgentProfile) -> list[Refusal]:
    found: list[Refusal] = []
    for i, rule in enumerate(profile.kubernetes.rules):
        base: Path_ = ("kubernetes", "rules", i)
        for field, values in (("apiGroups", rule.api_groups), ("resources", rule.resources), ("verbs", rule.verbs)):
            for j, value in enumerate(values):
                if value == "*" or value.endswith("/*"):
                    found.append(Refusal(
                        "wildcard",
                        f"wildcard {field} '{value}' grants everything now and whatever is added later; "
                        f"list the exact {field} the agent needs, {_waiver_hint('wildcard')}",
                        base + (field, j)))
        for j, verb in enumerate(rule.verbs):
            # `*` includes escalate, bind and impersonate: waiving `wildcard` must not lift this too.
            if verb in ESCALATION_VERBS or verb == "*":
                found.append(Refusal(
                    "escalation-verb",
                    f"verb '{verb}' lets the agent grant itself more than this profile allows "
                    f"({'it includes escalate, bind and impersonate; ' if verb == '*' else ''}"
                    f"remove it), {_waiver_hint('escalation-verb')}",
                    base + ("verbs", j)))
        if not rule.resource_names:
            for j, resource in enumerate(rule.resources):
                reads_secrets = resource in ("secrets", "*") and any(v in READ_VERBS for v in rule.verbs)
                mints_tokens = resource in ("serviceaccounts/token", "serviceaccounts/*", "*/*")
                if reads_secrets or mints_tokens:
                    what = "read every secret" if reads_secrets else "mint tokens for every ServiceAccount"
                    found.append(Refusal(
                        "unnamed-secret-read",
                        f"'{resource}' without resourceNames would {what} in the namespace; "
                        f"name them in resourceNames, {_waiver_hint('unnamed-secret-read')}",
                        base + ("resources", j)))
        if rule.scope == "cluster":
            found.append(Refusal(
                "cluster-scope",
                "scope 'cluster' grants access in every namespace; name one namespace instead, "
                + _waiver_hint("cluster-scope"),
                base + ("scope",)))
        else:
            for j, resource in enumerate(rule.resources):
                if resource.split("/")[0] in CLUSTER_SCOPED:
                    found.append(Refusal(
                        "cluster-scope",
                        f"'{resource}' is cluster-scoped: granting it needs a ClusterRole over the whole "
                        f"cluster; remove it, or set scope: cluster {_waiver_hint('cluster-scope')}",
                        base + ("resources", j)))
    return found


@lru_cache(maxsize=4096)
def network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr)


def _overlaps(net: ipaddress._BaseNetwork, cidrs: list[str]) -> str | None:
    for cidr in cidrs:
        other = network(cidr)
        if other.version == net.version and net.overlaps(other):
            return cidr
    return None


def egress_refusals(profile: AgentProfile, env: Environment) -> list[Refusal]:
    found: list[Refusal] = []
    cluster = env.cluster
    for k, name in enumerate(profile.egress):
        destination = env.destinations[name]
        for m, cidr in enumerate(destination.cidrs):
            net = network(cidr)
            where: Path_ = ("destinations", name, "cidrs", m)
            here: Path_ = ("egress", k)
            widest = env.egress_policy.widest_ipv4_prefix if net.version == 4 else env.egress_policy.widest_ipv6_prefix

            def refuse(code: str, text: str) -> None:
                found.append(Refusal(code, f"egress to '{name}' ({cidr}) {text}, {_waiver_hint(code, name)}",
                                     here, where, name))

            if net.prefixlen == 0:
                refuse("egress-world", "reaches the whole internet; reach the service through a fixed "
                       "private endpoint CIDR or an egress proxy destination")
            elif net.prefixlen < widest:
                refuse("egress-too-wide", f"is wider than this environment allows (/{widest} at most for "
                       f"IPv{net.version}); narrow the destination's CIDR")
            if any(addr in net for addr in METADATA_ADDRESSES):
                refuse("egress-metadata", "includes the cloud metadata address, which hands out node "
                       "credentials; exclude it")
            hit = _overlaps(net, cluster.pod_cidrs + cluster.service_cidrs + cluster.node_cidrs)
            if hit:
                refuse("egress-cluster-overlap", f"overlaps the cluster range {hit}; reach in-cluster "
                       "services through a namespaceSelector/podSelector destination")
            hit = _overlaps(net, cluster.api_server.cidrs)
            if hit:
                refuse("egress-api-server", f"overlaps the API server ({hit}); agents reach the API "
                       "server only through Kubernetes API rules")
    return found


def runtime_refusals(profile: AgentProfile, env: Environment) -> list[Refusal]:
    runtime = profile.runtime
    if runtime is None or env.runtime is None or not env.runtime.require_image_digest:
        return []
    if "@sha256:" in runtime.image:
        return []
    return [Refusal("image-not-pinned",
                    f"image '{runtime.image}' is not pinned by digest; this environment runs only digest-pinned "
                    "images (name@sha256:<digest>), so what was reviewed is what runs",
                    ("runtime", "image"), ("runtime", "requireImageDigest"))]


def all_refusals(profile: AgentProfile, env: Environment) -> list[Refusal]:
    return rbac_refusals(profile) + egress_refusals(profile, env) + secret_refusals(profile, env) \
        + runtime_refusals(profile, env)


def _waives(waiver: Waiver, refusal: Refusal) -> bool:
    if waiver.waives != refusal.code:
        return False
    return waiver.destination is None or waiver.destination == refusal.destination


@dataclass(frozen=True)
class Judgement:
    refused: tuple[Refusal, ...]
    waived: tuple[tuple[Waiver, tuple[Refusal, ...]], ...]
    unused: tuple[tuple[int, Waiver], ...]


def judge(profile: AgentProfile, env: Environment) -> Judgement:
    """Split the refusals into those still standing and those an exception waives."""
    refusals = all_refusals(profile, env)
    refused = tuple(r for r in refusals
                    if r.code in HARD_CODES or not any(_waives(w, r) for w in profile.exceptions))
    waived = tuple((w, tuple(r for r in refusals if _waives(w, r))) for w in profile.exceptions)
    unused = tuple((i, w) for i, (w, hits) in enumerate(waived) if not hits)
    return Judgement(refused, tuple((w, hits) for w, hits in waived if hits), unused)


# ---------------------------------------------------------------- secrets and identity
# These refusals cannot be waived: the environment's grant and lifetime ceiling are the platform
# team's boundary, and a wildcarded trust would let any workload assume an agent's identity.
HARD_CODES = ("secret-outside-grant", "ttl-above-ceiling", "trust-wildcard", "image-not-pinned")


def secret_refusals(profile: AgentProfile, env: Environment) -> list[Refusal]:
    found: list[Refusal] = []
    backends = env.secret_backends
    for i, secret in enumerate(profile.secrets):
        if secret.aws is not None and backends.aws is not None:
            name = secret.aws.arn.split(":secret:", 1)[1]
            allowed = backends.aws.allowed_secret_prefixes
            if not any(name.startswith(prefix) for prefix in allowed):
                found.append(Refusal(
                    "secret-outside-grant",
                    f"secret '{name}' is outside this environment's grant (names starting with "
                    f"{', '.join(allowed)}); use a secret under those prefixes",
                    ("secrets", i, "aws", "arn"), ("secretBackends", "aws", "allowedSecretPrefixes")))
        if secret.vault is not None and backends.vault is not None:
            allowed = backends.vault.allowed_path_prefixes
            if not any(secret.vault.path.startswith(prefix) for prefix in allowed):
                found.append(Refusal(
                    "secret-outside-grant",
                    f"Vault path '{secret.vault.path}' is outside this environment's grant (paths under "
                    f"{', '.join(allowed)}); use a path under those prefixes",
                    ("secrets", i, "vault", "path"), ("secretBackends", "vault", "allowedPathPrefixes")))
    backend = profile.secret_backend
    if profile.credential_ttl is not None and backend is not None:
        ceiling, env_path = (
            (backends.aws.session_ceiling, ("secretBackends", "aws", "sessionCeiling")) if backend == "aws"
            else (backends.vault.token_ttl_ceiling, ("secretBackends", "vault", "tokenTtlCeiling")))
        if profile.credential_ttl > ceiling:
            found.append(Refusal(
                "ttl-above-ceiling",
                f"credentialTtl {profile.credential_ttl}s is above this environment's ceiling of {ceiling}s "
                f"for {backend} credentials; lower it to {ceiling} or less",
                ("credentialTtl",), env_path))
    if backend == "aws" and backends.aws is not None and backends.aws.oidc_provider \
            and any(ch in backends.aws.oidc_provider for ch in "*?"):
        found.append(Refusal(
            "trust-wildcard",
            f"the environment's oidcProvider '{backends.aws.oidc_provider}' contains a wildcard, so the role's "
            "trust would match other clusters' tokens; give the exact issuer",
            ("secrets",), ("secretBackends", "aws", "oidcProvider")))
    return found
