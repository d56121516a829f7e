"""Secrets and identity inputs: located refusals (exit 1) and located input errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit

from blueprint.errors import InputError, RefusedError
from blueprint.pipeline import render


def problems(envs: Path, env: str, error=RefusedError) -> list[str]:
    with pytest.raises(error) as info:
        render(envs, env)
    return [str(p).replace(str(envs) + "/", "") for p in info.value.problems]


def test_secret_outside_the_environment_grant(envs: Path) -> None:
    edit(envs / "prod/agents/research.yaml", "path: secret/data/prod/research/search-api",
         "path: secret/data/staging/research/search-api")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:10:13: secrets[0].vault.path: [secret-outside-grant] Vault path "
        "'secret/data/staging/research/search-api' is outside this environment's grant (paths under "
        "secret/data/prod/); use a path under those prefixes (environment setting at prod/environment.yaml:53:26 "
        "secretBackends.vault.allowedPathPrefixes)"
    ]


def test_aws_secret_outside_the_grant(envs: Path) -> None:
    edit(envs / "prod/agents/customer-support.yaml", "secret:prod/customer-support", "secret:shared/customer-support")
    got = problems(envs, "prod")
    assert len(got) == 1 and got[0].startswith(
        "prod/agents/customer-support.yaml:13:12: secrets[0].aws.arn: [secret-outside-grant] secret "
        "'shared/customer-support/llm-api-key-Ab12Cd' is outside this environment's grant (names starting with prod/)")


def test_ttl_above_the_ceiling_cannot_be_waived(envs: Path) -> None:
    profile = envs / "prod/agents/research.yaml"
    profile.write_text(profile.read_text() + "credentialTtl: 3600\nexceptions:\n  - name: long\n    waives: wildcard\n"
                       "    reason: trying to waive a hard refusal should not work at all\n")
    got = problems(envs, "prod")
    assert got[0] == (
        "prod/agents/research.yaml:12:16: credentialTtl: [ttl-above-ceiling] credentialTtl 3600s is above this "
        "environment's ceiling of 600s for vault credentials; lower it to 600 or less (environment setting at "
        "prod/environment.yaml:52:22 secretBackends.vault.tokenTtlCeiling)")
    assert "[unused-exception]" in got[1]


def test_lower_ttl_is_honoured(envs: Path) -> None:
    profile = envs / "staging/agents/research.yaml"
    profile.write_text(profile.read_text() + "credentialTtl: 300\n")
    agent = {a.name: a for a in render(envs, "staging").plan.agents}["research"]
    assert agent.secrets.vault.token_ttl == agent.secrets.vault.token_max_ttl == 300
    assert 'token_max_ttl                    = 300' in render(envs, "staging").files["identity-vault/agent_research.tf"]


def test_wildcard_trust_is_refused(envs: Path) -> None:
    edit(envs / "prod/environment.yaml", "oidcProvider: oidc.eks.eu-west-1.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210",
         "oidcProvider: oidc.eks.eu-west-1.amazonaws.com/id/*")
    got = problems(envs, "prod")
    assert got == [
        "prod/agents/customer-support.yaml:11:3: secrets: [trust-wildcard] the environment's oidcProvider "
        "'oidc.eks.eu-west-1.amazonaws.com/id/*' contains a wildcard, so the role's trust would match other "
        "clusters' tokens; give the exact issuer (environment setting at prod/environment.yaml:59:19 "
        "secretBackends.aws.oidcProvider)"
    ]


def test_backend_missing_from_the_environment(envs: Path) -> None:
    text = (envs / "prod/environment.yaml").read_text()
    start = text.index("  vault:\n")
    end = text.index("  aws:\n")
    (envs / "prod/environment.yaml").write_text(text[:start] + text[end:])
    assert problems(envs, "prod", InputError) == [
        "prod/agents/research.yaml:9:5: secrets[0].vault: the environment configures no 'vault' secret backend; "
        "add secretBackends.vault to environment.yaml or use another backend"
    ]


def test_secret_region_must_match(envs: Path) -> None:
    edit(envs / "prod/agents/customer-support.yaml", "arn:aws:secretsmanager:eu-west-1", "arn:aws:secretsmanager:us-east-1")
    assert problems(envs, "prod", InputError) == [
        "prod/agents/customer-support.yaml:13:12: secrets[0].aws.arn: secret is in region us-east-1, but the "
        "environment's AWS backend reads from eu-west-1; use a secret in eu-west-1"
    ]


def test_secret_arn_needs_its_suffix(envs: Path) -> None:
    edit(envs / "prod/agents/customer-support.yaml", "llm-api-key-Ab12Cd", "llm-api-key")
    got = problems(envs, "prod", InputError)
    assert got == [
        "prod/agents/customer-support.yaml:13:12: secrets[0].aws.arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:"
        "secret:prod/customer-support/llm-api-key' is not allowed here; expected the full ARN of a Secrets Manager "
        "secret, including its 6-character suffix (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf)"
    ]


def test_one_backend_per_agent(envs: Path) -> None:
    profile = envs / "prod/agents/research.yaml"
    profile.write_text(profile.read_text().replace(
        "      key: token\n",
        "      key: token\n  - name: other\n    aws:\n      arn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/x-Ab12Cd\n"))
    got = problems(envs, "prod", InputError)
    assert got == ["prod/agents/research.yaml:8:3: secrets: all secrets of one agent must come from one backend (one "
                   "SecretProviderClass per agent); split the agent or move the secrets"]


def test_iam_role_name_length(envs: Path) -> None:
    long = "a" * 50
    (envs / f"prod/agents/{long}.yaml").write_text(
        f"apiVersion: blueprint.dev/v1alpha1\nkind: AgentProfile\nname: {long}\nowner: a@example.com\n"
        "resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}\nsecrets:\n  - name: k\n"
        "    aws: {arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/k-Ab12Cd'}\n")
    got = problems(envs, "prod", InputError)
    assert got == [f"prod/agents/{long}.yaml:3:7: name: the IAM role name 'blueprint-prod-{long}' would be 65 "
                   "characters; IAM allows 64: shorten the agent name or the environment's rolePrefix"]
