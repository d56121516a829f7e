"""Property tests: for any valid profile, the output parses, is deterministic, never grants a
wildcard, never egresses outside the declared destinations, and free text comes back literally."""

from __future__ import annotations

import os

from conftest import ENVIRONMENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.emit.terraform import emit_environment
from blueprint.gates.hcl_reader import ParsedFile, block, blocks, parse_text, resources
from blueprint.gates.invariants import check_invariants
from blueprint.loader import load_environment
from blueprint.models import AgentProfile
from blueprint.plan.build import plan_agent, plan_environment
from blueprint.plan.least_privilege import judge

ENV = load_environment(ENVIRONMENTS, "dev").environment
PROFILE_SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
)

names = st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
verbs = st.lists(st.sampled_from(["get", "list", "watch", "create", "update", "patch", "delete"]),
                 min_size=1, max_size=7, unique=True)
rule = st.fixed_dictionaries(
    {
        "apiGroups": st.lists(st.sampled_from(["", "apps", "batch", "events.k8s.io"]), min_size=1, max_size=2, unique=True),
        "resources": st.lists(st.sampled_from(["pods", "pods/log", "configmaps", "deployments", "jobs", "events"]),
                              min_size=1, max_size=3, unique=True),
        "verbs": verbs,
    },
    optional={
        "namespace": names,
        "resourceNames": st.lists(names, min_size=1, max_size=2, unique=True),
    },
)
text = st.text(max_size=80)
profiles = st.fixed_dictionaries(
    {
        "apiVersion": st.just("blueprint.dev/v1alpha1"),
        "kind": st.just("AgentProfile"),
        "name": names,
        "owner": st.just("team@example.com"),
        "description": text,
        "kubernetes": st.fixed_dictionaries({"rules": st.lists(rule, max_size=3)}),
        "egress": st.lists(st.sampled_from(["llm-api", "web-proxy"]), max_size=2, unique=True),
        "resources": st.fixed_dictionaries({
            "requests": st.just({"cpu": "100m", "memory": "128Mi"}),
            "limits": st.fixed_dictionaries({"cpu": st.sampled_from(["100m", "1", "2"]),
                                             "memory": st.sampled_from(["128Mi", "1Gi"]),
                                             "gpu": st.integers(0, 2)}),
            "maxPods": st.integers(1, 5),
        }),
    }
)


def _render(data: dict) -> tuple[AgentProfile, dict[str, str]]:
    profile = AgentProfile.model_validate(data)
    judgement = judge(profile, ENV)
    assert not judgement.refused, judgement.refused
    agent = plan_agent(profile, ENV, judgement, "generated.yaml")
    return profile, emit_environment(plan_environment(ENV, "environment.yaml", [agent]))


@PROFILE_SETTINGS
@given(profiles)
def test_any_valid_profile_yields_gated_output(data: dict) -> None:
    profile, files = _render(data)
    parsed = [r for path, t in files.items() for r in resources(ParsedFile(path, parse_text(t, path)))]
    # Deterministic: a second render is byte-identical.
    assert _render(data)[1] == files
    # Never a wildcard, and only the declared rules (the invariants compare against the inputs).
    result = check_invariants(parsed, [profile], ENV)
    assert result.findings == []
    for res in parsed:
        for r in blocks(res.body, "rule"):
            assert "*" not in r["verbs"] + r["resources"] + r["api_groups"]
        if res.type == "kubernetes_service_account_v1":
            assert res.body["automount_service_account_token"] is False
    # Egress only to DNS, the API server (only with rules) and declared destinations.
    cidrs = {b["cidr"] for res in parsed if res.type == "kubernetes_network_policy_v1"
             for e in blocks(block(res.body, "spec"), "egress") for to in blocks(e, "to")
             for b in blocks(to, "ip_block")}
    allowed = {c for d in profile.egress for c in ENV.destinations[d].cidrs}
    if profile.kubernetes.rules:
        allowed |= set(ENV.cluster.api_server.cidrs)
    assert cidrs <= allowed
    # Free text comes back literally, `${` and `%{` included.
    namespace = next(r for r in parsed if r.type == "kubernetes_namespace_v1")
    annotations = block(namespace.body, "metadata").get("annotations", {})
    assert annotations.get("blueprint.dev/description", "") == profile.description
