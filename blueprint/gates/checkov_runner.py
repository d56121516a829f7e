"""The checkov gate: checkov's built-in checks plus our pack (policies/) over the emitted files.

checkov runs from its own virtualenv as a subprocess (its `hcl2` module clashes with
python-hcl2), once per gate run, over the whole output root. What we rely on, verified with
checkov 3.3:

- `--skip-download` keeps it offline; `-o json` prints one report (a dict) for one framework and
  a list for several; a root with nothing to scan prints only a summary dict, without `results`.
- Parse errors are listed in the report and make it exit 1 with `CKV_PARSE_ERROR_FAIL=true`;
  otherwise it skips the file and exits 0. We treat any parse error as a broken run.
- A Python check that raises, or a check file that does not load, is only logged ("Failed to run
  check ...", "Cannot load external check ...") and the run exits 0 with that check's results
  missing: a silent pass. We read stderr for those messages and fail the run instead.
- Only resources some check inspected appear in the results; a resource no check applies to is
  only counted in `summary.resource_count`. Coverage is therefore computed from the passed and
  failed results (`coverage_findings`).
- checkov reads `.checkov.yaml` from the scanned folder, the working directory and $HOME, and
  `CKV_*`/`BC_*` environment variables (`CKV_SKIP_CHECK`, `CKV_SKIP_RESOURCES_WITHOUT_VIOLATIONS`,
  ...). Any of them could silently drop checks, so we run it from an empty working directory
  with an empty $HOME, without those variables, and refuse a root holding a checkov config.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from blueprint.errors import ToolError
from blueprint.gates.tools import posix, tail
from blueprint.gates.result import Finding, GateResult

GATE = "checkov"
COVERAGE_GATE = "coverage"
ENV_VAR = "BLUEPRINT_CHECKOV"
LOCAL_VENV_BINARY = Path(".venv-checkov") / "bin" / "checkov"
INSTALL_HINT = (
    "install it in its own virtualenv with `make .venv-checkov` (checkov's hcl2 module clashes "
    f"with python-hcl2) and point {ENV_VAR} at .venv-checkov/bin/checkov"
)
# stderr messages that mean checks were lost without the exit code saying so.
LOST_CHECK_MARKERS = (
    "Failed to run check",
    "Cannot load external check",
    "Failed to parse check id",
    "is missing required fields",
    "Loaded data from JSON is not Dict",
)
_STRIPPED_ENV_PREFIXES = ("CKV_", "BC_", "PRISMA_", "CHECKOV_")
_CONFIG_FILES = (".checkov.yaml", ".checkov.yml")
_OUTCOMES = {"passed_checks": "passed", "failed_checks": "failed", "skipped_checks": "skipped"}


@dataclass(frozen=True)
class CheckRecord:
    """One check's verdict on one resource."""

    framework: str
    check_id: str
    check_name: str
    outcome: str  # "passed" | "failed" | "skipped"
    file: str  # relative to the scanned root, POSIX separators
    resource: str  # the resource address, e.g. kubernetes_role_v1.triage_shop
    line: int | None = None
    guideline: str = ""
    details: tuple[str, ...] = ()
    suppress_comment: str = ""

    @property
    def inspected(self) -> bool:
        """Passed or failed: the check actually looked at the resource."""
        return self.outcome in ("passed", "failed")


@dataclass
class CheckovReport:
    """Every verdict of one checkov run, by resource."""

    root: Path
    frameworks: tuple[str, ...]
    records: list[CheckRecord] = field(default_factory=list)
    resource_count: int = 0  # checkov's count, including resources no check applies to
    checkov_version: str = ""

    def _select(self, outcome: str) -> list[CheckRecord]:
        return [r for r in self.records if r.outcome == outcome]

    @property
    def passed(self) -> list[CheckRecord]:
        return self._select("passed")

    @property
    def failed(self) -> list[CheckRecord]:
        return self._select("failed")

    @property
    def skipped(self) -> list[CheckRecord]:
        """Checks suppressed by a `checkov:skip` comment (named exceptions); they inspect nothing."""
        return self._select("skipped")

    def inspections(self) -> dict[str, set[str]]:
        """Resource address -> ids of the checks that passed or failed it (over all files)."""
        found: dict[str, set[str]] = defaultdict(set)
        for record in self.records:
            if record.inspected:
                found[record.resource].add(record.check_id)
        return dict(found)

    def checks_for(self, address: str, file: str = "") -> set[str]:
        """Ids of the checks that passed or failed `address` (in `file`, when given)."""
        wanted = posix(file) if file else ""
        return {
            r.check_id
            for r in self.records
            if r.inspected and r.resource == address and (not wanted or r.file == wanted)
        }


def find_checkov(checkov: str | None = None) -> str:
    """The checkov executable: the argument, else $BLUEPRINT_CHECKOV, else .venv-checkov, else PATH.

    An explicitly configured checkov that does not exist is an error, never a silent fallback.
    """
    for source, configured in (("the checkov argument", checkov), (ENV_VAR, os.environ.get(ENV_VAR))):
        if configured:
            found = _executable(configured)
            if not found:
                raise ToolError(f"checkov was not found: {source} is {configured!r}, not an executable; {INSTALL_HINT}")
            return found
    local = Path.cwd() / LOCAL_VENV_BINARY
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("checkov")
    if found:
        return found
    raise ToolError(f"checkov was not found ({ENV_VAR} unset, no {LOCAL_VENV_BINARY}, none on PATH); {INSTALL_HINT}")


def run_checkov(
    root: Path,
    frameworks: Sequence[str] = ("terraform",),
    *,
    policies_dir: Path,
    checkov: str | None = None,
    timeout: int = 600,
) -> tuple[GateResult, CheckovReport]:
    """Scan `root` once with checkov's built-in checks and the pack in `policies_dir`.

    Failed checks become Findings; a crash, a timeout, output that is not checkov's JSON, a
    parse error or a lost check is a ToolError (exit 3).
    """
    started = time.perf_counter()
    root = Path(root).resolve()
    policies_dir = Path(policies_dir).resolve()
    frameworks = tuple(frameworks)
    if not frameworks:
        raise ValueError("run_checkov needs at least one framework")
    binary = find_checkov(checkov)
    _check_inputs(root, policies_dir)
    command = [
        binary,
        "--directory", str(root),
        "--framework", *frameworks,
        "--external-checks-dir", str(policies_dir),
        "--skip-download",
        "--output", "json",
    ]
    stdout, stderr, returncode = _run(command, timeout)
    if returncode not in (0, 1):
        raise ToolError(f"checkov exited with status {returncode}:\n{tail(stderr)}")
    for marker in LOST_CHECK_MARKERS:
        if marker in stderr:
            raise ToolError(f"checkov lost checks ({marker!r} in its log), so its verdict is incomplete:\n{tail(stderr)}")
    report = parse_report(stdout, root, frameworks, stderr)
    findings = [_finding(r) for r in report.failed]
    # Profile exceptions write "exception <name>: ..." skips; anything else is a reviewed module skip
    # (or an unexplained one, which gates.run turns into a finding).
    by_exception = sum(1 for r in report.skipped if (r.suppress_comment or "").lstrip().startswith("exception "))
    others = len(report.skipped) - by_exception
    result = GateResult(
        GATE,
        checks_passed=len(report.passed),
        findings=findings,
        seconds=time.perf_counter() - started,
        detail=(
            f"checkov {report.checkov_version or '?'} ({', '.join(frameworks)}), {report.resource_count} resources, "
            f"{len(report.passed)} passed, {len(report.failed)} failed, {by_exception} skipped by exception"
            + (f", {others} skipped in hand-written modules" if others else "")
        ),
    )
    return result, report


def parse_report(stdout: str, root: Path, frameworks: Sequence[str], stderr: str = "") -> CheckovReport:
    """checkov's `-o json` output (a dict, a list of dicts, or a bare summary) as a CheckovReport."""
    try:
        output = json.loads(stdout)
    except json.JSONDecodeError:
        raise ToolError(
            f"checkov did not print JSON (stdout starts {stdout[:200]!r}):\n{tail(stderr)}"
        ) from None
    parts = output if isinstance(output, list) else [output]
    report = CheckovReport(root=Path(root), frameworks=tuple(frameworks))
    for part in parts:
        if not isinstance(part, dict):
            raise ToolError(f"checkov printed unexpected JSON: {str(part)[:200]}")
        summary = part.get("summary", part if "results" not in part else {})
        if not isinstance(summary, dict) or "parsing_errors" not in summary:
            raise ToolError(f"checkov printed JSON without a summary: {str(part)[:200]}")
        results = part.get("results", {})
        parse_errors = results.get("parsing_errors") or []
        if summary.get("parsing_errors") or parse_errors:
            files = ", ".join(_relative(str(f), root) for f in parse_errors) or "(files not named)"
            raise ToolError(f"checkov could not parse {files}:\n{tail(stderr)}")
        report.resource_count += int(summary.get("resource_count") or 0)
        report.checkov_version = report.checkov_version or str(summary.get("checkov_version") or "")
        framework = str(part.get("check_type") or "")
        for key, outcome in _OUTCOMES.items():
            for raw in results.get(key) or []:
                report.records.append(_record(raw, framework, outcome, root))
    return report


_MODULE_PREFIX = re.compile(r"^(module\.[A-Za-z0-9_-]+(\[[^\]]*\])?\.)+")
_INSTANCE_KEY = re.compile(r"\[[^\]]*\]$")


def module_local_address(address: str) -> str:
    """`module.x.helm_release.y[0]` -> `helm_release.y`: the address as written in the module's file."""
    return _INSTANCE_KEY.sub("", _MODULE_PREFIX.sub("", address))


def coverage_findings(report: CheckovReport, emitted_resources: Iterable[tuple[str, str, str]]) -> list[Finding]:
    """One Finding per emitted resource type some of whose resources no check inspected.

    `emitted_resources` holds (type, address, file relative to the scanned root). A type none of
    whose resources any check (built-in or ours) passed or failed has no coverage at all; a type
    with only some resources inspected means checkov did not see the others. A check skipped by
    a named exception counts: it applies to the resource, and the report shows the waiver.
    """
    inspected = {(r.file, module_local_address(r.resource)) for r in report.records
                 if r.inspected or r.outcome == "skipped"}
    inspected_anywhere = {address for _, address in inspected}
    by_type: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rtype, address, file in emitted_resources:
        by_type[rtype].append((address, posix(file) if file else ""))
    findings: list[Finding] = []
    for rtype in sorted(by_type):
        resources = sorted(set(by_type[rtype]), key=lambda item: (item[1], item[0]))
        missed = [
            (address, file)
            for address, file in resources
            if ((file, address) not in inspected if file else address not in inspected_anywhere)
        ]
        if not missed:
            continue
        address, file = missed[0]
        if len(missed) == len(resources):
            message = (
                f"no checkov check (built-in or policies/) inspects {rtype}: add a check for it to "
                f"policies/ with pass and fail fixtures ({len(resources)} resource(s) of this type)"
            )
            check_id = "COVERAGE_TYPE"
        else:
            message = (
                f"checkov inspected {len(resources) - len(missed)} of {len(resources)} {rtype} resources; "
                f"it did not see {', '.join(a for a, _ in missed[:5])}{' ...' if len(missed) > 5 else ''}"
            )
            check_id = "COVERAGE_RESOURCE"
        findings.append(Finding(COVERAGE_GATE, check_id, message, file=file, resource=address))
    return findings


# ---------------------------------------------------------------- helpers


def _executable(name: str) -> str | None:
    path = Path(name)
    if path.parent != Path("."):  # a path, not a bare command name; checkov runs from another folder
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(name)


def _check_inputs(root: Path, policies_dir: Path) -> None:
    if not root.is_dir():
        raise ToolError(f"checkov: the folder to scan does not exist: {root}")
    if not policies_dir.is_dir():
        raise ToolError(f"checkov: the policy pack folder does not exist: {policies_dir}")
    if any(policies_dir.glob("*.py")) and not (policies_dir / "__init__.py").is_file():
        raise ToolError(f"checkov would load no Python check from {policies_dir}: it has no __init__.py")
    for name in _CONFIG_FILES:
        if (root / name).exists():
            raise ToolError(f"{root / name} would change which checks checkov runs; blueprint never writes one: remove it")


def _environment(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV_PREFIXES) and k != "LOG_LEVEL"}
    env.update(
        CKV_PARSE_ERROR_FAIL="true",  # parse errors fail the run instead of skipping the file
        HOME=home,  # no ~/.checkov.yaml
        LOG_LEVEL="WARNING",  # the lost-check messages are logged at ERROR/WARNING
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ inside the policy pack
    )
    return env


def _run(command: list[str], timeout: int) -> tuple[str, str, int]:
    """Run checkov in its own process group (it forks workers), from an empty folder, with a timeout."""
    with tempfile.TemporaryDirectory(prefix="blueprint-checkov-") as scratch:
        try:
            process = subprocess.Popen(
                command,
                cwd=scratch,
                env=_environment(scratch),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"checkov could not be started ({command[0]}: {exc.strerror or exc}); {INSTALL_HINT}") from None
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            _, stderr = process.communicate()
            raise ToolError(f"checkov did not finish within {timeout} s:\n{tail(stderr)}") from None
        except BaseException:
            _kill_group(process)
            process.communicate()
            raise
    return stdout, stderr, process.returncode


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _record(raw: dict, framework: str, outcome: str, root: Path) -> CheckRecord:
    line_range = raw.get("file_line_range") or []
    line = line_range[0] if line_range and isinstance(line_range[0], int) and line_range[0] > 0 else None
    check_result = raw.get("check_result") or {}
    return CheckRecord(
        framework=framework,
        check_id=str(raw.get("check_id") or ""),
        check_name=str(raw.get("check_name") or ""),
        outcome=outcome,
        file=_relative(str(raw.get("file_abs_path") or raw.get("file_path") or ""), root),
        resource=str(raw.get("resource") or ""),
        line=line,
        guideline=str(raw.get("guideline") or ""),
        details=tuple(str(d) for d in raw.get("details") or ()),
        suppress_comment=str(check_result.get("suppress_comment") or ""),
    )


def _finding(record: CheckRecord) -> Finding:
    message = record.check_name or record.check_id
    if record.details:
        message += ": " + "; ".join(record.details)
    if record.guideline:
        message += f" (fix: {record.guideline})"
    return Finding(GATE, record.check_id, message, file=record.file, resource=record.resource, line=record.line)


def _relative(path: str, root: Path) -> str:
    """A path checkov printed (absolute, or `/x.tf` relative to the root) relative to the root."""
    if not path:
        return ""
    candidate = Path(path)
    for base in (root, root.resolve()):
        try:
            return candidate.resolve().relative_to(base).as_posix()
        except ValueError:
            continue
    return posix(path.lstrip("/"))



