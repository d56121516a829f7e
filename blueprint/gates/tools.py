"""Finding and running external tools: a missing or broken tool is a ToolError (exit 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from blueprint.errors import ToolError


def find_tool(name: str, env_var: str, install_hint: str, candidates: tuple[Path, ...] = ()) -> str:
    """The tool's path: $env_var, else a project-local candidate, else PATH."""
    explicit = os.environ.get(env_var)
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise ToolError(f"{env_var}={explicit} is not an executable file; {install_hint}")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} was not found ({env_var} unset, not on PATH); {install_hint}")
    return found


def run_tool(argv: list[str], timeout: int, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a tool with a timeout; failing to start or timing out is a ToolError."""
    try:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolError(f"{argv[0]} could not be started (not found)") from None
    except PermissionError:
        raise ToolError(f"{argv[0]} could not be started (not executable)") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{Path(argv[0]).name} did not finish within {timeout} s") from None


def terraform() -> str:
    return find_tool("terraform", "BLUEPRINT_TERRAFORM",
                     "install Terraform >= 1.6 (https://developer.hashicorp.com/terraform/install)")


STDERR_TAIL = 4000


def tail(text: str | None, limit: int = STDERR_TAIL, empty: str = "(no output on stderr)") -> str:
    """The end of a tool's output, where its error is."""
    text = (text or "").strip()
    if not text:
        return empty
    return text if len(text) <= limit else "..." + text[-limit:]


def posix(path: str) -> str:
    """A path with forward slashes, as reports show it on every platform."""
    return PurePosixPath(str(path).replace(os.sep, "/")).as_posix()
