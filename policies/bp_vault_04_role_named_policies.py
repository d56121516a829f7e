"""BP_VAULT_4: a Vault Kubernetes auth role's tokens carry only named policies."""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import attr, attr_strings
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class VaultRoleNamedPolicies(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Vault Kubernetes auth role grants literal token_policies, never root, without the default policy",
            id="BP_VAULT_4",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_kubernetes_auth_backend_role"],
            guideline=(
                "Set token_policies to the literal names of the agent's own policies (not root, not "
                "default, no '*') and token_no_default_policy = true."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["token_policies", "token_no_default_policy"]
        policies = attr_strings(conf, "token_policies")
        if not policies:
            self.details.append("token_policies must be a non-empty list of literal policy names")
        else:
            for name in policies:
                if name in ("root", "default") or not _POLICY_NAME_RE.match(name):
                    self.details.append(f"token_policies must name the agent's own policies, not {name!r}")
        if attr(conf, "token_no_default_policy") is not True:
            self.details.append("token_no_default_policy must be the literal true (the default policy is not needed)")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultRoleNamedPolicies()
