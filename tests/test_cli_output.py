"""Terminal behaviour: colours only on a TTY (NO_COLOR/FORCE_COLOR respected), progress only on an
interactive stderr outside CI, and plain, escape-free output everywhere else."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from blueprint.cli import main
from blueprint.cli.common import Progress, colour_enabled, highlight, interactive


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def clean_env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "CI", "TERM"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_colour_only_on_a_terminal(clean_env) -> None:
    assert colour_enabled(FakeTty()) and not colour_enabled(io.StringIO())
    clean_env.setenv("NO_COLOR", "1")
    assert not colour_enabled(FakeTty())
    clean_env.delenv("NO_COLOR")
    clean_env.setenv("FORCE_COLOR", "1")
    assert colour_enabled(io.StringIO())


def test_progress_is_quiet_in_ci_and_off_a_terminal(clean_env) -> None:
    assert interactive(FakeTty()) and not interactive(io.StringIO())
    clean_env.setenv("CI", "true")
    assert not interactive(FakeTty())
    stream = FakeTty()
    progress = Progress(stream)
    progress("start checkov")
    progress("done checkov")
    assert stream.getvalue() == ""


def test_progress_rewrites_one_line() -> None:
    stream = FakeTty()
    progress = Progress(stream, enabled=True)
    progress("start checkov")
    progress("done checkov")
    progress.clear()
    text = stream.getvalue()
    assert "running checkov" in text and "finished checkov  (1 done)" in text and "\n" not in text
    assert text.endswith("\r")


def test_highlight_colours_outcomes_not_words_containing_them() -> None:
    line = highlight("  checkov  pass  3  FAIL: x  WARNING: y  failed passed")
    assert "\033[32mpass\033[0m" in line and "\033[31mFAIL\033[0m" in line and "\033[33mWARNING\033[0m" in line
    assert "failed passed" in line  # not coloured: not standalone outcome words


def test_piped_output_has_no_escape_codes(capsys, clean_env) -> None:
    assert main(["validate", "--env", "prod", "--environments", str(REPO / "environments")]) == 0
    out, err = capsys.readouterr()
    assert "\033[" not in out + err


def _run_in_terminal(argv: list[str], env: dict[str, str], timeout: float = 240) -> tuple[int, str, str]:
    """Run the real CLI with stdout and stderr on pseudo-terminals; returns (code, stdout, stderr)."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "blueprint", *argv], cwd=REPO, stdout=out_slave,
                            stderr=err_slave, stdin=subprocess.DEVNULL, env=env)
    os.close(out_slave)
    os.close(err_slave)
    chunks = {out_master: b"", err_master: b""}
    open_fds = set(chunks)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("the CLI produced no output within the timeout")
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end
                data = b""
            if data:
                chunks[fd] += data
            else:
                open_fds.discard(fd)
    code = proc.wait(timeout=timeout)
    return code, chunks[out_master].decode(), chunks[err_master].decode()


@pytest.mark.tools
def test_check_on_a_terminal_shows_progress_and_colour(envs: Path, tmp_path: Path, checkov_bin: str) -> None:
    for agent in ("cluster-triage", "customer-support", "code-interpreter"):  # one agent is enough here
        (envs / f"dev/agents/{agent}.yaml").unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    env.update(BLUEPRINT_CHECKOV=checkov_bin, PYTHONPATH=str(REPO), TERM="xterm")
    args = ["check", "--env", "dev", "--environments", str(envs), "--out", str(tmp_path / "o")]
    code, out, err = _run_in_terminal(args, env)
    assert code == 0, out + err
    assert "running checkov" in err and "finished checkov" in err and "\r" in err
    assert "\033[32mPASS\033[0m: dev is ready" in out

    env["CI"] = "true"
    code, out, err = _run_in_terminal(args + ["--format", "json"], env)
    assert code == 0
    assert "running" not in err  # CI logs get the report only
    assert json.loads(out)["ok"] is True  # JSON is never coloured
