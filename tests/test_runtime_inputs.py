"""The agent workload's inputs: digest pinning, quota fit, callers, tracing, located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import edit

from blueprint.errors import InputError, RefusedError
from blueprint.pipeline import render


def problems(envs: Path, env: str, error=RefusedError) -> list[str]:
    with pytest.raises(error) as info:
        render(envs, env)
    return [str(p).replace(str(envs) + "/", "") for p in info.value.problems]


def test_unpinned_image_is_refused_outside_dev(envs: Path) -> None:
    edit(envs / "_shared/research.yaml", "research:1.0.0@sha256:" + "2" * 64, "research:1.0.0")
    assert problems(envs, "prod") == [
        "_shared/research.yaml:19:10: runtime.image: [image-not-pinned] image "
        "'registry.example.com/agents/research:1.0.0' is not pinned by digest; this environment runs only "
        "digest-pinned images (name@sha256:<digest>), so what was reviewed is what runs (environment setting at "
        "prod/environment.yaml:68:23 runtime.requireImageDigest)"
    ]
    assert render(envs, "dev").files  # dev allows tags while iterating


def test_replicas_must_fit_the_quota(envs: Path) -> None:
    edit(envs / "_shared/cluster-triage.yaml", "  port: 8080\n", "  port: 8080\n  replicas: 3\n")
    assert problems(envs, "prod", InputError) == [
        "_shared/cluster-triage.yaml:36:13: runtime.replicas: 3 replicas do not fit the quota of resources.maxPods 1; "
        "raise maxPods or lower replicas"
    ]


def test_tracing_needs_a_known_collector(envs: Path) -> None:
    edit(envs / "prod/agents/customer-support.yaml", "collector: otel-collector", "collector: otel")
    assert problems(envs, "prod", InputError) == [
        "prod/agents/customer-support.yaml:18:16: runtime.tracing.collector: unknown destination 'otel'; the "
        "environment defines: llm-api, otel-collector, web-proxy"
    ]


def test_collector_egress_only_while_tracing(envs: Path) -> None:
    prod = render(envs, "prod").files["agents/agent_customer_support.tf"]
    assert '"app.kubernetes.io/name" = "otel-collector"' in prod
    staging = render(envs, "staging").files["agents/agent_customer_support.tf"]
    assert "otel-collector" not in staging


def test_runtime_config_carries_tools_budgets_and_tracing(envs: Path) -> None:
    agent = {a.name: a for a in render(envs, "prod").plan.agents}["customer-support"]
    config = json.loads(agent.workload.runtime_config)
    assert config["tools"] == {"allowed": ["create_ticket", "lookup_order", "search_kb"], "reject_others": True}
    assert config["budgets"] == {"max_cost_usd": 0.5, "max_input_chars": 8000, "max_turns": 20}
    assert config["tracing"]["resource_attributes"] == {
        "agent.id": "customer-support", "deployment.environment": "prod", "service.name": "customer-support"}


def test_no_callers_means_no_ingress(envs: Path) -> None:
    text = (envs / "_shared/research.yaml").read_text()
    (envs / "_shared/research.yaml").write_text(text[: text.index("callers:")])
    files = render(envs, "prod").files["agents/agent_research.tf"]
    assert "kubernetes_service_v1" not in files and "allow_ingress" not in files


def test_callers_without_a_workload(envs: Path) -> None:
    text = (envs / "_shared/research.yaml").read_text()
    start, end = text.index("# How the agent runs"), text.index("callers:")
    (envs / "_shared/research.yaml").write_text(text[:start] + text[end:])
    assert problems(envs, "prod", InputError) == [
        "_shared/research.yaml:16:1: callers: callers need a workload to call: add 'runtime' or remove 'callers'"
    ]


def test_entry_module_and_lock_file_grammar(envs: Path) -> None:
    edit(envs / "_shared/research.yaml", "entryModule: agent.research.main", "entryModule: agent.class.main")
    assert problems(envs, "prod", InputError) == [
        "_shared/research.yaml:20:16: runtime.entryModule: a Python keyword cannot be part of a module name"
    ]
    edit(envs / "_shared/research.yaml", "entryModule: agent.class.main", "entryModule: agent.research.main")
    edit(envs / "_shared/research.yaml", "lockFile: requirements.lock", "lockFile: deps/.hidden.lock")
    assert problems(envs, "prod", InputError) == [
        "_shared/research.yaml:21:13: runtime.lockFile: hidden path segments (starting with '.') are not allowed"
    ]
