"""Every kubernetes_* block of every example environment matches the provider's schema."""

from __future__ import annotations

import pytest
from conftest import ENVIRONMENTS, EXAMPLE_ENVS, parsed_blocks

from blueprint.gates.run import schema_gate
from blueprint.pipeline import render


def parsed(files: dict[str, str]):
    return parsed_blocks(files)


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_examples_match_the_provider_schema(env: str) -> None:
    res = parsed(render(ENVIRONMENTS, env).files)
    result = schema_gate(res)
    assert result.findings == []
    oracle_types = [r for r in res if r.type.split("_", 1)[0] in ("kubernetes", "vault", "helm")]
    assert result.checks_passed == len(oracle_types) > 20
    assert result.detail == "kubernetes 3.4.0, vault 5.13.0, helm 3.3.0"


def test_schema_gate_catches_a_misspelled_block() -> None:
    files = render(ENVIRONMENTS, "prod").files
    path = "agents/agent_customer_support.tf"
    files[path] = files[path].replace("default_request = {", "default_requests = {")
    result = schema_gate(parsed(files))
    assert [(f.resource, f.message) for f in result.findings] == [(
        "kubernetes_limit_range_v1.customer_support",
        'kubernetes_limit_range_v1.customer_support: spec[0].limit[0].default_requests: unknown attribute '
        '(did you mean "default_request"?)',
    )]
