"""BP_K8S_9: a RoleBinding/ClusterRoleBinding binds ServiceAccounts only, each named literally."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_str, blocks, has_dynamic
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class BindingServiceAccountSubjectsOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role bindings bind only ServiceAccounts, each with a literal name and namespace",
            id="BP_K8S_9",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "kubernetes_role_binding_v1", "kubernetes_role_binding",
                "kubernetes_cluster_role_binding_v1", "kubernetes_cluster_role_binding",
            ],
            guideline=(
                "Bind the agent's own ServiceAccount only: every subject block needs "
                "kind = \"ServiceAccount\" and literal name and namespace. Group and User subjects "
                "(system:authenticated, system:serviceaccounts, people) are refused."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["subject"]
        if has_dynamic(conf):
            self.details.append("a dynamic block hides subjects from review: write each subject literally")
            return CheckResult.FAILED
        subjects = blocks(conf, "subject")
        if not subjects:
            self.details.append("no subject block")
        for index, subject in enumerate(subjects):
            kind = attr_str(subject, "kind")
            if kind != "ServiceAccount":
                self.details.append(f"subject[{index}].kind is {kind!r}, not \"ServiceAccount\"")
            for key in ("name", "namespace"):
                if not attr_str(subject, key):
                    self.details.append(f"subject[{index}].{key} must be a literal, non-empty string")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = BindingServiceAccountSubjectsOnly()
