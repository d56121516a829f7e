"""BP_AWS_4: an IAM permission policy document grants named actions on named resources only."""

from __future__ import annotations

from typing import Any

from bp_aws_lib import PolicyError, document_statements, permission_problems
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck


class PermissionDocumentNamedGrants(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM permission policy document names every action and resource (no wildcard, read-only secrets)",
            id="BP_AWS_4",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
            guideline=(
                "In every Allow statement list literal actions and resource ARNs, without '*' or '?' and "
                "without not_actions/not_resources; Secrets Manager actions are only "
                "secretsmanager:GetSecretValue and secretsmanager:DescribeSecret, KMS only kms:Decrypt."
            ),
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        try:
            statements = document_statements(conf)
        except PolicyError as error:
            self.details.append(str(error))
            return CheckResult.FAILED
        if any(s.is_trust for s in statements):
            return CheckResult.UNKNOWN  # a trust policy (names principals): BP_AWS_1 inspects it
        self.details.extend(permission_problems(statements))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = PermissionDocumentNamedGrants()
