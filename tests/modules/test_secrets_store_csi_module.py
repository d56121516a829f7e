"""modules/secrets-store-csi: formatting, provider schemas, chart wiring, and input validation.

The helm and kubernetes providers cannot be installed here, so the module itself cannot be
`terraform init`ed. What is checked, and how:

- `terraform fmt -check` on the module;
- every resource block, with each `dynamic` block expanded to its `content`, against the schemas
  of the provider releases versions.tf pins (the cdktn bindings' jsii assemblies), and the pins
  against the versions the bindings were generated from;
- the NetworkPolicy pod selectors against the labels the charts put on the provider pods;
- variable types and validation rules, by running real `terraform plan` on a root that holds only
  the module's variables.tf and locals.tf (no provider needed): bad values must be refused with
  the rule's message, good values must render the chart values the module promises.
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

from blueprint.gates.hcl_reader import (
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

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "modules" / "secrets-store-csi"
TF_TIMEOUT = 120

# The cdktn bindings the schema oracle reads, pinned in requirements/project.in.
HELM_BINDINGS = ("cdktn_provider_helm", "cdktn-provider-helm==15.1.0")
KUBERNETES_BINDINGS = ("cdktn_provider_kubernetes", "cdktn-provider-kubernetes==17.1.0")


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
def kubernetes_schema() -> ProviderSchema:
    return _schema(KUBERNETES_BINDINGS)


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


def _expand_dynamic(body: dict[str, Any]) -> dict[str, Any]:
    """The body with every `dynamic "x" { content { ... } }` replaced by one literal `x` block.

    The oracle only checks that a dynamic block names a nested block; expanding lets it check the
    content against that block's schema too (iterator references stay unevaluated expressions).
    """
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "dynamic" and isinstance(value, list):
            for entry in value:
                for name, spec in entry.items():
                    if name == BLOCK_MARK:
                        continue
                    contents = [c for c in spec.get("content", []) if isinstance(c, dict)]
                    assert len(contents) == 1, f'dynamic "{name}" needs exactly one content block'
                    out.setdefault(name, []).append(_expand_dynamic(contents[0]))
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and v.get(BLOCK_MARK) for v in value):
            out.setdefault(key, []).extend(_expand_dynamic(v) for v in value)
        else:
            out[key] = value
    return out


def test_expand_dynamic_exposes_content_to_the_oracle(kubernetes_schema: ProviderSchema) -> None:
    """The expansion is what makes a wrong attribute inside `content` visible."""
    bad = MODULE.joinpath("main.tf").read_text().replace("cidr = to.value", "cidrs = to.value", 1)
    assert "cidrs = to.value" in bad
    parsed = ParsedFile("main.tf", parse_text(bad, "main.tf"))
    [policy] = [r for r in resources(parsed) if r.name == "vault_provider_egress"]
    assert check_resource(kubernetes_schema, policy) == []  # unexpanded: the oracle cannot see it
    expanded = Resource(policy.type, policy.name, _expand_dynamic(policy.body), policy.file)
    problems = check_resource(kubernetes_schema, expanded)
    assert any("ip_block[0].cidrs: unknown attribute" in p for p in problems), problems


def test_every_resource_matches_its_provider_schema(
    module_resources: dict[str, Resource], helm_schema: ProviderSchema, kubernetes_schema: ProviderSchema
) -> None:
    schemas = {"helm": helm_schema, "kubernetes": kubernetes_schema}
    assert {r.type for r in module_resources.values()} == {"helm_release", "kubernetes_network_policy_v1"}
    problems: list[str] = []
    for resource in module_resources.values():
        schema = schemas[resource.type.split("_", 1)[0]]
        expanded = Resource(resource.type, resource.name, _expand_dynamic(resource.body), resource.file)
        problems += check_resource(schema, expanded)
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


def test_provider_pins_match_the_schema_oracle(
    helm_schema: ProviderSchema, kubernetes_schema: ProviderSchema
) -> None:
    """`~> X.Y.Z` of exactly the release the bindings were generated from: upper-bounded (< X.Y+1)."""
    assert helm_schema.source == "registry.terraform.io/hashicorp/helm"
    assert kubernetes_schema.source == "registry.terraform.io/hashicorp/kubernetes"
    assert _pin("helm") == f"~> {helm_schema.provider_version}"
    assert _pin("kubernetes") == f"~> {kubernetes_schema.provider_version}"
    assert re.fullmatch(r"~> \d+\.\d+\.\d+", _pin("helm")) and re.fullmatch(r"~> \d+\.\d+\.\d+", _pin("kubernetes"))


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


@pytest.mark.parametrize(
    ("policy", "release"),
    [
        ("kubernetes_network_policy_v1.vault_provider_egress", "helm_release.vault_provider"),
        ("kubernetes_network_policy_v1.aws_provider_egress", "helm_release.aws_provider"),
    ],
)
def test_network_policy_selects_exactly_the_provider_pods(
    module_resources: dict[str, Resource], policy: str, release: str
) -> None:
    policy_body, release_body = module_resources[policy].body, module_resources[release].body
    spec = block(policy_body, "spec")
    assert block(spec, "pod_selector")["match_labels"] == _chart_pod_labels(module_resources[release])
    assert spec["policy_types"] == ["Egress"]
    assert block(policy_body, "metadata")["namespace"] == release_body["namespace"] == "${var.namespace}"
    # Same switch, and the policy exists before the provider pods do.
    assert policy_body["count"] == release_body["count"]
    assert release_body["depends_on"] == ["${helm_release.driver}", f"${{{policy}}}"]


def _egress_rules(module_resources: dict[str, Resource], policy: str) -> list[dict[str, Any]]:
    """The egress rules, with `dynamic` rules and targets expanded (iterators stay expressions)."""
    return blocks(_expand_dynamic(block(module_resources[policy].body, "spec")), "egress")


def _ports(rule: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["port"], p["protocol"]) for p in blocks(rule, "ports")]


def _targets(rule: dict[str, Any]) -> list[str]:
    out = []
    for to in blocks(rule, "to"):
        if block(to, "ip_block"):
            out.append(block(to, "ip_block")["cidr"])
        else:
            out.append(json.dumps(block(to, "pod_selector")["match_labels"]))
    return out


def _for_each_sources(body: Any) -> list[str]:
    """The `for_each` of every `dynamic` block under body, in source order: what each list comes from."""
    found: list[str] = []
    if isinstance(body, list):
        for item in body:
            found += _for_each_sources(item)
    elif isinstance(body, dict):
        for key, value in body.items():
            if key == "dynamic":
                found += [spec["for_each"] for d in value for n, spec in d.items() if n != BLOCK_MARK]
                found += _for_each_sources([spec.get("content") for d in value for n, spec in d.items()
                                            if n != BLOCK_MARK])
            else:
                found += _for_each_sources(value)
    return found


DNS_RULE = ([("53", "UDP"), ("53", "TCP")], ['"${var.dns.pod_labels}"', "${to.value}/32"])
API_RULE = ([("${tostring(var.kubernetes_api.port)}", "TCP")], ["${to.value}"])
NODE_LOCAL_DNS = "${var.dns.node_local_address == null ? [] : [var.dns.node_local_address]}"


def test_vault_provider_egress_is_dns_api_and_vault_only(module_resources: dict[str, Resource]) -> None:
    policy = "kubernetes_network_policy_v1.vault_provider_egress"
    rules = _egress_rules(module_resources, policy)
    assert [(_ports(r), _targets(r)) for r in rules] == [
        DNS_RULE,
        API_RULE,
        ([("${tostring(var.vault.port)}", "TCP")], ["${to.value}"]),
    ]
    assert _for_each_sources(block(module_resources[policy].body, "spec")) == [
        NODE_LOCAL_DNS, "${var.kubernetes_api.cidrs}", "${var.vault.cidrs}",
    ]


def test_aws_provider_egress_is_dns_api_endpoints_and_pod_identity_agent_only(
    module_resources: dict[str, Resource],
) -> None:
    policy = "kubernetes_network_policy_v1.aws_provider_egress"
    rules = _egress_rules(module_resources, policy)
    assert [(_ports(r), _targets(r)) for r in rules] == [
        DNS_RULE,
        API_RULE,
        ([("443", "TCP")], ["${to.value}"]),
        ([("80", "TCP")], ["${egress.value}"]),  # the EKS Pod Identity Agent
    ]
    assert _for_each_sources(block(module_resources[policy].body, "spec")) == [
        NODE_LOCAL_DNS, "${var.kubernetes_api.cidrs}", "${var.aws.endpoint_cidrs}",
        # the agent's link-local address, and only with Pod Identity; never 169.254.169.254
        '${var.aws.identity == "pod-identity" ? ["169.254.170.23/32"] : []}',
    ]


# ---- variables: types and validation rules ------------------------------------------------------

VARIABLES = ("namespace", "driver", "vault", "aws", "kubernetes_api", "dns")


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
        "vault.cidrs must list at least one CIDR",
        "vault.audience must be a non-empty audience",
        "vault.port must be",
        "vault.cidrs entries must be IPv4 CIDRs",
        "vault.cidrs entries must have a prefix of /16 or longer",
        "vault.cidrs entries must not be in 169.254.0.0/16",
    ],
    "aws": [
        "At least one provider must be enabled",
        "aws.chart_version must pin one exact release",
        "aws.identity must be",
        "aws.region is required when aws.enabled is true",
        "aws.endpoint_cidrs must list at least one CIDR",
        "aws.endpoint_cidrs entries must be IPv4 CIDRs",
        "aws.endpoint_cidrs entries must have a prefix of /16 or longer",
        "aws.endpoint_cidrs entries must not be in 169.254.0.0/16",
    ],
    "kubernetes_api": [
        "kubernetes_api.cidrs must list at least one CIDR",
        "kubernetes_api.port must be",
        "kubernetes_api.cidrs entries must be IPv4 CIDRs",
        "kubernetes_api.cidrs entries must have a prefix of /16 or longer",
        "kubernetes_api.cidrs entries must not be in 169.254.0.0/16",
    ],
    "dns": [
        "dns.namespace must be an RFC 1123 label",
        "dns.pod_labels must name at least one label",
        "dns.node_local_address must be",
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
"""

GOOD = {
    "vault": {"enabled": True, "address": "https://vault.internal.example:8200", "cidrs": ["192.0.2.40/32"]},
    "aws": {"enabled": True, "region": "eu-west-1", "endpoint_cidrs": ["192.0.2.50/32", "192.0.2.51/32"]},
    "kubernetes_api": {"cidrs": ["203.0.113.30/32"]},
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
    ("vault.cidrs", ["0.0.0.0/0"], "vault.cidrs entries must have a prefix of /16 or longer"),
    ("vault.cidrs", ["10.0.0.0/8"], "vault.cidrs entries must have a prefix of /16 or longer"),
    ("vault.cidrs", ["169.254.169.254/32"], "vault.cidrs entries must not be in 169.254.0.0/16"),
    ("vault.cidrs", ["192.0.2.41/24"], "vault.cidrs entries must be IPv4 CIDRs written as their network address"),
    ("vault.cidrs", ["vault.internal.example"], "vault.cidrs entries must be IPv4 CIDRs"),
    ("vault.cidrs", [], "vault.cidrs must list at least one CIDR when vault.enabled is true"),
    ("vault.address", "http://vault.internal.example:8200", "vault.address is required when vault.enabled"),
    ("vault.address", None, "vault.address is required when vault.enabled"),
    ("vault.audience", "", "vault.audience must be a non-empty audience"),
    ("vault.audience", "sts.amazonaws.com", "vault.audience must be a non-empty audience"),
    ("vault.port", 0, "vault.port must be a whole number from 1 to 65535"),
    ("vault.chart_version", ">= 0.34.0", "vault.chart_version must pin one exact release"),
    ("aws.endpoint_cidrs", ["192.0.2.0/33"], "aws.endpoint_cidrs entries must be IPv4 CIDRs"),
    ("aws.endpoint_cidrs", ["300.0.2.0/32"], "aws.endpoint_cidrs entries must be IPv4 CIDRs"),
    ("aws.endpoint_cidrs", ["169.254.0.0/16"], "aws.endpoint_cidrs entries must not be in 169.254.0.0/16"),
    ("aws.endpoint_cidrs", [], "aws.endpoint_cidrs must list at least one CIDR when aws.enabled is true"),
    ("aws.region", "EU_WEST_1", "aws.region is required when aws.enabled is true"),
    ("aws.identity", "kiam", 'aws.identity must be "irsa" or "pod-identity"'),
    ("aws.chart_version", "v3.2.0", "aws.chart_version must pin one exact release"),
    ("kubernetes_api.cidrs", [], "kubernetes_api.cidrs must list at least one CIDR"),
    ("kubernetes_api.cidrs", ["0.0.0.0/0"], "kubernetes_api.cidrs entries must have a prefix of /16 or longer"),
    ("kubernetes_api.port", 70000, "kubernetes_api.port must be a whole number from 1 to 65535"),
    ("driver.rotation_poll_interval", "2 minutes", "driver.rotation_poll_interval must be"),
    ("driver.rotation_poll_interval", "0m", "driver.rotation_poll_interval must be"),
    ("driver.chart_version", "~> 1.6", "driver.chart_version must pin one exact release"),
    ("driver.token_expiration_seconds", 300, "driver.token_expiration_seconds must be a whole number from 600"),
    ("driver.token_expiration_seconds", 86400, "driver.token_expiration_seconds must be a whole number from 600"),
    ("namespace", "Kube_System", "namespace must be an RFC 1123 label"),
    ("dns.pod_labels", {}, "dns.pod_labels must name at least one label"),
    ("dns.node_local_address", "169.254.20.10/32", "dns.node_local_address must be a single IPv4 address"),
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
