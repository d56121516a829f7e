"""BP_VAULT_3: a Vault Kubernetes auth role requires a literal token audience."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_str
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class VaultRoleAudience(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Vault Kubernetes auth role sets a literal audience",
            id="BP_VAULT_3",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_kubernetes_auth_backend_role"],
            guideline=(
                "Set audience to the literal audience the agent's projected ServiceAccount token is "
                "issued for (the environment's secretBackends.vault.audience, e.g. \"vault\"), so a token "
                "minted for another service cannot log in."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["audience"]
        audience = attr_str(conf, "audience")
        if "audience" not in conf:
            self.details.append("audience is not set: Vault then accepts a token issued for any audience")
        elif audience is None or not audience.strip() or "*" in audience:
            self.details.append(f"audience must be a literal, non-empty value without '*', not {conf['audience']!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultRoleAudience()
