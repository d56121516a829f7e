"""The policy-test suite catches every way the emitted files can break least privilege.

Each case edits the emitted text (what would be applied), parses it back and asserts the exact
check ids that fail.
"""

from __future__ import annotations

import re

import pytest
from conftest import ENVIRONMENTS, parsed_blocks

from blueprint.gates.invariants import check_invariants
from blueprint.pipeline import render

TRIAGE = "agents/agent_cluster_triage.tf"
SUPPORT = "agents/agent_customer_support.tf"


@pytest.fixture(scope="module")
def dev():
    return render(ENVIRONMENTS, "dev")


def failures(dev, edits: dict[str, str]) -> list[str]:
    files = {**dev.files, **edits}
    parsed = parsed_blocks(files)
    result = check_invariants(parsed, [lp.profile for lp in dev.loaded.profiles], dev.loaded.environment)
    return sorted({f.check_id for f in result.findings})


def drop_block(text: str, header: str) -> str:
    pattern = re.compile(r"^" + re.escape(header) + r" \{\n.*?^\}\n\n?", re.S | re.M)
    new, count = pattern.subn("", text)
    assert count == 1, header
    return new


def sub(dev, path: str, old: str, new: str, count: int = 1) -> dict[str, str]:
    text = dev.files[path]
    assert old in text, old
    return {path: text.replace(old, new, count)}


def test_examples_pass(dev) -> None:
    for env in ("dev", "staging", "prod"):
        r = render(ENVIRONMENTS, env)
        parsed = parsed_blocks(r.files)
        result = check_invariants(parsed, [lp.profile for lp in r.loaded.profiles], r.loaded.environment)
        assert result.findings == [] and result.checks_passed > 50


CASES = {
    "privileged container": (SUPPORT, "privileged                 = false", "privileged                 = true",
                             ["INV_POD_HARDENED"]),
    "writable root fs": (SUPPORT, "read_only_root_filesystem  = true", "read_only_root_filesystem  = false",
                         ["INV_POD_HARDENED"]),
    "capabilities kept": (SUPPORT, 'drop = ["ALL"]', 'drop = ["NET_RAW"]', ["INV_POD_HARDENED"]),
    "another image": (SUPPORT, "registry.example.com/agents/customer-support:1.0.0@",
                      "registry.example.com/agents/other:1.0.0@", ["INV_POD_IMAGE"]),
    "tmp on disk": (SUPPORT, 'medium     = "Memory"', 'medium     = ""', ["INV_POD_VOLUMES"]),
    "token without API rules": (SUPPORT, "automount_service_account_token  = false",
                                "automount_service_account_token  = true", ["INV_POD_TOKEN"]),
    "root user": (SUPPORT, "run_as_user     = 10001", "run_as_user     = 0", ["INV_POD_NON_ROOT"]),
    "writable config mount": (SUPPORT, 'mount_path = "/data/kb"\n            name       = "knowledge-base"\n            read_only  = true',
                              'mount_path = "/data/kb"\n            name       = "knowledge-base"\n            read_only  = false',
                              ["INV_POD_READ_ONLY_MOUNTS"]),
    "undeclared caller": (SUPPORT, '"kubernetes.io/metadata.name" = "support-frontend"',
                          '"kubernetes.io/metadata.name" = "default"', ["INV_INGRESS_DECLARED"]),
    "automount on": (SUPPORT, "automount_service_account_token = false", "automount_service_account_token = true",
                     ["INV_AUTOMOUNT_OFF"]),
    "wildcard verb": (TRIAGE, 'verbs      = ["get", "list", "watch"]', 'verbs      = ["*"]',
                      ["INV_RBAC_EXACT", "INV_RBAC_NO_ESCALATION", "INV_RBAC_NO_WILDCARD"]),
    "port range": (SUPPORT, 'port     = "443"', 'port     = "443"\n        end_port = 65535', ["INV_EGRESS_DECLARED"]),
    "count zero": (SUPPORT, 'resource "kubernetes_resource_quota_v1" "customer_support" {\n',
                   'resource "kubernetes_resource_quota_v1" "customer_support" {\n  count = 0\n', ["INV_META_ARGUMENTS"]),
    "aggregated role": (TRIAGE, '  rule {\n', '  aggregation_rule {\n    cluster_role_selectors {}\n  }\n  rule {\n',
                        ["INV_RBAC_EXACT"]),
    "non-resource urls": (TRIAGE, 'verbs      = ["get", "list", "watch"]',
                          'verbs      = ["get", "list", "watch"]\n    non_resource_urls = ["*"]', ["INV_RBAC_EXACT"]),
    "old type name": (TRIAGE, 'resource "kubernetes_role_binding_v1"', 'resource "kubernetes_role_binding"',
                      ["INV_ALLOWED_TYPES"]),
    "escalate verb": (TRIAGE, '"watch"]', '"watch", "escalate"]', ["INV_RBAC_EXACT", "INV_RBAC_NO_ESCALATION"]),
    "secrets": (TRIAGE, 'resources  = ["pods", "pods/log", "events"]', 'resources  = ["secrets"]',
                ["INV_RBAC_EXACT", "INV_RBAC_SECRETS_BY_NAME"]),
    "psa baseline": (SUPPORT, '"pod-security.kubernetes.io/enforce"         = "restricted"',
                     '"pod-security.kubernetes.io/enforce"         = "baseline"', ["INV_PSA_RESTRICTED"]),
    "undeclared cidr": (SUPPORT, 'cidr = "192.0.2.10/32"', 'cidr = "192.0.2.11/32"', ["INV_EGRESS_DECLARED"]),
    "undeclared port": (SUPPORT, 'port     = "443"', 'port     = "22"', ["INV_EGRESS_DECLARED"]),
    "expression": (SUPPORT, 'namespace = "agent-customer-support"', "namespace = var.ns",
                   ["INV_LITERAL_VALUES"]),
    "binding to a group": (TRIAGE, 'kind      = "ServiceAccount"', 'kind      = "Group"', ["INV_BINDING_SUBJECT"]),
    "binding to cluster-admin": (TRIAGE, 'name      = "agent-cluster-triage"\n  }\n  subject',
                                 'name      = "cluster-admin"\n  }\n  subject', ["INV_BINDING_ROLE"]),
    "default deny that allows": (SUPPORT, 'policy_types = ["Ingress", "Egress"]', 'policy_types = ["Ingress"]',
                                 ["INV_DEFAULT_DENY"]),
    "foreign agent label": (SUPPORT, '"blueprint.dev/agent"          = "customer-support"',
                            '"blueprint.dev/agent"          = "someone-else"', ["INV_OWNED", "INV_SERVICE_ACCOUNT"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_break_is_caught(dev, case: str) -> None:
    path, old, new, expected = CASES[case]
    assert failures(dev, sub(dev, path, old, new)) == expected


def test_all_ports_egress_rule_is_caught(dev) -> None:
    text = dev.files[SUPPORT]
    start = text.index('    egress {\n      ports {\n        port     = "443"')
    end = text.index("      to {", start)
    assert failures(dev, {SUPPORT: text[:start] + "    egress {\n" + text[end:]}) == ["INV_EGRESS_PORTS"]


def test_ingress_rule_is_caught(dev) -> None:
    edits = sub(dev, SUPPORT, '    policy_types = ["Egress"]\n',
                '    policy_types = ["Egress"]\n    ingress {\n      from {\n        namespace_selector {}\n      }\n    }\n')
    assert failures(dev, edits) == ["INV_INGRESS_DECLARED"]


@pytest.mark.parametrize("header,expected", [
    ('resource "kubernetes_resource_quota_v1" "customer_support"', ["INV_QUOTA"]),
    ('resource "kubernetes_limit_range_v1" "customer_support"', ["INV_LIMIT_RANGE"]),
    ('resource "kubernetes_network_policy_v1" "customer_support__default_deny"', ["INV_DEFAULT_DENY"]),
    ('resource "kubernetes_service_account_v1" "customer_support"', ["INV_SERVICE_ACCOUNT"]),
    ('resource "kubernetes_namespace_v1" "customer_support"', ["INV_NAMESPACE"]),
    ('resource "kubernetes_role_binding_v1" "cluster_triage__ns_shop"', []),
    ('resource "kubernetes_role_v1" "cluster_triage__ns_shop"', ["INV_RBAC_EXACT"]),
])
def test_missing_resources_are_caught(dev, header: str, expected: list[str]) -> None:
    path = TRIAGE if "triage" in header else SUPPORT
    assert failures(dev, {path: drop_block(dev.files[path], header)}) == expected


def test_missing_agent_file_is_caught(dev) -> None:
    files = dict(dev.files)
    del files[SUPPORT]
    parsed = parsed_blocks(files)
    result = check_invariants(parsed, [lp.profile for lp in dev.loaded.profiles], dev.loaded.environment)
    assert {f.check_id for f in result.findings} == {
        "INV_NAMESPACE", "INV_DEFAULT_DENY", "INV_QUOTA", "INV_LIMIT_RANGE", "INV_SERVICE_ACCOUNT"}
