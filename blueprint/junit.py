"""`blueprint check` as JUnit XML, the test-report format every CI shows (GitHub, GitLab, Jenkins).

One <testsuite> per gate. A gate reports how many checks passed and each failed check: the passed
ones become one passing <testcase> (their count in its name), each finding a failing <testcase>
whose <failure> names the input line to fix and the generated file. A refusal or an invalid input
stops the check before any gate runs: its problems are failures of a `refusal` or `input` suite; a
missing tool is an <error> of a `tool` suite. `tests` always equals the <testcase> elements, which
is what GitLab and Jenkins count. Pure functions: the command line writes the text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Sequence

from blueprint.errors import BlueprintError, Location, Problem
from blueprint.gates.result import GateResult
from blueprint.provenance import Traced

REFUSAL_SUITE = "refusal"
INPUT_SUITE = "input"
TOOL_SUITE = "tool"


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _suite(name: str, env: str) -> ET.Element:
    return ET.Element("testsuite", name=name, tests="0", failures="0", errors="0", skipped="0",
                      time="0.000", package=f"blueprint.{env}")


def _case(suite: ET.Element, name: str, env: str, seconds: float = 0.0, file: str = "",
          line: int | None = None) -> ET.Element:
    attrs = {"name": name, "classname": f"blueprint.{env}.{suite.get('name')}", "time": _seconds(seconds)}
    if file:
        attrs["file"] = file
    if line:
        attrs["line"] = str(line)
    return ET.SubElement(suite, "testcase", attrs)


def _finish(suite: ET.Element, seconds: float) -> ET.Element:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("time", _seconds(seconds))
    return suite


def _gate_suite(gate: GateResult, traced: list[Traced], env: str) -> ET.Element:
    suite = _suite(gate.gate, env)
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="checks_passed", value=str(gate.checks_passed))
    ET.SubElement(props, "property", name="checks_failed", value=str(len(gate.findings)))
    if gate.detail:
        ET.SubElement(props, "property", name="detail", value=gate.detail)
    # The gate ran once for all its checks: its time goes on the first test case, so the
    # test cases add up to the suite's time.
    seconds = gate.seconds
    if gate.checks_passed or not traced:
        _case(suite, f"{gate.checks_passed} checks passed", env, seconds)
        seconds = 0.0
    for item in traced:
        f = item.finding
        target = f.resource or f.file or gate.gate
        case = _case(suite, f"{f.check_id} {target}", env, seconds, item.origin.file, item.origin.line)
        seconds = 0.0
        failure = ET.SubElement(case, "failure", message=f.message, type=f.check_id)
        generated = item.generated + (f":{item.generated_line}" if item.generated_line else "")
        failure.text = "\n".join(line for line in (
            f"{item.origin}: {item.origin.path}: fix the input here" if item.origin.path else f"{item.origin}: fix the input here",
            f"generated: {generated}" + (f" ({f.resource})" if f.resource else "") if generated else "",
            f"{f.gate} {f.check_id}: {f.message}",
        ) if line)
    return _finish(suite, gate.seconds)


def _problem_case(suite: ET.Element, problem: Problem, env: str, element: str) -> None:
    loc = problem.location
    # A test case needs a name: the field, else the file, else (a tool error) the message itself.
    name = (loc.path or loc.file or problem.message.splitlines()[0][:120]) + (f" ({loc.file}:{loc.line})" if loc.line else "")
    case = _case(suite, name, env, 0.0, loc.file if not loc.file.startswith("<") else "", loc.line)
    node = ET.SubElement(case, element, message=problem.message, type=suite.get("name", ""))
    node.text = str(problem) if loc.file else problem.message


def _error_suite(error: BlueprintError, env: str) -> ET.Element:
    name = {2: INPUT_SUITE, 1: REFUSAL_SUITE}.get(error.exit_code, TOOL_SUITE)
    suite = _suite(name, env)
    element = "error" if name == TOOL_SUITE else "failure"
    problems = error.problems or [Problem(Location(""), error.text)]
    for problem in problems:
        _problem_case(suite, problem, env, element)
    return _finish(suite, 0.0)


def junit_xml(env: str, gates: Sequence[GateResult] = (), traced: Sequence[list[Traced]] = (),
              error: BlueprintError | None = None) -> str:
    """The JUnit XML document of one `blueprint check` of `env`; traced[i] are gates[i]'s findings."""
    root = ET.Element("testsuites", name=f"blueprint check {env}")
    suites = [_gate_suite(g, list(items), env) for g, items in zip(gates, traced, strict=True)]
    if error is not None:
        suites.append(_error_suite(error, env))
    root.extend(suites)
    for attr in ("tests", "failures", "errors"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", _seconds(sum(float(s.get("time", "0")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
