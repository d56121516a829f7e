"""Shared fixtures. Real tools only: a missing tool skips locally and fails under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: no deadline (CI machines vary), and the same examples on every CI run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = REPO / "environments"
EXAMPLE_ENVS = ("dev", "staging", "prod")


def require_tool(path: str | None, name: str) -> str:
    """The tool's path; when it is missing, fail under CI (a gate must never silently pass)."""
    if path and Path(path).is_file():
        return path
    message = f"{name} is not available (looked for {path!r}); run `make test` to install it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def checkov_bin() -> str:
    candidate = os.environ.get("BLUEPRINT_CHECKOV") or str(REPO / ".venv-checkov" / "bin" / "checkov")
    return require_tool(candidate, "checkov")


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    return require_tool(os.environ.get("BLUEPRINT_TERRAFORM") or shutil.which("terraform"), "terraform")


@pytest.fixture()
def envs(tmp_path: Path) -> Path:
    """A private copy of the example environments that a test may edit."""
    target = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def parsed_blocks(files: dict[str, str], modes: tuple[str, ...] = ("managed",)):
    """The resource (and, with modes, data) blocks of every emitted .tf file, parsed back."""
    from blueprint.hcl_reader import ParsedFile, parse_text, resources

    return [b for path, text in files.items() if path.endswith(".tf")
            for b in resources(ParsedFile(path, parse_text(text, path)), modes)]
