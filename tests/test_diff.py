"""diff: permission changes between two states, widening first, each at the profile line responsible.
Git history comes from temporary repositories built here; nothing is mocked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, edit

from blueprint import pipeline, writer
from blueprint.cli import main

GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, timeout=60)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def diff_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, "diff", *argv, "--format", "json")
    return code, json.loads(out)


def agent(data: dict, name: str) -> dict:
    return next(a for a in data["agents"] if a["agent"] == name)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line == text)


@pytest.fixture()
def repo(envs: Path) -> Path:
    """The example environments committed to a fresh repository; returns its environments folder."""
    git(envs.parent, "init", "-q")
    git(envs.parent, "add", "environments")
    git(envs.parent, "commit", "-q", "-m", "base")
    return envs


WAREHOUSE = """  warehouse:
    description: The analytics warehouse, one VPC range.
    cidrs: [10.20.0.0/16]
    ports: [{port: 443, protocol: TCP}]
secretBackends:
"""


def widen_research(envs: Path) -> Path:
    """Egress to a /16 (with its exception) and a second secret for the dev research agent."""
    edit(envs / "dev/environment.yaml", "\nsecretBackends:\n", "\n" + WAREHOUSE)
    profile = envs / "dev/agents/research.yaml"
    edit(profile, "  - search-sandbox\n", "  - search-sandbox\n  - warehouse\n")
    edit(profile, "exceptions:\n", "exceptions:\n  - name: warehouse-range\n    waives: egress-too-wide\n"
                                   "    destination: warehouse\n    reason: The warehouse is one VPC range.\n")
    profile.write_text(profile.read_text() + "  - name: warehouse-token\n    vault:\n"
                       "      path: secret/data/dev/research/warehouse\n      key: token\n")
    return profile


def test_base_reports_widening_at_the_new_profile_lines(capsys, repo: Path) -> None:
    profile = widen_research(repo)
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo))
    assert code == 0 and data["widening"] is True
    research = agent(data, "research")
    assert research["headline"] == "research: +1 egress 10.20.0.0/16 443/TCP, +1 secrets, +1 exceptions (widening)"
    changes = {(c["layer"], c["kind"]): c for c in research["changes"]}
    assert {c["effect"] for c in research["changes"]} == {"widening"}
    egress = changes[("egress", "added")]
    assert egress["source"] == {"file": str(profile), "line": line_of(profile, "  - warehouse"), "path": "egress[3]"}
    secret = changes[("secrets", "added")]
    assert secret["key"] == ["vault", "secret/data/dev/research/warehouse", "read"]
    assert secret["source"]["line"] == line_of(profile, "  - name: warehouse-token")
    assert secret["source"]["path"] == "secrets[1]"
    assert changes[("exceptions", "added")]["source"]["path"] == "exceptions[0]"
    assert [a["status"] for a in data["agents"] if a["agent"] != "research"] == ["unchanged"] * 3
    code, _ = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo), "--fail-on-widening")
    assert code == 1


def test_base_reports_narrowing_at_the_old_profile_lines(capsys, repo: Path) -> None:
    profile = repo / "dev/agents/research.yaml"
    text = profile.read_text()
    start, end = text.index("  - search-sandbox\n"), text.index("# The search API token")
    profile.write_text(text[:start] + "credentialTtl: 600\n" + text[end:])
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo),
                           "--fail-on-widening")
    assert code == 0 and data["widening"] is False
    research = agent(data, "research")
    assert research["effect"] == "narrowing"
    changes = {(c["layer"], c["kind"]): c for c in research["changes"]}
    removed = changes[("egress", "removed")]
    assert removed["effect"] == "narrowing" and removed["key"] == ["198.51.100.0/24", "443/TCP"]
    # A removal points at the old state's line: the file at the base revision.
    assert removed["source"] == {"file": "HEAD:environments/dev/agents/research.yaml", "line": 10, "path": "egress[2]"}
    assert changes[("exceptions", "removed")]["source"]["line"] == 12
    lifetime = changes[("credential-lifetime", "changed")]
    assert (lifetime["old"], lifetime["new"], lifetime["effect"]) == ("900 s", "600 s", "narrowing")
    assert lifetime["source"]["path"] == "credentialTtl"


def test_per_session_to_shared_is_widening(capsys, repo: Path) -> None:
    profile = repo / "dev/agents/code-interpreter.yaml"
    profile.write_text(profile.read_text() + "runtime:\n  isolation: shared\n")
    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(repo))
    assert code == 0
    lines = out.splitlines()
    headline = next(i for i, line in enumerate(lines) if line.startswith("code-interpreter:"))
    assert lines[headline] == ("code-interpreter: -3 broker grants, isolation per-session -> shared, "
                               "2 settings added or removed (widening)")
    # Widening first: the isolation change comes before the broker grants it removes.
    body = lines[headline + 1:]
    first_narrowing = next(i for i, line in enumerate(body) if "- narrowing" in line)
    isolation = next(i for i, line in enumerate(body) if "shared Deployment" in line)
    assert "+ widening" in body[isolation] and isolation < first_narrowing
    assert "ServiceAccount agent-platform/session-broker may" in body[first_narrowing]


def test_no_change_exits_0_even_with_fail_on_widening(capsys, repo: Path) -> None:
    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(repo),
                       "--fail-on-widening")
    assert code == 0 and "No permission changes." in out


def test_markdown_is_a_pr_comment(capsys, repo: Path) -> None:
    widen_research(repo)
    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(repo),
                       "--format", "markdown")
    assert code == 0
    assert out.startswith("### blueprint: permission diff for `dev`")
    assert "- **research: +1 egress 10.20.0.0/16 443/TCP, +1 secrets, +1 exceptions (widening)**" in out
    assert "| widening | + egress to warehouse: 10.20.0.0/16 443/TCP |" in out


def test_base_errors_are_exit_2_without_traceback(capsys, repo: Path, tmp_path_factory) -> None:
    code, _, err = run(capsys, "diff", "--base", "no-such-rev", "--env", "dev", "--environments", str(repo))
    assert code == 2 and "unknown revision 'no-such-rev'" in err and "Traceback" not in err
    code, _, err = run(capsys, "diff", "--base", "HEAD", "--env", "qa", "--environments", str(repo))
    assert code == 2 and "environments/qa/environment.yaml" in err and "no environment 'qa'" in err
    loose = tmp_path_factory.mktemp("loose")  # outside the test's repository
    shutil.copytree(ENVIRONMENTS, loose / "environments")
    code, _, err = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(loose / "environments"))
    assert code == 2 and "not inside a git repository" in err
    code, _, err = run(capsys, "diff", "--base", "HEAD", "--environments", str(repo))
    assert code == 2 and "--base needs --env" in err


def test_a_revision_without_the_environments_folder_is_an_empty_old_state(capsys, tmp_path: Path) -> None:
    """The pull request that adopts blueprint (or adds an environment): every grant is new."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README").write_text("first\n")
    git(root, "init", "-q")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "first")
    shutil.copytree(ENVIRONMENTS, root / "environments")
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(root / "environments"),
                           "--fail-on-widening")
    assert code == 1
    assert sorted(a["agent"] for a in data["agents"] if a["status"] == "added") == [
        "cluster-triage", "code-interpreter", "customer-support", "research"]
    assert all(c["kind"] == "added" for a in data["agents"] for c in a["changes"])


def test_a_new_environment_diffs_against_nothing(capsys, repo: Path) -> None:
    shutil.copytree(repo / "dev", repo / "qa")
    edit(repo / "qa/environment.yaml", "name: dev", "name: qa")
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "qa", "--environments", str(repo))
    assert code == 0 and {a["status"] for a in data["agents"]} == {"added"}
    research = agent(data, "research")
    assert any(c["layer"] == "egress" and c["effect"] == "widening" for c in research["changes"])


def test_a_link_out_of_the_export_is_exit_2(capsys, repo: Path) -> None:
    (repo / "dev/NOTES.md").symlink_to("../../../../outside.md")
    git(repo.parent, "add", "environments")
    git(repo.parent, "commit", "-q", "-m", "link")
    code, _, err = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(repo))
    assert code == 2 and "cannot be exported safely" in err and "Traceback" not in err


NAMED_RULE = ("    - apiGroups: [\"\"]\n      resources: [configmaps]\n      verbs: [get]\n"
              "      resourceNames: [{names}]\n      namespace: shop\n")


def _with_rule(repo: Path, names: str) -> None:
    profile = repo / "dev/agents/cluster-triage.yaml"
    text = profile.read_text()
    marker = "  rules:\n"
    if NAMED_RULE.split("resourceNames")[0] not in text:
        assert marker in text, text
        profile.write_text(text.replace(marker, marker + NAMED_RULE.format(names=names), 1))
    else:
        start = text.index("      resourceNames: [")
        end = text.index("]", start) + 1
        profile.write_text(text[:start] + f"      resourceNames: [{names}]" + text[end:])


def test_reordered_names_are_no_change_and_fewer_names_narrow(capsys, repo: Path) -> None:
    _with_rule(repo, "zeta, alpha")
    git(repo.parent, "commit", "-q", "-am", "named rule")
    _with_rule(repo, "alpha, zeta")
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo), "--fail-on-widening")
    assert code == 0 and agent(data, "cluster-triage")["status"] == "unchanged"
    _with_rule(repo, "alpha")
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo), "--fail-on-widening")
    triage = agent(data, "cluster-triage")
    assert code == 0, triage
    assert [(c["kind"], c["effect"]) for c in triage["changes"]] == [("removed", "narrowing"), ("added", "neutral")]


def test_a_narrower_cidr_narrows(capsys, repo: Path) -> None:
    edit(repo / "dev/environment.yaml", "cidrs: [198.51.100.0/24]", "cidrs: [198.51.100.0/26]")
    profile = repo / "dev/agents/research.yaml"  # the /26 no longer needs the wide-egress exception
    text = profile.read_text()
    start = text.index("exceptions:\n")
    end = text.index("it exists only in dev.\n") + len("it exists only in dev.\n")
    profile.write_text(text[:start] + text[end:])
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo), "--fail-on-widening")
    research = agent(data, "research")
    assert code == 0, research
    effects = {(c["kind"], c["effect"]) for c in research["changes"] if c["layer"] == "egress"}
    assert effects == {("removed", "narrowing"), ("added", "neutral")}


def test_old_and_new_output_folders(capsys, envs: Path, tmp_path: Path) -> None:
    writer.write_tree(tmp_path / "old", pipeline.render(envs, "dev").files)
    profile = widen_research(envs)
    writer.write_tree(tmp_path / "new", pipeline.render(envs, "dev").files)
    code, data = diff_json(capsys, "--old", str(tmp_path / "old"), "--new", str(tmp_path / "new"))
    assert code == 0 and data["environment"] == "dev"
    research = agent(data, "research")
    egress = next(c for c in research["changes"] if c["layer"] == "egress")
    assert egress["text"] == "egress to warehouse: 10.20.0.0/16 443/TCP" and egress["effect"] == "widening"
    assert egress["source"]["file"] == str(profile) and egress["source"]["path"] == "egress[3]"
    # Reversed, the same change narrows.
    code, data = diff_json(capsys, "--old", str(tmp_path / "new"), "--new", str(tmp_path / "old"))
    assert code == 0 and agent(data, "research")["effect"] == "narrowing"
    code, _, err = run(capsys, "diff", "--old", str(tmp_path / "old"))
    assert code == 2 and "--old and --new go together" in err
    code, _, err = run(capsys, "diff", "--old", str(tmp_path / "old"), "--new", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err


def test_removed_agent_narrows_and_added_agent_widens(capsys, tmp_path: Path) -> None:
    render = pipeline.render(ENVIRONMENTS, "prod")
    writer.write_tree(tmp_path / "all", render.files)
    writer.write_tree(tmp_path / "fewer", {p: t for p, t in render.files.items() if "research" not in p})
    code, data = diff_json(capsys, "--old", str(tmp_path / "all"), "--new", str(tmp_path / "fewer"))
    assert code == 0
    research = agent(data, "research")
    assert research["status"] == "removed" and research["effect"] == "narrowing"
    code, data = diff_json(capsys, "--old", str(tmp_path / "fewer"), "--new", str(tmp_path / "all"),
                           "--fail-on-widening")
    assert code == 1 and agent(data, "research")["status"] == "added"
    assert agent(data, "research")["headline"].startswith("research: agent added, +")


def test_promote_dev_to_staging_on_the_examples(capsys) -> None:
    code, data = diff_json(capsys, "--promote", "dev", "staging", "--environments", str(ENVIRONMENTS))
    assert code == 1 and data["blocked"] is True  # staging refuses two of dev's profiles
    research = agent(data, "research")
    assert research["status"] == "blocked"
    (problem,) = research["problems"]
    assert problem["file"].endswith("environments/dev/agents/research.yaml") and problem["line"] == 10
    assert "unknown destination 'search-sandbox'" in problem["message"]
    support = agent(data, "customer-support")
    assert support["status"] == "blocked" and "[secret-outside-grant]" in support["problems"][0]["message"]
    assert "blueprint-promote-" not in json.dumps(data)  # never a temporary path
    triage = agent(data, "cluster-triage")
    assert triage["headline"] == "cluster-triage: +9 verbs (widening)"
    assert {c["source"]["path"] for c in triage["changes"]} == {"kubernetes.rules[3]"}
    assert all(c["source"]["file"].endswith("environments/dev/agents/cluster-triage.yaml") for c in triage["changes"])
    assert agent(data, "code-interpreter")["status"] == "unchanged"


def test_promote_adds_and_removes_agents(capsys, envs: Path) -> None:
    notebook = envs / "dev/agents/notebook.yaml"
    shutil.copy(envs / "dev/agents/code-interpreter.yaml", notebook)
    edit(notebook, "name: code-interpreter", "name: notebook")
    (envs / "dev/agents/customer-support.yaml").unlink()
    code, data = diff_json(capsys, "--promote", "dev", "staging", "--environments", str(envs))
    assert code == 1  # dev's research is still refused by staging
    assert agent(data, "notebook")["status"] == "added" and agent(data, "notebook")["effect"] == "widening"
    assert agent(data, "customer-support")["status"] == "removed"
    code, _, err = run(capsys, "diff", "--promote", "dev", "qa", "--environments", str(envs))
    assert code == 2 and "no environment 'qa'" in err


def test_json_schema_is_stable(capsys, repo: Path) -> None:
    widen_research(repo)
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "dev", "--environments", str(repo))
    assert code == 0
    assert set(data) == {"ok", "environment", "old", "new", "widening", "blocked", "agents"}
    research = agent(data, "research")
    assert set(research) == {"agent", "status", "effect", "headline", "changes", "problems"}
    assert set(research["changes"][0]) == {"agent", "kind", "effect", "layer", "key", "text", "source", "old", "new"}
    assert data["agents"][0]["agent"] == "research"  # widening agents first


def test_leaving_a_sandboxing_runtime_widens(capsys, repo: Path) -> None:
    edit(repo / "staging/environment.yaml", "runtimeClassName: gvisor", "runtimeClassName: runc")
    code, data = diff_json(capsys, "--base", "HEAD", "--env", "staging", "--environments", str(repo))
    change = next(c for c in agent(data, "research")["changes"] if c["key"] == ["runtime-class"])
    assert change["effect"] == "widening" and "not a known sandboxing runtime" in change["text"]
    code, out, _ = run(capsys, "explain", "--env", "staging", "research", "--environments", str(repo))
    assert "runc (sandboxed kernel)" not in out


def test_headlines_name_the_setting_that_moved(capsys, repo: Path) -> None:
    edit(repo / "dev/agents/research.yaml", "extends:", "resources:\n  maxPods: 3\nextends:")
    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--env", "dev", "--environments", str(repo),
                       "--format", "markdown")
    assert code == 0 and "resources quota pods 2 -> 3" in out, out
