"""BP_VAULT_5: a Vault policy grants only `read`, on every path rule."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr
from bp_vault_lib import VaultPolicyError, parse_policy
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class VaultPolicyReadOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Vault policy is literal path rules granting only the read capability",
            id="BP_VAULT_5",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_policy"],
            guideline=(
                "Write the policy as literal text of `path \"<secret path>\" { capabilities = [\"read\"] }` "
                "blocks, one per secret, without comments or other keys; an agent reads its secrets and "
                "never lists, creates, updates, deletes, patches or sudo-s."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        try:
            rules = parse_policy(attr(conf, "policy"))
        except VaultPolicyError as error:
            self.details.append(f"policy: {error}")
            return CheckResult.FAILED
        for rule in rules:
            if list(rule.capabilities) != ["read"]:
                self.details.append(f'path "{rule.path}" grants {list(rule.capabilities)!r}: only ["read"]')
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultPolicyReadOnly()
