"""The terraform init/validate/plan gate. The real terraform and the aws provider from the local
mirror over the identity-aws fixture (a clean root, broken copies, a provider missing from the
mirror); everything else (exit codes, crashes, timeouts, the environment and files terraform
sees) against a fake terraform script, which costs nothing."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from blueprint.errors import ToolError
from blueprint.gates import terraform_runner
from blueprint.gates.terraform_runner import (
    GATE,
    OVERRIDE_FILE,
    TerraformPlanError,
    gate_and_plan,
    override_text,
    plan_json,
    resolve_mirror,
    run_terraform_gate,
)
from conftest import edit

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aws-root"
OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ALL_RESOURCES = {
    "aws_iam_role.customer_support",
    "aws_iam_role_policy.customer_support__secrets",
    "aws_iam_role.research",
    "aws_iam_role_policy.research__secrets",
    "aws_eks_pod_identity_association.research",
}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    matches = [i for i, line in enumerate(lines, 1) if text in line]
    assert len(matches) == 1, f"{text!r} occurs {len(matches)} times in {path}"
    return matches[0]


def planned(plan: dict, address: str) -> dict:
    resources = {r["address"]: r for r in plan["planned_values"]["root_module"]["resources"]}
    return resources[address]["values"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def mirror(terraform_bin: str) -> Path:
    """The provider mirror of this machine; missing fails under CI, like a missing tool."""
    try:
        found = resolve_mirror()
    except ToolError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    assert found is not None
    return found


@pytest.fixture(scope="session")
def plugin_cache(tmp_path_factory) -> Path:
    """One plugin cache for every run of the session, as the gate shares one across roots."""
    return tmp_path_factory.mktemp("tf-plugin-cache")


@pytest.fixture(scope="module")
def fixture_plan(mirror: Path, plugin_cache: Path) -> dict:
    return plan_json(FIXTURE, mirror, plugin_cache=plugin_cache)


@pytest.fixture
def aws_root(tmp_path: Path) -> Path:
    """A private copy of the fixture root that a test may edit."""
    target = tmp_path / "identity-aws"
    shutil.copytree(FIXTURE, target)
    return target


# ---------------------------------------------------------------- the real terraform


@pytest.mark.tools
def test_the_fixture_inits_validates_and_plans_offline_and_is_left_untouched(mirror: Path, plugin_cache: Path):
    before = snapshot(FIXTURE)

    result = run_terraform_gate(FIXTURE, mirror, plugin_cache=plugin_cache)

    assert result.ok, [f.as_dict() for f in result.findings]
    assert result.gate == GATE and result.checks_passed == 3  # init, validate, plan
    assert result.detail.startswith("plan: 5 to create, 0 to change, 0 to destroy; terraform 1.11.4, hashicorp/aws 5.100.0")
    assert f"mirror {mirror}" in result.detail
    assert snapshot(FIXTURE) == before  # no .terraform, lock file, state or override file left behind
    # the fixture's provider block really has allowed_account_ids, which the gate must neutralise
    assert 'allowed_account_ids = ["111122223333"]' in (FIXTURE / "providers.tf").read_text()


@pytest.mark.tools
def test_the_plan_holds_the_exact_irsa_trust_policy_and_session_ceiling(fixture_plan: dict):
    role = planned(fixture_plan, "aws_iam_role.customer_support")

    assert role["max_session_duration"] == 3600
    assert role["name"] == "blueprint-prod-customer-support"
    # the override replaces attributes only: the provider's default_tags block still applies
    assert role["tags_all"]["app.kubernetes.io/managed-by"] == "blueprint"
    assert json.loads(role["assume_role_policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeFromAgentServiceAccount",
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{OIDC}"},
            "Condition": {"StringEquals": {
                f"{OIDC}:sub": "system:serviceaccount:agent-customer-support:customer-support",
                f"{OIDC}:aud": "sts.amazonaws.com",
            }},
        }],
    }
    assert {rc["address"]: rc["change"]["actions"] for rc in fixture_plan["resource_changes"]} == {
        address: ["create"] for address in ALL_RESOURCES
    }


@pytest.mark.tools
def test_the_plan_holds_the_permission_policy_and_the_pod_identity_variant(fixture_plan: dict):
    policy = json.loads(planned(fixture_plan, "aws_iam_role_policy.customer_support__secrets")["policy"])
    read, decrypt = policy["Statement"]
    # actions is a set in aws_iam_policy_document: the rendered order is the provider's, not ours
    assert sorted(read["Action"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert read["Resource"] == "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/support/llm-api-key-AbCdEf"
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}

    trust = json.loads(planned(fixture_plan, "aws_iam_role.research")["assume_role_policy"])["Statement"]
    assert len(trust) == 1
    assert sorted(trust[0]["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert trust[0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnEquals": {"aws:SourceArn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod"},
    }
    association = planned(fixture_plan, "aws_eks_pod_identity_association.research")
    assert {k: association[k] for k in ("cluster_name", "namespace", "service_account", "role_arn")} == {
        "cluster_name": "prod",
        "namespace": "agent-research",
        "service_account": "research",
        "role_arn": "arn:aws:iam::111122223333:role/blueprint-prod-research",
    }


@pytest.mark.tools
def test_an_unknown_argument_and_a_session_below_the_iam_minimum_are_located(
        aws_root: Path, mirror: Path, plugin_cache: Path):
    # In separate blocks: an unknown argument hides the provider's checks of its own block.
    edit(aws_root / "agent_customer_support.tf", "max_session_duration = 3600", "max_session_duration = 100")
    edit(aws_root / "agent_research.tf", "max_session_duration = 3600",
         'max_session_duration = 3600\n  bogus_argument       = "x"')

    result = run_terraform_gate(aws_root, mirror, plugin_cache=plugin_cache)

    assert not result.ok and result.checks_passed == 1  # init passed; validate failed; plan not run
    located = {(f.check_id, f.file, f.line, f.resource) for f in result.findings}
    assert located == {
        ("TF_VALIDATE", "agent_customer_support.tf",
         line_of(aws_root / "agent_customer_support.tf", "max_session_duration = 100"), "aws_iam_role.customer_support"),
        ("TF_VALIDATE", "agent_research.tf",
         line_of(aws_root / "agent_research.tf", "bogus_argument"), "aws_iam_role.research"),
    }
    messages = " | ".join(f.message for f in result.findings)
    assert "expected max_session_duration to be in the range (3600 - 43200), got 100" in messages
    assert 'Unsupported argument: An argument named "bogus_argument" is not expected here.' in messages


@pytest.mark.tools
def test_a_provider_configuration_error_is_a_located_plan_finding(aws_root: Path, mirror: Path, plugin_cache: Path):
    edit(aws_root / "providers.tf", 'region              = "eu-west-1"', 'region              = "eu-west-9"')

    result = run_terraform_gate(aws_root, mirror, plugin_cache=plugin_cache)

    assert result.checks_passed == 2  # init and validate passed: the region is only checked at plan
    assert [(f.check_id, f.file, f.line, f.message) for f in result.findings] == [
        ("TF_PLAN", "providers.tf", line_of(aws_root / "providers.tf", 'provider "aws"'), "invalid AWS Region: eu-west-9"),
    ]


@pytest.mark.tools
def test_a_syntax_error_is_a_located_init_finding(aws_root: Path, mirror: Path, plugin_cache: Path):
    edit(aws_root / "agent_research.tf", 'name                 = "blueprint-prod-research"', "name = ")

    result = run_terraform_gate(aws_root, mirror, plugin_cache=plugin_cache)

    assert result.checks_passed == 0
    assert [(f.check_id, f.file, f.line) for f in result.findings] == [
        ("TF_INIT", "agent_research.tf", line_of(aws_root / "agent_research.tf", "name = ")),
    ]
    assert result.findings[0].message.startswith("Invalid expression")


@pytest.mark.tools
def test_a_provider_missing_from_the_mirror_is_a_tool_error(aws_root: Path, tmp_path: Path, plugin_cache: Path,
                                                            mirror: Path):
    empty = tmp_path / "empty-mirror"
    (empty / "registry.terraform.io").mkdir(parents=True)
    with pytest.raises(ToolError, match=r"(?s)mirror .*empty-mirror \(it holds: nothing\).*hashicorp/aws"):
        run_terraform_gate(aws_root, empty, plugin_cache=plugin_cache)

    edit(aws_root / "versions.tf", '"~> 5.100"', '"~> 5.101"')
    with pytest.raises(ToolError, match=r"(?s)it holds: hashicorp/aws 5\.100\.0\).*no available releases match"):
        run_terraform_gate(aws_root, mirror, plugin_cache=plugin_cache)


def test_a_missing_mirror_is_a_tool_error(aws_root: Path, tmp_path: Path):
    with pytest.raises(ToolError, match="does not exist"):
        run_terraform_gate(aws_root, tmp_path / "no-such-mirror")
    with pytest.raises(ToolError, match="has no registry.terraform.io folder"):
        run_terraform_gate(aws_root, tmp_path)
    with pytest.raises(ToolError, match="does not exist"):
        plan_json(aws_root, tmp_path / "no-such-mirror")


# ---------------------------------------------------------------- choosing the mirror


def test_the_mirror_is_the_argument_then_the_environment_then_a_known_place(monkeypatch, tmp_path: Path):
    first, second, known = (tmp_path / n for n in ("first", "second", "known"))
    for folder in (first, second, known):
        (folder / "registry.terraform.io").mkdir(parents=True)
    monkeypatch.setattr(terraform_runner, "known_mirror_locations", lambda: (tmp_path / "absent", known))
    monkeypatch.delenv("BLUEPRINT_TF_MIRROR", raising=False)

    assert resolve_mirror() == known.resolve()
    monkeypatch.setenv("BLUEPRINT_TF_MIRROR", str(second))
    assert resolve_mirror() == second.resolve()
    assert resolve_mirror(first) == first.resolve()
    assert resolve_mirror(None) is None  # the registry: plain `terraform init`
    monkeypatch.setenv("BLUEPRINT_TF_MIRROR", "none")
    assert resolve_mirror() is None

    monkeypatch.delenv("BLUEPRINT_TF_MIRROR")
    monkeypatch.setattr(terraform_runner, "known_mirror_locations", lambda: (tmp_path / "absent",))
    with pytest.raises(ToolError, match="no Terraform provider mirror was found .* BLUEPRINT_TF_MIRROR"):
        resolve_mirror()


def test_the_override_nulls_allowed_account_ids_and_keeps_aliases():
    text = override_text([None, "us_east_1"])
    assert 'backend "local" {}' in text
    assert text.count('provider "aws" {') == 2 and 'alias                       = "us_east_1"' in text
    for line in ('access_key                  = "mock"', "skip_credentials_validation = true",
                 "skip_requesting_account_id  = true", "skip_metadata_api_check     = true",
                 "allowed_account_ids         = null"):
        assert text.count(line) == 2, line


# ---------------------------------------------------------------- running terraform (fake)

FAKE = r'''
import json, os, sys, time
from pathlib import Path
step = sys.argv[1]
log = os.environ.get("FAKE_TF_LOG")
if log:
    config = os.environ.get("TF_CLI_CONFIG_FILE", "")
    with open(log, "a") as out:
        out.write(json.dumps({
            "argv": sys.argv[1:], "cwd": os.getcwd(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("TF_", "AWS_", "CHECKPOINT"))},
            "config": Path(config).read_text() if config and Path(config).is_file() else None,
            "override": Path("blueprint_gate_override.tf").read_text() if Path("blueprint_gate_override.tf").exists() else None,
        }) + "\n")
def emit(**message):
    print(json.dumps(message))
'''
VERSION = 'emit(type="version", terraform="1.11.4")'
INIT_OK = f'if step == "init":\n    {VERSION}\n    sys.exit(0)\n'
VALIDATE_OK = 'if step == "validate":\n    print(json.dumps({"valid": True, "diagnostics": []}))\n    sys.exit(0)\n'
PLAN_OK = ('if step == "plan":\n'
           '    emit(type="change_summary", changes={"add": 2, "change": 0, "import": 0, "remove": 0})\n'
           '    sys.exit(0)\n')


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch):
    """Point BLUEPRINT_TERRAFORM at a fake whose body (Python) follows FAKE; returns the call log."""
    log = tmp_path / "calls.jsonl"

    def make(body: str) -> Path:
        script = tmp_path / "fake-terraform"
        script.write_text(f"#!{sys.executable}\n{FAKE}\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
        monkeypatch.setenv("BLUEPRINT_TERRAFORM", str(script))
        monkeypatch.setenv("FAKE_TF_LOG", str(log))
        return log

    return make


@pytest.fixture
def fake_mirror(tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return mirror


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_terraform_runs_in_a_copy_with_our_cli_config_and_override(fake_terraform, fake_mirror: Path,
                                                                    aws_root: Path, tmp_path: Path, monkeypatch):
    log = fake_terraform(INIT_OK + VALIDATE_OK + PLAN_OK)
    monkeypatch.setenv("TF_CLI_ARGS_plan", "-target=aws_iam_role.research")  # must not reach terraform
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/root/.terraformrc")
    monkeypatch.setenv("AWS_PROFILE", "production")
    before = snapshot(aws_root)

    result = run_terraform_gate(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")

    assert result.ok and result.checks_passed == 3
    assert result.detail.startswith("plan: 2 to create, 0 to change, 0 to destroy; terraform 1.11.4")
    assert snapshot(aws_root) == before
    runs = calls(log)
    assert [r["argv"][0] for r in runs] == ["init", "validate", "plan"]
    assert "-json" in runs[0]["argv"] and "-json" in runs[1]["argv"] and "-json" in runs[2]["argv"]
    for run in runs:
        assert not Path(run["cwd"]).is_relative_to(aws_root.resolve())
        env = run["env"]
        assert env["TF_CLI_CONFIG_FILE"] != "/root/.terraformrc"
        assert {k: env[k] for k in ("CHECKPOINT_DISABLE", "TF_IN_AUTOMATION", "TF_INPUT")} == {
            "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        assert env["TF_PLUGIN_CACHE_DIR"] == str((tmp_path / "cache").resolve())
        assert "TF_CLI_ARGS_plan" not in env and "AWS_PROFILE" not in env
        assert env["AWS_EC2_METADATA_DISABLED"] == "true"
        assert f'path    = "{fake_mirror.resolve()}"' in run["config"]
        assert 'include = ["registry.terraform.io/*/*"]' in run["config"]
        assert 'exclude = ["registry.terraform.io/*/*"]' in run["config"]
        assert run["override"] == override_text([None])
        assert (Path(run["cwd"]) / OVERRIDE_FILE).parent.name == "root"


def test_with_the_registry_the_callers_cli_config_and_tokens_are_kept(fake_terraform, aws_root: Path,
                                                                      tmp_path: Path, monkeypatch):
    log = fake_terraform(INIT_OK + VALIDATE_OK + PLAN_OK)
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "my.tfrc"))
    monkeypatch.setenv("TF_TOKEN_app_terraform_io", "secret")
    monkeypatch.setenv("TF_WORKSPACE", "prod")

    assert run_terraform_gate(aws_root, None, timeout=30, plugin_cache=tmp_path / "cache").ok

    env = calls(log)[0]["env"]
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "my.tfrc")
    assert env["TF_TOKEN_app_terraform_io"] == "secret" and "TF_WORKSPACE" not in env


SHOW_OK = ('if step == "show":\n'
           '    print(json.dumps({"planned_values": {"root_module": {}}, "resource_changes": []}))\n')


def test_plan_json_is_show_of_the_saved_plan(fake_terraform, fake_mirror: Path, aws_root: Path, tmp_path: Path):
    log = fake_terraform(INIT_OK + PLAN_OK + SHOW_OK)

    shown = plan_json(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")

    assert shown == {"planned_values": {"root_module": {}}, "resource_changes": []}
    plan_argv, show_argv = (r["argv"] for r in calls(log)[1:])
    assert plan_argv[0] == "plan" and "-out=blueprint.tfplan" in plan_argv
    assert show_argv == ["show", "-no-color", "-json", "blueprint.tfplan"]


def test_gate_and_plan_shows_the_plan_only_when_the_gate_passes(fake_terraform, fake_mirror: Path, aws_root: Path,
                                                               tmp_path: Path):
    fake_terraform(INIT_OK + VALIDATE_OK + PLAN_OK + SHOW_OK)
    result, shown = gate_and_plan(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")
    assert result.ok and shown == {"planned_values": {"root_module": {}}, "resource_changes": []}

    fake_terraform(INIT_OK + 'print(json.dumps({"valid": False, "diagnostics": [{"severity": "error", '
                   '"summary": "Unsupported argument", "range": {"filename": "a.tf", "start": {"line": 3}}}]}))\n'
                   'sys.exit(1)')
    result, shown = gate_and_plan(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")
    assert [(f.file, f.line) for f in result.findings] == [("a.tf", 3)] and shown is None


def test_plan_json_of_a_root_that_does_not_plan_raises_the_located_findings(fake_terraform, fake_mirror: Path,
                                                                           aws_root: Path, tmp_path: Path):
    fake_terraform(INIT_OK + 'emit(type="diagnostic", diagnostic={"severity": "error", '
                   '"summary": "invalid AWS Region: eu-west-9", "detail": "", '
                   '"address": "provider[\\"registry.terraform.io/hashicorp/aws\\"]", '
                   '"range": {"filename": "providers.tf", "start": {"line": 4, "column": 16}}})\n'
                   "sys.exit(1)")
    with pytest.raises(TerraformPlanError, match="providers.tf:4: invalid AWS Region: eu-west-9") as caught:
        plan_json(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")
    assert [(f.check_id, f.resource) for f in caught.value.findings] == [
        ("TF_PLAN", 'provider["registry.terraform.io/hashicorp/aws"]')]


BROKEN = {
    "terraform crashes": ("sys.stderr.write('!!!!! TERRAFORM CRASH !!!!!\\npanic: boom\\n'); sys.exit(11)",
                          "crashed"),
    "init exits 1 without diagnostics": ("sys.exit(1)", "could not install"),
    "validate prints no JSON": (INIT_OK + "print('not json'); sys.exit(1)", "validate printed no JSON"),
    "validate fails without errors": (INIT_OK + 'print(json.dumps({"valid": False, "diagnostics": []})); sys.exit(1)',
                                      "validate failed without reporting an error"),
    "the provider crashes at plan": (
        INIT_OK + VALIDATE_OK + 'emit(type="diagnostic", diagnostic={"severity": "error", '
        '"summary": "Plugin did not respond", "detail": "The plugin encountered an error"})\n'
        "sys.stderr.write('Stack trace from the terraform-provider-aws plugin:\\npanic: nil map\\n'); sys.exit(1)",
        "Plugin did not respond"),
    "plan exits 0 without a summary": (INIT_OK + VALIDATE_OK + "sys.exit(0)", "without a change summary"),
    "an unexpected exit code": (INIT_OK + "sys.exit(2)", "exit 2"),
}


@pytest.mark.parametrize("body, expected", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_terraform_run_is_a_tool_error(fake_terraform, fake_mirror: Path, aws_root: Path, tmp_path: Path,
                                                body: str, expected: str):
    fake_terraform(body)
    with pytest.raises(ToolError, match=expected):
        run_terraform_gate(aws_root, fake_mirror, timeout=30, plugin_cache=tmp_path / "cache")


def test_a_hanging_terraform_is_killed_within_the_gates_budget(fake_terraform, fake_mirror: Path, aws_root: Path,
                                                               tmp_path: Path):
    fake_terraform(INIT_OK + "sys.stderr.write('validating\\n'); sys.stderr.flush(); time.sleep(60)")
    started = time.perf_counter()
    with pytest.raises(ToolError, match=r"(?s)terraform validate did not finish within the gate's 2 s.*validating"):
        run_terraform_gate(aws_root, fake_mirror, timeout=2, plugin_cache=tmp_path / "cache")
    assert time.perf_counter() - started < 10


def test_a_missing_terraform_is_a_tool_error(monkeypatch, fake_mirror: Path, aws_root: Path, tmp_path: Path):
    monkeypatch.setenv("BLUEPRINT_TERRAFORM", str(tmp_path / "no-terraform"))
    with pytest.raises(ToolError, match="BLUEPRINT_TERRAFORM=.* is not an executable file"):
        run_terraform_gate(aws_root, fake_mirror, plugin_cache=tmp_path / "cache")


def test_an_override_file_in_the_root_fails_the_gate_without_running_terraform(fake_terraform, fake_mirror: Path,
                                                                               aws_root: Path, tmp_path: Path):
    log = fake_terraform(INIT_OK + VALIDATE_OK + PLAN_OK)
    (aws_root / "backend_override.tf").write_text('terraform {\n  backend "s3" {}\n}\n')

    result = run_terraform_gate(aws_root, fake_mirror, plugin_cache=tmp_path / "cache")

    assert [(f.check_id, f.file) for f in result.findings] == [("TF_OVERRIDE_FILE", "backend_override.tf")]
    assert calls(log) == []
    with pytest.raises(TerraformPlanError, match="backend_override.tf"):
        plan_json(aws_root, fake_mirror, plugin_cache=tmp_path / "cache")


def test_a_root_without_terraform_files_is_a_tool_error(fake_mirror: Path, tmp_path: Path):
    with pytest.raises(ToolError, match="no .tf files"):
        run_terraform_gate(tmp_path, fake_mirror)
