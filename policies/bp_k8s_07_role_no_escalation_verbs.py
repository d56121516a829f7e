"""BP_K8S_7: no Role/ClusterRole rule grants escalate, bind or impersonate."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_strings, blocks, has_dynamic
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate", "*"})


class RoleNoEscalationVerbs(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role rules grant no escalate, bind or impersonate verb",
            id="BP_K8S_7",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "kubernetes_role_v1", "kubernetes_role",
                "kubernetes_cluster_role_v1", "kubernetes_cluster_role",
            ],
            guideline=(
                "Remove the escalate, bind and impersonate verbs (and '*', which includes them) from "
                "every rule: they let the agent grant itself permissions or act as another identity. "
                "Every rule must list its verbs literally."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["rule"]
        if has_dynamic(conf):
            self.details.append("a dynamic block hides rules from review: write each rule literally")
            return CheckResult.FAILED
        for index, rule in enumerate(blocks(conf, "rule")):
            verbs = attr_strings(rule, "verbs")
            if not verbs:
                self.details.append(f"rule[{index}].verbs is missing, empty or not a literal list")
                continue
            bad = sorted(_ESCALATION_VERBS.intersection(verbs))
            if bad:
                self.details.append(f"rule[{index}].verbs grants {', '.join(bad)}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleNoEscalationVerbs()
