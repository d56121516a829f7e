"""Every input mistake gets a located message (file:line:column, field path, what is allowed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit

from blueprint.errors import InputError
from blueprint.loader import load_environment


def problems(envs: Path, env: str = "dev") -> list[str]:
    with pytest.raises(InputError) as info:
        load_environment(envs, env)
    return [str(p).replace(str(envs) + "/", "") for p in info.value.problems]


def test_examples_load(envs: Path) -> None:
    for env in ("dev", "staging", "prod"):
        loaded = load_environment(envs, env)
        assert [p.profile.name for p in loaded.profiles] == ["cluster-triage", "code-interpreter", "customer-support",
                                                            "research"]


def test_unknown_key_is_located_with_allowed_keys(envs: Path) -> None:
    (envs / "dev/agents/research.yaml").write_text((envs / "dev/agents/research.yaml").read_text() + "egres: []\n")
    assert problems(envs) == [
        "dev/agents/research.yaml:24:1: egres: unknown key 'egres'; allowed keys here: apiVersion, callers, credentialTtl, description, "
        "egress, exceptions, extends, kind, kubernetes, name, owner, resources, runtime, secrets"
    ]


def test_nested_unknown_key(envs: Path) -> None:
    edit(envs / "_shared/cluster-triage.yaml", "      namespace: shop\n", "      namespace: shop\n      nameSpace: x\n")
    assert problems(envs, "prod") == [
        "_shared/cluster-triage.yaml:15:7: kubernetes.rules[0].nameSpace: unknown key 'nameSpace'; allowed keys "
        "here: apiGroups, namespace, resourceNames, resources, scope, verbs"
    ]


def test_missing_required_key(envs: Path) -> None:
    edit(envs / "_shared/customer-support.yaml", "owner: support-platform@example.com\n", "")
    assert problems(envs, "prod") == ["_shared/customer-support.yaml:3:1: owner: required key 'owner' is missing"]


def test_identifier_grammar(envs: Path) -> None:
    edit(envs / "dev/environment.yaml", "  llm-api:\n", "  LLM_api:\n")
    got = problems(envs)
    assert got[0] == (
        "dev/environment.yaml:26:3: destinations.LLM_api: 'LLM_api' is not allowed here; expected lower-case "
        "letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)"
    )


def test_terraform_expression_cannot_enter_an_identifier(envs: Path) -> None:
    edit(envs / "_shared/cluster-triage.yaml", "namespace: shop\n", 'namespace: "${var.x}"\n')
    got = problems(envs, "prod")
    assert got[0].startswith("_shared/cluster-triage.yaml:14:18: kubernetes.rules[0].namespace: '${var.x}' is not allowed here")


def test_agent_name_length_checked_for_the_namespace(envs: Path) -> None:
    long = "a" * 58
    (envs / f"dev/agents/{long}.yaml").write_text(
        f"apiVersion: blueprint.dev/v1alpha1\nkind: AgentProfile\nname: {long}\nowner: a@example.com\n"
        "resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}\n")
    assert problems(envs) == [
        f"dev/agents/{long}.yaml:3:7: name: String should have at most 57 characters (lower-case letters, digits and '-', "
        "starting with a letter, 2-57 chars; becomes namespace 'agent-<name>' (<= 63 chars) and the ServiceAccount name)"
    ]


def test_agent_name_must_start_with_a_letter(envs: Path) -> None:
    # The name becomes Terraform resource names, which cannot start with a digit.
    edit(envs / "prod/agents/research.yaml", "name: research", "name: 1research")
    got = problems(envs, "prod")
    assert got[0].startswith("prod/agents/research.yaml:5:7: name: '1research' is not allowed here; expected lower-case")


def test_two_files_for_one_agent(envs: Path) -> None:
    (envs / "prod/agents/research.yml").write_text((envs / "prod/agents/research.yaml").read_text())
    assert problems(envs, "prod") == [
        "prod/agents/research.yml: two profiles for agent 'research' (research.yaml and research.yml); keep one file per agent"
    ]


def test_yaml_aliases_and_odd_keys(envs: Path) -> None:
    profile = envs / "prod/agents/research.yaml"
    profile.write_text(profile.read_text() + "a: &big [1, 2]\nb: [*big, *big]\n")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:12:4: this value is reused through a YAML alias (*name); aliases are not "
        "supported: write the value out, or share it through `extends:`"
    ]
    profile.write_text("apiVersion: blueprint.dev/v1alpha1\n? [a, b]\n: x\n1: y\n")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:2:3: key 'a non-text key' must be plain text; quote it or use a field name",
        "prod/agents/research.yaml:4:1: key '1' must be plain text; quote it or use a field name",
    ]


def test_float_version_gets_quote_hint(envs: Path) -> None:
    edit(envs / "prod/environment.yaml", 'kubernetesVersion: "1.31"', "kubernetesVersion: 1.30")
    assert problems(envs, "prod") == [
        "prod/environment.yaml:9:22: cluster.kubernetesVersion: expected a string, got float 1.3 "
        "(quote it, e.g. '1.30', so YAML keeps it as text)"
    ]


def test_strict_types_no_coercion(envs: Path) -> None:
    edit(envs / "_shared/research.yaml", "maxPods: 2", 'maxPods: "2"')
    assert problems(envs, "prod") == ["_shared/research.yaml:15:12: resources.maxPods: expected a whole number, got str '2'"]


def test_backend_type_is_checked(envs: Path) -> None:
    edit(envs / "prod/environment.yaml", "type: s3", "type: gcs")
    line = (envs / "prod/environment.yaml").read_text().splitlines().index("  type: gcs") + 1
    assert problems(envs, "prod") == [f"prod/environment.yaml:{line}:9: state.type: unknown type 'gcs'; allowed: 's3', 'local'"]


def test_invalid_yaml(envs: Path) -> None:
    (envs / "dev/agents/research.yaml").write_text("name: research\n  bad: [\n")
    assert problems(envs) == ["dev/agents/research.yaml:2:6: invalid YAML: mapping values are not allowed in this context"]


def test_duplicate_key(envs: Path) -> None:
    (envs / "dev/agents/research.yaml").write_text((envs / "dev/agents/research.yaml").read_text() + "name: research\n")
    assert problems(envs) == ["dev/agents/research.yaml:24:1: name: duplicate key 'name'; give each key once"]


def test_not_a_mapping(envs: Path) -> None:
    (envs / "dev/agents/research.yaml").write_text("- a\n")
    assert problems(envs) == ["dev/agents/research.yaml:1:1: the file must hold a YAML mapping (key: value pairs)"]


def test_unknown_destination(envs: Path) -> None:
    edit(envs / "prod/agents/research.yaml", "name: research\n", "name: research\negress: [web-proxy, llm]\n")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:6:21: egress[1]: unknown destination 'llm'; the environment defines: llm-api, otel-collector, web-proxy"
    ]


def test_name_must_match_file(envs: Path) -> None:
    edit(envs / "prod/agents/research.yaml", "name: research", "name: researcher")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:5:7: name: name 'researcher' must equal the file name 'research'"
    ]


def test_extends_missing_and_outside(envs: Path) -> None:
    edit(envs / "prod/agents/research.yaml", "../../_shared/research.yaml", "../../_shared/nope.yaml")
    assert problems(envs, "prod") == [
        "prod/agents/research.yaml:4:10: extends: extends points at '../../_shared/nope.yaml', which does not exist"
    ]
    edit(envs / "prod/agents/research.yaml", "../../_shared/nope.yaml", "../../../../etc/x.yaml")
    assert problems(envs, "prod")[0].startswith("prod/agents/research.yaml:4:10: extends: extends must stay inside")


def test_extends_cycle(envs: Path) -> None:
    edit(envs / "_shared/research.yaml", "kind: AgentProfile\n", "kind: AgentProfile\nextends: ../prod/agents/research.yaml\n")
    assert problems(envs, "prod") == [
        "_shared/research.yaml:4:10: extends: extends forms a cycle; a base must not extend the profile"
    ]


def test_requests_above_limits(envs: Path) -> None:
    edit(envs / "_shared/research.yaml", "requests: {cpu: 500m", "requests: {cpu: 1500m")
    assert problems(envs, "prod") == [
        "_shared/research.yaml:13:3: resources: requests.cpu is above limits.cpu; a request must not exceed its limit"
    ]


def test_every_problem_of_every_file_is_reported(envs: Path) -> None:
    edit(envs / "prod/agents/research.yaml", "name: research", "name: research\nfoo: 1")
    edit(envs / "prod/agents/customer-support.yaml", "name: customer-support", "name: customer-support\nbar: 1")
    assert [p.split(": ")[1] for p in problems(envs, "prod")] == ["bar", "foo"]


def test_lists_replace_and_mappings_merge(envs: Path) -> None:
    loaded = {p.profile.name: p for p in load_environment(envs, "dev").profiles}
    research = loaded["research"]
    assert research.profile.egress == ["web-proxy", "llm-api", "search-sandbox"]
    assert research.base is not None and research.base.egress == ["web-proxy", "llm-api"]
    prod = {p.profile.name: p for p in load_environment(envs, "prod").profiles}["customer-support"]
    assert prod.profile.resources.max_pods == 4
    assert prod.profile.resources.limits.memory == "512Mi"  # merged from the base
    # Each value is located in the file it came from.
    assert prod.source.locate(("resources", "maxPods")).file.endswith("prod/agents/customer-support.yaml")
    assert prod.source.locate(("resources", "limits", "cpu")).file.endswith("_shared/customer-support.yaml")
