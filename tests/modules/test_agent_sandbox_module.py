"""modules/agent-sandbox: the agent-sandbox controller install, and how the platform root uses it.

The kubernetes and http providers cannot be installed here, so the module itself cannot be
`terraform init`ed. Its logic lives in the provider-free ./release submodule, which is tested with
real Terraform:

- `terraform test` (release/tests/*.tftest.hcl): checksum verification, kind and namespace
  allow-lists, digest pinning and the hardening of the controller Deployment;
- `terraform plan` of a root that calls ./release on the fixture release: the hardened
  Deployment it outputs passes the same gates as an agent's workload (kubernetes-validate
  --strict and checkov's kubernetes framework with our pack);
- the module's resource blocks against the kubernetes provider schema (the cdktn oracle);
- the platform root blueprint emits: a restricted namespace fenced before the release is read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from blueprint import pipeline
from blueprint.emit.manifests import Manifest
from blueprint.errors import InputError
from blueprint.hcl_reader import ParsedFile, parse_file, parse_text, resources
from blueprint.gates.kubernetes_validate import run_checkov_kubernetes, validate_manifests
from blueprint.gates.provider_schema import check_resource, load_provider_schema
from blueprint.gates.run import policies_dir
from tests.conftest import REPO, edit, require_tool

MODULE = REPO / "modules" / "agent-sandbox"
RELEASE = MODULE / "release"
TF_TIMEOUT = 180
IMAGE = "registry.example/agent-sandbox-controller:v9.9.9@sha256:" + "1" * 64


def _tf_env(root: Path) -> dict[str, str]:
    rc = root / ".terraformrc"
    rc.write_text("")  # no user config, no plugin cache, no network settings
    return {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": str(rc)}


def _terraform(terraform_bin: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([terraform_bin, *args], cwd=root, capture_output=True, text=True,
                          timeout=TF_TIMEOUT, env=_tf_env(root))


def test_module_has_the_standard_files() -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (MODULE / name).is_file(), f"{name} is missing from {MODULE}"
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (RELEASE / name).is_file(), f"{name} is missing from {RELEASE}"


@pytest.mark.tools
def test_terraform_fmt_check(terraform_bin: str, tmp_path: Path) -> None:
    proc = subprocess.run([terraform_bin, "fmt", "-check", "-recursive", "-diff", str(MODULE)], capture_output=True,
                          text=True, timeout=TF_TIMEOUT, env=_tf_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.tools
def test_release_submodule_terraform_test(terraform_bin: str, tmp_path: Path) -> None:
    """Real `terraform test`: every run passes, including the ones that expect a refusal."""
    root = tmp_path / "release"
    shutil.copytree(RELEASE, root)
    init = _terraform(terraform_bin, root, "init", "-input=false", "-no-color")
    assert init.returncode == 0, init.stdout + init.stderr
    proc = _terraform(terraform_bin, root, "test", "-no-color")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success! 7 passed, 0 failed." in proc.stdout, proc.stdout


@pytest.mark.tools
def test_a_wrong_checksum_fails_the_verified_run(terraform_bin: str, tmp_path: Path) -> None:
    """Negative control: the verification is what makes the first run pass, not the fixtures."""
    root = tmp_path / "release"
    shutil.copytree(RELEASE, root)
    edit(root / "tests/release.tftest.hcl",
         'body = file("tests/fixtures/extensions.yaml"), sha256 = sha256(file("tests/fixtures/extensions.yaml"))',
         'body = file("tests/fixtures/extensions.yaml"), sha256 = "' + "0" * 64 + '"')
    assert _terraform(terraform_bin, root, "init", "-input=false", "-no-color").returncode == 0
    proc = _terraform(terraform_bin, root, "test", "-no-color", "-filter=tests/release.tftest.hcl")
    assert proc.returncode != 0
    assert "does not match its pinned sha256" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def hardened_release(terraform_bin: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The objects ./release outputs for the fixture release, read from a real `terraform plan`."""
    root = tmp_path_factory.mktemp("agent-sandbox-release-plan")
    shutil.copytree(RELEASE, root / "release")
    fixtures = "release/tests/fixtures"
    (root / "main.tf").write_text(f'''
module "release" {{
  source           = "./release"
  release          = "v9.9.9"
  egress_policy    = "agent-sandbox-controller"
  controller_image = "{IMAGE}"
  documents = [
    {{ file = "manifest.yaml", body = file("{fixtures}/core.yaml"), sha256 = sha256(file("{fixtures}/core.yaml")) }},
    {{ file = "extensions.yaml", body = file("{fixtures}/extensions.yaml"), sha256 = sha256(file("{fixtures}/extensions.yaml")) }},
  ]
}}
output "controller" {{ value = module.release.controller }}
output "crds" {{ value = module.release.crds }}
''')
    for args in (("init", "-input=false", "-no-color"), ("plan", "-input=false", "-no-color", "-out=plan.bin")):
        proc = _terraform(terraform_bin, root, *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = _terraform(terraform_bin, root, "show", "-json", "plan.bin")
    assert shown.returncode == 0, shown.stderr
    outputs = json.loads(shown.stdout)["planned_values"]["outputs"]
    return {name: value["value"] for name, value in outputs.items()}


@pytest.mark.tools
def test_hardened_controller_passes_the_workload_gates(hardened_release: dict, checkov_bin: str) -> None:
    """The controller pod meets the bar an agent's pod meets: kubernetes-validate --strict and
    checkov's kubernetes workload checks (runAsNonRoot, seccomp, capabilities, read-only root)."""
    deployment = hardened_release["controller"]["Deployment/agent-sandbox-system/agent-sandbox-controller"]
    manifests = [Manifest(deployment, "platform/modules/agent-sandbox/release", "module.release.deployment")]
    assert validate_manifests(manifests, "1.31.0", binary=require_tool(
        shutil.which("kubernetes-validate", path=str(Path(os.sys.executable).parent)), "kubernetes-validate")).ok
    result, report = run_checkov_kubernetes(manifests, policies_dir=policies_dir(), checkov=checkov_bin)
    failed = sorted({f.check_id for f in result.findings})
    # Tolerated, each for a reason: the release defines no probes (8, 9; guessing its health
    # endpoints would crash-loop it on a mismatch); the controller talks to the API server, so it
    # needs its token (38); its NetworkPolicy lives in the calling root, not in this object (2_6).
    tolerated = {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_38", "CKV2_K8S_6"}
    hardening = {"CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23",
                 "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_40", "CKV_K8S_31", "CKV_K8S_43"}
    assert not set(failed) - tolerated, failed
    passed = {r.check_id for r in report.passed}
    assert hardening <= passed, sorted(hardening - passed)


def test_module_resources_match_the_kubernetes_provider_schema() -> None:
    schema = load_provider_schema("cdktn_provider_kubernetes")
    found = [r for r in resources(parse_file(MODULE / "main.tf", MODULE))]
    assert sorted(r.address for r in found) == ["kubernetes_manifest.controller", "kubernetes_manifest.crd"]
    problems = [p for r in found for p in check_resource(schema, r)]
    assert problems == []


# ---- the platform root blueprint emits ---------------------------------------------------------


def _platform(environments: Path, env: str) -> tuple[dict[str, str], ParsedFile]:
    render = pipeline.render(environments, env)
    text = render.files["platform/main.tf"]
    return render.files, ParsedFile("platform/main.tf", parse_text(text, "platform/main.tf"))


def test_platform_root_fences_the_controller_namespace() -> None:
    files, parsed = _platform(REPO / "environments", "prod")
    found = {r.address: r for r in resources(parsed)}
    ns = found["kubernetes_namespace_v1.agent_sandbox_system"].body["metadata"][0]
    assert ns["name"] == "agent-sandbox-system"
    assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = found["kubernetes_network_policy_v1.agent_sandbox_system__default_deny"].body["spec"][0]
    assert deny["policy_types"] == ["Ingress", "Egress"] and "egress" not in deny and "ingress" not in deny
    allow = found["kubernetes_network_policy_v1.agent_sandbox_controller"].body["spec"][0]
    egress_ports = sorted((p["port"], p["protocol"]) for rule in allow["egress"] for p in rule["ports"])
    assert egress_ports == [("443", "TCP"), ("53", "TCP"), ("53", "UDP")]  # DNS and the API server, nothing else
    assert [p["port"] for p in allow["ingress"][0]["ports"]] == ["9443"]
    assert all("ip_block" in peer for peer in allow["ingress"][0]["from"])  # from the API server only
    assert "kubernetes_resource_quota_v1.agent_sandbox_system" in found
    assert "kubernetes_limit_range_v1.agent_sandbox_system" in found
    module = next(m["agent_sandbox"] for m in parsed.document["module"] if "agent_sandbox" in m)
    assert module["release"] == "v1.0.6"
    assert [a["file"] for a in module["assets"]] == ["sandbox-with-extensions.yaml"]
    # By reference, never depends_on: the release is read at plan time, after the fence exists.
    assert module["namespace"] == "${kubernetes_namespace_v1.agent_sandbox_system.metadata[0].name}"
    assert module["egress_policy"] == "${kubernetes_network_policy_v1.agent_sandbox_controller.metadata[0].name}"
    assert "depends_on" not in module
    copied = sorted(p for p in files if p.startswith("platform/modules/agent-sandbox/"))
    assert "platform/modules/agent-sandbox/release/main.tf" in copied
    assert not [p for p in copied if "/tests/" in p], "module tests are not part of what is applied"


def test_no_per_session_agent_means_no_controller(envs: Path) -> None:
    (envs / "dev/agents/code-interpreter.yaml").unlink()
    files, parsed = _platform(envs, "dev")
    assert not [m for m in parsed.document.get("module", []) if "agent_sandbox" in m]
    assert not [p for p in files if p.startswith("platform/modules/agent-sandbox/")]
    assert "kubernetes_namespace_v1.agent_sandbox_system" not in {r.address for r in resources(parsed)}


def test_per_session_agent_needs_the_controller_settings(envs: Path) -> None:
    text = (envs / "dev/environment.yaml").read_text()
    start = text.index("  # The agent-sandbox controller")
    end = text.index("imageIsPlaceholder: true\n") + len("imageIsPlaceholder: true\n")
    (envs / "dev/environment.yaml").write_text(text[:start] + text[end:])
    with pytest.raises(InputError) as caught:
        pipeline.render(envs, "dev")
    assert [str(p.location.file).rsplit("/", 1)[-1] for p in caught.value.problems] == ["code-interpreter.yaml"]
    assert "runtime.sandboxController" in caught.value.text
    assert caught.value.problems[0].location.path == "runtime.isolation"


@pytest.mark.parametrize("field, bad, message", [
    ("image: registry.k8s.io/agent-sandbox/agent-sandbox-controller:v1.0.6@sha256:" + "c" * 64,
     "image: registry.k8s.io/agent-sandbox/agent-sandbox-controller:v1.0.6", "pinned by digest"),
    ("release: v1.0.6", "release: main", "v1.0.6"),
    ('sha256: "' + "a" * 64 + '"', 'sha256: "abc"', "sha256"),
])
def test_controller_settings_are_validated(envs: Path, field: str, bad: str, message: str) -> None:
    edit(envs / "dev/environment.yaml", field, bad)
    with pytest.raises(InputError) as caught:
        pipeline.render(envs, "dev")
    assert message in caught.value.text
    assert caught.value.problems[0].location.line is not None
