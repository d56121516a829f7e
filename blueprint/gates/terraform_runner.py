"""`terraform init`, `validate` and `plan`, offline, over an emitted root that uses hashicorp/aws.

The root is never touched: it is copied to a temporary folder, where we write a CLI config that
installs providers from a filesystem mirror only, and an override file that swaps the backend for
a local one and gives the aws provider fake credentials. What we rely on, verified with
Terraform 1.11.4 and hashicorp/aws 5.100.0:

- With `provider_installation { filesystem_mirror { ... } direct { exclude = ... } }` in the
  file named by TF_CLI_CONFIG_FILE, `init` never reaches the network. A provider missing from the
  mirror is an unlocated init error ("... was not found in any of the search locations", or "no
  available releases match the given constraints"): a ToolError, not a finding.
- With an unpacked mirror, the plugin cache (TF_PLUGIN_CACHE_DIR) holds only a symlink into the
  mirror; init of a fresh copy takes ~0.5-1 s. The cache is not safe for concurrent writers, so
  inits sharing it take a file lock.
- `plan` with `access_key`/`secret_key` = "mock" and skip_credentials_validation,
  skip_requesting_account_id and skip_metadata_api_check runs offline; `aws_iam_policy_document`
  is computed locally. But skip_requesting_account_id leaves the account ID empty, and a real
  `allowed_account_ids` then fails every plan with "AWS account ID not allowed: " (empty ID), at
  providers.tf. The override therefore sets `allowed_account_ids = null` (an override attribute
  replaces the original one). Anything that calls AWS (`data "aws_caller_identity"`, ...) fails
  the plan quickly with a located error ("lookup sts....amazonaws.com: no such host").
- `validate -json` prints one document with located diagnostics. An unknown argument hides the
  provider's own checks for that block (they run once the block decodes), so a block with both
  an unknown argument and `max_session_duration = 100` reports only the former. The provider's
  range checks (max_session_duration outside 3600..43200) are validate errors, located at the
  value. Provider-configuration errors (an invalid region) only appear at plan.
- `init -json` and `plan -json` print one JSON message per line; diagnostics carry `range`
  (file relative to the working folder, 1-based line) and, for resources, `address`. `init -json`
  needs Terraform >= 1.9.
- A configuration error fails `init` too, with the located diagnostics plus an unlocated "Terraform
  encountered problems during initialisation" that we drop.
- `gate_and_plan` returns the gate and `show -json` of its plan from one init, for callers that
  also check planned values (the trust policy JSON, max_session_duration).
- A Terraform crash prints "TERRAFORM CRASH" on stderr and exits 11; a provider crash is the
  diagnostic "Plugin did not respond" with the provider's panic on stderr. Both are ToolErrors.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from blueprint.errors import BlueprintError, ToolError
from blueprint.gates.result import Finding, GateResult
from blueprint.gates.tools import tail, terraform

try:
    import fcntl
except ImportError:  # not POSIX: inits in one process still share a threading lock
    fcntl = None  # type: ignore[assignment]

GATE = "terraform-validate-plan"
MIRROR_ENV = "BLUEPRINT_TF_MIRROR"
CACHE_ENV = "BLUEPRINT_TF_PLUGIN_CACHE"
REGISTRY_VALUES = ("none", "registry")  # BLUEPRINT_TF_MIRROR=none: install from the registry
MIRROR_MARKER = "registry.terraform.io"
OVERRIDE_FILE = "blueprint_gate_override.tf"
CLI_CONFIG_FILE = "blueprint.tfrc"
PLAN_FILE = "blueprint.tfplan"
# Provider-side failures that say nothing about the configuration.
TOOL_FAILURE_SUMMARIES = (
    "Plugin did not respond",
    "Failed to load plugin schemas",
    "Failed to instantiate provider",
    "Failed to read any lock file",
    "Inconsistent dependency lock file",
    "Required plugins are not installed",
)
CRASH_MARKERS = ("TERRAFORM CRASH", "Stack trace from the")
_INIT_SUMMARY_PREFIX = "Terraform encountered problems during initiali"
_COPY_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.backup", ".terraform.tfstate.lock.info",
                                      "*.tfplan", "tfplan")
_OVERRIDE_NAME = re.compile(r"(^|_)override\.tf(\.json)?$")
_AWS_PROVIDER = re.compile(r'^provider\s+"?aws"?\s*\{(.*?)^\}', re.MULTILINE | re.DOTALL)
_ALIAS = re.compile(r'^\s*alias\s*=\s*"([^"]*)"', re.MULTILINE)
_SNIPPET_CONTEXT = re.compile(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"')
_LOCKED_VERSION = re.compile(r'provider\s+"([^"]+)"\s*\{\s*version\s*=\s*"([^"]+)"')
_THREAD_LOCK = threading.Lock()


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO = _Auto()  # mirror=AUTO: $BLUEPRINT_TF_MIRROR, else a mirror found in a known place


class TerraformPlanError(BlueprintError):
    """`plan_json` over a root that does not validate or plan: a generator bug (exit 1)."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        super().__init__("\n".join(_finding_text(f) for f in self.findings) or "terraform plan failed")


# -- where providers come from ------------------------------------------------------------------


def known_mirror_locations() -> tuple[Path, ...]:
    """Where a provider mirror is looked for when none is named (Terraform's implied local mirror
    folders on Linux, plus /opt/tf-plugins where our machine image keeps one)."""
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return (
        Path("/opt/tf-plugins"),
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    )


def resolve_mirror(mirror: Path | str | None | _Auto = AUTO) -> Path | None:
    """The filesystem mirror to install providers from, or None for the registry (plain init).

    An explicit path wins, then $BLUEPRINT_TF_MIRROR (`none` means the registry), then the first
    known location holding a `registry.terraform.io` folder."""
    if mirror is None:
        return None
    if not isinstance(mirror, _Auto):
        return _checked_mirror(Path(mirror).expanduser(), "the mirror argument")
    explicit = os.environ.get(MIRROR_ENV, "").strip()
    if explicit:
        if explicit.lower() in REGISTRY_VALUES:
            return None
        return _checked_mirror(Path(explicit).expanduser(), MIRROR_ENV)
    locations = known_mirror_locations()
    for candidate in locations:
        if (candidate / MIRROR_MARKER).is_dir():
            return candidate.resolve()
    raise ToolError(
        f"no Terraform provider mirror was found (looked for a {MIRROR_MARKER} folder in "
        f"{', '.join(map(str, locations))}); set {MIRROR_ENV} to your mirror (`terraform providers "
        f"mirror <dir>` creates one), or to `none` to install providers from the registry")


def _checked_mirror(path: Path, source: str) -> Path:
    if not path.is_dir():
        raise ToolError(f"the Terraform provider mirror {path} (from {source}) does not exist or is not a folder")
    if not (path / MIRROR_MARKER).is_dir():
        raise ToolError(f"the Terraform provider mirror {path} (from {source}) has no {MIRROR_MARKER} folder; "
                        "point it at the folder that contains registry.terraform.io/<namespace>/<name>/")
    return path.resolve()


def mirror_contents(mirror: Path) -> list[str]:
    """`namespace/name version` for every provider in the mirror (unpacked or packed layout)."""
    found: set[str] = set()
    base = mirror / MIRROR_MARKER
    for provider_dir in sorted(p for p in base.glob("*/*") if p.is_dir()):
        name = f"{provider_dir.parent.name}/{provider_dir.name}"
        for entry in provider_dir.iterdir():
            if entry.is_dir():
                found.add(f"{name} {entry.name}")
            elif entry.name.endswith(".zip"):  # terraform-provider-NAME_VERSION_OS_ARCH.zip
                parts = entry.name[:-4].split("_")
                if len(parts) >= 4:
                    found.add(f"{name} {parts[-3]}")
    return sorted(found)


def plugin_cache_dir(explicit: Path | None = None) -> Path:
    """The plugin cache every run shares: the argument, $BLUEPRINT_TF_PLUGIN_CACHE, else
    $XDG_CACHE_HOME/blueprint/terraform-plugins (a temporary folder when that is not writable)."""
    env = os.environ.get(CACHE_ENV, "").strip()
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    chosen = explicit or (Path(env).expanduser() if env else cache_home / "blueprint" / "terraform-plugins")
    try:
        chosen.mkdir(parents=True, exist_ok=True)
        return chosen.resolve()
    except OSError:
        if explicit or env:
            raise ToolError(f"the Terraform plugin cache {chosen} cannot be created") from None
    fallback = Path(tempfile.gettempdir()) / f"blueprint-terraform-plugins-{os.getuid() if hasattr(os, 'getuid') else 0}"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


# -- the gate -----------------------------------------------------------------------------------


def run_terraform_gate(
    root: Path,
    mirror: Path | str | None | _Auto = AUTO,
    timeout: int = 300,
    *,
    plugin_cache: Path | None = None,
) -> GateResult:
    """init, validate and plan a copy of `root` offline. Located configuration problems are
    findings; a missing or crashing terraform, a timeout (over all steps) or a provider missing
    from the mirror is a ToolError. `detail` says how many resources the plan would create."""
    return gate_and_plan(root, mirror, timeout, plugin_cache=plugin_cache, want_plan=False)[0]


def gate_and_plan(
    root: Path,
    mirror: Path | str | None | _Auto = AUTO,
    timeout: int = 300,
    *,
    plugin_cache: Path | None = None,
    want_plan: bool = True,
) -> tuple[GateResult, dict | None]:
    """The gate, plus (when it passes and `want_plan`) `terraform show -json` of its plan, in one
    init: for a caller that also checks planned values (saves an init and a plan, ~3-4 s)."""
    started = time.perf_counter()
    root = Path(root)
    _check_root(root)
    overrides = _override_findings(root)
    if overrides:  # they could swap our backend or credentials back: never run terraform then
        return GateResult(GATE, 0, overrides, time.perf_counter() - started,
                          detail="not run: the root holds override files"), None
    shown = None
    with _workspace(root, resolve_mirror(mirror), plugin_cache_dir(plugin_cache), timeout) as ws:
        findings = ws.init()
        passed = 0
        if not findings:
            passed += 1
            findings = ws.validate()
        if not findings:
            passed += 1
            findings = ws.plan()
        if not findings:
            passed += 1
            if want_plan:
                shown = ws.show()
        detail = ws.describe()
    return GateResult(GATE, passed, findings, time.perf_counter() - started, detail=detail), shown


def plan_json(
    root: Path,
    mirror: Path | str | None | _Auto = AUTO,
    timeout: int = 300,
    *,
    plugin_cache: Path | None = None,
) -> dict:
    """`terraform show -json` of the plan of a copy of `root` (planned_values, resource_changes,
    configuration). A root that does not init or plan raises TerraformPlanError with the findings."""
    root = Path(root)
    _check_root(root)
    overrides = _override_findings(root)
    if overrides:
        raise TerraformPlanError(overrides)
    with _workspace(root, resolve_mirror(mirror), plugin_cache_dir(plugin_cache), timeout) as ws:
        findings = ws.init() or ws.plan()
        if findings:
            raise TerraformPlanError(findings)
        return ws.show()


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise ToolError(f"terraform gate: {root} is not a folder")
    if not any(root.glob("*.tf")) and not any(root.glob("*.tf.json")):
        raise ToolError(f"terraform gate: no .tf files in {root}")


def _override_findings(root: Path) -> list[Finding]:
    return [
        Finding(GATE, "TF_OVERRIDE_FILE", "override files change the configuration without showing it to reviewers "
                "or checkov; blueprint never emits them", path.name)
        for path in sorted(root.iterdir()) if path.is_file() and _OVERRIDE_NAME.search(path.name)
    ]


# -- one run in a temporary copy ----------------------------------------------------------------


@dataclass
class _Workspace:
    work: Path  # the copy of the root: terraform's working folder
    mirror: Path | None
    cache: Path
    env: dict[str, str]
    deadline: float
    timeout: int
    terraform_version: str = ""
    planned: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def init(self) -> list[Finding]:
        argv = [terraform(), "init", "-input=false", "-no-color", "-json"]
        with _cache_lock(self.cache):
            proc = self._run(argv, "init")
        if proc.returncode != 0 and "flag provided but not defined: -json" in proc.stderr:
            raise ToolError("terraform init -json needs Terraform >= 1.9; install a newer Terraform "
                            "(https://developer.hashicorp.com/terraform/install)")
        diagnostics = self._stream(proc)
        errors = [d for d in diagnostics if d.get("severity") == "error"]
        self._raise_on_tool_failure(errors, proc, "init")
        if proc.returncode == 0:
            if errors:
                raise ToolError(f"terraform init exited 0 but reported errors:\n{_diagnostics_text(errors)}")
            return []
        located = [d for d in errors if d.get("range")]
        unlocated = [d for d in errors if not d.get("range") and not str(d.get("summary", "")).startswith(_INIT_SUMMARY_PREFIX)]
        if unlocated or not located:
            raise ToolError(self._init_failure(unlocated or errors, proc))
        return [self._finding("TF_INIT", d) for d in located]

    def validate(self) -> list[Finding]:
        proc = self._run([terraform(), "validate", "-no-color", "-json"], "validate")
        self._raise_on_tool_failure([], proc, "validate")
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise ToolError(self._failure("validate printed no JSON report", proc)) from None
        if not isinstance(report, dict):
            raise ToolError(self._failure("validate printed no JSON report", proc))
        diagnostics = [d for d in report.get("diagnostics") or [] if isinstance(d, dict)]
        errors = [d for d in diagnostics if d.get("severity") == "error"]
        self.warnings += [_diagnostic_text(d) for d in diagnostics if d.get("severity") == "warning"]
        self._raise_on_tool_failure(errors, proc, "validate")
        if (proc.returncode == 1 or report.get("valid") is False) and not errors:
            raise ToolError(self._failure("validate failed without reporting an error", proc))
        if proc.returncode == 0 and errors:
            raise ToolError(self._failure("validate exited 0 but reported errors", proc))
        return [self._finding("TF_VALIDATE", d) for d in errors]

    def plan(self) -> list[Finding]:
        argv = [terraform(), "plan", "-input=false", "-no-color", "-json", "-lock=false", f"-out={PLAN_FILE}"]
        proc = self._run(argv, "plan")
        diagnostics = self._stream(proc)
        errors = [d for d in diagnostics if d.get("severity") == "error"]
        self.warnings += [_diagnostic_text(d) for d in diagnostics if d.get("severity") == "warning"]
        self._raise_on_tool_failure(errors, proc, "plan")
        if proc.returncode == 0:
            if errors or not self.planned:
                raise ToolError(self._failure("plan exited 0 without a change summary" if not errors
                                              else "plan exited 0 but reported errors", proc))
            return []
        if not errors:
            raise ToolError(self._failure("plan failed without reporting an error", proc))
        return [self._finding("TF_PLAN", d) for d in errors]

    def show(self) -> dict:
        proc = self._run([terraform(), "show", "-no-color", "-json", PLAN_FILE], "show")
        if proc.returncode != 0:
            raise ToolError(self._failure("show -json of the plan", proc))
        try:
            shown = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise ToolError(self._failure("show -json printed no JSON", proc)) from None
        if not isinstance(shown, dict) or "planned_values" not in shown:
            raise ToolError(self._failure("show -json printed no plan", proc))
        return shown

    def describe(self) -> str:
        parts = []
        if self.planned:
            parts.append(f"plan: {self.planned.get('add', 0)} to create, {self.planned.get('change', 0)} to change, "
                         f"{self.planned.get('remove', 0)} to destroy")
        versions = [f"terraform {self.terraform_version}"] if self.terraform_version else []
        versions += self._locked_providers()
        parts.append(", ".join(versions))
        parts.append(f"mirror {self.mirror}" if self.mirror else "providers from the registry")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning(s): " + "; ".join(self.warnings[:5]))
        return "; ".join(p for p in parts if p)

    # -- helpers --

    def _run(self, argv: list[str], step: str) -> subprocess.CompletedProcess:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ToolError(f"terraform {step} not started: the gate's {self.timeout} s were used up")
        return _run(argv, self.work, self.env, remaining, step, self.timeout)

    def _stream(self, proc: subprocess.CompletedProcess) -> list[dict]:
        """The diagnostics of a `-json` message stream; records the version and change summary."""
        diagnostics: list[dict] = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = message.get("type")
            if kind == "version":
                self.terraform_version = str(message.get("terraform") or "")
            elif kind == "change_summary":
                changes = message.get("changes") or {}
                self.planned = {k: int(v) for k, v in changes.items() if isinstance(v, int)}
            elif kind == "diagnostic" and isinstance(message.get("diagnostic"), dict):
                diagnostics.append(message["diagnostic"])
        return diagnostics

    def _raise_on_tool_failure(self, errors: list[dict], proc: subprocess.CompletedProcess, step: str) -> None:
        """A crash of terraform or a provider, an unexpected exit code, or a provider that failed
        to start: nothing the configuration can be blamed for."""
        failed = [d for d in errors if str(d.get("summary", "")).startswith(TOOL_FAILURE_SUMMARIES)]
        crashed = any(marker in proc.stderr for marker in CRASH_MARKERS)
        if failed or crashed or proc.returncode not in (0, 1):
            what = "crashed" if crashed else "failed" if failed else "ended unexpectedly"
            text = "\n".join(t for t in (_diagnostics_text(failed), _tail_quiet(proc.stderr)) if t)
            raise ToolError(f"terraform {step} {what} (exit {proc.returncode}):\n{text}".rstrip())

    def _finding(self, check_id: str, diagnostic: dict) -> Finding:
        where = diagnostic.get("range") or {}
        file = self._relative(str(where.get("filename") or ""))
        line = (where.get("start") or {}).get("line")
        message = _diagnostic_text(diagnostic)
        if file == OVERRIDE_FILE:
            message += " (in the gate's own override file: a blueprint bug or an unsupported provider version)"
        return Finding(GATE, check_id, message, file, _resource(diagnostic), line if isinstance(line, int) else None)

    def _relative(self, filename: str) -> str:
        if not filename:
            return ""
        path = Path(filename)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(self.work.resolve())
            except ValueError:
                return filename
        return str(PurePosixPath(*path.parts))

    def _locked_providers(self) -> list[str]:
        lock = self.work / ".terraform.lock.hcl"
        if not lock.is_file():
            return []
        return [f"{source.removeprefix('registry.terraform.io/')} {version}"
                for source, version in _LOCKED_VERSION.findall(lock.read_text())]

    def _init_failure(self, errors: list[dict], proc: subprocess.CompletedProcess) -> str:
        text = _diagnostics_text(errors) or _tail_quiet(proc.stderr) or _tail_quiet(proc.stdout)
        if self.mirror is None:
            return f"terraform init could not install the providers from the registry:\n{text}"
        held = ", ".join(mirror_contents(self.mirror)) or "nothing"
        return (f"terraform init could not install the root's providers from the mirror {self.mirror} "
                f"(it holds: {held}):\n{text}\nAdd them to the mirror (`terraform providers mirror "
                f"{self.mirror}` on a machine with registry access), point {MIRROR_ENV} at another mirror, "
                f"or set {MIRROR_ENV}=none to install from the registry")

    def _failure(self, what: str, proc: subprocess.CompletedProcess) -> str:
        return f"terraform {what} (exit {proc.returncode}):\n{_tail_quiet(proc.stderr) or _tail_quiet(proc.stdout)}".rstrip()


@contextmanager
def _workspace(root: Path, mirror: Path | None, cache: Path, timeout: int) -> Iterator[_Workspace]:
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="blueprint-terraform-") as scratch:
        scratch_path = Path(scratch)
        work = scratch_path / "root"
        shutil.copytree(root, work, ignore=_COPY_IGNORE)
        (work / OVERRIDE_FILE).write_text(override_text(_aws_aliases(work)))
        env = _environment(scratch_path, mirror, cache)
        # rmtree of the scratch folder unlinks .terraform's symlinks into the cache, never follows them
        yield _Workspace(work, mirror, cache, env, deadline, timeout)


def cli_config_text(mirror: Path) -> str:
    """The CLI config: providers from the mirror only, never from the network."""
    path = _hcl_string(str(mirror))
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {path}\n"
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )


def override_text(aws_aliases: list[str | None]) -> str:
    """The override file: a local backend, and per aws provider block fake credentials and the
    skip flags so `plan` runs offline. allowed_account_ids is nulled: with
    skip_requesting_account_id the account ID is empty, which it would reject."""
    blocks = [
        "# Written by blueprint's terraform gate into a temporary copy of the root: plan offline.\n",
        'terraform {\n  backend "local" {}\n}\n',
    ]
    for alias in aws_aliases:
        alias_line = f"  alias                       = {_hcl_string(alias)}\n" if alias is not None else ""
        blocks.append(
            'provider "aws" {\n'
            f"{alias_line}"
            '  access_key                  = "mock"\n'
            '  secret_key                  = "mock"\n'
            "  skip_credentials_validation = true\n"
            "  skip_requesting_account_id  = true\n"
            "  skip_metadata_api_check     = true\n"
            "  max_retries                 = 1\n"
            "  allowed_account_ids         = null\n"
            "}\n"
        )
    return "\n".join(blocks)


def _aws_aliases(work: Path) -> list[str | None]:
    """The alias (None: the default configuration) of every `provider "aws"` block. Emitted files
    are `terraform fmt`-formatted, so a top-level block ends at a `}` in column 1."""
    aliases: list[str | None] = []
    for path in sorted(work.glob("*.tf")):
        if path.name == OVERRIDE_FILE:
            continue
        for body in _AWS_PROVIDER.findall(path.read_text(errors="replace")):
            found = _ALIAS.search(body)
            aliases.append(found.group(1) if found else None)
    return list(dict.fromkeys(aliases))


def _environment(scratch: Path, mirror: Path | None, cache: Path) -> dict[str, str]:
    """The caller's environment without TF_* and AWS_* (TF_CLI_ARGS_plan, TF_WORKSPACE, AWS_PROFILE,
    ... would change what is planned or reach for real credentials), plus our settings. With the
    registry, the caller's CLI config and registry tokens are kept."""
    keep_for_registry = mirror is None
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("TF_", "AWS_"))
        or (keep_for_registry and (k == "TF_CLI_CONFIG_FILE" or k.startswith("TF_TOKEN_")))
    }
    if mirror is not None:
        config = scratch / CLI_CONFIG_FILE
        config.write_text(cli_config_text(mirror))
        env["TF_CLI_CONFIG_FILE"] = str(config)
    env.update(
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        TF_PLUGIN_CACHE_DIR=str(cache),
        # the copy's lock file is thrown away, so the cache may serve providers it does not list
        TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE="true",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
    )
    return env


@contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """Serialize inits sharing the plugin cache (threads here, and other processes via flock)."""
    with _THREAD_LOCK:
        if fcntl is None:
            yield
            return
        with open(cache / ".blueprint-init.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float, step: str,
         budget: int) -> subprocess.CompletedProcess:
    """Run terraform in its own process group (it starts provider plugins), with a timeout."""
    try:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as exc:
        raise ToolError(f"terraform could not be started ({argv[0]}: {exc.strerror or exc})") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        _, stderr = process.communicate()
        raise ToolError(f"terraform {step} did not finish within the gate's {budget} s:\n{_tail_quiet(stderr)}".rstrip()) from None
    except BaseException:
        _kill_group(process)
        process.communicate()
        raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _hcl_string(value: str) -> str:
    """A quoted HCL string: JSON escapes, plus the template markers escaped."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _resource(diagnostic: dict) -> str:
    address = str(diagnostic.get("address") or "")
    if address and not address.startswith("provider["):
        return address
    context = (diagnostic.get("snippet") or {}).get("context") or ""
    found = _SNIPPET_CONTEXT.match(context)
    if found:
        kind, type_, name = found.groups()
        return f"{type_}.{name}" if kind == "resource" else f"data.{type_}.{name}"
    return address


def _diagnostic_text(diagnostic: dict) -> str:
    summary = str(diagnostic.get("summary") or "").strip()
    detail = " ".join(str(diagnostic.get("detail") or "").split())
    return f"{summary}: {detail}" if detail else summary


def _diagnostics_text(diagnostics: list[dict]) -> str:
    lines = []
    for d in diagnostics:
        where = d.get("range") or {}
        place = f"{where.get('filename')}:{(where.get('start') or {}).get('line')}: " if where else ""
        lines.append(f"  {place}{_diagnostic_text(d)}")
    return "\n".join(lines)


def _finding_text(finding: Finding) -> str:
    where = f"{finding.file}:{finding.line}: " if finding.file and finding.line else (f"{finding.file}: " if finding.file else "")
    return f"{where}{finding.message}"




def _tail_quiet(text: str) -> str:
    return tail(text, empty="")
