"""BP_AWS_1: an IAM trust policy document admits exactly one ServiceAccount's workload identity."""

from __future__ import annotations

from typing import Any

from bp_aws_lib import PolicyError, document_statements, trust_problems
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck


class TrustDocumentOneServiceAccount(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM trust policy document admits only one ServiceAccount (IRSA) or EKS Pod Identity",
            id="BP_AWS_1",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
            guideline=(
                "IRSA: one statement with principals { type = \"Federated\", identifiers = [<EKS OIDC "
                "provider ARN>] }, actions = [\"sts:AssumeRoleWithWebIdentity\"], and StringEquals "
                "conditions on <provider>:sub = [\"system:serviceaccount:<namespace>:<name>\"] and "
                "<provider>:aud = [\"sts.amazonaws.com\"] (never StringLike, '*' or '?'). Pod Identity: "
                "principal Service pods.eks.amazonaws.com, actions sts:AssumeRole and sts:TagSession only, "
                "StringEquals on aws:SourceAccount and ArnEquals (or StringEquals) on aws:SourceArn = the cluster ARN."
            ),
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        try:
            statements = document_statements(conf)
        except PolicyError as error:
            self.details.append(str(error))
            return CheckResult.FAILED
        if not any(s.is_trust for s in statements):
            return CheckResult.UNKNOWN  # a permission policy (no principals): BP_AWS_4 inspects it
        self.details.extend(trust_problems(statements))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = TrustDocumentOneServiceAccount()
