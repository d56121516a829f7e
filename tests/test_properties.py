"""Property tests: for any valid profile, the output parses, is deterministic, never grants a
wildcard, never egresses outside the declared destinations, and free text comes back literally."""

from __future__ import annotations

import os

from conftest import ENVIRONMENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.emit.terraform import emit_environment
from blueprint.hcl_reader import ParsedFile, block, blocks, parse_text, resources
from blueprint.gates.invariants import check_invariants
from blueprint.loader import load_environment
from blueprint.models import AgentProfile
from blueprint.plan.build import plan_agent, plan_environment
from blueprint.plan.least_privilege import judge

ENV = load_environment(ENVIRONMENTS, "dev").environment
PROD = load_environment(ENVIRONMENTS, "prod").environment
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


aws_secret = st.builds(
    lambda name, suffix: {"name": name, "aws": {"arn": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/{name}-{suffix}"}},
    names, st.from_regex(r"[A-Za-z0-9]{6}", fullmatch=True))
vault_secret = st.builds(
    lambda name, key: {"name": name, "vault": {"path": f"secret/data/prod/{name}", "key": key}},
    names, st.from_regex(r"[a-z_]{1,10}", fullmatch=True))
secret_profiles = st.one_of(
    st.tuples(st.just("aws"), st.lists(aws_secret, min_size=1, max_size=4, unique_by=lambda s: s["name"])),
    st.tuples(st.just("vault"), st.lists(vault_secret, min_size=1, max_size=4, unique_by=lambda s: s["name"])),
)


@PROFILE_SETTINGS
@given(profiles, secret_profiles, st.one_of(st.none(), st.integers(60, 600)))
def test_secrets_are_granted_exactly_as_mounted_and_never_outlive_the_ceiling(data: dict, secrets, ttl) -> None:
    from blueprint.gates.consistency import check_consistency

    backend, items = secrets
    data = {**data, "secrets": items, "egress": []}
    if ttl is not None:
        data["credentialTtl"] = ttl
    profile = AgentProfile.model_validate(data)
    judgement = judge(profile, PROD)
    assert not judgement.refused, judgement.refused
    agent = plan_agent(profile, PROD, judgement, "generated.yaml")
    files = emit_environment(plan_environment(PROD, "environment.yaml", [agent]))
    blocks = [b for path, t in files.items() for b in resources(ParsedFile(path, parse_text(t, path)), ("managed", "data"))]
    consistency, lifetime, lifetimes = check_consistency(blocks, [profile], PROD)
    # No grant without use, no use without grant, the trust subject exact: all checked from the files.
    assert consistency.findings == [] and lifetime.findings == []
    (lt,) = lifetimes
    assert lt.seconds is not None and lt.seconds <= lt.ceiling
    if backend == "aws":
        trust = next(b for b in blocks if b.address.endswith("__trust"))
        conditions = {c["variable"].rsplit(":", 1)[1]: c["values"] for c in blocks_of(trust)}
        assert conditions == {"sub": [f"system:serviceaccount:agent-{profile.name}:{profile.name}"],
                              "aud": ["sts.amazonaws.com"]}


def blocks_of(trust):
    return [c for s in blocks(trust.body, "statement") for c in blocks(s, "condition")]
