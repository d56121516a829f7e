"""Cross-layer consistency: the Kubernetes identity, the cloud/Vault identity, the grant and the
SecretProviderClass must agree, read from the emitted files of every stage.

No single tool sees all of these at once: checkov checks each block alone, terraform validate
one root at a time. A role trusting the wrong ServiceAccount, a grant wider than what is mounted,
or a mount the grant does not cover all pass those checks; they fail here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import yaml

from blueprint.hcl_reader import Resource, block, blocks
from blueprint.gates.result import Finding, GateResult
from blueprint.models import AgentProfile, Environment
from blueprint.models.types import NAMESPACE_PREFIX

GATE = "consistency"
LIFETIME_GATE = "credential-lifetime"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
_VAULT_RULE = re.compile(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}')


@dataclass(frozen=True)
class Lifetime:
    agent: str
    backend: str
    seconds: int | None
    ceiling: int

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.seconds <= self.ceiling


def _index(resources: list[Resource]) -> dict[tuple[str, str, str], Resource]:
    """(stage, type, name) -> resource; data sources use the type 'data.<type>'."""
    return {(r.file.split("/", 1)[0], ("data." if r.mode == "data" else "") + r.type, r.name): r for r in resources}


def _spc_objects(spc: Resource) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    manifest = spc.body.get("manifest", {})
    spec = manifest.get("spec", {}) if isinstance(manifest, dict) else {}
    parameters = spec.get("parameters", {}) if isinstance(spec, dict) else {}
    try:
        objects = yaml.safe_load(parameters.get("objects", "")) or []
    except yaml.YAMLError:
        objects = []
    return manifest, objects if isinstance(objects, list) else []


class _Checker:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.passed = 0

    def expect(self, ok: bool, check_id: str, message: str, res: Resource | None, fallback: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.findings.append(Finding(GATE, check_id, message, res.file if res else fallback,
                                         res.address if res else ""))


def _statement_conditions(doc: Resource) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [(s, blocks(s, "condition")) for s in blocks(doc.body, "statement")]


def _expect_mount_grant(c: _Checker, mounted: set, declared: set, granted: set, grant: Resource | None,
                        where: str, label: str) -> None:
    """What the SecretProviderClass mounts is exactly what the profile declares and the policy grants."""
    c.expect(mounted == declared, "CONS_MOUNT_DECLARED",
             f"mounted {sorted(mounted - declared)} not declared; declared {sorted(declared - mounted)} not mounted",
             None, f"agents-crd/agent_{label}.tf")
    c.expect(granted == mounted, "CONS_GRANT_EQUALS_MOUNT",
             f"granted but not mounted {sorted(granted - mounted)}; mounted but not granted {sorted(mounted - granted)}",
             grant, where)


def _check_aws(c: _Checker, idx, profile: AgentProfile, env: Environment, label: str, ns: str,
               sa_res: Resource | None, spc_objects: list[dict[str, Any]]) -> int | None:
    aws = env.secret_backends.aws
    assert aws is not None
    role_name = aws.role_name(env.name, profile.name)
    role_arn = f"arn:aws:iam::{aws.account_id}:role/{role_name}"
    role = idx.get(("identity-aws", "aws_iam_role", label))
    trust = idx.get(("identity-aws", "data.aws_iam_policy_document", f"{label}__trust"))
    grant = idx.get(("identity-aws", "data.aws_iam_policy_document", f"{label}__secrets"))
    where = f"identity-aws/agent_{label}.tf"
    c.expect(role is not None and role.body.get("name") == role_name, "CONS_AWS_ROLE",
             f"agent {profile.name} needs IAM role {role_name}", role, where)
    annotations = (block(sa_res.body, "metadata").get("annotations", {}) or {}) if sa_res else {}
    subject = f"system:serviceaccount:{ns}:{profile.name}"
    if aws.identity == "irsa":
        c.expect(annotations.get(IRSA_ANNOTATION) == role_arn, "CONS_IRSA_ANNOTATION",
                 f"the ServiceAccount's {IRSA_ANNOTATION} must be {role_arn}", sa_res, f"agents/agent_{label}.tf")
        conditions = [(s, cs) for s, cs in _statement_conditions(trust)] if trust else []
        web = [s for s, _ in conditions if "sts:AssumeRoleWithWebIdentity" in s.get("actions", [])]
        c.expect(len(web) == 1 and len(conditions) == 1, "CONS_IRSA_TRUST",
                 "the trust must hold exactly one AssumeRoleWithWebIdentity statement", trust, where)
        for statement in web:
            got = {(cond.get("test"), cond.get("variable")): cond.get("values") for cond in blocks(statement, "condition")}
            issuer = aws.oidc_provider
            c.expect(got.get(("StringEquals", f"{issuer}:sub")) == [subject], "CONS_IRSA_SUBJECT",
                     f"the trust's sub must be exactly {subject} (StringEquals)", trust, where)
            c.expect(got.get(("StringEquals", f"{issuer}:aud")) == ["sts.amazonaws.com"], "CONS_IRSA_AUDIENCE",
                     "the trust's aud must be exactly sts.amazonaws.com (StringEquals)", trust, where)
            c.expect(set(got) == {("StringEquals", f"{issuer}:sub"), ("StringEquals", f"{issuer}:aud")},
                     "CONS_IRSA_CONDITIONS", f"unexpected trust conditions {sorted(map(str, got))}", trust, where)
    else:
        c.expect(IRSA_ANNOTATION not in annotations, "CONS_IRSA_ANNOTATION",
                 "a Pod Identity agent's ServiceAccount must not carry an IRSA annotation", sa_res, where)
        assoc = idx.get(("identity-aws", "aws_eks_pod_identity_association", label))
        ok = assoc is not None and assoc.body.get("namespace") == ns and assoc.body.get("service_account") == profile.name \
            and assoc.body.get("role_arn") == role_arn and assoc.body.get("cluster_name") == aws.eks_cluster
        c.expect(ok, "CONS_POD_IDENTITY", f"the Pod Identity association must bind {ns}/{profile.name} to {role_arn}",
                 assoc, where)
    granted: set[str] = set()
    kms: set[str] = set()
    for statement in blocks(grant.body, "statement") if grant else []:
        if "secretsmanager:GetSecretValue" in statement.get("actions", []):
            granted |= set(statement.get("resources", []))
        if "kms:Decrypt" in statement.get("actions", []):
            kms |= set(statement.get("resources", []))
    _expect_mount_grant(c, {o.get("objectName") for o in spc_objects}, {s.aws.arn for s in profile.secrets if s.aws},
                        granted, grant, where, label)
    c.expect(kms == {s.aws.kms_key_arn for s in profile.secrets if s.aws and s.aws.kms_key_arn}, "CONS_KMS_DECLARED",
             f"kms:Decrypt is granted on {sorted(kms)}, not exactly the declared keys", grant, where)
    session = role.body.get("max_session_duration") if role else None
    return session if isinstance(session, int) else None


def _check_vault(c: _Checker, idx, profile: AgentProfile, env: Environment, label: str, ns: str,
                 manifest: dict[str, Any], spc_objects: list[dict[str, Any]]) -> int | None:
    vault = env.secret_backends.vault
    assert vault is not None
    where = f"identity-vault/agent_{label}.tf"
    role = idx.get(("identity-vault", "vault_kubernetes_auth_backend_role", label))
    policy = idx.get(("identity-vault", "vault_policy", label))
    body = role.body if role else {}
    c.expect(body.get("bound_service_account_names") == [profile.name]
             and body.get("bound_service_account_namespaces") == [ns], "CONS_VAULT_BOUND_SA",
             f"the Vault role must be bound to exactly {ns}/{profile.name}", role, where)
    c.expect(body.get("audience") == vault.audience, "CONS_VAULT_AUDIENCE",
             f"the Vault role's audience must be {vault.audience}", role, where)
    c.expect(body.get("token_policies") == [policy.body.get("name") if policy else None], "CONS_VAULT_POLICY",
             "the Vault role must carry exactly the agent's own policy", role, where)
    parameters = (manifest.get("spec", {}) or {}).get("parameters", {}) if isinstance(manifest, dict) else {}
    c.expect(parameters.get("roleName") == body.get("role_name"), "CONS_VAULT_SPC_ROLE",
             "the SecretProviderClass must log in with the agent's Vault role", role, where)
    rules = _VAULT_RULE.findall(policy.body.get("policy", "")) if policy else []
    granted = {path for path, caps in rules}
    c.expect(all(caps.replace(" ", "") == '"read"' for _, caps in rules), "CONS_VAULT_READ_ONLY",
             "the Vault policy may only grant read", policy, where)
    _expect_mount_grant(c, {o.get("secretPath") for o in spc_objects}, {s.vault.path for s in profile.secrets if s.vault},
                        granted, policy, where, label)
    ttls = [body.get("token_ttl"), body.get("token_max_ttl")]
    return max(ttls) if all(isinstance(t, int) for t in ttls) else None


def check_consistency(resources: list[Resource], profiles: list[AgentProfile], env: Environment) -> tuple[GateResult, GateResult, list[Lifetime]]:
    """The consistency gate and the credential-lifetime gate, from one pass over the output."""
    started = time.perf_counter()
    c = _Checker()
    idx = _index(resources)
    lifetimes: list[Lifetime] = []
    for profile in profiles:
        label = profile.name.replace("-", "_")
        ns = NAMESPACE_PREFIX + profile.name
        sa_res = idx.get(("agents", "kubernetes_service_account_v1", label))
        spc = idx.get(("agents-crd", "kubernetes_manifest", f"{label}__secrets"))
        backend = profile.secret_backend
        if backend is None:
            c.expect(spc is None, "CONS_NO_UNDECLARED_MOUNT", "a SecretProviderClass for an agent without secrets",
                     spc)
            annotations = (block(sa_res.body, "metadata").get("annotations", {}) or {}) if sa_res else {}
            c.expect(IRSA_ANNOTATION not in annotations, "CONS_IRSA_ANNOTATION",
                     "an agent without secrets must not carry a cloud identity", sa_res)
            continue
        manifest, objects = _spc_objects(spc) if spc else ({}, [])
        meta = manifest.get("metadata", {}) if isinstance(manifest, dict) else {}
        c.expect(spc is not None and meta.get("namespace") == ns, "CONS_SPC_NAMESPACE",
                 f"the SecretProviderClass must live in {ns}", spc, f"agents-crd/agent_{label}.tf")
        if backend == "aws":
            seconds = _check_aws(c, idx, profile, env, label, ns, sa_res, objects)
            ceiling = env.secret_backends.aws.session_ceiling  # type: ignore[union-attr]
        else:
            seconds = _check_vault(c, idx, profile, env, label, ns, manifest, objects)
            ceiling = env.secret_backends.vault.token_ttl_ceiling  # type: ignore[union-attr]
        lifetimes.append(Lifetime(profile.name, backend, seconds, ceiling))
    consistency = GateResult(GATE, c.passed, c.findings, time.perf_counter() - started)
    lifetime_findings = [
        Finding(LIFETIME_GATE, "LIFETIME_CEILING",
                f"{lt.agent}: {lt.backend} credentials live {lt.seconds}s, above the ceiling of {lt.ceiling}s"
                if lt.seconds is not None else f"{lt.agent}: no literal credential lifetime found",
                resource=lt.agent)
        for lt in lifetimes if not lt.ok
    ]
    detail = "; ".join(f"{lt.agent} {lt.backend} {lt.seconds}s <= {lt.ceiling}s" for lt in lifetimes if lt.ok)
    lifetime = GateResult(LIFETIME_GATE, len(lifetimes) - len(lifetime_findings), lifetime_findings, 0.0,
                          detail=detail or "no agent has secrets")
    return consistency, lifetime, lifetimes
