"""`blueprint new agent`: a valid least-privilege profile that validates and renders at once, never
overwrites, and refuses names outside the models' grammar with a located message (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from blueprint import schema_export
from blueprint.cli import main
from blueprint.hcl_reader import ParsedFile, block, blocks, parse_text, resources
from blueprint.loader import load_environment


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def new(capsys, envs: Path, name: str = "triage-bot", env: str = "prod", *extra: str) -> tuple[int, str, str]:
    return run(capsys, "new", "agent", name, "--env", env, "--environments", str(envs), *extra)


def test_new_agent_validates_and_grants_nothing_extra(capsys, envs: Path) -> None:
    code, out, _ = new(capsys, envs)
    path = envs / "prod/agents/triage-bot.yaml"
    assert code == 0 and f"Created {path}" in out and path.is_file()
    code, out, _ = run(capsys, "validate", "--env", "prod", "--environments", str(envs))
    assert code == 0 and "prod: 5 profiles valid; nothing refused." in out
    profile = next(p.profile for p in load_environment(envs, "prod").profiles if p.profile.name == "triage-bot")
    assert profile.kubernetes.rules == [] and profile.egress == [] and profile.secrets == []
    assert profile.exceptions == [] and profile.callers == [] and profile.credential_ttl is None
    assert profile.runtime is not None and profile.runtime.isolation == "shared"
    assert profile.resources.max_pods == 1


def test_new_agent_renders_namespace_token_free_account_and_default_deny(capsys, envs: Path, tmp_path: Path) -> None:
    assert new(capsys, envs)[0] == 0
    out_dir = tmp_path / "build"
    code, _, _ = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(out_dir))
    assert code == 0
    text = (out_dir / "agents/agent_triage_bot.tf").read_text()
    found = {(r.type, r.name): r.body for r in resources(ParsedFile("agent_triage_bot.tf", parse_text(text)))}
    namespace = block(found[("kubernetes_namespace_v1", "triage_bot")], "metadata")
    assert namespace["name"] == "agent-triage-bot"
    account = found[("kubernetes_service_account_v1", "triage_bot")]
    assert account["automount_service_account_token"] is False
    deny = block(found[("kubernetes_network_policy_v1", "triage_bot__default_deny")], "spec")
    # Every pod of the namespace (an empty selector), both directions, and no rule: everything denied.
    assert deny["policy_types"] == ["Ingress", "Egress"] and "match_labels" not in block(deny, "pod_selector")
    assert not blocks(deny, "ingress") and not blocks(deny, "egress")
    # The only egress is DNS: no API server, no destination.
    allowed = [r for key, body in found.items() if key[0] == "kubernetes_network_policy_v1"
               for r in blocks(block(body, "spec"), "egress")]
    assert [sorted(p["port"] for p in blocks(rule, "ports")) for rule in allowed] == [["53", "53"]]
    # No API rules: no Role, no binding, no token in the pod.
    assert not [key for key in found if key[0] in ("kubernetes_role_v1", "kubernetes_role_binding_v1",
                                                   "kubernetes_cluster_role_v1")]
    pod = block(block(block(found[("kubernetes_deployment_v1", "triage_bot")], "spec"), "template"), "spec")
    assert pod["automount_service_account_token"] is False


def test_new_agent_json_output(capsys, envs: Path) -> None:
    code, out, _ = new(capsys, envs, "triage-bot", "dev", "--format", "json")
    assert code == 0 and json.loads(out) == {"ok": True, "environment": "dev", "agent": "triage-bot",
                                             "file": str(envs / "dev/agents/triage-bot.yaml"), "runtime": True}


def test_new_file_has_the_modeline_and_matches_the_schema(capsys, envs: Path) -> None:
    assert new(capsys, envs)[0] == 0
    path = envs / "prod/agents/triage-bot.yaml"
    first, _, rest = path.read_text().partition("\n")
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == schema_export.committed_path("profile").resolve()
    validator = Draft202012Validator(schema_export.schema("profile"))
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []
    assert rest.count("PLACEHOLDER") >= 4  # owner, description, image, entry module


def test_modeline_is_relative_in_the_repository(capsys) -> None:
    from blueprint import scaffold

    repo_envs = Path(__file__).resolve().parents[1] / "environments"
    text = scaffold.plan(repo_envs, "dev", "not-created").text
    assert text.startswith("# yaml-language-server: $schema=../../../blueprint/schemas/profile.schema.json\n")
    assert not (repo_envs / "dev/agents/not-created.yaml").exists()


def test_comments_list_the_environment_destinations_and_namespace(capsys, envs: Path) -> None:
    assert new(capsys, envs, "triage-bot", "dev", "--namespace", "shop")[0] == 0
    text = (envs / "dev/agents/triage-bot.yaml").read_text()
    for line in ("#   llm-api ", "#   web-proxy ", "#       namespace: shop", "secret/data/dev/triage-bot/"):
        assert line in text


def test_existing_profile_is_never_overwritten(capsys, envs: Path) -> None:
    path = envs / "prod/agents/research.yaml"
    before = path.read_text()
    code, out, err = new(capsys, envs, "research")
    assert code == 2 and out == ""
    assert f"{path}: a profile for agent 'research' already exists; `blueprint new` never overwrites" in err
    assert path.read_text() == before and "Traceback" not in err


def test_a_yml_twin_counts_as_existing(capsys, envs: Path) -> None:
    (envs / "prod/agents/twin.yml").write_text("kept\n")
    code, _, err = new(capsys, envs, "twin")
    assert code == 2 and "twin.yml: a profile for agent 'twin' already exists" in err
    assert not (envs / "prod/agents/twin.yaml").exists()


@pytest.mark.parametrize("name", ["Triage", "triage_bot", "1triage", "t", "a" * 58, "../escape", "bot-", "${x}"])
def test_name_outside_the_grammar_exits_2(capsys, envs: Path, name: str) -> None:
    before = sorted(p.name for p in (envs / "prod/agents").iterdir())
    code, _, err = new(capsys, envs, name)
    assert code == 2 and "Traceback" not in err
    assert f"command line: NAME: {name!r} is not allowed; expected lower-case letters, digits and '-'" in err
    assert sorted(p.name for p in (envs / "prod/agents").iterdir()) == before


def test_longest_name_is_accepted(capsys, envs: Path) -> None:
    name = "a" * 57  # the namespace agent-<name> is then exactly 63 characters
    assert new(capsys, envs, name)[0] == 0
    assert run(capsys, "validate", "--env", "prod", "--environments", str(envs))[0] == 0


def test_bad_namespace_and_unknown_environment_exit_2(capsys, envs: Path) -> None:
    code, _, err = new(capsys, envs, "triage-bot", "prod", "--namespace", "Shop")
    assert code == 2 and "command line: --namespace: 'Shop' is not allowed" in err
    code, _, err = new(capsys, envs, "triage-bot", "qa")
    assert code == 2 and f"{envs}/qa/environment.yaml: no environment 'qa' (known: dev, prod, staging)" in err
    assert not (envs / "qa").exists() and not (envs / "prod/agents/triage-bot.yaml").exists()


def test_environment_without_runtime_settings_gets_no_workload(capsys, envs: Path, tmp_path: Path) -> None:
    """Without the environment's runtime settings a workload would not validate: leave it out."""
    settings = yaml.safe_load((envs / "dev/environment.yaml").read_text())
    del settings["runtime"]
    root = tmp_path / "bare"
    (root / "dev").mkdir(parents=True)
    (root / "dev/environment.yaml").write_text(yaml.safe_dump(settings))
    code, out, _ = new(capsys, root, "triage-bot", "dev")
    assert code == 0 and "a shared workload" not in out
    assert "\nruntime:" not in (root / "dev/agents/triage-bot.yaml").read_text()
    assert run(capsys, "validate", "--env", "dev", "--environments", str(root))[0] == 0


def test_unwritable_folder_exits_2(capsys, envs: Path) -> None:
    agents = envs / "staging/agents"
    for profile in agents.iterdir():
        profile.unlink()
    agents.rmdir()
    agents.write_text("a file where the agents folder should be\n")
    code, _, err = new(capsys, envs, "triage-bot", "staging")
    assert code == 2 and f"{agents}/triage-bot.yaml: cannot write this file" in err and "Traceback" not in err
