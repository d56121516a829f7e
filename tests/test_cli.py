"""The CLI: exit codes (0 ok, 1 refused or gate failed, 2 invalid input, 3 tool missing), located
messages, nothing written on error, stale files removed, JSON output, the real gates end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE_ENVS, REPO, edit

from blueprint.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys, envs: Path) -> None:
    code, out, _ = run(capsys, "validate", "--env", "prod", "--environments", str(envs))
    assert code == 0 and "prod: 4 profiles valid" in out


def test_unknown_key_exits_2_and_writes_nothing(capsys, envs: Path, tmp_path: Path) -> None:
    edit(envs / "dev/agents/research.yaml", "name: research", "name: research\nverbz: [get]")
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "render", "--env", "dev", "--environments", str(envs), "--out", str(out_dir))
    assert code == 2
    assert f"{envs}/dev/agents/research.yaml:6:1: verbz: unknown key 'verbz'" in err
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_wildcard_verb_exits_1_naming_the_line(capsys, envs: Path, tmp_path: Path) -> None:
    edit(envs / "_shared/cluster-triage.yaml", "verbs: [get, list, watch]", 'verbs: [get, "*"]')
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "check", "--env", "prod", "--environments", str(envs), "--out", str(out_dir))
    assert code == 1
    assert f"{envs}/_shared/cluster-triage.yaml:13:20: kubernetes.rules[0].verbs[1]: [wildcard]" in err
    assert not out_dir.exists()


def test_world_destination_exits_1_naming_both_lines(capsys, envs: Path) -> None:
    edit(envs / "staging/environment.yaml", "cidrs: [192.0.2.10/32]", "cidrs: [0.0.0.0/0]")
    code, _, err = run(capsys, "validate", "--env", "staging", "--environments", str(envs))
    assert code == 1
    assert (f"{envs}/_shared/research.yaml:11:5: egress[1]: [egress-world]" in err
            and f"(destination defined at {envs}/staging/environment.yaml:28:13 destinations.llm-api.cidrs[0])" in err)


def test_json_errors(capsys, envs: Path) -> None:
    edit(envs / "dev/agents/research.yaml", "name: research", "name: research\nverbz: [get]")
    code, out, _ = run(capsys, "validate", "--env", "dev", "--environments", str(envs), "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["exit_code"] == 2 and data["error"] == "invalid-input"
    assert data["problems"][0]["line"] == 6 and data["problems"][0]["path"] == "verbz"


def test_unknown_environment(capsys, envs: Path) -> None:
    code, _, err = run(capsys, "validate", "--env", "qa", "--environments", str(envs))
    assert code == 2 and "no environment 'qa' (known: dev, prod, staging)" in err


def test_render_writes_and_removes_stale_files(capsys, envs: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(out_dir))
    assert code == 0 and "Not gated" in out
    assert sorted(p.name for p in (out_dir / "agents").iterdir()) == [
        "agent_cluster_triage.tf", "agent_code_interpreter.tf", "agent_customer_support.tf", "agent_research.tf",
        "providers.tf", "versions.tf"]
    (out_dir / "agents" / ".terraform.lock.hcl").write_text("# user's file\n")
    (envs / "prod/agents/research.yaml").unlink()
    code, out, _ = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(out_dir),
                       "--format", "json")
    data = json.loads(out)
    # Deleting the research profile removes its files in every stage, and says what apply destroys.
    removed = {r["file"]: r["destroys"] for r in data["removed"]}
    assert sorted(removed) == ["agents-crd/agent_research.tf", "agents/agent_research.tf",
                               "docker/research.Dockerfile", "identity-vault/agent_research.tf",
                               "identity-vault/providers.tf", "identity-vault/versions.tf"]
    assert "kubernetes_namespace_v1.research" in removed["agents/agent_research.tf"]
    assert removed["identity-vault/agent_research.tf"] == [
        "vault_policy.research", "vault_kubernetes_auth_backend_role.research"]
    assert not (out_dir / "agents/agent_research.tf").exists()
    assert (out_dir / "agents/.terraform.lock.hcl").exists()  # never touch what we did not write
    assert "agents/agent_customer_support.tf" in data["unchanged"]


def test_manifest_cannot_make_the_writer_delete_other_files(capsys, envs: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    victim = tmp_path / "victim.tf"
    victim.write_text("keep me\n")
    run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(out_dir))
    manifest = out_dir / ".blueprint-manifest.json"
    manifest.write_text(json.dumps({"files": ["../victim.tf", "/etc/hostname", "agents/agent_x.tf"]}))
    (out_dir / "agents/agent_x.tf").write_text("# stale\n")
    code, _, _ = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(out_dir))
    assert code == 0 and victim.exists() and not (out_dir / "agents/agent_x.tf").exists()


def test_out_is_a_file_exits_2(capsys, envs: Path, tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    code, _, err = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--out", str(target))
    assert code == 2 and "cannot write the output here" in err and "Traceback" not in err


def test_missing_checkov_exits_3(capsys, envs: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BLUEPRINT_CHECKOV", str(tmp_path / "no-checkov"))
    code, _, err = run(capsys, "check", "--env", "dev", "--environments", str(envs), "--out", str(tmp_path / "o"))
    assert code == 3 and "tool error" in err and "no-checkov" in err
    assert not (tmp_path / "o").exists()


def test_missing_terraform_exits_3(capsys, envs: Path, tmp_path: Path, monkeypatch, checkov_bin: str) -> None:
    monkeypatch.setenv("BLUEPRINT_CHECKOV", checkov_bin)
    monkeypatch.setenv("BLUEPRINT_TERRAFORM", str(tmp_path / "no-terraform"))
    code, _, err = run(capsys, "check", "--env", "dev", "--environments", str(envs), "--out", str(tmp_path / "o"))
    assert code == 3 and "no-terraform" in err


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_check_examples_end_to_end(capsys, env: str, tmp_path: Path, monkeypatch, checkov_bin: str,
                                   terraform_bin: str) -> None:
    """`make demo`'s pipeline: real checkov with our pack, real terraform fmt, every gate green."""
    monkeypatch.setenv("BLUEPRINT_CHECKOV", checkov_bin)
    out_dir = tmp_path / env
    code, out, err = run(capsys, "check", "--env", env, "--environments", str(REPO / "environments"),
                         "--out", str(out_dir), "--format", "json")
    data = json.loads(out)
    assert code == 0, json.dumps([g for g in data["gates"] if not g["ok"]], indent=1) + err
    gates = {g["gate"]: g for g in data["gates"]}
    assert list(gates) == ["parse", "invariants", "consistency", "credential-lifetime", "provider-schema",
                           "crd-schema", "dockerfile", "hadolint", "checkov", "kubernetes-validate",
                           "checkov-kubernetes", "coverage", "terraform-fmt", "terraform-validate-plan"]
    assert all(g["ok"] and g["checks_passed"] > 0 for g in gates.values())
    assert gates["terraform-validate-plan"]["detail"].startswith("plan: ")
    assert sorted(p.name for p in (out_dir / "agents").glob("*.tf")) == [
        "agent_cluster_triage.tf", "agent_code_interpreter.tf", "agent_customer_support.tf", "agent_research.tf",
        "providers.tf", "versions.tf"]
    assert sorted(p.name for p in out_dir.iterdir() if p.is_dir()) == [
        "agents", "agents-crd", "docker", "identity-aws", "identity-vault", "platform"]


def test_gate_failure_exits_1_and_writes_nothing(capsys, envs: Path, tmp_path: Path, monkeypatch,
                                                 checkov_bin: str) -> None:
    # A generator bug is simulated by a policy pack check the output cannot pass.
    monkeypatch.setenv("BLUEPRINT_CHECKOV", checkov_bin)
    import blueprint.gates.invariants as inv
    original = inv.check_invariants

    def broken(resources, profiles, env):
        result = original(resources, profiles, env)
        result.findings.append(inv.Finding("invariants", "INV_TEST", "injected", "agents/x.tf"))
        return result

    monkeypatch.setattr("blueprint.gates.run.check_invariants", broken)
    code, out, _ = run(capsys, "check", "--env", "dev", "--environments", str(envs), "--out", str(tmp_path / "o"))
    assert code == 1 and "FAIL: gates failed; nothing was written" in out
    assert not (tmp_path / "o").exists()


def test_console_script_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "blueprint", "validate", "--env", "dev"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr


def test_waived_refusals_pass_every_gate_and_show_as_skipped(capsys, envs: Path, tmp_path: Path, monkeypatch,
                                                             checkov_bin: str) -> None:
    """An exception must waive the refusal in every layer: input, invariants and checkov."""
    monkeypatch.setenv("BLUEPRINT_CHECKOV", checkov_bin)
    profile = envs / "prod/agents/customer-support.yaml"
    profile.write_text(profile.read_text() + (
        "kubernetes:\n  rules:\n"
        '    - apiGroups: [""]\n      resources: [configmaps]\n      verbs: ["*"]\n'
        '    - apiGroups: [""]\n      resources: [secrets]\n      verbs: [get]\n'
        "exceptions:\n"
        "  - name: legacy-sdk-configmaps\n    waives: wildcard\n"
        "    reason: The vendor SDK needs every verb on its own ConfigMaps; tracked in TICKET-1.\n"
        "  - name: legacy-sdk-verbs\n    waives: escalation-verb\n"
        "    reason: The same SDK; '*' includes escalate and bind on ConfigMaps, which grant nothing.\n"
        "  - name: legacy-secret-scan\n    waives: unnamed-secret-read\n"
        "    reason: Reads its rotating credential whose name changes daily; checkov:skip=BP_K8S_1:sneaky.\n"
        # Free text must never switch a check off.
        "description: 'Answers questions. checkov:skip=BP_K8S_1,BP_K8S_2,BP_K8S_3,BP_K8S_4:reviewed'\n"))
    code, out, err = run(capsys, "check", "--env", "prod", "--environments", str(envs),
                         "--out", str(tmp_path / "o"), "--format", "json")
    data = json.loads(out)
    assert code == 0, json.dumps([g for g in data["gates"] if not g["ok"]], indent=1) + err
    checkov = next(g for g in data["gates"] if g["gate"] == "checkov")
    assert " 4 skipped by exception, 10 skipped in hand-written modules" in checkov["detail"], checkov["detail"]
    derived = next(g for g in data["gates"] if g["gate"] == "checkov-kubernetes")
    assert "waived by profile exceptions (CKV_K8S_49" in derived["detail"], derived["detail"]
    text = (tmp_path / "o/agents/agent_customer_support.tf").read_text()
    assert "# checkov:skip=CKV_K8S_49:exception legacy-sdk-configmaps: The vendor SDK" in text
    agent = next(a for a in data["agents"] if a["name"] == "customer-support")
    assert [e["name"] for e in agent["exceptions"]] == ["legacy-sdk-configmaps", "legacy-sdk-verbs",
                                                         "legacy-secret-scan"]
    assert "checkov\\u003askip=BP_K8S_1" in (tmp_path / "o/agents/agent_customer_support.tf").read_text()


def test_render_manifests_for_gitops(capsys, envs: Path, tmp_path: Path) -> None:
    import yaml

    out_dir = tmp_path / "m"
    code, out, _ = run(capsys, "render", "--env", "prod", "--environments", str(envs), "--format", "manifests",
                       "--out", str(out_dir))
    assert code == 0 and "Kubernetes objects" in out
    objects = list(yaml.safe_load_all((out_dir / "manifests.yaml").read_text()))
    kinds = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    assert ("Deployment", "agent-customer-support", "customer-support") in kinds
    assert ("SecretProviderClass", "agent-research", "agent-secrets") in kinds
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "cluster-triage")
    pod = deployment["spec"]["template"]["spec"]
    # The round trip keeps what the Terraform declares: no automounted token, a projected 600 s one.
    assert pod["automountServiceAccountToken"] is False
    token = next(v for v in pod["volumes"] if v["name"] == "kube-api-access")
    assert token["projected"]["sources"][0] == {"serviceAccountToken": {"expirationSeconds": 600, "path": "token"}}
