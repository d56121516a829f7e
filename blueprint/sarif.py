"""`blueprint check` as a SARIF 2.1.0 log, for code scanning (GitHub, GitLab, Azure DevOps).

One run. Each result points at the input a reviewer edits (the profile or environment.yaml line,
from blueprint.provenance) and relates it to the generated file the gate read. A refused or
invalid input is reported the same way, from its located problems, so a pull request that breaks
least privilege gets an annotation on the offending line too. Pure functions: the command line
writes the text through blueprint.writer.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path, PurePosixPath
from typing import Any, Iterable
from urllib.parse import quote

from blueprint import __version__
from blueprint.errors import BlueprintError, Location, Problem
from blueprint.gates.result import GateResult
from blueprint.provenance import Traced

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "blueprint/v1"
REFUSAL_GATE = "least-privilege"
INPUT_GATE = "input"
INPUT_RULE = "invalid-input"
_CODE = re.compile(r"^\[([a-z0-9-]+)\] ")
_URL = re.compile(r"https?://[^\s)]+")
_POSITION = re.compile(r":\d+(:\d+)?\b")

# What each least-privilege refusal means (README, "Refusal codes").
REFUSALS = {
    "wildcard": "An RBAC rule uses '*' (verbs, resources or API groups)",
    "escalation-verb": "An RBAC rule grants escalate, bind or impersonate",
    "unnamed-secret-read": "Secrets (or serviceaccounts/token) readable without resourceNames",
    "cluster-scope": "A cluster-scoped rule or resource",
    "egress-world": "Egress to the whole internet (0.0.0.0/0, ::/0)",
    "egress-too-wide": "An egress destination wider than the environment's prefix limit",
    "egress-cluster-overlap": "An egress destination overlapping the pod, service or node ranges",
    "egress-metadata": "Egress to the cloud metadata address",
    "egress-api-server": "Egress to the API server without Kubernetes API rules",
    "unused-exception": "A profile exception that waives nothing",
    # Refusals no exception can waive (blueprint.plan.least_privilege.HARD_CODES).
    "secret-outside-grant": "A secret outside the environment's grant for its backend",
    "ttl-above-ceiling": "A credential lifetime above the environment's ceiling",
    "trust-wildcard": "A workload-identity trust (OIDC issuer) containing a wildcard",
    "image-not-pinned": "An agent image not pinned by digest where the environment requires it",
}


def information_uri() -> str | None:
    """The project's home page from its package metadata ([project.urls] in pyproject.toml), if set."""
    try:
        urls = metadata("blueprint").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    pairs = [u.split(",", 1) for u in urls if "," in u]
    for label, url in pairs:
        if label.strip().lower() in ("homepage", "documentation", "repository", "source"):
            return url.strip()
    return pairs[0][1].strip() if pairs else None


def artifact_location(file: str) -> dict[str, Any]:
    """A relative path stays relative to the working directory (the repository root in CI)."""
    path = PurePosixPath(file.replace("\\", "/"))
    if path.is_absolute():
        return {"uri": Path(file).as_uri()}
    return {"uri": quote(str(path)), "uriBaseId": SRCROOT}


def _physical(location: Location) -> dict[str, Any] | None:
    if not location.file or location.file.startswith("<"):
        return None
    physical: dict[str, Any] = {"artifactLocation": artifact_location(location.file)}
    if location.line:
        region: dict[str, Any] = {"startLine": location.line}
        if location.column:
            region["startColumn"] = location.column
        physical["region"] = region
    return physical


def _location(location: Location, message: str | None = None) -> dict[str, Any] | None:
    physical = _physical(location)
    if physical is None:
        return None
    out: dict[str, Any] = {"physicalLocation": physical}
    if location.path:
        out["logicalLocations"] = [{"fullyQualifiedName": location.path, "kind": "member"}]
    if message:
        out["message"] = {"text": message}
    return out


def fingerprint(*parts: str) -> str:
    """Stable across runs and across unrelated edits: no line or column numbers go in."""
    text = "\0".join(_POSITION.sub("", part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _short(message: str) -> str:
    text = re.sub(r" \(fix: [^)]*\)$", "", message).split("; ")[0]
    return text if len(text) <= 120 else text[:117] + "..."


class _Rules:
    """One reportingDescriptor per distinct rule id, in first-seen order."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def add(self, rule_id: str, description: str, gate: str, message: str = "") -> int:
        if rule_id not in self.index:
            rule: dict[str, Any] = {"id": rule_id, "shortDescription": {"text": description},
                                    "defaultConfiguration": {"level": "error"},
                                    "properties": {"gates": [], "tags": ["blueprint"]}}
            url = _URL.search(message)
            if url:
                rule["helpUri"] = url.group(0)
            self.index[rule_id] = len(self.rules)
            self.rules.append(rule)
        rule = self.rules[self.index[rule_id]]
        if gate not in rule["properties"]["gates"]:
            rule["properties"]["gates"].append(gate)
            rule["properties"]["tags"].append(gate)
        return self.index[rule_id]


def _finding_result(item: Traced, rules: _Rules) -> dict[str, Any]:
    f = item.finding
    index = rules.add(f.check_id, _short(f.message), f.gate, f.message)
    where = f" ({f.resource})" if f.resource else ""
    result: dict[str, Any] = {
        "ruleId": f.check_id, "ruleIndex": index, "level": "error",
        "message": {"text": f"[{f.gate}] {f.message}{where}"},
        "partialFingerprints": {FINGERPRINT: fingerprint(f.gate, f.check_id, item.origin.file, item.origin.path,
                                                         f.file, f.resource, f.message)},
        "properties": {"gate": f.gate, "resource": f.resource, "generatedFile": f.file, "agent": item.agent or ""},
    }
    primary = _location(item.origin, f"caused by {item.origin.path or 'this file'}")
    if primary:
        result["locations"] = [primary]
    if item.generated:
        related = _location(Location(item.generated, item.generated_line, None, f.resource),
                            "generated file the gate read" + (f": {f.resource}" if f.resource else ""))
        if related:
            related["id"] = 0
            result["relatedLocations"] = [related]
    return result


def _problem_result(problem: Problem, gate: str, rule_id: str, description: str, rules: _Rules) -> dict[str, Any]:
    index = rules.add(rule_id, description, gate)
    result: dict[str, Any] = {
        "ruleId": rule_id, "ruleIndex": index, "level": "error",
        "message": {"text": problem.message},
        "partialFingerprints": {FINGERPRINT: fingerprint(gate, rule_id, problem.location.file,
                                                         problem.location.path, problem.message)},
        "properties": {"gate": gate},
    }
    location = _location(problem.location)
    if location:
        result["locations"] = [location]
    return result


def error_results(error: BlueprintError, rules: _Rules) -> list[dict[str, Any]]:
    """A refusal (exit 1) or an invalid input (exit 2): one result per located problem."""
    results = []
    for problem in error.problems:
        if error.exit_code == 2:
            results.append(_problem_result(problem, INPUT_GATE, INPUT_RULE,
                                           "The input is invalid (YAML, schema or a reference)", rules))
            continue
        match = _CODE.match(problem.message)
        code = match.group(1) if match else "refused"
        results.append(_problem_result(problem, REFUSAL_GATE, code,
                                       REFUSALS.get(code, "Least privilege refused the input"), rules))
    return results


def sarif_log(traced: Iterable[Traced] = (), gates: Iterable[GateResult] = (),
              error: BlueprintError | None = None, exit_code: int = 0) -> dict[str, Any]:
    """The SARIF log of one `blueprint check` (gate findings, or the error that stopped it)."""
    rules = _Rules()
    results = [_finding_result(item, rules) for item in traced]
    invocation: dict[str, Any] = {"executionSuccessful": True, "exitCode": exit_code}
    if error is not None:
        if error.exit_code in (1, 2) and error.problems:
            results += error_results(error, rules)
        else:  # a missing or broken tool: the check did not run to the end
            invocation["executionSuccessful"] = False
            invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": error.text}}]
    driver: dict[str, Any] = {"name": "blueprint", "version": __version__, "semanticVersion": __version__}
    uri = information_uri()
    if uri:
        driver["informationUri"] = uri
    run: dict[str, Any] = {
        "tool": {"driver": driver | {"rules": rules.rules}},
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
        "invocations": [invocation],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    summary = [{"gate": g.gate, "ok": g.ok, "checksPassed": g.checks_passed, "checksFailed": len(g.findings),
                "seconds": round(g.seconds, 3)} for g in gates]
    if summary:
        run["properties"] = {"gates": summary}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def sarif_text(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2, sort_keys=False) + "\n"
