"""Least privilege by refusal: each refusal names the profile line (and the environment line for
destinations), can be waived only by a named exception with a reason, and shows in the plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit

from blueprint.errors import RefusedError
from blueprint.pipeline import render


def refusals(envs: Path, env: str = "prod") -> list[str]:
    with pytest.raises(RefusedError) as info:
        render(envs, env)
    return [str(p).replace(str(envs) + "/", "") for p in info.value.problems]


RULE = "    - apiGroups: [{group}]\n      resources: [{resources}]\n      verbs: [{verbs}]\n"


def add_rule(envs: Path, group: str = '""', resources: str = "pods", verbs: str = "get", extra: str = "") -> Path:
    profile = envs / "prod/agents/customer-support.yaml"
    profile.write_text(profile.read_text() + "kubernetes:\n  rules:\n" + RULE.format(
        group=group, resources=resources, verbs=verbs) + extra)
    return profile


def test_examples_render(envs: Path) -> None:
    for env in ("dev", "staging", "prod"):
        assert render(envs, env).files


def test_wildcard_verb_names_the_line(envs: Path) -> None:
    add_rule(envs, verbs='get, "*"')
    assert refusals(envs) == [
        "prod/agents/customer-support.yaml:24:20: kubernetes.rules[0].verbs[1]: [wildcard] wildcard verbs '*' "
        "grants everything now and whatever is added later; list the exact verbs the agent needs, or add an "
        "exception {name: ..., waives: wildcard, reason: ...} to the profile",
        # A waiver of `wildcard` alone must not grant escalate, bind and impersonate.
        "prod/agents/customer-support.yaml:24:20: kubernetes.rules[0].verbs[1]: [escalation-verb] verb '*' lets "
        "the agent grant itself more than this profile allows (it includes escalate, bind and impersonate; remove "
        "it), or add an exception {name: ..., waives: escalation-verb, reason: ...} to the profile",
    ]


@pytest.mark.parametrize("field,text,code", [
    ("group", '"*"', "wildcard"),
    ("resources", '"*"', "wildcard+unnamed-secret-read"),
    ("resources", '"pods/*"', "wildcard"),
    ("verbs", "escalate", "escalation-verb"),
    ("verbs", "bind", "escalation-verb"),
    ("verbs", "impersonate", "escalation-verb"),
    ("resources", "secrets", "unnamed-secret-read"),
    ("resources", "serviceaccounts/token", "unnamed-secret-read"),
    ("resources", "nodes", "cluster-scope"),
])
def test_each_rbac_refusal(envs: Path, field: str, text: str, code: str) -> None:
    add_rule(envs, **{field: text})
    got = refusals(envs)
    assert [g.split(": ")[2].split("]")[0].lstrip("[") for g in got] == code.split("+"), got


def test_secret_read_by_name_is_allowed(envs: Path) -> None:
    add_rule(envs, resources="secrets", extra="      resourceNames: [support-kb-token]\n")
    plan = render(envs, "prod").plan
    agent = {a.name: a for a in plan.agents}["customer-support"]
    assert agent.roles[0].rules[0].resource_names == ("support-kb-token",)


def test_cluster_scope_refused_then_waived_into_a_cluster_role(envs: Path) -> None:
    profile = add_rule(envs, resources="nodes", extra="      scope: cluster\n")
    got = refusals(envs)
    assert [g.split(": ")[1] for g in got] == ["kubernetes.rules[0].scope"]
    profile.write_text(profile.read_text() + (
        "exceptions:\n  - name: node-inventory\n    waives: cluster-scope\n"
        "    reason: Reads node names for capacity reports; approved by platform team.\n"))
    result = render(envs, "prod")
    agent = {a.name: a for a in result.plan.agents}["customer-support"]
    assert [r.cluster for r in agent.roles] == [True]
    text = result.files["agents/agent_customer_support.tf"]
    assert 'resource "kubernetes_cluster_role_v1" "customer_support__cluster"' in text
    assert 'resource "kubernetes_cluster_role_binding_v1" "customer_support__cluster"' in text
    assert agent.exceptions[0].waived == ("cluster-scope",)


def test_world_egress_names_both_lines(envs: Path) -> None:
    edit(envs / "prod/environment.yaml", "cidrs: [192.0.2.10/32]", "cidrs: [0.0.0.0/0]")
    got = [g for g in refusals(envs) if g.startswith("_shared/customer-support.yaml")]
    assert got[0] == (
        "_shared/customer-support.yaml:11:5: egress[0]: [egress-world] egress to 'llm-api' (0.0.0.0/0) reaches "
        "the whole internet; reach the service through a fixed private endpoint CIDR or an egress proxy "
        "destination, or add an exception {name: ..., waives: egress-world, destination: llm-api, reason: ...} "
        "to the profile (destination defined at prod/environment.yaml:28:13 destinations.llm-api.cidrs[0])"
    )


@pytest.mark.parametrize("cidr,code", [
    ("::/0", "egress-world"),
    ("192.0.2.0/27", "egress-too-wide"),
    ("169.254.169.254/32", "egress-metadata"),
    ("10.192.4.0/28", "egress-cluster-overlap"),
    ("10.224.0.10/32", "egress-cluster-overlap"),
    ("10.48.1.0/28", "egress-cluster-overlap"),
    ("203.0.113.30/32", "egress-api-server"),
])
def test_each_egress_refusal(envs: Path, cidr: str, code: str) -> None:
    edit(envs / "prod/environment.yaml", "cidrs: [192.0.2.10/32]", f'cidrs: ["{cidr}"]')
    got = refusals(envs)
    # Every agent using llm-api is refused with this code (a wider CIDR may break more rules too).
    users = {g.split(":")[0] for g in got if f"[{code}]" in g}
    assert users == {"_shared/customer-support.yaml", "_shared/cluster-triage.yaml", "_shared/research.yaml",
                     "_shared/code-interpreter.yaml"}, got


def test_exception_waives_only_its_destination_and_shows(envs: Path) -> None:
    plan = render(envs, "dev").plan
    research = {a.name: a for a in plan.agents}["research"]
    assert [(e.name, e.waives, e.waived) for e in research.exceptions] == [
        ("dev-search-sandbox-pool", "egress-too-wide", ("egress-too-wide (search-sandbox)",))]
    edit(envs / "dev/agents/research.yaml", "destination: search-sandbox", "destination: llm-api")
    got = refusals(envs, "dev")
    assert any("[egress-too-wide] egress to 'search-sandbox'" in g for g in got)
    assert any("[unused-exception] exception 'dev-search-sandbox-pool' waives nothing" in g for g in got)


def test_exception_needs_a_reason(envs: Path) -> None:
    from blueprint.errors import InputError
    edit(envs / "dev/agents/research.yaml", "    reason: >-\n", "    reason: ok\n    x: >-\n")
    with pytest.raises(InputError):
        render(envs, "dev")


def test_widening_beyond_base_is_reported(envs: Path) -> None:
    plan = render(envs, "dev").plan
    widening = {a.name: a.widening for a in plan.agents}
    assert widening["research"] == (
        "egress to search-sandbox", "exception dev-search-sandbox-pool waives egress-too-wide for search-sandbox",
        "secret search-api-token (vault:secret/data/dev/research/search-api#token)")
    assert widening["cluster-triage"] == (
        "get, list, watch events (namespace sandbox)", "get, list, watch pods (namespace sandbox)",
        "get, list, watch pods/log (namespace sandbox)")
    assert widening["customer-support"] == (
        "secret llm-api-key (arn:aws:secretsmanager:eu-west-1:111122223333:secret:dev/customer-support/llm-api-key-Ab12Cd)",)
    prod = {a.name: a.widening for a in render(envs, "prod").plan.agents}
    assert prod["customer-support"][-1] == "max pods 2 -> 4"
