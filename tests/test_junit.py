"""`blueprint check --junit`: well-formed JUnit XML in the shape CI test reports read (GitHub
actions, GitLab, Jenkins): <testsuites> of one <testsuite> per gate, counts that match the
<testcase> elements, failures naming the input line and the generated file.

One real check per module (two agents of dev, one with an unpinned image); refusals and invalid
inputs stop before the gates, so they are cheap."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from blueprint.cli import main
from blueprint.errors import ToolError
from blueprint.junit import junit_xml
from conftest import ENVIRONMENTS, edit

UNPINNED = "runtime:\n  image: registry.example.com/agents/research:1.0.0\n"
PROFILE = "environments/dev/agents/research.yaml"


def small_dev(root: Path) -> Path:
    """dev with research and cluster-triage only: no AWS stage, so the check is quick."""
    shutil.copytree(ENVIRONMENTS, root / "environments")
    for name in ("customer-support", "code-interpreter"):
        (root / "environments" / "dev" / "agents" / f"{name}.yaml").unlink()
    return root / "environments"


def check(root: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        mp.chdir(root)
        code = main(["check", "--env", "dev", *extra])
    return code, out.getvalue()


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def consistent(root: ET.Element) -> ET.Element:
    """The counts CI systems show must agree with the elements they list."""
    assert root.tag == "testsuites"
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) > 0
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
        assert suite.get("skipped") == "0"
        assert float(suite.get("time")) == pytest.approx(sum(float(c.get("time")) for c in cases), abs=0.002)
        for case in cases:
            assert case.get("name") and case.get("classname") == f"blueprint.dev.{suite.get('name')}"
    for attr in ("tests", "failures", "errors"):
        assert int(root.get(attr)) == sum(int(s.get(attr)) for s in root.findall("testsuite"))
    return root


@pytest.fixture(scope="module")
def failed(tmp_path_factory, checkov_bin: str) -> dict:
    root = tmp_path_factory.mktemp("junit")
    envs = small_dev(root)
    profile = envs / "dev" / "agents" / "research.yaml"
    profile.write_text(profile.read_text() + UNPINNED)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLUEPRINT_CHECKOV", checkov_bin)
        code, stdout = check(root, "--junit", "reports/junit.xml", "--format", "json")
    return {"root": root, "code": code, "data": json.loads(stdout),
            "xml": ET.parse(root / "reports" / "junit.xml").getroot()}


def test_one_suite_per_gate_with_consistent_counts(failed: dict) -> None:
    assert failed["code"] == 1
    root = consistent(failed["xml"])
    gates = failed["data"]["gates"]
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [g["gate"] for g in gates]
    for suite, gate in zip(suites, gates):
        assert float(suite.get("time")) == pytest.approx(gate["seconds"], abs=0.002)
        assert int(suite.get("failures")) == gate["checks_failed"]
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["checks_passed"] == str(gate["checks_passed"])
    assert failed["data"]["reports"] == {"junit": "reports/junit.xml"}


def test_the_failure_names_the_profile_line_and_the_generated_file(failed: dict) -> None:
    root = failed["xml"]
    image_line = line_of(failed["root"] / PROFILE, "image: registry.example.com/agents/research:1.0.0")
    failing = [(s.get("name"), c) for s in root.findall("testsuite") for c in s.findall("testcase")
               if c.find("failure") is not None]
    assert sorted(name for name, _ in failing) == ["checkov", "checkov-kubernetes"]
    for _, case in failing:
        assert case.get("name") == "CKV_K8S_43 kubernetes_deployment_v1.research"
        assert (case.get("file"), case.get("line")) == (PROFILE, str(image_line))
        failure = case.find("failure")
        assert failure.get("type") == "CKV_K8S_43" and "digest" in failure.get("message")
        assert f"{PROFILE}:{image_line}:3: runtime.image" in failure.text
        assert "generated: build/dev/agents/agent_research.tf:" in failure.text


def test_a_refusal_is_a_failing_refusal_suite(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    profile = envs / "dev" / "agents" / "cluster-triage.yaml"
    edit(profile, "resources: [events]\n      verbs: [get, list, watch]", "resources: [events]\n      verbs: [get, '*']")
    code, _ = check(tmp_path, "--junit", "junit.xml")
    assert code == 1
    root = consistent(ET.parse(tmp_path / "junit.xml").getroot())
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "refusal" and suite.get("failures") == "2"
    line = str(line_of(profile, "verbs: [get, '*']"))
    for case in suite.findall("testcase"):
        assert (case.get("file"), case.get("line")) == ("environments/dev/agents/cluster-triage.yaml", line)
    messages = [c.find("failure").get("message") for c in suite.findall("testcase")]
    assert messages[0].startswith("[wildcard]") and messages[1].startswith("[escalation-verb]")


def test_an_invalid_input_is_a_failing_input_suite(tmp_path: Path) -> None:
    envs = small_dev(tmp_path)
    profile = envs / "dev" / "agents" / "research.yaml"
    edit(profile, "egress:\n", "egres:\n")
    code, _ = check(tmp_path, "--junit", "out/junit.xml")
    assert code == 2
    root = consistent(ET.parse(tmp_path / "out" / "junit.xml").getroot())
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "input"
    located = {(c.get("file"), c.get("line")) for c in suite.findall("testcase")}
    assert ("environments/dev/agents/research.yaml", str(line_of(profile, "egres:"))) in located
    assert any("unknown key 'egres'" in c.find("failure").get("message") for c in suite.findall("testcase"))


def test_a_missing_tool_is_an_error_not_a_failure() -> None:
    root = consistent(ET.fromstring(junit_xml("dev", error=ToolError("checkov was not found at /nowhere/checkov"))))
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("errors"), suite.get("failures")) == ("tool", "1", "0")
    assert "checkov was not found" in suite.find("testcase/error").get("message")


def test_text_that_xml_cannot_hold_raw_is_escaped() -> None:
    from blueprint.gates.result import Finding, GateResult
    from blueprint.provenance import Traced
    from blueprint.errors import Location

    finding = Finding("invariants", "X", 'a <b> & "c" ]]> d', "agents/agent_a.tf", "kubernetes_role_v1.a")
    traced = Traced(finding, Location("p.yaml", 3, 1, "kubernetes"), "a", "build/dev/agents/agent_a.tf", 7)
    text = junit_xml("dev", [GateResult("invariants", 0, [finding], 0.5)], [[traced]])
    failure = consistent(ET.fromstring(text)).find("testsuite/testcase/failure")
    assert failure.get("message") == 'a <b> & "c" ]]> d' and 'a <b> & "c" ]]> d' in failure.text


def test_a_passing_check_has_one_passing_case_per_gate() -> None:
    from blueprint.gates.result import GateResult

    text = junit_xml("dev", [GateResult("parse", 3, [], 0.2), GateResult("checkov", 500, [], 8.0)], [[], []])
    root = consistent(ET.fromstring(text))
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in root.findall("testsuite")] == [
        ("parse", "1", "0"), ("checkov", "1", "0")]
    assert root.find("testsuite/testcase").get("name") == "3 checks passed"
    assert float(root.get("time")) == pytest.approx(8.2)
