"""Run every gate over one environment's emitted files (a scratch folder, never build/)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blueprint.emit.manifests import Manifest, derive, is_kubernetes_resource
from blueprint.emit.terraform import CHECKOV_SKIPS
from blueprint.errors import ToolError
from blueprint import hcl_reader
from blueprint.gates.checkov_runner import (
    coverage_findings,
    module_local_address,
    run_checkov,
)
from blueprint.gates.consistency import check_consistency
from blueprint.gates.crd_schema import validate_custom_object
from blueprint.gates.dockerfile import check_dockerfile_structure, check_dockerfiles
from blueprint.gates.fmt import check_fmt
from blueprint.gates.invariants import check_invariants
from blueprint.gates.kubernetes_validate import (
    conversion_findings,
    run_checkov_kubernetes,
    validate_manifests,
)
from blueprint.gates.provider_schema import check_resource, load_provider_schema
from blueprint.gates.result import Finding, GateResult
from blueprint.gates.terraform_runner import run_terraform_gate
from blueprint.models import AgentProfile, Environment

TOP_LEVEL_BLOCKS = {"resource", "data", "terraform", "provider"}
GATES = ("parse", "invariants", "consistency", "credential-lifetime", "provider-schema", "crd-schema", "dockerfile",
         "hadolint", "checkov", "kubernetes-validate", "checkov-kubernetes", "coverage", "terraform-fmt",
         "terraform-validate-plan")
# Providers that cannot be installed here are checked against their recorded schema instead.
SCHEMA_PACKAGES = {
    "kubernetes": "cdktn_provider_kubernetes",
    "vault": "cdktn_provider_vault",
    "helm": "cdktn_provider_helm",
}


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
    seen: dict[tuple[str, str], str] = {}
    names = [str(path.relative_to(root)) for path in files]
    documents = hcl_reader.parse_texts([(p.read_text(encoding="utf-8"), name) for p, name in zip(files, names)],
                                       keep_errors=True)
    for name, document in zip(names, documents):
        if isinstance(document, hcl_reader.HclParseError):
            findings.append(Finding("parse", "HCL_PARSE", str(document), name))
            continue
        parsed = hcl_reader.ParsedFile(name, document)
        stage = parsed.path.split("/", 1)[0]
        if parsed.path.startswith("platform/modules/"):  # our hand-written modules, copied verbatim
            allowed = TOP_LEVEL_BLOCKS | {"variable", "locals", "output", "module"}
        else:
            allowed = TOP_LEVEL_BLOCKS | ({"module"} if stage == "platform" else set())
        unexpected = sorted(set(parsed.document) - allowed)
        if unexpected:
            findings.append(Finding("parse", "HCL_UNEXPECTED_BLOCK",
                                    f"blocks {unexpected} are never emitted here (variables, locals and modules "
                                    "would hide values from the gates)", parsed.path))
        for res in hcl_reader.resources(parsed, modes=("managed", "data")):
            key = (parsed.path.rsplit("/", 1)[0], res.address)
            if key in seen:
                findings.append(Finding("parse", "HCL_DUPLICATE_ADDRESS",
                                        f"{res.address} is also defined in {seen[key]}", res.file, res.address))
            seen.setdefault(key, res.file)
            resources.append(res)
    return resources, GateResult("parse", len(files) - len(findings), findings, time.perf_counter() - started,
                                 detail=f"{len(files)} files, {len(resources)} resources")


def schema_gate(resources: list[hcl_reader.Resource]) -> GateResult:
    """Every block of a resource whose provider cannot be installed offline (kubernetes, vault,
    helm) against that provider's schema, read from its jsii assembly. aws_* resources go
    through real `terraform validate` instead."""
    started = time.perf_counter()
    findings: list[Finding] = []
    checked = 0
    versions = []
    prefixes = {r.type.split("_", 1)[0] for r in resources}
    for prefix, package in SCHEMA_PACKAGES.items():
        if prefix not in prefixes:
            continue
        schema = load_provider_schema(package)
        versions.append(f"{schema.name} {schema.provider_version}")
        for res in resources:
            if res.type.startswith(prefix + "_"):
                checked += 1
                findings += [Finding("provider-schema", "SCHEMA", problem, res.file, res.address)
                             for problem in check_resource(schema, res)]
    failed = len({f.resource for f in findings})
    return GateResult("provider-schema", checked - failed, findings, time.perf_counter() - started,
                      detail=", ".join(versions))


def crd_schema_gate(resources: list[hcl_reader.Resource]) -> GateResult:
    """Custom objects (kubernetes_manifest) against the CRD schemas we ship, pinned to the versions
    we target: kubernetes-validate only warns for a kind it has no schema for."""
    started = time.perf_counter()
    findings = []
    # Our modules' objects come from a release fetched at apply time (verified by sha256 there).
    manifests = [r for r in resources if r.type == "kubernetes_manifest" and not r.file.startswith("platform/modules/")]
    for res in manifests:
        manifest = res.body.get("manifest")
        problems = validate_custom_object(manifest) if isinstance(manifest, dict) else ["manifest is not a literal object"]
        findings += [Finding("crd-schema", "CRD_SCHEMA", problem, res.file, res.address) for problem in problems]
    failed = len({f.resource for f in findings})
    return GateResult("crd-schema", len(manifests) - failed, findings, time.perf_counter() - started,
                      detail=f"{len(manifests)} custom objects")


# Skips reviewed into our hand-written modules, by file: the agent-sandbox release objects are
# fetched at apply time, so no static check can read them; the module verifies their sha256 and
# its hardening is tested with `terraform test` (modules/agent-sandbox/release/tests) instead.
MODULE_SKIPS = {
    "platform/modules/agent-sandbox/main.tf": {"BP_K8S_17", "BP_K8S_18", "BP_K8S_19", "BP_K8S_20", "BP_K8S_21"},
}


def unexplained_skips(report, profiles: list[AgentProfile]) -> list[Finding]:
    """A checkov skip must come from a named profile exception that waives that check, or be one
    of the reviewed MODULE_SKIPS; any other skip (a hand edit, or text that slipped through) fails
    the checkov gate."""
    allowed = {(check, w.name) for p in profiles for w in p.exceptions for check in CHECKOV_SKIPS.get(w.waives, ())}
    findings = []
    for record in report.skipped:
        if record.check_id in MODULE_SKIPS.get(record.file, ()):
            continue
        match = re.match(r"\s*exception ([a-z0-9-]+):", record.suppress_comment or "")
        if not match or (record.check_id, match.group(1)) not in allowed:
            findings.append(Finding("checkov", record.check_id,
                                    f"skipped without a profile exception that waives it ({record.suppress_comment!r})",
                                    record.file, record.resource, record.line))
    return findings


def sandbox_pods(manifests: list[Manifest]) -> list[Manifest]:
    """Each SandboxTemplate's pod, as a Deployment the API validators and checkov's workload checks
    understand: the CRD leaves the embedded pod spec open, so it needs the Deployment's gate too."""
    out = []
    for m in manifests:
        if m.kind != "SandboxTemplate":
            continue
        meta = m.object.get("metadata", {})
        pod = (m.object.get("spec") or {}).get("podTemplate") or {}
        labels = (pod.get("metadata") or {}).get("labels") or {}
        out.append(Manifest({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"{meta.get('name')}-sandbox-pod", "namespace": meta.get("namespace"),
                         "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": pod},
        }, m.file, m.address))
    return out


def _kubernetes_validate(manifests, problems, version: str) -> GateResult:
    started = time.perf_counter()
    result = validate_manifests(manifests, version)
    result.findings[:0] = conversion_findings(problems)
    result.seconds = time.perf_counter() - started
    return result


def waive_derived_findings(result: GateResult, profiles: list[AgentProfile]) -> GateResult:
    """Derived manifests carry no skip comments: a finding a profile's named exception waives is
    moved out of the findings here (same mapping as the Terraform skips) and counted in the detail."""
    waives = {p.name.replace("-", "_"): {c for w in p.exceptions for c in CHECKOV_SKIPS.get(w.waives, ())}
              for p in profiles}
    kept, waived = [], []
    for finding in result.findings:
        label = finding.resource.split(".", 1)[-1].split("__", 1)[0]
        (waived if finding.check_id in waives.get(label, set()) else kept).append(finding)
    result.findings = kept
    if waived:
        result.detail += f"; {len(waived)} waived by profile exceptions ({', '.join(sorted({f.check_id for f in waived}))})"
    return result


def _no_progress(event: str) -> None:
    pass


def run_gates(root: Path, profiles: list[AgentProfile], env: Environment,
              progress: Callable[[str], None] = _no_progress) -> list[GateResult]:
    """All gates over `root`. checkov and terraform fmt are subprocesses, so they run in threads
    while this process parses the files and checks the invariants and schemas (2 cores: the
    slow parse overlaps the slow checkov scan). `progress` hears 'start NAME' and 'done NAME'
    (from worker threads too) for a terminal's status line."""
    dockerfiles = sorted(str(p.relative_to(root)) for p in root.rglob("*.Dockerfile"))
    frameworks = ("terraform", "dockerfile") if dockerfiles else ("terraform",)
    with ThreadPoolExecutor(max_workers=5) as pool:
        def submit(name: str, fn, *args, **kwargs):
            progress(f"start {name}")
            job = pool.submit(fn, *args, **kwargs)
            job.add_done_callback(lambda _: progress(f"done {name}"))
            return job

        checkov_job = submit("checkov", run_checkov, root, frameworks=frameworks, policies_dir=policies_dir())
        fmt_job = submit("terraform-fmt", check_fmt, root)
        # The only provider installable offline is aws: its root gets real init/validate/plan.
        aws_root = root / "identity-aws"
        terraform_job = submit("terraform-validate-plan", run_terraform_gate, aws_root) if aws_root.is_dir() else None
        kube_jobs = []
        try:
            progress("start parse")
            blocks, parsed = parse_gate(root)
            progress("done parse")
            resources = [b for b in blocks if b.mode == "managed"]
            results = [parsed]
            if parsed.ok:
                # The objects the Kubernetes resources create, for the API's own validators.
                kube = [r for r in resources if r.file.startswith(("agents/", "agents-crd/")) or r.file == "platform/main.tf"]
                manifests, problems = derive([r for r in kube if is_kubernetes_resource(r)])
                manifests += sandbox_pods(manifests)
                kube_jobs = [
                    submit("kubernetes-validate", _kubernetes_validate, manifests, problems,
                           env.cluster.kubernetes_version),
                    submit("checkov-kubernetes", run_checkov_kubernetes, manifests, policies_dir=policies_dir()),
                ]
            progress("start invariants and schemas")
            if parsed.ok:
                agents_stage = [r for r in resources if r.file.startswith("agents/")]
                results.append(check_invariants(agents_stage, profiles, env))
                consistency, lifetime, _ = check_consistency(blocks, profiles, env)
                results += [consistency, lifetime]
                results.append(schema_gate(resources))
                results.append(crd_schema_gate(resources))
            if dockerfiles:
                results.append(check_dockerfile_structure(root, dockerfiles))
                progress("start hadolint")
                results.append(check_dockerfiles(root, dockerfiles))
            progress("done invariants, schemas and hadolint")
            checkov_result, report = checkov_job.result()
            fmt_result = fmt_job.result()
            terraform_result = terraform_job.result() if terraform_job else None
            kube_results = [job.result() for job in kube_jobs]
        except BaseException:
            for job in (checkov_job, fmt_job, terraform_job, *kube_jobs):
                if job:
                    job.cancel()
            raise
    unexplained = unexplained_skips(report, profiles)
    if unexplained:
        checkov_result.findings.extend(unexplained)
    results.append(checkov_result)
    if kube_results:
        results.append(kube_results[0])
        results.append(waive_derived_findings(kube_results[1][0], profiles))
    if parsed.ok:
        started = time.perf_counter()
        types = {r.type for r in resources}
        # Every emitted resource must be inspected; a module resource may be switched off by its
        # count (a disabled provider), so for those it is enough that its type is inspected.
        own = [r for r in resources if not r.file.startswith("platform/modules/")]
        coverage = coverage_findings(report, [(r.type, r.address, r.file) for r in own])
        inspected_types = {module_local_address(x.resource).split(".")[0] for x in report.records
                           if x.inspected or x.outcome == "skipped"}
        coverage += [Finding("coverage", "COVERAGE_TYPE", f"no checkov check inspects {t} (in the platform module)",
                             resource=t) for t in sorted({r.type for r in resources} - {r.type for r in own})
                     if t not in inspected_types]
        results.append(GateResult("coverage", len(types) - len(coverage), coverage,
                                  time.perf_counter() - started, detail=f"{len(types)} resource types"))
    results.append(fmt_result)
    if terraform_result is not None:
        results.append(terraform_result)
    return results
