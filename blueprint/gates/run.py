"""Run every gate over one environment's emitted files (a scratch folder, never build/)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blueprint.errors import ToolError
from blueprint.gates import hcl_reader
from blueprint.gates.checkov_runner import coverage_findings, run_checkov
from blueprint.gates.fmt import check_fmt
from blueprint.gates.invariants import check_invariants
from blueprint.gates.provider_schema import check_resource, load_provider_schema
from blueprint.gates.result import Finding, GateResult
from blueprint.models import AgentProfile, Environment

GATES = ("parse", "invariants", "provider-schema", "checkov", "coverage", "terraform-fmt")
# Providers that cannot be installed here are checked against their recorded schema instead.
SCHEMA_PACKAGES = ("cdktn_provider_kubernetes",)


def policies_dir() -> Path:
    """Our checkov pack: $BLUEPRINT_POLICIES, else the repository's policies/ folder."""
    explicit = os.environ.get("BLUEPRINT_POLICIES")
    candidates = [Path(explicit)] if explicit else [
        Path(__file__).resolve().parents[2] / "policies",
        Path.cwd() / "policies",
    ]
    for candidate in candidates:
        if (candidate / "__init__.py").is_file():
            return candidate
    raise ToolError(f"the checkov policy pack was not found (looked in {', '.join(map(str, candidates))}); "
                    "set BLUEPRINT_POLICIES to the policies/ folder of the blueprint repository")


def parse_gate(root: Path) -> tuple[list[hcl_reader.Resource], GateResult]:
    """Parse every emitted .tf file back; a file that does not parse fails the gate."""
    started = time.perf_counter()
    resources: list[hcl_reader.Resource] = []
    findings: list[Finding] = []
    files = sorted(root.rglob("*.tf"))
    for path in files:
        try:
            parsed = hcl_reader.parse_file(path, root)
        except hcl_reader.HclParseError as exc:
            findings.append(Finding("parse", "HCL_PARSE", str(exc), str(path.relative_to(root))))
            continue
        resources.extend(hcl_reader.resources(parsed))
    return resources, GateResult("parse", len(files) - len(findings), findings, time.perf_counter() - started,
                                 detail=f"{len(files)} files, {len(resources)} resources")


def schema_gate(resources: list[hcl_reader.Resource]) -> GateResult:
    """Every block of a kubernetes_* resource against the provider's schema (the jsii oracle)."""
    started = time.perf_counter()
    findings: list[Finding] = []
    checked = 0
    versions = []
    for package in SCHEMA_PACKAGES:
        schema = load_provider_schema(package)
        versions.append(f"{schema.name} {schema.provider_version}")
        for res in resources:
            if res.type.startswith(schema.name + "_"):
                checked += 1
                findings += [Finding("provider-schema", "SCHEMA", problem, res.file, res.address)
                             for problem in check_resource(schema, res)]
    failed = len({f.resource for f in findings})
    return GateResult("provider-schema", checked - failed, findings, time.perf_counter() - started,
                      detail=", ".join(versions))


def run_gates(root: Path, profiles: list[AgentProfile], env: Environment) -> list[GateResult]:
    """All gates over `root`. checkov and terraform fmt are subprocesses, so they run in threads
    while this process parses the files and checks the invariants and schemas (2 cores: the
    slow parse overlaps the slow checkov scan)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        checkov_job = pool.submit(run_checkov, root, frameworks=("terraform",), policies_dir=policies_dir())
        fmt_job = pool.submit(check_fmt, root)
        try:
            resources, parsed = parse_gate(root)
            results = [parsed]
            if parsed.ok:
                results.append(check_invariants(resources, profiles, env))
                results.append(schema_gate(resources))
            checkov_result, report = checkov_job.result()
            fmt_result = fmt_job.result()
        except BaseException:
            for job in (checkov_job, fmt_job):
                job.cancel()
            raise
    results.append(checkov_result)
    if parsed.ok:
        started = time.perf_counter()
        types = {r.type for r in resources}
        coverage = coverage_findings(report, [(r.type, r.address, r.file) for r in resources])
        results.append(GateResult("coverage", len(types) - len(coverage), coverage,
                                  time.perf_counter() - started, detail=f"{len(types)} resource types"))
    results.append(fmt_result)
    return results
