"""`terraform fmt -check`: the emitted files must already be formatted as Terraform writes them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from blueprint.errors import ToolError
from blueprint.gates.result import Finding, GateResult
from blueprint.gates.tools import run_tool, terraform

GATE = "terraform-fmt"


def check_fmt(root: Path, timeout: int = 120) -> GateResult:
    started = time.perf_counter()
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    proc = run_tool([terraform(), "fmt", "-check", "-recursive", "-list=true", "."], timeout, cwd=root, env=env)
    if proc.returncode not in (0, 3):  # 3: some files are not formatted
        raise ToolError(f"terraform fmt failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    unformatted = sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())
    if proc.returncode == 3 and not unformatted:
        raise ToolError(f"terraform fmt reported unformatted files but listed none: {proc.stderr.strip()[-2000:]}")
    findings = [Finding(GATE, "TF_FMT", "not formatted as `terraform fmt` would write it", f) for f in unformatted]
    checked = len(list(root.rglob("*.tf")))
    if checked == 0:
        raise ToolError(f"terraform fmt had no .tf files to check under {root}")
    return GateResult(GATE, checked - len(findings), findings, time.perf_counter() - started,
                      detail=f"{checked} files")
