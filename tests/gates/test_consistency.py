"""Cross-layer consistency and credential lifetimes, read from the emitted files of every stage.

Each case edits one emitted file the way a generator bug (or a hand edit) would, and asserts the
exact check ids that fail.
"""

from __future__ import annotations

import pytest
from conftest import ENVIRONMENTS, parsed_blocks

from blueprint.gates.consistency import check_consistency
from blueprint.pipeline import render

AWS = "identity-aws/agent_customer_support.tf"
VAULT = "identity-vault/agent_research.tf"
SPC_AWS = "agents-crd/agent_customer_support.tf"
SPC_VAULT = "agents-crd/agent_research.tf"
SA = "agents/agent_customer_support.tf"


@pytest.fixture(scope="module", params=["prod", "dev"])
def rendered(request):
    return render(ENVIRONMENTS, request.param)


def gate(rendered, edits: dict[str, str] | None = None):
    files = {**rendered.files, **(edits or {})}
    blocks = parsed_blocks(files, ("managed", "data"))
    return check_consistency(blocks, [lp.profile for lp in rendered.loaded.profiles], rendered.loaded.environment)


def failing(rendered, path: str, old: str, new: str) -> list[str]:
    text = rendered.files[path]
    assert old in text, old
    consistency, lifetime, _ = gate(rendered, {path: text.replace(old, new, 1)})
    return sorted({f.check_id for f in consistency.findings + lifetime.findings})


def test_examples_are_consistent(rendered) -> None:
    consistency, lifetime, lifetimes = gate(rendered)
    assert consistency.findings == [] and consistency.checks_passed >= 17
    assert lifetime.findings == []
    assert [(lt.agent, lt.backend) for lt in lifetimes] == [("customer-support", "aws"), ("research", "vault")]
    assert all(lt.seconds <= lt.ceiling for lt in lifetimes)


def test_prod_lifetimes_follow_the_environment_ceiling() -> None:
    _, lifetime, lifetimes = gate(render(ENVIRONMENTS, "prod"))
    assert {lt.agent: (lt.seconds, lt.ceiling) for lt in lifetimes} == {
        "customer-support": (3600, 3600), "research": (600, 600)}
    assert lifetime.detail == "customer-support aws 3600s <= 3600s; research vault 600s <= 600s"


def test_extra_grant_without_mount(rendered) -> None:
    assert failing(rendered, AWS, 'resources = ["arn:', 'resources = ["arn:aws:secretsmanager:eu-west-1:1:secret:x-abcdef", "arn:') \
        == ["CONS_GRANT_EQUALS_MOUNT"]


def test_mount_without_grant(rendered) -> None:
    assert failing(rendered, SPC_AWS, 'llm-api-key-Ab12Cd\\"', 'llm-api-key-Zz99Zz\\"') \
        == ["CONS_GRANT_EQUALS_MOUNT", "CONS_MOUNT_DECLARED"]


def test_spc_in_another_namespace(rendered) -> None:
    assert failing(rendered, SPC_VAULT, '"namespace" = "agent-research"', '"namespace" = "default"') \
        == ["CONS_SPC_NAMESPACE"]


def test_vault_role_bound_to_another_service_account(rendered) -> None:
    assert failing(rendered, VAULT, 'bound_service_account_names      = ["research"]',
                   'bound_service_account_names      = ["default"]') == ["CONS_VAULT_BOUND_SA"]


def test_vault_policy_wider_than_the_mount(rendered) -> None:
    assert failing(rendered, VAULT, 'capabilities = [\\"read\\"]', 'capabilities = [\\"read\\", \\"list\\"]') \
        == ["CONS_VAULT_READ_ONLY"]


def test_vault_ttl_above_ceiling(rendered) -> None:
    text = rendered.files[VAULT]
    ttl = "600" if rendered.loaded.environment.name == "prod" else "900"
    assert failing(rendered, VAULT, f"token_max_ttl                    = {ttl}",
                   "token_max_ttl                    = 3600") == ["LIFETIME_CEILING"]
    assert text  # the edit above applied to this text


def test_aws_session_above_ceiling(rendered) -> None:
    assert failing(rendered, AWS, "max_session_duration = 3600", "max_session_duration = 43200") == ["LIFETIME_CEILING"]


def test_irsa_trust_subject_and_annotation() -> None:
    prod = render(ENVIRONMENTS, "prod")
    assert failing(prod, AWS, "system:serviceaccount:agent-customer-support:customer-support",
                   "system:serviceaccount:agent-customer-support:*") == ["CONS_IRSA_SUBJECT"]
    assert failing(prod, AWS, 'test     = "StringEquals"\n      variable = "oidc.eks.eu-west-1.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210:sub"',
                   'test     = "StringLike"\n      variable = "oidc.eks.eu-west-1.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210:sub"') \
        == ["CONS_IRSA_CONDITIONS", "CONS_IRSA_SUBJECT"]
    assert failing(prod, AWS, 'values   = ["sts.amazonaws.com"]', 'values   = ["vault"]') == ["CONS_IRSA_AUDIENCE"]
    assert failing(prod, SA, "role/blueprint-prod-customer-support", "role/blueprint-prod-research") \
        == ["CONS_IRSA_ANNOTATION"]


def test_pod_identity_association_must_name_the_agent() -> None:
    dev = render(ENVIRONMENTS, "dev")
    path = "identity-aws/agent_customer_support.tf"
    assert failing(dev, path, 'service_account = "customer-support"', 'service_account = "default"') \
        == ["CONS_POD_IDENTITY"]
