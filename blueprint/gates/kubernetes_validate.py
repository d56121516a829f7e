"""Gate "kubernetes-validate": the objects the emitted Terraform creates, against the API schemas of
the environment's Kubernetes version, plus checkov's kubernetes framework over the same objects.

The manifests are derived from the *parsed* .tf files (blueprint.emit.manifests), written one
object per file into a temporary folder, and checked by:

- `kubernetes-validate --strict --kubernetes-version <x.y.0>` for every built-in kind. One process
  for all files. What we rely on, verified with kubernetes-validate 1.37.0:
  * it prints one line per object: `INFO <file> passed ...`, `ERROR <file> did not validate for
    resource <kind>/<name> against version <v>: <path>: <message>` (only the first error of an
    object), `WARN <file> Couldn't find schema for kind ...` for a kind it has no schema for
    (and then exits 0), `FATAL ... does not support kubernetes version ...` (exit 2);
  * a YAML it cannot read or an object it cannot handle ends the run with a message or a
    traceback on stderr.
  We write one object per file, so a line's file names the object; every file must get exactly
  one verdict line, else the run is broken (ToolError, exit 3). A WARN (no schema) fails the
  gate: an object nothing validated must not pass.
- blueprint's own CRD schemas (blueprint.gates.crd_schema) for the custom kinds we ship schemas
  for (SecretProviderClass, ...); kubernetes-validate knows no custom kind.
- checkov's kubernetes framework (`run_checkov_kubernetes`), whose checks go further than its
  Terraform ones (runAsNonRoot, seccomp, automount, RBAC, NetworkPolicy coverage).

Findings are located at the manifest (Kind namespace/name) and at its source: the .tf file and
the Terraform address.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blueprint.emit.manifests import Manifest, derive, dump_manifest, is_kubernetes_resource
from blueprint.errors import ToolError
from blueprint import hcl_reader
from blueprint.gates.checkov_runner import CheckovReport, CheckRecord, run_checkov
from blueprint.gates.crd_schema import SCHEMA_FILES, supported_kinds, validate_custom_object
from blueprint.gates.result import Finding, GateResult
from blueprint.gates.tools import find_tool, run_tool, tail

GATE = "kubernetes-validate"
CHECKOV_GATE = "checkov-kubernetes"
ENV_VAR = "BLUEPRINT_KUBERNETES_VALIDATE"
INSTALL_HINT = "install it with `pip install kubernetes-validate` in blueprint's virtualenv (`make .venv`)"
# Stages whose roots hold kubernetes_* resources (each root is parsed on its own).
KUBERNETES_STAGES = ("platform", "agents", "agents-crd")
CHUNK_MIN = 200  # objects per kubernetes-validate process before the run is split across cores

_VERSION = re.compile(r"^v?(1\.\d+)(\.\d+)?$")
_LINE = re.compile(r"^(INFO|WARN|ERROR|FATAL) (.*)$")
_ERROR = re.compile(
    r"^(?P<file>\S+) did not validate for resource (?P<object>\S+) against version (?P<version>[0-9.]+): "
    r"(?P<path>[^:]*): (?P<message>.*)$", re.DOTALL)
_ADDRESS = re.compile(r"^((?:data\.)?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
_COULD_NOT = re.compile(r"^(?P<file>\S+) could not be validated: (?P<message>.*)$", re.DOTALL)


def find_kubernetes_validate() -> str:
    """$BLUEPRINT_KUBERNETES_VALIDATE, else the one next to this Python (blueprint's venv), else PATH."""
    here = Path(sys.executable).parent / "kubernetes-validate"
    local = Path.cwd() / ".venv" / "bin" / "kubernetes-validate"
    return find_tool("kubernetes-validate", ENV_VAR, INSTALL_HINT, (here, local))


def schema_version(kubernetes_version: str) -> str:
    """The environment's version ("1.31") as kubernetes-validate takes it ("1.31.0")."""
    match = _VERSION.match(kubernetes_version.strip())
    if not match:
        raise ValueError(f"not a Kubernetes version: {kubernetes_version!r} (expected 1.<minor>)")
    return match.group(1) + (match.group(2) or ".0")


# ------------------------------------------------------------------------------------ inputs


def load_resources(root: Path, stages: Sequence[str] = KUBERNETES_STAGES) -> list[hcl_reader.Resource]:
    """The kubernetes_* resources of the stage roots under an environment's output folder, with
    files relative to it (`agents/agent_x.tf`). Modules are not descended into."""
    found: list[hcl_reader.Resource] = []
    for stage in stages:
        for path in sorted((root / stage).glob("*.tf")):
            parsed = hcl_reader.parse_file(path, root)
            found += [r for r in hcl_reader.resources(parsed) if is_kubernetes_resource(r)]
    return found


def file_name(index: int, manifest: Manifest) -> str:
    """A file name for one object: its rank, kind, namespace and name (all DNS-safe)."""
    parts = [f"{index:04d}", manifest.kind.lower(), manifest.namespace or "_cluster", manifest.name]
    return "-".join(re.sub(r"[^a-z0-9.-]", "_", p.lower()) for p in parts) + ".yaml"


def write_manifests(manifests: Sequence[Manifest], folder: Path) -> dict[str, Manifest]:
    """One YAML file per object under `folder`; returns file name -> manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Manifest] = {}
    for index, manifest in enumerate(manifests):
        name = file_name(index, manifest)
        (folder / name).write_text(dump_manifest(manifest.object), encoding="utf-8")
        written[name] = manifest
    return written


def _finding(gate: str, check_id: str, manifest: Manifest, message: str) -> Finding:
    return Finding(gate, check_id, f"{manifest.ref}: {message}", file=manifest.file, resource=manifest.address)


def conversion_findings(problems: Iterable) -> list[Finding]:
    """Resources whose object cannot be derived (unknown type or argument, non-literal value,
    a field the API lacks) fail the gate: what we cannot derive, we cannot validate."""
    findings = []
    for problem in problems:
        where = problem.location.path
        match = _ADDRESS.match(where)
        findings.append(Finding(GATE, "K8S_MANIFEST", f"{where}: {problem.message}",
                                file=problem.location.file, resource=match.group(1) if match else where))
    return findings


# ------------------------------------------------------------------------------------ the gate


def validate_manifests(
    manifests: Sequence[Manifest],
    kubernetes_version: str,
    *,
    binary: str | None = None,
    timeout: int = 300,
) -> GateResult:
    """Built-in kinds through kubernetes-validate --strict, custom kinds through our CRD schemas."""
    started = time.perf_counter()
    version = schema_version(kubernetes_version)
    custom = [m for m in manifests if (m.api_version, m.kind) in SCHEMA_FILES]
    builtin = [m for m in manifests if (m.api_version, m.kind) not in SCHEMA_FILES]
    findings: list[Finding] = []
    passed = 0
    for manifest in custom:
        problems = validate_custom_object(manifest.object)
        findings += [_finding(GATE, "CRD_SCHEMA", manifest, p) for p in problems]
        passed += not problems
    tool_version = ""
    if builtin:
        tool = binary or find_kubernetes_validate()
        tool_version = _tool_version(tool, timeout)
        with tempfile.TemporaryDirectory(prefix="blueprint-manifests-") as scratch:
            folder = Path(scratch)
            written = write_manifests(builtin, folder)
            names = sorted(written)
            # ~7 ms per object (it reloads the schema definitions for each): spread big runs over the cores.
            chunks = max(1, min(os.cpu_count() or 1, len(names) // CHUNK_MIN))
            parts = [names[i::chunks] for i in range(chunks)]
            with ThreadPoolExecutor(max_workers=chunks) as pool:
                runs = list(pool.map(lambda part: run_tool(
                    [tool, "--strict", "--kubernetes-version", version, *part], timeout, cwd=folder), parts))
        for part, completed in zip(parts, runs):
            found, ok = parse_output(completed.stdout, completed.stderr, completed.returncode,
                                     {name: written[name] for name in part}, version)
            findings += found
            passed += ok
    return GateResult(
        GATE, checks_passed=passed, findings=findings, seconds=time.perf_counter() - started,
        detail=(f"kubernetes-validate {tool_version or '(not run)'} --strict for Kubernetes {version}: "
                f"{len(builtin)} objects checked by it, {len(custom)} custom objects against blueprint's CRD schemas"),
    )


def kubernetes_validate_gate(
    resources: Iterable[hcl_reader.Resource],
    kubernetes_version: str,
    *,
    binary: str | None = None,
    timeout: int = 300,
) -> tuple[GateResult, list[Manifest]]:
    """Derive the objects of the kubernetes_* resources and validate them. A resource whose object
    cannot be derived is a finding too. Returns the result and the derived manifests."""
    started = time.perf_counter()
    kube = [r for r in resources if is_kubernetes_resource(r)]
    manifests, problems = derive(kube)
    result = validate_manifests(manifests, kubernetes_version, binary=binary, timeout=timeout)
    result.findings[:0] = conversion_findings(problems)
    result.seconds = time.perf_counter() - started
    return result, manifests


def parse_output(
    stdout: str, stderr: str, returncode: int, written: dict[str, Manifest], version: str
) -> tuple[list[Finding], int]:
    """kubernetes-validate's lines as findings, and how many objects passed. Every file must get
    exactly one verdict; anything else means the run is broken (ToolError)."""
    verdicts: dict[str, str] = {}
    findings: list[Finding] = []
    passed = 0
    expected_rc = 0  # kubernetes-validate ORs 1 per invalid object, 2 per object it could not validate
    entries: list[list[str]] = []
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match:
            entries.append([match.group(1), match.group(2)])
        elif entries:  # a message that spans lines
            entries[-1][1] += "\n" + line
        elif line.strip():
            raise ToolError(f"kubernetes-validate printed an unexpected line: {line[:200]!r}\n{tail(stderr)}")
    for level, text in entries:
        if level == "FATAL":
            raise ToolError(f"kubernetes-validate cannot validate for Kubernetes {version}: {text}")
        name = text.split(" ", 1)[0]
        manifest = written.get(name)
        if manifest is None:
            raise ToolError(f"kubernetes-validate reported on a file it was not given: {level} {text[:200]}")
        if name in verdicts:
            raise ToolError(f"kubernetes-validate reported twice on {name} ({manifest.ref})")
        verdicts[name] = level
        if level == "INFO":
            passed += 1
        elif level == "WARN":
            findings.append(_finding(
                GATE, "K8S_NO_SCHEMA", manifest,
                f"no schema for {manifest.api_version} {manifest.kind} in Kubernetes {version} "
                f"(kubernetes-validate: {text[len(name) + 1:]}); blueprint ships CRD schemas only for "
                f"{', '.join(f'{a} {k}' for a, k in supported_kinds())}: an object nothing validated fails"))
        else:
            error = _ERROR.match(text)
            could_not = _COULD_NOT.match(text)
            if error:
                expected_rc |= 1
                path = error.group("path") or "(object)"
                message = f"{path}: {error.group('message')} (Kubernetes {error.group('version')} schema)"
            elif could_not:
                expected_rc |= 2
                message = f"could not be validated: {could_not.group('message')}"
            else:
                raise ToolError(f"kubernetes-validate printed an error blueprint cannot read: {text[:300]!r}")
            findings.append(_finding(GATE, "K8S_SCHEMA", manifest, message))
    missing = sorted(set(written) - set(verdicts))
    if missing:
        raise ToolError(
            f"kubernetes-validate (exit {returncode}) gave no verdict for {len(missing)} of {len(written)} objects "
            f"({', '.join(written[m].ref for m in missing[:5])}{' ...' if len(missing) > 5 else ''}):\n{tail(stderr)}")
    if returncode != expected_rc:
        raise ToolError(f"kubernetes-validate exited with status {returncode} although its verdicts "
                        f"say {expected_rc}:\n{tail(stderr)}")
    return findings, passed


def _tool_version(tool: str, timeout: int) -> str:
    completed = run_tool([tool, "--version"], min(timeout, 60))
    if completed.returncode != 0:
        raise ToolError(f"`{tool} --version` failed (exit {completed.returncode}):\n{tail(completed.stderr)}")
    return completed.stdout.strip()




# ------------------------------------------------------------------------------------ checkov


CHECKOV_BATCH = 300  # objects per checkov run: its kubernetes graph grows faster than linearly


def _batches(manifests: Sequence[Manifest]) -> list[list[Manifest]]:
    """Whole namespaces per batch, so every check still sees an agent's objects together."""
    by_namespace: dict[str, list[Manifest]] = {}
    for m in manifests:
        by_namespace.setdefault(str((m.object.get("metadata") or {}).get("namespace") or ""), []).append(m)
    batches: list[list[Manifest]] = [[]]
    for group in by_namespace.values():
        if batches[-1] and len(batches[-1]) + len(group) > CHECKOV_BATCH:
            batches.append([])
        batches[-1].extend(group)
    return [b for b in batches if b]


def run_checkov_kubernetes(
    manifests: Sequence[Manifest],
    *,
    policies_dir: Path,
    checkov: str | None = None,
    timeout: int = 600,
) -> tuple[GateResult, CheckovReport]:
    """checkov's kubernetes framework (and any kubernetes checks in our pack) over the derived
    objects, one file per object, in batches of whole namespaces. Findings name the object and its
    Terraform source; the report's records keep checkov's own file and resource (`Kind.namespace.name`)."""
    started = time.perf_counter()
    findings: list[Finding] = []
    passed = 0
    reports: list[CheckovReport] = []
    details: list[str] = []
    for batch in _batches(manifests) or [[]]:
        with tempfile.TemporaryDirectory(prefix="blueprint-checkov-k8s-") as scratch:
            folder = Path(scratch)
            written = write_manifests(batch, folder)
            result, report = run_checkov(folder, frameworks=("kubernetes",), policies_dir=policies_dir,
                                         checkov=checkov, timeout=timeout)
        findings += [_checkov_finding(record, written) for record in report.failed]
        passed += result.checks_passed
        reports.append(report)
        details.append(result.detail)
    report = reports[0]
    for extra in reports[1:]:
        report.records.extend(extra.records)
    detail = details[0].replace("(kubernetes)", f"(kubernetes, {len(manifests)} derived objects)")
    if len(details) > 1:
        detail = (f"{details[0].split(' (')[0]} (kubernetes, {len(manifests)} derived objects in {len(details)} "
                  f"batches of whole namespaces): {passed} passed, {len(findings)} failed")
    return GateResult(CHECKOV_GATE, checks_passed=passed, findings=findings,
                      seconds=time.perf_counter() - started, detail=detail), report


def _checkov_finding(record: CheckRecord, written: dict[str, Manifest]) -> Finding:
    manifest = written.get(record.file)
    message = record.check_name or record.check_id
    if record.guideline:
        message += f" (fix: {record.guideline})"
    if manifest is None:  # checkov named a file we did not write: keep its own location
        return Finding(CHECKOV_GATE, record.check_id, message, file=record.file, resource=record.resource)
    return _finding(CHECKOV_GATE, record.check_id, manifest, message)
