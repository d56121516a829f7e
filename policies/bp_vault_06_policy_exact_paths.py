"""BP_VAULT_6: a Vault policy names exact secret paths, without globs."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr
from bp_vault_lib import VaultPolicyError, parse_policy, path_problem
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class VaultPolicyExactPaths(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Vault policy paths are exact secret paths (no '*' or '+' glob, no sys/ or auth/)",
            id="BP_VAULT_6",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_policy"],
            guideline=(
                "Name each secret's exact path (KV v2: secret/data/<path>), one path block per secret; "
                "never '*' (prefix glob) or '+' (segment wildcard), and never a sys/ or auth/ path."
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
            problem = path_problem(rule.path)
            if problem:
                self.details.append(f'path "{rule.path}" is {problem}')
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultPolicyExactPaths()
