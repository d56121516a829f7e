"""BP_K8S_10: a binding never references cluster-admin, admin, edit or a system: role."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_str, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_BROAD_ROLES = frozenset({"cluster-admin", "admin", "edit"})


class BindingNoBroadBuiltinRole(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role bindings reference the agent's own role, not cluster-admin, admin, edit or system:*",
            id="BP_K8S_10",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "kubernetes_role_binding_v1", "kubernetes_role_binding",
                "kubernetes_cluster_role_binding_v1", "kubernetes_cluster_role_binding",
            ],
            guideline=(
                "Point role_ref at the Role or ClusterRole blueprint generates for the agent, with "
                "a literal kind (Role or ClusterRole) and name; the built-in cluster-admin, admin and "
                "edit roles and the system: roles grant far more than any agent needs."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["role_ref"]
        role_ref = single_block(conf, "role_ref")
        if role_ref is None:
            self.details.append("exactly one role_ref block is required")
            return CheckResult.FAILED
        kind = attr_str(role_ref, "kind")
        name = attr_str(role_ref, "name")
        if kind not in ("Role", "ClusterRole"):
            self.details.append(f"role_ref.kind is {kind!r}, not \"Role\" or \"ClusterRole\"")
        if not name:
            self.details.append("role_ref.name must be a literal, non-empty string")
        elif name in _BROAD_ROLES or name.startswith("system:"):
            self.details.append(f"role_ref.name {name!r} is a broad built-in role")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = BindingNoBroadBuiltinRole()
