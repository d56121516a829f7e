"""BP_AWS_2: an IAM role's inline trust policy admits exactly one ServiceAccount's workload identity."""

from __future__ import annotations

from typing import Any

from bp_aws_lib import PolicyError, is_document_reference, json_policy_statements, trust_problems
from bp_k8s_lib import attr
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class RoleTrustOneServiceAccount(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM role trust policy is a checked policy document or an inline policy admitting one ServiceAccount",
            id="BP_AWS_2",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role"],
            guideline=(
                "Set assume_role_policy = data.aws_iam_policy_document.<name>.json (BP_AWS_1 checks the "
                "document), or an inline jsonencode/JSON policy meeting the same rules: IRSA with "
                "StringEquals on <provider>:sub = system:serviceaccount:<namespace>:<name> and "
                "<provider>:aud = sts.amazonaws.com, or Pod Identity (pods.eks.amazonaws.com, "
                "sts:AssumeRole and sts:TagSession only). No variables, files or templates."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["assume_role_policy"]
        if is_document_reference(attr(conf, "assume_role_policy")):
            return CheckResult.PASSED  # BP_AWS_1 inspects every aws_iam_policy_document of the root
        try:
            statements = json_policy_statements(conf, "assume_role_policy")
        except PolicyError as error:
            self.details.append(str(error))
            return CheckResult.FAILED
        self.details.extend(trust_problems(statements))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleTrustOneServiceAccount()
