"""BP_K8S_16: a ClusterRole has no aggregation_rule (it would absorb other roles' rules)."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import has_dynamic
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class ClusterRoleNoAggregation(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ClusterRole has no aggregation_rule",
            id="BP_K8S_16",
            categories=[CheckCategories.IAM],
            supported_resources=["kubernetes_cluster_role_v1", "kubernetes_cluster_role"],
            guideline=(
                "Remove aggregation_rule and list the agent's rules literally: an aggregated "
                "ClusterRole silently gains every rule of the ClusterRoles its selector matches, "
                "now or later, which no review of this file can see."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["aggregation_rule"]
        if "aggregation_rule" in conf or has_dynamic(conf):
            self.details.append("aggregation_rule (or a dynamic block) makes the granted rules open-ended")
            return CheckResult.FAILED
        return CheckResult.PASSED


check = ClusterRoleNoAggregation()
