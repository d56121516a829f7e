"""BP_AWS_5: an IAM role policy is a checked policy document or grants named actions on named resources."""

from __future__ import annotations

from typing import Any

from bp_aws_lib import PolicyError, is_document_reference, json_policy_statements, permission_problems
from bp_k8s_lib import attr
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class RolePolicyNamedGrants(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM role policy is a checked policy document or an inline policy naming every action and resource",
            id="BP_AWS_5",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role_policy"],
            guideline=(
                "Set policy = data.aws_iam_policy_document.<name>.json (BP_AWS_4 checks the document), or "
                "an inline jsonencode/JSON policy whose Allow statements list literal actions and ARNs "
                "without '*' or '?'; Secrets Manager only GetSecretValue/DescribeSecret, KMS only Decrypt."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        if is_document_reference(attr(conf, "policy")):
            return CheckResult.PASSED  # BP_AWS_4 inspects every aws_iam_policy_document of the root
        try:
            statements = json_policy_statements(conf, "policy")
        except PolicyError as error:
            self.details.append(str(error))
            return CheckResult.FAILED
        self.details.extend(permission_problems(statements))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RolePolicyNamedGrants()
