"""BP_AWS_6: an IAM role carries no inline_policy blocks or managed policy ARNs."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class RoleNoAttachedPolicies(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM role gets permissions only from aws_iam_role_policy (no inline_policy, no managed_policy_arns)",
            id="BP_AWS_6",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role"],
            guideline=(
                "Remove inline_policy blocks and managed_policy_arns from the role; grant its permissions "
                "with one aws_iam_role_policy whose policy document BP_AWS_4/BP_AWS_5 check. Managed "
                "policies (AWS-owned ones especially) grant far more than one agent's secrets."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["inline_policy", "managed_policy_arns"]
        if "inline_policy" in conf:
            self.details.append("inline_policy grants permissions no policy check reads: use aws_iam_role_policy")
        if "managed_policy_arns" in conf:
            self.details.append("managed_policy_arns attaches policies blueprint does not control: remove it")
        if "dynamic" in conf:
            self.details.append("a dynamic block may add inline policies: write the role literally")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleNoAttachedPolicies()
