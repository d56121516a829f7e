"""Format what happened as a human table or as JSON data. No printing here (cli.py prints)."""

from __future__ import annotations

from typing import Any

from blueprint.errors import BlueprintError
from blueprint.gates.result import GateResult
from blueprint.plan.objects import AgentPlan, EgressRule, EnvironmentPlan


def _egress_summary(rule: EgressRule) -> str:
    ports = ",".join(f"{p.port}/{p.protocol}" for p in rule.ports)
    peers = []
    for peer in rule.peers:
        if peer.cidr:
            peers.append(peer.cidr)
        else:
            ns = ",".join(f"{k}={v}" for k, v in peer.namespace_labels)
            pod = ",".join(f"{k}={v}" for k, v in peer.pod_labels)
            peers.append(f"ns[{ns}]" + (f" pods[{pod}]" if pod else ""))
    return f"{rule.why}: {' '.join(peers)} :{ports}"


def _secrets_summary(agent: AgentPlan) -> str:
    secrets = agent.secrets
    if secrets is None:
        return "none"
    identity = f"IAM role ({secrets.aws.mode})" if secrets.aws else "Vault role"
    return f"{len(secrets.objects)} via {identity}, {secrets.lifetime_seconds}s"


def _secrets_data(agent: AgentPlan) -> dict[str, Any] | None:
    secrets = agent.secrets
    if secrets is None:
        return None
    identity: dict[str, Any]
    if secrets.aws:
        identity = {"kind": "aws-iam-role", "mode": secrets.aws.mode, "role_arn": secrets.aws.role_arn,
                    "max_session_seconds": secrets.aws.max_session}
    else:
        assert secrets.vault is not None
        identity = {"kind": "vault-role", "role": secrets.vault.role_name, "policy": secrets.vault.policy_name,
                    "token_ttl_seconds": secrets.vault.token_ttl, "token_max_ttl_seconds": secrets.vault.token_max_ttl}
    return {"backend": secrets.backend, "secret_provider_class": secrets.spc_name,
            "objects": [{"name": o.name, "file": o.file, "reference": o.reference, "key": o.key} for o in secrets.objects],
            "identity": identity, "lifetime_seconds": secrets.lifetime_seconds}


def agent_data(agent: AgentPlan) -> dict[str, Any]:
    return {
        "name": agent.name,
        "profile": agent.source_file,
        "owner": agent.owner,
        "namespace": agent.namespace,
        "service_account": agent.service_account,
        "rbac": [
            {"namespace": role.namespace, "cluster_scoped": role.cluster,
             "rules": [{"api_groups": list(r.api_groups), "resources": list(r.resources),
                        "verbs": list(r.verbs), "resource_names": list(r.resource_names)} for r in role.rules]}
            for role in agent.roles
        ],
        "egress": [_egress_summary(rule) for rule in agent.egress],
        "quota": dict(agent.quota.hard),
        "secrets": _secrets_data(agent),
        "exceptions": [{"name": e.name, "waives": e.waives, "reason": e.reason, "waived": list(e.waived)}
                       for e in agent.exceptions],
        "beyond_base": list(agent.widening),
    }


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), *(line(r) for r in rows)]


def plan_text(plan: EnvironmentPlan) -> list[str]:
    rows = []
    for agent in plan.agents:
        rbac = "; ".join(
            f"{role.namespace or 'cluster'}: {sum(len(r.verbs) * len(r.resources) * len(r.api_groups) for r in role.rules)} grants"
            for role in agent.roles) or "none"
        egress = ", ".join(rule.why.replace("destination ", "") for rule in agent.egress)
        quota = dict(agent.quota.hard)
        rows.append([agent.name, agent.namespace, rbac, egress,
                     f"{quota['limits.cpu']} cpu / {quota['limits.memory']} x{quota['pods']} pods",
                     _secrets_summary(agent), str(len(agent.exceptions))])
    out = [f"Environment {plan.env}: {len(plan.agents)} agents", ""]
    out += _table(["AGENT", "NAMESPACE", "KUBERNETES API", "EGRESS", "QUOTA (limits)", "SECRETS (credential lifetime)",
                   "EXCEPTIONS"], rows)
    exceptions = [(a.name, e) for a in plan.agents for e in a.exceptions]
    if exceptions:
        out += ["", "Exceptions (each waives a least-privilege refusal; review the reason):"]
        for agent, e in exceptions:
            out.append(f"  {agent}: {e.name} waives {', '.join(e.waived)}")
            out.append(f"      reason: {' '.join(e.reason.split())}")
    widening = [(a.name, w) for a in plan.agents for w in a.widening]
    if widening:
        out += ["", "Grants beyond the shared base profile:"]
        out += [f"  {agent}: {w}" for agent, w in widening]
    platform = platform_data(plan)
    if platform:
        out += ["", "Platform add-ons (stage platform):"]
        if "secrets_store_csi" in platform:
            csi = platform["secrets_store_csi"]
            out.append(f"  Secrets Store CSI driver {csi['driver_chart']} in {csi['namespace']}, providers: "
                       f"{', '.join(csi['providers'])}")
        if "agent_sandbox" in platform:
            sc = platform["agent_sandbox"]
            out.append(f"  agent-sandbox controller {sc['release']} in {sc['namespace']} (assets "
                       f"{', '.join(sc['assets'])}, verified by sha256), egress: dns, api-server")
            out += [f"  WARNING: {w}" for w in sc["warnings"]]
    return out


def platform_data(plan: EnvironmentPlan) -> dict[str, Any]:
    """What the platform stage installs, and what an operator must still replace."""
    out: dict[str, Any] = {}
    if plan.csi is not None:
        out["secrets_store_csi"] = {
            "namespace": plan.csi.namespace, "driver_chart": plan.csi.driver_chart,
            "providers": [name for name, chart in (("vault", plan.csi.vault_chart), ("aws", plan.csi.aws_chart))
                          if chart]}
    sc = plan.sandbox_controller
    if sc is not None:
        warnings = []
        if sc.checksums_are_placeholders:
            warnings.append("the agent-sandbox release checksums are example placeholders: the platform apply "
                            "refuses the release until runtime.sandboxController.assets holds the real sha256 sums")
        if sc.image_is_placeholder:
            warnings.append("the agent-sandbox controller image digest is an example placeholder: set "
                            "runtime.sandboxController.image to the release's digest")
        out["agent_sandbox"] = {"namespace": sc.namespace, "release": sc.release, "image": sc.image,
                                "assets": [f for f, _ in sc.assets], "warnings": warnings}
    return out


def gates_text(gates: list[GateResult]) -> list[str]:
    rows = [[g.gate, "pass" if g.ok else "FAIL", str(g.checks_passed), str(len(g.findings)),
             f"{g.seconds:.2f}s", g.detail] for g in gates]
    out = ["", "Gates:"] + _table(["GATE", "RESULT", "PASSED", "FAILED", "TIME", "DETAIL"], rows)
    findings = [f for g in gates for f in g.findings]
    if findings:
        out += ["", "Findings:"]
        for f in findings:
            where = f"{f.file}:{f.line}" if f.line else f.file
            out.append(f"  [{f.gate}] {f.check_id} {f.resource or ''} {where}: {f.message}".replace("  ", " ", 1))
    return out


def error_data(error: BlueprintError) -> dict[str, Any]:
    kind = {2: "invalid-input", 1: "refused", 3: "tool"}.get(error.exit_code, "error")
    return {
        "ok": False,
        "exit_code": error.exit_code,
        "error": kind,
        "problems": [
            {"file": p.location.file, "line": p.location.line, "column": p.location.column,
             "path": p.location.path, "message": p.message} for p in error.problems
        ] or [{"message": error.text}],
    }
