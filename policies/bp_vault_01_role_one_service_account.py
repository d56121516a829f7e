"""BP_VAULT_1: a Vault Kubernetes auth role is bound to exactly one literal ServiceAccount."""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import attr_strings
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_NAMES = {
    "bound_service_account_names": re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"),
    "bound_service_account_namespaces": re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
}


class VaultRoleOneServiceAccount(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Vault Kubernetes auth role binds exactly one literal ServiceAccount name and namespace",
            id="BP_VAULT_1",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_kubernetes_auth_backend_role"],
            guideline=(
                "Set bound_service_account_names = [\"<agent sa>\"] and bound_service_account_namespaces "
                "= [\"<agent namespace>\"], one literal name each, no '*' (Vault treats it as a glob); do "
                "not set bound_service_account_namespace_selector."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = [*_NAMES, "bound_service_account_namespace_selector"]
        for key, pattern in _NAMES.items():
            values = attr_strings(conf, key)
            if not values:
                self.details.append(f"{key} must be a non-empty list of literal names")
            elif any("*" in v for v in values):
                self.details.append(f"{key} {values!r} contains '*': name the agent's ServiceAccount exactly")
            elif len(values) != 1:
                self.details.append(f"{key} {values!r} names {len(values)} entries: bind exactly one")
            elif not pattern.match(values[0]):
                self.details.append(f"{key} {values[0]!r} is not a valid Kubernetes name")
        if "bound_service_account_namespace_selector" in conf:
            self.details.append("bound_service_account_namespace_selector admits every namespace it matches: remove it")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultRoleOneServiceAccount()
