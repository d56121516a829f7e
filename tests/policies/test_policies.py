"""The checkov policy pack in policies/, against the fixtures in fixtures/terraform/<check id>/.

checkov runs once per session over every fixture folder, with our checks only. In the folder of
check X, every resource (or data source) named `pass_*` must pass X and every one named `fail_*`
must fail X, and X must report nothing else there (other resources are helpers, such as the
NetworkPolicy a namespace connects to). Adding a fixture needs no edit here; adding a check needs a
folder with at least one pass and one fail resource.

Check ids are BP_<FAMILY>_<N> (K8S, AWS, VAULT, HELM), numbered from 1 without gaps within a family.
checkov reports a data source without its `data.` prefix (`aws_iam_policy_document.pass_x`), so
the expected address of `data "t" "n"` is `t.n`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "terraform"
FAMILIES = ("K8S", "AWS", "VAULT", "HELM")
CHECK_ID_RE = re.compile(rf"^BP_({'|'.join(FAMILIES)})_([1-9][0-9]*)$")
CHECK_FILE_RE = re.compile(rf"^bp_({'|'.join(f.lower() for f in FAMILIES)})_([0-9]+)_[a-z0-9_]+\.(py|yaml)$")
RESOURCE_RE = re.compile(r'^(?:resource|data)\s+"([^"]+)"\s+"([^"]+)"', re.MULTILINE)
TIMEOUT = 300

pytestmark = pytest.mark.tools


def _python_check_id(path: Path) -> str | None:
    """The literal `id=` keyword of the check's constructor call, read without importing checkov."""
    ids = [
        node.value.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.keyword)
        and node.arg == "id"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    return ids[0] if len(ids) == 1 else None


def pack_checks() -> dict[str, Path]:
    """Every check of the pack, by id, read from the files (never from checkov's output)."""
    checks: dict[str, Path] = {}
    for path in sorted(POLICIES.iterdir()):
        if path.suffix == ".py" and CHECK_FILE_RE.match(path.name):
            check_id = _python_check_id(path)
        elif path.suffix in (".yaml", ".yml", ".json"):
            check_id = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("metadata", {}).get("id")
        else:
            continue
        assert check_id, f"{path.name}: no single literal check id"
        assert check_id not in checks, f"{check_id} is defined by {checks.get(check_id)} and {path}"
        checks[check_id] = path
    return checks


PACK = pack_checks()


def _id_key(check_id: str) -> tuple[str, int]:
    family, number = check_id[len("BP_"):].rsplit("_", 1)
    return family, int(number)


def fixture_resources(check_id: str) -> tuple[set[str], set[str]]:
    """Addresses named pass_* and fail_* in the check's fixture folder."""
    passing: set[str] = set()
    failing: set[str] = set()
    for tf in sorted((FIXTURES / check_id).glob("*.tf")):
        for rtype, name in RESOURCE_RE.findall(tf.read_text(encoding="utf-8")):
            if name.startswith("pass_"):
                passing.add(f"{rtype}.{name}")
            elif name.startswith("fail_"):
                failing.add(f"{rtype}.{name}")
    return passing, failing


def _checkov_binary() -> str:
    """The same lookup as every other checkov test (conftest.require_tool): BLUEPRINT_CHECKOV, else
    the project's .venv-checkov; missing fails under CI=true and skips locally."""
    from conftest import REPO, require_tool

    return require_tool(os.environ.get("BLUEPRINT_CHECKOV") or str(REPO / ".venv-checkov" / "bin" / "checkov"),
                        "checkov")


@pytest.fixture(scope="session")
def checkov_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One checkov run over all fixtures with our checks only: {"results": {...}, "stderr": str}.

    Isolated like the product's gate: no CKV_*/BC_* variables (CKV_SKIP_CHECK, ...) and an empty
    working directory and $HOME, so no stray .checkov.yaml changes which checks run.
    """
    binary = _checkov_binary()
    scratch = tmp_path_factory.mktemp("checkov-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CKV_", "BC_", "PRISMA_", "CHECKOV_"))}
    env.update(CKV_PARSE_ERROR_FAIL="true", PYTHONDONTWRITEBYTECODE="1", LOG_LEVEL="WARNING", HOME=str(scratch))
    command = [
        binary, "-d", str(FIXTURES), "--framework", "terraform",
        "--external-checks-dir", str(POLICIES), "-c", ",".join(sorted(PACK, key=_id_key)),
        "--skip-download", "-o", "json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=scratch, timeout=TIMEOUT, check=False)
    assert done.returncode in (0, 1), f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}"
    output = json.loads(done.stdout)
    reports = output if isinstance(output, list) else [output]
    assert [r.get("check_type") for r in reports] == ["terraform"], reports
    report = reports[0]
    assert report["summary"]["parsing_errors"] == 0, report["results"].get("parsing_errors")
    return {"results": report["results"], "stderr": done.stderr}


@pytest.fixture(scope="session")
def outcomes(checkov_run: dict) -> dict[tuple[str, str], dict[str, set[str]]]:
    """(check id, fixture folder) -> {"passed": addresses, "failed": addresses}."""
    found: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: {"passed": set(), "failed": set()})
    for key, outcome in (("passed_checks", "passed"), ("failed_checks", "failed")):
        for record in checkov_run["results"][key]:
            folder = Path(record["file_path"]).parts[1]
            found[(record["check_id"], folder)][outcome].add(record["resource"])
    return found


def test_pack_files_are_named_and_numbered_consistently():
    assert PACK, "no checks found in policies/"
    for check_id, path in PACK.items():
        id_match = CHECK_ID_RE.match(check_id)
        file_match = CHECK_FILE_RE.match(path.name)
        assert id_match and file_match, f"{path.name}: id {check_id!r} or file name breaks the scheme"
        assert file_match.group(1).upper() == id_match.group(1), f"{path.name} defines {check_id}"
        assert int(file_match.group(2)) == int(id_match.group(2)), f"{path.name} defines {check_id}"
    for family in FAMILIES:
        numbers = sorted(number for fam, number in map(_id_key, PACK) if fam == family)
        assert numbers == list(range(1, len(numbers) + 1)), f"BP_{family} check numbers have gaps: {numbers}"
    assert (POLICIES / "__init__.py").is_file(), "without __init__.py checkov loads no Python check"


def test_every_fixture_folder_belongs_to_a_check():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders - set(PACK) == set(), "fixture folders without a check"


@pytest.mark.parametrize("check_id", sorted(PACK, key=_id_key))
def test_check_has_pass_and_fail_fixtures(check_id: str):
    passing, failing = fixture_resources(check_id)
    assert passing, f"{check_id}: add a resource named pass_* to fixtures/terraform/{check_id}/"
    assert failing, f"{check_id}: add a resource named fail_* to fixtures/terraform/{check_id}/"


def test_every_check_loaded(checkov_run: dict):
    reported = {
        record["check_id"]
        for key in ("passed_checks", "failed_checks")
        for record in checkov_run["results"][key]
    }
    assert set(PACK) - reported == set(), "checks checkov did not load or never ran"
    for marker in ("Cannot load external check", "Failed to run check", "missing required fields"):
        assert marker not in checkov_run["stderr"], checkov_run["stderr"][-3000:]


@pytest.mark.parametrize("check_id", sorted(PACK, key=_id_key))
def test_check_outcomes_match_fixture_names(check_id: str, outcomes: dict):
    passing, failing = fixture_resources(check_id)
    actual = outcomes.get((check_id, check_id), {"passed": set(), "failed": set()})
    assert actual["passed"] == passing, (
        f"{check_id}: passed {sorted(actual['passed'] - passing)} unexpectedly, "
        f"did not pass {sorted(passing - actual['passed'])}"
    )
    assert actual["failed"] == failing, (
        f"{check_id}: failed {sorted(actual['failed'] - failing)} unexpectedly, "
        f"did not fail {sorted(failing - actual['failed'])}"
    )
