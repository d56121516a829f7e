"""BP_K8S_6: every Role/ClusterRole rule lists literal api_groups, resources and verbs, no `*`."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import (
    attr_strings,
    blocks,
    has_dynamic,
    valid_api_group,
    valid_resource,
    valid_verb,
)
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class RoleRulesLiteralNoWildcard(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role rules name literal api_groups, resources and verbs, and use no wildcard",
            id="BP_K8S_6",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "kubernetes_role_v1", "kubernetes_role",
                "kubernetes_cluster_role_v1", "kubernetes_cluster_role",
            ],
            guideline=(
                "List each API group, resource and verb the agent needs explicitly, as literals, in "
                "every rule block (no dynamic blocks, no variables); never '*' in api_groups, "
                "resources, verbs, resource_names or non_resource_urls, and no 'resource/*'."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["rule"]
        if has_dynamic(conf):
            self.details.append("a dynamic block hides rules from review: write each rule literally")
            return CheckResult.FAILED
        for index, rule in enumerate(blocks(conf, "rule")):
            where = f"rule[{index}]"
            verbs = attr_strings(rule, "verbs")
            if not verbs or not all(valid_verb(v) for v in verbs):
                self.details.append(f"{where}.verbs must be a non-empty list of literal verbs")
            non_resource_urls = attr_strings(rule, "non_resource_urls")
            if "non_resource_urls" in rule:
                if not non_resource_urls or any("*" in u or not u.startswith("/") for u in non_resource_urls):
                    self.details.append(f"{where}.non_resource_urls must be literal paths without '*'")
            else:
                groups = attr_strings(rule, "api_groups")
                if not groups or not all(valid_api_group(g) for g in groups):
                    self.details.append(f"{where}.api_groups must be a non-empty list of literal API groups")
                resources = attr_strings(rule, "resources")
                if not resources or not all(valid_resource(r) for r in resources):
                    self.details.append(f"{where}.resources must be a non-empty list of literal resources")
            if "resource_names" in rule:
                names = attr_strings(rule, "resource_names")
                if not names or any(not n or "*" in n for n in names):
                    self.details.append(f"{where}.resource_names must be literal names without '*'")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleRulesLiteralNoWildcard()
