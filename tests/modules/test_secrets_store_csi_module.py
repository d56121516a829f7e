"""modules/secrets-store-csi: formatting, provider schema, chart wiring, input validation, labels.

The helm provider cannot be installed here, so the module itself cannot be `terraform init`ed.
What is checked, and how:

- `terraform fmt -check` on the module;
- every resource block against the schema of the helm release versions.tf pins (the cdktn
  bindings' jsii assembly), and the pin against the version the bindings were generated from;
- the module holds helm releases only: the provider pods' egress NetworkPolicies are the calling
  root's (literal resources checkov can read, passed in the module's depends_on);
- variable types and validation rules, by running real `terraform plan` on a root that holds only
  the module's variables.tf and locals.tf (no provider needed): bad values must be refused with
  the rule's message, good values must render the chart values the module promises and the
  `provider_pod_labels` output, which must equal the labels the charts derive from the release
  names, the labels blueprint's emitter selects, and the README's table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.hcl_reader import (
    BLOCK_MARK,
    Expression,
    ParsedFile,
    Resource,
    block,
    blocks,
    parse_file,
    parse_text,
    resources,
)
from blueprint.gates.provider_schema import ProviderSchema, check_resource, load_provider_schema
from blueprint.plan.build import PROVIDER_POD_LABELS as EMITTER_POD_LABELS

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "modules" / "secrets-store-csi"
TF_TIMEOUT = 120

# The cdktn bindings the schema oracle reads, pinned in requirements/project.in.
HELM_BINDINGS = ("cdktn_provider_helm", "cdktn-provider-helm==15.1.0")


def _missing(message: str) -> None:
    """A missing dependency fails under CI (a check must never silently pass) and skips locally."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _schema(bindings: tuple[str, str]) -> ProviderSchema:
    package, requirement = bindings
    if importlib.util.find_spec(package) is None:
        _missing(f"{package} is not installed: add `{requirement}` to requirements/project.in")
    return load_provider_schema(package)


@pytest.fixture(scope="module")
def helm_schema() -> ProviderSchema:
    return _schema(HELM_BINDINGS)


@pytest.fixture(scope="module")
def module_resources() -> dict[str, Resource]:
    found = [r for f in sorted(MODULE.glob("*.tf")) for r in resources(parse_file(f, MODULE))]
    by_address = {r.address: r for r in found}
    assert len(by_address) == len(found), "duplicate resource addresses"
    return by_address


def test_module_has_the_standard_files() -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (MODULE / name).is_file(), f"{name} is missing from {MODULE}"


# ---- terraform fmt -----------------------------------------------------------------------------


@pytest.mark.tools
def test_terraform_fmt_check(terraform_bin: str) -> None:
    proc = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", "-list=true", "-diff", "."],
        cwd=MODULE, capture_output=True, text=True, timeout=TF_TIMEOUT, env=_tf_env(MODULE),
    )
    assert proc.returncode == 0, f"not formatted as terraform fmt writes it:\n{proc.stdout}{proc.stderr}"


# ---- provider schemas --------------------------------------------------------------------------


def _has_dynamic(value: Any) -> bool:
    if isinstance(value, dict):
        return "dynamic" in value or any(_has_dynamic(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_dynamic(v) for v in value)
    return False


def test_module_holds_helm_releases_only_without_dynamic_blocks(module_resources: dict[str, Resource]) -> None:
    """No NetworkPolicy here (the root's job), and nothing checkov could not expand."""
    assert set(module_resources) == set(CHARTS)
    assert not [a for a, r in module_resources.items() if _has_dynamic(r.body)]


def test_every_resource_matches_its_provider_schema(
    module_resources: dict[str, Resource], helm_schema: ProviderSchema
) -> None:
    problems: list[str] = []
    for resource in module_resources.values():
        problems += check_resource(helm_schema, resource)
    assert problems == []


def test_helm_2x_syntax_is_refused_by_the_pinned_schema(helm_schema: ProviderSchema) -> None:
    """helm provider 3.x made `set` a list attribute and dropped the block form: the oracle knows."""
    text = """
resource "helm_release" "old" {
  name  = "x"
  chart = "x"
  set {
    name  = "a"
    value = "b"
  }
}
"""
    [old] = resources(ParsedFile("old.tf", parse_text(text, "old.tf")))
    assert check_resource(helm_schema, old) == [
        'helm_release.old: set: is an attribute, not a block (write "set = ...")'
    ]


def _pin(provider: str) -> str:
    required = block(parse_file(MODULE / "versions.tf").document["terraform"][0], "required_providers")
    return required[provider]["version"]


def test_provider_pins_match_the_schema_oracle(helm_schema: ProviderSchema) -> None:
    """`~> X.Y.Z` of exactly the release the bindings were generated from: upper-bounded (< X.Y+1).

    The module requires the helm provider only: it creates no kubernetes resource.
    """
    required = block(parse_file(MODULE / "versions.tf").document["terraform"][0], "required_providers")
    assert set(required) - {BLOCK_MARK} == {"helm"}
    assert helm_schema.source == "registry.terraform.io/hashicorp/helm"
    assert _pin("helm") == f"~> {helm_schema.provider_version}"
    assert re.fullmatch(r"~> \d+\.\d+\.\d+", _pin("helm"))


# ---- chart wiring ------------------------------------------------------------------------------

CHARTS = {
    "helm_release.driver": (
        "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts", "secrets-store-csi-driver"
    ),
    "helm_release.vault_provider": ("https://helm.releases.hashicorp.com", "vault"),
    "helm_release.aws_provider": (
        "https://aws.github.io/secrets-store-csi-driver-provider-aws", "secrets-store-csi-driver-provider-aws"
    ),
}


def test_helm_releases_use_pinned_charts_and_values_not_set(module_resources: dict[str, Resource]) -> None:
    releases = {a: r for a, r in module_resources.items() if r.type == "helm_release"}
    assert set(releases) == set(CHARTS)
    for address, (repository, chart) in CHARTS.items():
        body = releases[address].body
        assert (body["repository"], body["chart"]) == (repository, chart), address
        assert isinstance(body["version"], Expression) and body["version"].startswith("${var."), address
        assert body["create_namespace"] is False, address
        assert not {"set", "set_list", "set_sensitive", "set_wo"} & set(body), f"{address}: use values"
        assert len(body["values"]) == 1 and body["values"][0].startswith("${yamlencode(local."), address
        # The providers start after the driver; the caller's module-level depends_on orders every
        # release after the provider pods' egress policies.
        if address != "helm_release.driver":
            assert body["depends_on"] == ["${helm_release.driver}"], address


def _chart_pod_labels(release: Resource) -> dict[str, str]:
    """The pod labels each chart's templates derive from its release name (no nameOverride set).

    hashicorp/vault templates/csi-daemonset.yaml: app.kubernetes.io/name is "<vault.name>-csi-provider"
    (vault.name defaults to the chart name) and app.kubernetes.io/instance is the release name.
    secrets-store-csi-driver-provider-aws templates/_helpers.tpl provider.selectorLabels:
    app.kubernetes.io/name is the chart name, app.kubernetes.io/instance the release name.
    """
    name, chart = release.body["name"], release.body["chart"]
    suffix = "-csi-provider" if chart == "vault" else ""
    return {"app.kubernetes.io/name": f"{chart}{suffix}", "app.kubernetes.io/instance": name}


# ---- variables: types and validation rules ------------------------------------------------------

VARIABLES = ("namespace", "driver", "vault", "aws")


@pytest.fixture(scope="module")
def variables() -> dict[str, dict[str, Any]]:
    document = parse_file(MODULE / "variables.tf").document
    return {name: body for entry in document["variable"] for name, body in entry.items() if name != BLOCK_MARK}


def test_every_variable_is_typed_described_and_never_any(variables: dict[str, dict[str, Any]]) -> None:
    assert tuple(variables) == VARIABLES
    for name, body in variables.items():
        assert "type" in body, f"variable {name} has no type"
        assert not re.search(r"\bany\b", str(body["type"])), f"variable {name} uses any: {body['type']}"
        assert body.get("description"), f"variable {name} has no description"


EXPECTED_RULES = {
    "namespace": ["namespace must be an RFC 1123 label"],
    "driver": [
        "driver.chart_version must pin one exact release",
        "driver.rotation_poll_interval must be",
        "driver.token_expiration_seconds must be a whole number from 600",
    ],
    "vault": [
        "vault.chart_version must pin one exact release",
        "vault.address is required when vault.enabled is true",
        "vault.audience must be a non-empty audience",
    ],
    "aws": [
        "At least one provider must be enabled",
        "aws.chart_version must pin one exact release",
        "aws.identity must be",
        "aws.region is required when aws.enabled is true",
    ],
}


def test_each_variable_has_its_validation_rules(variables: dict[str, dict[str, Any]]) -> None:
    for name, expected in EXPECTED_RULES.items():
        messages = [v["error_message"] for v in blocks(variables[name], "validation")]
        assert len(messages) == len(expected), f"{name}: {messages}"
        for message, start in zip(messages, expected):
            assert message.startswith(start), f"{name}: {message!r} should start with {start!r}"


def test_readme_states_the_default_chart_versions(variables: dict[str, dict[str, Any]]) -> None:
    readme = MODULE.joinpath("README.md").read_text()
    for name in ("driver", "vault", "aws"):
        default = re.search(r'chart_version\s*=\s*optional\(string,\s*"([^"]+)"\)', str(variables[name]["type"]))
        assert default, f"{name}.chart_version has no default"
        assert f"`{default.group(1)}`" in readme, f"README does not state {name} chart {default.group(1)}"


# A root with only the module's variables.tf and locals.tf needs no provider: `terraform init` and
# `terraform plan` work offline, and plan evaluates every validation rule and every local.
SHIM = """
output "driver_yaml" {
  value = yamlencode(local.driver_values)
}
output "vault_yaml" {
  value = yamlencode(local.vault_values)
}
output "aws_yaml" {
  value = yamlencode(local.aws_values)
}
output "provider_pod_labels_yaml" {
  value = yamlencode(local.provider_pod_labels)
}
"""

GOOD = {
    "vault": {"enabled": True, "address": "https://vault.internal.example:8200"},
    "aws": {"enabled": True, "region": "eu-west-1"},
}


def _tf_env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_CLI_CONFIG_FILE": str(root / ".terraformrc") if (root / ".terraformrc").exists() else os.devnull,
    }


@pytest.fixture(scope="module")
def variables_root(terraform_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets-store-csi-variables")
    shutil.copy(MODULE / "variables.tf", root / "variables.tf")
    shutil.copy(MODULE / "locals.tf", root / "locals.tf")
    (root / "shim.tf").write_text(SHIM)
    (root / ".terraformrc").write_text("")  # no user config, no plugin cache, no network settings
    proc = subprocess.run(
        [terraform_bin, "init", "-input=false", "-no-color"],
        cwd=root, capture_output=True, text=True, timeout=TF_TIMEOUT, env=_tf_env(root),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def _plan(terraform_bin: str, root: Path, values: dict[str, Any]) -> tuple[int, list[str], dict[str, Any]]:
    """(exit code, validation error details, outputs) of `terraform plan` with these input values."""
    var_file = root / "case.tfvars.json"
    var_file.write_text(json.dumps(values))
    plan_file = root / "case.tfplan"
    plan_file.unlink(missing_ok=True)
    proc = subprocess.run(
        [terraform_bin, "plan", "-input=false", "-no-color", "-json", "-lock=false",
         f"-var-file={var_file.name}", f"-out={plan_file.name}"],
        cwd=root, capture_output=True, text=True, timeout=TF_TIMEOUT, env=_tf_env(root),
    )
    errors = []
    for line in proc.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "diagnostic" and message["diagnostic"]["severity"] == "error":
            errors.append(f'{message["diagnostic"]["summary"]}: {message["diagnostic"].get("detail", "")}')
    outputs: dict[str, Any] = {}
    if proc.returncode == 0:
        shown = subprocess.run(
            [terraform_bin, "show", "-json", plan_file.name],
            cwd=root, capture_output=True, text=True, timeout=TF_TIMEOUT, env=_tf_env(root), check=True,
        )
        planned = json.loads(shown.stdout)["planned_values"]["outputs"]
        outputs = {name: yaml.safe_load(o["value"]) for name, o in planned.items()}
    return proc.returncode, errors, outputs


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of base with one dotted path set (a missing parent object is created)."""
    out = json.loads(json.dumps(base))
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return out


BAD = [
    ("vault.address", "http://vault.internal.example:8200", "vault.address is required when vault.enabled"),
    ("vault.address", "https://vault.internal.example:8200/v1", "vault.address is required when vault.enabled"),
    ("vault.address", None, "vault.address is required when vault.enabled"),
    ("vault.audience", "", "vault.audience must be a non-empty audience"),
    ("vault.audience", "sts.amazonaws.com", "vault.audience must be a non-empty audience"),
    ("vault.chart_version", ">= 0.34.0", "vault.chart_version must pin one exact release"),
    ("vault.chart_version", "0.34.1-rc1", "vault.chart_version must pin one exact release"),
    ("aws.region", "EU_WEST_1", "aws.region is required when aws.enabled is true"),
    ("aws.region", None, "aws.region is required when aws.enabled is true"),
    ("aws.identity", "kiam", 'aws.identity must be "irsa" or "pod-identity"'),
    ("aws.chart_version", "v3.2.0", "aws.chart_version must pin one exact release"),
    ("aws.chart_version", "3.02.0", "aws.chart_version must pin one exact release"),
    ("driver.rotation_poll_interval", "2 minutes", "driver.rotation_poll_interval must be"),
    ("driver.rotation_poll_interval", "0m", "driver.rotation_poll_interval must be"),
    ("driver.chart_version", "~> 1.6", "driver.chart_version must pin one exact release"),
    ("driver.chart_version", "", "driver.chart_version must pin one exact release"),
    ("driver.token_expiration_seconds", 300, "driver.token_expiration_seconds must be a whole number from 600"),
    ("driver.token_expiration_seconds", 86400, "driver.token_expiration_seconds must be a whole number from 600"),
    ("driver.token_expiration_seconds", 600.5, "driver.token_expiration_seconds must be a whole number from 600"),
    ("namespace", "Kube_System", "namespace must be an RFC 1123 label"),
    ("namespace", "a" * 64, "namespace must be an RFC 1123 label"),
]


@pytest.mark.tools
def test_good_input_plans(terraform_bin: str, variables_root: Path) -> None:
    code, errors, _ = _plan(terraform_bin, variables_root, GOOD)
    assert (code, errors) == (0, [])


@pytest.mark.tools
@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_input_is_refused_by_exactly_its_rule(
    terraform_bin: str, variables_root: Path, path: str, value: Any, message: str
) -> None:
    code, errors, _ = _plan(terraform_bin, variables_root, _with(GOOD, path, value))
    assert code == 1
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"Invalid value for variable: {message}"), errors[0]


@pytest.mark.tools
def test_no_provider_enabled_is_refused(terraform_bin: str, variables_root: Path) -> None:
    values = _with(_with(GOOD, "vault.enabled", False), "aws.enabled", False)
    code, errors, _ = _plan(terraform_bin, variables_root, values)
    assert code == 1
    assert errors == [
        "Invalid value for variable: At least one provider must be enabled: set vault.enabled or aws.enabled "
        "to true (a driver without a provider mounts nothing).\n\n"
        f"This was checked by the validation rule at variables.tf:{_line_of('At least one provider')},3-13."
    ]


def _line_of(text: str) -> int:
    """The line of the `validation {` that holds this message."""
    lines = MODULE.joinpath("variables.tf").read_text().splitlines()
    hit = next(i for i, line in enumerate(lines) if text in line)
    return next(i for i in range(hit, -1, -1) if lines[i].strip() == "validation {") + 1


@pytest.mark.tools
def test_rendered_chart_values_both_providers_irsa(terraform_bin: str, variables_root: Path) -> None:
    code, errors, out = _plan(terraform_bin, variables_root, GOOD)
    assert (code, errors) == (0, [])
    assert out["driver_yaml"] == {
        "syncSecret": {"enabled": False},
        "enableSecretRotation": True,
        "rotationPollInterval": "2m",
        "tokenRequests": [
            {"audience": "vault", "expirationSeconds": 600},
            {"audience": "sts.amazonaws.com", "expirationSeconds": 600},
        ],
    }
    assert out["vault_yaml"] == {
        "global": {"externalVaultAddr": "https://vault.internal.example:8200"},
        "server": {"enabled": False},
        "injector": {"enabled": False},
        "csi": {"enabled": True},
    }
    assert out["aws_yaml"] == {"secrets-store-csi-driver": {"install": False}, "awsRegion": "eu-west-1"}


@pytest.mark.tools
def test_rendered_values_pod_identity_only(terraform_bin: str, variables_root: Path) -> None:
    values = _with(_with(_with(GOOD, "vault.enabled", False), "aws.identity", "pod-identity"),
                   "driver", {"rotation_poll_interval": "90s", "token_expiration_seconds": 900})
    code, errors, out = _plan(terraform_bin, variables_root, values)
    assert (code, errors) == (0, [])
    assert out["driver_yaml"]["rotationPollInterval"] == "90s"
    assert out["driver_yaml"]["tokenRequests"] == [{"audience": "pods.eks.amazonaws.com", "expirationSeconds": 900}]
    assert out["driver_yaml"]["syncSecret"] == {"enabled": False}


@pytest.mark.tools
def test_rendered_values_vault_only_with_custom_audience(terraform_bin: str, variables_root: Path) -> None:
    values = _with(_with(GOOD, "aws.enabled", False), "vault.audience", "vault.prod")
    code, errors, out = _plan(terraform_bin, variables_root, values)
    assert (code, errors) == (0, [])
    assert out["driver_yaml"]["tokenRequests"] == [{"audience": "vault.prod", "expirationSeconds": 600}]


# ---- provider pod labels: the contract with the caller's egress NetworkPolicies -----------------

# What the charts put on the provider pods, for the release names main.tf fixes (no nameOverride).
POD_LABELS = {
    "vault": {"app.kubernetes.io/name": "vault-csi-provider", "app.kubernetes.io/instance": "vault"},
    "aws": {
        "app.kubernetes.io/name": "secrets-store-csi-driver-provider-aws",
        "app.kubernetes.io/instance": "secrets-store-csi-driver-provider-aws",
    },
}
PROVIDER_RELEASES = {"vault": "helm_release.vault_provider", "aws": "helm_release.aws_provider"}


def test_pod_labels_follow_the_release_names(module_resources: dict[str, Resource]) -> None:
    """Renaming a release (or the chart) changes the pods' labels: this pins both together."""
    for provider, release in PROVIDER_RELEASES.items():
        assert _chart_pod_labels(module_resources[release]) == POD_LABELS[provider], provider


def test_emitter_selects_the_same_pod_labels() -> None:
    """blueprint's emitter hard-codes the labels its platform-root policies select: no drift."""
    assert {provider: dict(labels) for provider, labels in EMITTER_POD_LABELS.items()} == POD_LABELS


def test_provider_pod_labels_output_is_the_local() -> None:
    """The output is exactly `local.provider_pod_labels`, which the offline plan below renders."""
    document = parse_file(MODULE / "outputs.tf").document
    outputs = {name: body for entry in document["output"] for name, body in entry.items() if name != BLOCK_MARK}
    assert outputs["provider_pod_labels"]["value"] == "${local.provider_pod_labels}"
    assert outputs["provider_pod_labels"].get("description")


def test_readme_table_states_the_pod_labels() -> None:
    readme = MODULE.joinpath("README.md").read_text()
    for provider, labels in POD_LABELS.items():
        row = re.search(rf"^\| `{provider}` \| `([^`]+)` \| ([^|]+) \|", readme, re.MULTILINE)
        assert row, f"README has no pod-label row for {provider}"
        stated = dict(re.findall(r"`([^`=]+?) = ([^`]+)`", row.group(2)))
        assert stated == labels, provider
        assert row.group(1) == labels["app.kubernetes.io/instance"], f"{provider}: release name"


@pytest.mark.tools
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (GOOD, ["vault", "aws"]),
        (_with(GOOD, "aws.enabled", False), ["vault"]),
        (_with(_with(GOOD, "vault.enabled", False), "aws.identity", "pod-identity"), ["aws"]),
    ],
    ids=["both", "vault-only", "aws-only"],
)
def test_rendered_provider_pod_labels(
    terraform_bin: str, variables_root: Path, values: dict[str, Any], expected: list[str]
) -> None:
    code, errors, out = _plan(terraform_bin, variables_root, values)
    assert (code, errors) == (0, [])
    assert out["provider_pod_labels_yaml"] == {provider: POD_LABELS[provider] for provider in expected}


# ---- checkov over a root calling the module, as blueprint's checkov gate scans the platform root --

CHECKOV_ROOT = """
resource "kubernetes_network_policy_v1" "vault_provider_egress" {
  metadata {
    name      = "vault-csi-provider-egress"
    namespace = "kube-system"
  }
  spec {
    pod_selector {
      match_labels = {
        "app.kubernetes.io/instance" = "vault"
        "app.kubernetes.io/name"     = "vault-csi-provider"
      }
    }
    policy_types = ["Egress"]
    egress {
      ports {
        port     = "8200"
        protocol = "TCP"
      }
      to {
        ip_block {
          cidr = "192.0.2.40/32"
        }
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "aws_provider_egress" {
  metadata {
    name      = "aws-csi-provider-egress"
    namespace = "kube-system"
  }
  spec {
    pod_selector {
      match_labels = {
        "app.kubernetes.io/instance" = "secrets-store-csi-driver-provider-aws"
        "app.kubernetes.io/name"     = "secrets-store-csi-driver-provider-aws"
      }
    }
    policy_types = ["Egress"]
    egress {
      ports {
        port     = "443"
        protocol = "TCP"
      }
      to {
        ip_block {
          cidr = "192.0.2.50/32"
        }
      }
    }
  }
}

module "secrets_store_csi" {
  source     = "./modules/secrets-store-csi"
  namespace  = "kube-system"
  driver     = { chart_version = "1.6.1", rotation_poll_interval = "2m", token_expiration_seconds = 600 }
  vault      = { enabled = true, chart_version = "0.34.1", address = "https://vault.prod.example.internal:8200", audience = "vault" }
  aws        = { enabled = true, chart_version = "3.2.0", region = "eu-west-1", identity = "irsa" }
  depends_on = [kubernetes_network_policy_v1.vault_provider_egress, kubernetes_network_policy_v1.aws_provider_egress]
}
"""


@pytest.mark.tools
def test_checkov_passes_the_module_releases_in_a_calling_root(tmp_path: Path) -> None:
    """Every check (built-in and ours) over a root with literal module arguments: BP_HELM_1 passes
    all three releases, and nothing fails on the module (no NetworkPolicy left in it)."""
    configured = os.environ.get("BLUEPRINT_CHECKOV", "")
    binary = shutil.which(configured) if configured else None
    if binary is None:
        _missing(f"BLUEPRINT_CHECKOV={configured!r} is not an executable checkov (see tests/policies)")
    root, home = tmp_path / "platform", tmp_path / "home"
    home.mkdir()
    shutil.copytree(MODULE, root / "modules" / "secrets-store-csi")
    (root / "main.tf").write_text(CHECKOV_ROOT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CKV_", "BC_", "PRISMA_", "CHECKOV_"))}
    env.update(CKV_PARSE_ERROR_FAIL="true", PYTHONDONTWRITEBYTECODE="1", LOG_LEVEL="WARNING", HOME=str(home))
    done = subprocess.run(
        [binary, "-d", str(root), "--framework", "terraform", "--external-checks-dir", str(REPO / "policies"),
         "--skip-download", "-o", "json"],
        capture_output=True, text=True, env=env, cwd=home, timeout=300, check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    output = json.loads(done.stdout)
    [report] = output if isinstance(output, list) else [output]
    assert report["summary"]["parsing_errors"] == 0
    results = report["results"]
    assert [(r["check_id"], r["resource"]) for r in results["failed_checks"]] == []
    assert sorted(r["resource"] for r in results["passed_checks"] if r["check_id"] == "BP_HELM_1") == [
        "module.secrets_store_csi.helm_release.aws_provider[0]",
        "module.secrets_store_csi.helm_release.driver",
        "module.secrets_store_csi.helm_release.vault_provider[0]",
    ]
