"""explain: each agent's effective permissions, read back from the emitted files, located at the input
line responsible, tagged with the threats they mitigate; per-agent coverage; exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, edit

from blueprint import pipeline, writer
from blueprint.cli import main
from blueprint.errors import InputError
from blueprint.explain import coverage, explain_environment, threats_of
from blueprint.permissions import AgentPermissions, read_output


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dev() -> dict[str, AgentPermissions]:
    return {p.agent: p for p in explain_environment(ENVIRONMENTS, "dev").agents}


def facts(perms: AgentPermissions, layer: str) -> dict[tuple, object]:
    return {f.key: f for f in perms.layer(layer)}


def test_research_egress_is_read_from_the_files_and_named_and_located(dev) -> None:
    egress = facts(dev["research"], "egress")
    cidrs = {f.data["cidr"]: f for f in egress.values() if f.data["cidr"]}
    assert set(cidrs) == {"192.0.2.10/32", "198.51.100.0/24"}
    sandbox = cidrs["198.51.100.0/24"]
    assert sandbox.data["destination"] == "search-sandbox" and sandbox.data["port"] == 443
    assert sandbox.location.file.endswith("environments/dev/agents/research.yaml")
    assert (sandbox.location.line, sandbox.location.path) == (10, "egress[2]")
    # web-proxy is an in-cluster destination: a selector peer, on the proxy's port.
    proxy = egress[("ns[kubernetes.io/metadata.name=egress-proxy] pods[app.kubernetes.io/name=egress-proxy]", "3128/TCP")]
    assert proxy.data["destination"] == "web-proxy" and proxy.location.path == "egress[0]"
    # No Kubernetes API rules: no API-server egress and no token.
    assert not any(f.data["destination"] == "api-server" for f in egress.values())
    assert dev["research"].layer("token")[0].value == "none"


def test_rbac_grants_point_at_the_rule_that_asked_for_them(dev) -> None:
    rbac = facts(dev["cluster-triage"], "kubernetes-api")
    verbs = {(k[0], k[2], k[4]) for k in rbac}
    assert ("namespace sandbox", "pods/log", "watch") in verbs and ("namespace shop", "pods", "get") in verbs
    assert not any(k[4] in ("create", "delete", "update", "patch") for k in rbac)
    sandbox = rbac[("namespace sandbox", "", "pods", "", "list")]
    assert sandbox.location.file.endswith("dev/agents/cluster-triage.yaml")
    assert (sandbox.location.line, sandbox.location.path) == (21, "kubernetes.rules[3]")
    shop_events = rbac[("namespace shop", "events.k8s.io", "events", "", "get")]
    assert shop_events.location.path == "kubernetes.rules[2]"
    # API rules bring the API server egress and a projected token (600 s), nothing longer.
    token = dev["cluster-triage"].layer("token")[0]
    assert token.value == "projected 600 s" and token.rank == 600
    assert any(f.data["destination"] == "api-server" and f.data["cidr"] == "203.0.113.10/32"
               for f in dev["cluster-triage"].layer("egress"))


def test_code_interpreter_runs_per_session_and_only_the_broker_claims_sandboxes(dev) -> None:
    perms = dev["code-interpreter"]
    isolation = facts(perms, "isolation")
    assert isolation[("isolation",)].value == "per-session"
    assert isolation[("isolation",)].location.path == "runtime.isolation"
    assert isolation[("isolation",)].location.file.endswith("_shared/code-interpreter.yaml")
    assert facts(perms, "resources")[("warm-pool",)].value == "0"
    broker = perms.layer("session-broker")
    assert {f.data["verb"] for f in broker} == {"create", "get", "delete"}
    assert {f.data["subject"] for f in broker} == {"agent-platform/session-broker"}
    assert {f.data["resource"] for f in broker} == {"sandboxclaims"}
    assert perms.layer("kubernetes-api") == []  # the agent itself has no API access
    assert facts(dev["research"], "isolation")[("isolation",)].value == "shared"


def test_secrets_identity_and_lifetimes(dev) -> None:
    support = dev["customer-support"]
    (secret,) = support.layer("secrets")
    assert secret.data["reference"].endswith(":secret:dev/customer-support/llm-api-key-Ab12Cd")
    assert secret.data["identity"] == "blueprint-dev-customer-support"
    assert secret.location.path == "secrets[0]" and secret.location.line == 8
    (identity,) = support.layer("identity")
    assert identity.data["service_account"] == "agent-customer-support/customer-support"
    assert support.layer("credential-lifetime")[0].rank == 3600
    research = dev["research"]
    (vault,) = research.layer("secrets")
    assert vault.key == ("vault", "secret/data/dev/research/search-api", "read")
    lifetime = research.layer("credential-lifetime")[0]
    assert lifetime.rank == 900 and lifetime.location.path == "secretBackends.vault.tokenTtlCeiling"
    (exception,) = research.layer("exceptions")
    assert exception.data["waives"] == "egress-too-wide" and exception.location.path == "exceptions[0]"


def test_threat_coverage_names_the_gaps(dev) -> None:
    research = {c.threat: c for c in coverage(dev["research"])}
    assert not research["repudiation"].covered and "runtime.tracing is off" in research["repudiation"].why_none
    assert {f.layer for f in research["data-exfiltration"].controls} == {"egress", "network"}
    assert {f.layer for f in research["privilege-compromise"].controls} >= {"secrets", "token", "pod-security"}
    interpreter = {c.threat: c for c in coverage(dev["code-interpreter"])}
    assert any(f.key == ("isolation",) for f in interpreter["memory-poisoning"].controls)
    # Dev sets no runtimeClassName: that fact mitigates nothing; staging's gVisor does.
    dev_class = facts(dev["code-interpreter"], "isolation")[("runtime-class",)]
    assert threats_of(dev_class) == ()
    staging = {p.agent: p for p in explain_environment(ENVIRONMENTS, "staging", "code-interpreter").agents}
    runtime_class = facts(staging["code-interpreter"], "isolation")[("runtime-class",)]
    assert runtime_class.value == "gvisor" and threats_of(runtime_class) == ("unexpected-code-execution",)
    # A shared Deployment is no isolation control.
    assert threats_of(facts(dev["research"], "isolation")[("isolation",)]) == ()


def test_facts_come_from_the_emitted_files_not_the_plan(tmp_path: Path) -> None:
    render = pipeline.render(ENVIRONMENTS, "dev")
    writer.write_tree(tmp_path / "out", render.files)
    edit(tmp_path / "out/agents/agent_research.tf", 'cidr = "198.51.100.0/24"', 'cidr = "0.0.0.0/0"')
    perms = read_output(tmp_path / "out", render.loaded)["research"]
    assert {f.data["cidr"] for f in perms.layer("egress")} >= {"0.0.0.0/0"}
    assert "198.51.100.0/24" not in {f.data["cidr"] for f in perms.layer("egress")}


def test_cli_text_markdown_and_json(capsys) -> None:
    code, out, _ = run(capsys, "explain", "--env", "dev", "research", "--environments", str(ENVIRONMENTS))
    assert code == 0
    assert "egress to search-sandbox: 198.51.100.0/24 443/TCP [T2, LLM02]" in out
    assert "T8     Repudiation and untraceability: NONE" in out
    code, out, _ = run(capsys, "explain", "--env", "dev", "--environments", str(ENVIRONMENTS), "--format", "markdown")
    assert code == 0 and "## code-interpreter" in out and "| layer | control | mitigates | from |" in out
    code, out, _ = run(capsys, "explain", "--env", "prod", "--environments", str(ENVIRONMENTS), "--format", "json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"ok", "environment", "source", "located", "threats", "agents"}
    assert [a["agent"] for a in data["agents"]] == ["cluster-triage", "code-interpreter", "customer-support", "research"]
    agent = data["agents"][0]
    assert set(agent) == {"agent", "environment", "namespace", "profile", "facts", "coverage"}
    assert set(agent["coverage"]) == set(data["threats"])
    assert {"layer", "key", "text", "grant", "source", "threats"} <= set(agent["facts"][0])
    assert set(agent["facts"][0]["source"]) == {"file", "line", "path"}


def test_unknown_agent_is_a_located_exit_2_listing_the_agents(capsys) -> None:
    code, _, err = run(capsys, "explain", "--env", "dev", "nobody", "--environments", str(ENVIRONMENTS))
    assert code == 2
    assert "no agent 'nobody' in dev (known: cluster-triage, code-interpreter, customer-support, research)" in err
    assert "environments/dev/agents" in err and "Traceback" not in err
    code, out, _ = run(capsys, "explain", "--env", "dev", "nobody", "--environments", str(ENVIRONMENTS),
                       "--format", "json")
    assert code == 2 and json.loads(out)["error"] == "invalid-input"


def test_missing_environment_exits_2(capsys) -> None:
    code, _, err = run(capsys, "explain", "--env", "qa", "--environments", str(ENVIRONMENTS))
    assert code == 2 and "no environment 'qa'" in err


def test_from_an_output_folder_gives_the_same_facts(capsys, tmp_path: Path) -> None:
    render = pipeline.render(ENVIRONMENTS, "staging")
    writer.write_tree(tmp_path / "build", render.files)
    rendered = explain_environment(ENVIRONMENTS, "staging")
    read = explain_environment(ENVIRONMENTS, "staging", from_dir=tmp_path / "build")
    assert [[f.identity for f in p.facts] for p in read.agents] == [[f.identity for f in p.facts] for p in rendered.agents]
    # Without the inputs the facts still come from the files; they point at the profile file only.
    alone = explain_environment(tmp_path / "nowhere", "staging", "research", from_dir=tmp_path / "build")
    assert not alone.located
    egress = alone.agents[0].layer("egress")
    assert {f.data["cidr"] for f in egress} == {"192.0.2.10/32", None}
    assert all(f.location.line is None and f.location.file.endswith("staging/agents/research.yaml") for f in egress)
    code, _, err = run(capsys, "explain", "--env", "staging", "--from", str(tmp_path / "empty"))
    assert code == 2 and "no such folder" in err


def test_a_folder_that_is_not_an_output_is_exit_2(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a blueprint output folder"):
        read_output(tmp_path)


def test_inputs_that_no_longer_render_the_folder_are_not_used_to_locate(envs: Path, tmp_path: Path) -> None:
    writer.write_tree(tmp_path / "build", pipeline.render(envs, "dev").files)
    assert explain_environment(envs, "dev", "research", from_dir=tmp_path / "build").located
    profile = envs / "dev/agents/research.yaml"
    profile.write_text(profile.read_text() + "credentialTtl: 600\n")
    pipeline.render(envs, "dev")  # the edited inputs are valid, they just no longer make this folder
    stale = explain_environment(envs, "dev", "research", from_dir=tmp_path / "build")
    assert not stale.located
    (lifetime,) = stale.agents[0].layer("credential-lifetime")
    assert lifetime.rank == 900 and lifetime.location.line is None  # what the folder grants, unlocated
    assert stale.agents[0].layer("exceptions") == []  # waivers live in inputs that no longer match


def test_a_shared_address_is_named_after_the_destination_the_profile_uses(capsys, envs: Path) -> None:
    edit(envs / "dev/environment.yaml", "\nsecretBackends:\n",
         "\n  llm-api-batch:\n    description: Same endpoint, batch use.\n    cidrs: [192.0.2.10/32]\n"
         "    ports: [{port: 443, protocol: TCP}]\nsecretBackends:\n")
    assert main(["explain", "--env", "dev", "customer-support", "--environments", str(envs), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    facts = [f for a in data["agents"] for f in a["facts"] if f["layer"] == "egress" and f.get("cidr") == "192.0.2.10/32"]
    assert [f["destination"] for f in facts] == ["llm-api"]
    assert facts[0]["source"]["path"].startswith("egress[")
