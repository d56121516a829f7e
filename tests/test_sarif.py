"""`blueprint check --sarif`: a SARIF 2.1.0 log, valid against the official schema, whose results
point at the profile line to fix and relate it to the generated file the gate read.

One real check per module (two agents of dev, one of them with an unpinned image), then cheap
runs that stop before the gates (refusal, invalid input) and pure provenance cases."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from xml.etree import ElementTree
from pathlib import Path

import jsonschema
import pytest

from blueprint import pipeline
from blueprint.cli import main
from blueprint.errors import ToolError
from blueprint.gates.result import Finding, GateResult
from blueprint.provenance import origin, trace
from blueprint.sarif import sarif_log
from conftest import ENVIRONMENTS, edit

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
UNPINNED = "runtime:\n  image: registry.example.com/agents/research:1.0.0\n"
PROFILE = "environments/dev/agents/research.yaml"


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def small_dev(root: Path) -> Path:
    """dev with research and cluster-triage only: no AWS stage, so the check is quick."""
    shutil.copytree(ENVIRONMENTS, root / "environments")
    for name in ("customer-support", "code-interpreter"):
        (root / "environments" / "dev" / "agents" / f"{name}.yaml").unlink()
    return root / "environments"


def check(root: Path, *extra: str) -> tuple[int, str]:
    """`blueprint check --env dev` from `root` (so input paths are shown relative to it)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        mp.chdir(root)
        code = main(["check", "--env", "dev", *extra])
    return code, out.getvalue()


def valid(log: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(log), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return log


@pytest.fixture(scope="module")
def failed(tmp_path_factory, checkov_bin: str) -> dict:
    root = tmp_path_factory.mktemp("sarif")
    envs = small_dev(root)
    (envs / "dev" / "agents" / "research.yaml").write_text((envs / "dev" / "agents" / "research.yaml").read_text() + UNPINNED)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLUEPRINT_CHECKOV", checkov_bin)
        code, stdout = check(root, "--sarif", "reports/check.sarif", "--format", "json")
    return {"root": root, "code": code, "data": json.loads(stdout),
            "log": json.loads((root / "reports" / "check.sarif").read_text())}


def test_a_gate_failure_is_a_valid_log_located_at_the_profile_line(failed: dict) -> None:
    assert failed["code"] == 1
    log = valid(failed["log"])
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "CKV_K8S_43"]
    assert {r["properties"]["gate"] for r in results} == {"checkov", "checkov-kubernetes"}
    root = failed["root"]
    image_line = line_of(root / PROFILE, "image: registry.example.com/agents/research:1.0.0")
    generated = pipeline.render(root / "environments", "dev").files["agents/agent_research.tf"]
    resource_line = next(i for i, line in enumerate(generated.splitlines(), 1)
                         if line.startswith('resource "kubernetes_deployment_v1" "research"'))
    for result in results:
        primary = result["locations"][0]
        assert primary["physicalLocation"]["artifactLocation"] == {"uri": PROFILE, "uriBaseId": "%SRCROOT%"}
        assert primary["physicalLocation"]["region"] == {"startLine": image_line, "startColumn": 3}
        assert primary["logicalLocations"][0]["fullyQualifiedName"] == "runtime.image"
        related = result["relatedLocations"][0]["physicalLocation"]
        assert related["artifactLocation"]["uri"] == "build/dev/agents/agent_research.tf"
        assert related["region"]["startLine"] == resource_line
        assert result["level"] == "error"
    # Nothing else failed: the other results would be noise on the pull request.
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"CKV_K8S_43"}


def test_rules_tool_and_invocation(failed: dict) -> None:
    run = failed["log"]["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "blueprint" and driver["version"]
    assert [r["id"] for r in driver["rules"]] == ["CKV_K8S_43"]  # one per distinct check id
    assert driver["rules"][0]["properties"]["gates"] == ["checkov", "checkov-kubernetes"]
    assert "digest" in driver["rules"][0]["shortDescription"]["text"]
    assert all(r["ruleIndex"] == 0 for r in run["results"])
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]
    assert [g["gate"] for g in run["properties"]["gates"]] == [g["gate"] for g in failed["data"]["gates"]]


def test_json_output_names_the_report_and_keeps_its_fields(failed: dict) -> None:
    data = failed["data"]
    assert data["reports"] == {"sarif": "reports/check.sarif"}
    assert data["ok"] is False and data["written"] == [] and data["gates"]


def test_fingerprints_survive_line_shifts_and_tell_findings_apart(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    profile = envs / "dev" / "agents" / "research.yaml"
    profile.write_text(profile.read_text() + UNPINNED)
    finding = Finding("checkov", "CKV_K8S_43", "Image should use digest", "agents/agent_research.tf",
                      "kubernetes_deployment_v1.research")
    other = Finding("checkov", "CKV_K8S_43", "Image should use digest", "agents/agent_cluster_triage.tf",
                    "kubernetes_deployment_v1.cluster_triage")

    def results() -> list[dict]:
        render = pipeline.render(envs, "dev")
        gate = GateResult("checkov", 1, [finding, other])
        return valid(sarif_log(trace(gate.findings, render.loaded, render.files, "build/dev"), [gate]))["runs"][0]["results"]

    before = results()
    profile.write_text("# a comment moves every line down\n" + profile.read_text())
    after = results()
    assert after[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        before[0]["locations"][0]["physicalLocation"]["region"]["startLine"] + 1
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    assert before[0]["partialFingerprints"] != before[1]["partialFingerprints"]


def test_a_refusal_writes_a_log_at_the_refused_line(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    profile = envs / "dev" / "agents" / "cluster-triage.yaml"
    edit(profile, "resources: [events]\n      verbs: [get, list, watch]", "resources: [events]\n      verbs: [get, '*']")
    code, _ = check(tmp_path, "--sarif", "out.sarif")
    assert code == 1
    log = valid(json.loads((tmp_path / "out.sarif").read_text()))
    results = log["runs"][0]["results"]
    # '*' is both a wildcard and an escalation verb: two refusals, one rule each, on the same line.
    assert [r["ruleId"] for r in results] == ["wildcard", "escalation-verb"]
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["wildcard", "escalation-verb"]
    for result in results:
        assert result["properties"]["gate"] == "least-privilege"
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "environments/dev/agents/cluster-triage.yaml"
        assert physical["region"] == {"startLine": line_of(profile, "verbs: [get, '*']"), "startColumn": 20}
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "kubernetes.rules[1].verbs[1]"
    assert log["runs"][0]["invocations"][0]["exitCode"] == 1
    assert not (tmp_path / "build").exists()


def test_an_invalid_input_writes_a_log_at_the_bad_key(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    profile = envs / "dev" / "agents" / "research.yaml"
    edit(profile, "egress:\n", "egres:\n")
    code, _ = check(tmp_path, "--sarif", "reports/out.sarif")
    assert code == 2
    log = valid(json.loads((tmp_path / "reports" / "out.sarif").read_text()))
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"invalid-input"}
    located = [r["locations"][0]["physicalLocation"] for r in results]
    assert {"artifactLocation": {"uri": "environments/dev/agents/research.yaml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line_of(profile, "egres:"), "startColumn": 1}} in located
    assert log["runs"][0]["invocations"][0]["exitCode"] == 2


def test_a_missing_tool_is_a_failed_execution() -> None:
    log = valid(sarif_log(error=ToolError("checkov was not found at /nowhere/checkov"), exit_code=3))
    run = log["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is False
    assert "checkov was not found" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_an_unwritable_report_joins_the_error_without_a_traceback(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    edit(envs / "dev" / "agents" / "research.yaml", "egress:\n", "egres:\n")
    (tmp_path / "taken").write_text("a file, not a folder")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        mp.chdir(tmp_path)
        code = main(["check", "--env", "dev", "--sarif", "taken/out.sarif"])
    assert code == 2
    assert "unknown key 'egres'" in err.getvalue() and "taken/out.sarif: cannot write this file" in err.getvalue()


@pytest.mark.tools
def test_an_unwritable_report_fails_a_passing_check_before_anything_is_written(tmp_path: Path, checkov_bin: str) -> None:
    """Reports come before the promotion: exit 2 means nothing reached build/, and the other
    report is still written."""
    small_dev(tmp_path)
    (tmp_path / "taken").write_text("a file, not a folder")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        mp.chdir(tmp_path)
        mp.setenv("BLUEPRINT_CHECKOV", checkov_bin)
        code = main(["check", "--env", "dev", "--out", "out", "--sarif", "taken/x.sarif", "--junit", "r/junit.xml"])
    assert code == 2 and "taken/x.sarif: cannot write this file" in err.getvalue()
    assert not (tmp_path / "out").exists()
    suites = ElementTree.parse(tmp_path / "r/junit.xml").getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests")) > 10  # the gates passed


# ------------------------------------------------------------------ provenance, without the gates

@pytest.fixture(scope="module")
def dev():
    return pipeline.render(ENVIRONMENTS, "dev")


def _where(render, finding: Finding) -> tuple[str, str]:
    location = origin(finding, render.loaded, render.files)
    return str(Path(location.file).resolve().relative_to(ENVIRONMENTS)), location.path


@pytest.mark.parametrize("finding, file, path", [
    (Finding("invariants", "X", "egress to 198.51.100.0/24:443 is not declared", "agents/agent_research.tf",
             "kubernetes_network_policy_v1.research__allow_egress"), "dev/agents/research.yaml", "egress[2]"),
    (Finding("checkov", "X", "default deny", "agents/agent_research.tf",
             "kubernetes_network_policy_v1.research__default_deny"), "dev/agents/research.yaml", "egress"),
    (Finding("invariants", "X", "rule differs", "agents/agent_cluster_triage.tf",
             "kubernetes_role_v1.cluster_triage__ns_sandbox"), "dev/agents/cluster-triage.yaml", "kubernetes.rules[3]"),
    (Finding("checkov", "CKV_K8S_10", "CPU requests should be set", "agents/agent_research.tf",
             "kubernetes_deployment_v1.research"), "_shared/research.yaml", "resources"),
    (Finding("checkov", "X", "x", "agents/agent_research.tf", "kubernetes_resource_quota_v1.research"),
     "_shared/research.yaml", "resources"),
    (Finding("consistency", "X", "x", "identity-vault/agent_research.tf",
             "vault_kubernetes_auth_backend_role.research"), "dev/agents/research.yaml", "secrets"),
    (Finding("checkov", "X", "x", "platform/main.tf", "kubernetes_network_policy_v1.vault_provider_egress"),
     "dev/environment.yaml", "secretBackends.vault"),
    (Finding("terraform-fmt", "TF_FMT", "x", "agents/versions.tf"), "dev/environment.yaml", "state"),
    (Finding("checkov", "BP_K8S_2", "x", "platform/main.tf", "kubernetes_namespace_v1.agent_sandbox_system"),
     "dev/environment.yaml", "runtime.sandboxController"),
    (Finding("checkov", "X", "x", "platform/modules/agent-sandbox/main.tf", "module.agent_sandbox.kubernetes_manifest.crd"),
     "dev/environment.yaml", "runtime.sandboxController"),
    (Finding("credential-lifetime", "LIFETIME_CEILING", "research: vault credentials live 1200s", resource="research"),
     "dev/agents/research.yaml", "secrets"),
    (Finding("checkov", "X", "x", "agents/agent_code_interpreter.tf",
             "kubernetes_role_v1.code_interpreter__session_broker"), "dev/environment.yaml", "runtime.sessionBroker"),
    (Finding("checkov", "CKV_K8S_40", "Containers should run as a high UID to avoid host conflict",
             "agents/agent_research.tf", "kubernetes_deployment_v1.research"), "dev/environment.yaml", "runtime.runAsUser"),
    (Finding("checkov-kubernetes", "X", "SandboxTemplate x: Image should use digest", "agents-crd/agent_code_interpreter.tf",
             "kubernetes_manifest.code_interpreter__sandbox_template"), "_shared/code-interpreter.yaml", "runtime.image"),
    (Finding("crd-schema", "X", "x", "agents-crd/agent_code_interpreter.tf",
             "kubernetes_manifest.code_interpreter__sandbox_template"), "_shared/code-interpreter.yaml", "runtime.isolation"),
    (Finding("crd-schema", "X", "x", "agents-crd/agent_code_interpreter.tf",
             "kubernetes_manifest.code_interpreter__sandbox_pool"), "_shared/code-interpreter.yaml", "runtime.warmPool"),
    # Nothing more precise is known: the agent's own profile, at its name.
    (Finding("checkov", "X", "x", "agents/agent_research.tf", "kubernetes_namespace_v1.research"),
     "dev/agents/research.yaml", "name"),
    (Finding("coverage", "COVERAGE_TYPE", "x", resource="kubernetes_service_v1.research"),
     "_shared/research.yaml", "callers"),
])
def test_findings_trace_back_to_the_field_that_caused_them(dev, finding: Finding, file: str, path: str) -> None:
    assert _where(dev, finding) == (file, path)


def test_dockerfile_lines_trace_to_profile_or_environment(dev) -> None:
    text = dev.files["docker/research.Dockerfile"].splitlines()
    expected = {"FROM ": ("dev/environment.yaml", "runtime.baseImage"),
                "USER ": ("dev/environment.yaml", "runtime.runAsUser"),
                "ENTRYPOINT ": ("_shared/research.yaml", "runtime.entryModule"),
                "HEALTHCHECK ": ("_shared/research.yaml", "runtime.healthPath"),
                "COPY requirements.lock": ("_shared/research.yaml", "runtime.lockFile")}
    for prefix, where in expected.items():
        line = next(i for i, t in enumerate(text, 1) if t.startswith(prefix))
        assert _where(dev, Finding("hadolint", "DL", "x", "docker/research.Dockerfile", line=line)) == where, prefix


def test_an_unknown_file_falls_back_to_the_environment_top(dev) -> None:
    location = origin(Finding("parse", "HCL_PARSE", "x", "elsewhere/file.tf"), dev.loaded, dev.files)
    assert location.file.endswith("dev/environment.yaml") and location.line is not None and location.path == "name"


def test_a_passing_check_is_a_valid_log_without_results() -> None:
    log = valid(sarif_log([], [GateResult("parse", 3, [], 0.2), GateResult("checkov", 500, [], 8.0)], exit_code=0))
    run = log["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 0}]
    assert [(g["gate"], g["ok"], g["checksPassed"]) for g in run["properties"]["gates"]] == [("parse", True, 3),
                                                                                          ("checkov", True, 500)]


def test_an_overlay_that_overrides_part_of_a_mapping_owns_its_findings(tmp_path: Path) -> None:
    """research extends its shared base; overriding only resources.limits.cpu moves the quota's
    finding from the base's `resources` line to the overriding line."""
    envs = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, envs)
    overlay = envs / "dev/agents/research.yaml"
    edit(overlay, "extends:", 'resources: {limits: {cpu: "2"}}\nextends:')
    render = pipeline.render(envs, "dev")
    finding = Finding("checkov", "X", "x", "agents/agent_research.tf", "kubernetes_resource_quota_v1.research")
    location = origin(finding, render.loaded, render.files)
    assert Path(location.file).resolve() == overlay.resolve()
    assert location.line == line_of(overlay, 'resources: {limits: {cpu: "2"}}')
    untouched = origin(finding, pipeline.render(ENVIRONMENTS, "dev").loaded, {})
    assert Path(untouched.file).name == "research.yaml" and "_shared" in untouched.file


def test_every_refusal_code_has_a_rule_description() -> None:
    """A new refusal code must get its SARIF rule text, not the generic fallback."""
    from typing import get_args

    from blueprint.models.profile import RefusalCode
    from blueprint.plan.least_privilege import HARD_CODES
    from blueprint.sarif import REFUSALS

    assert set(REFUSALS) == set(get_args(RefusalCode)) | set(HARD_CODES) | {"unused-exception"}
