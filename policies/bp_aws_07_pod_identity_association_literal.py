"""BP_AWS_7: an EKS Pod Identity association binds one literal ServiceAccount to one literal role."""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import MISSING, attr, attr_str
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_PATTERNS = {
    "cluster_name": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"),
    "namespace": re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
    "service_account": re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"),
    "role_arn": re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"),
}


class PodIdentityAssociationLiteral(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="EKS Pod Identity association names a literal cluster, namespace, ServiceAccount and role ARN",
            id="BP_AWS_7",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_eks_pod_identity_association"],
            guideline=(
                "Write cluster_name, namespace, service_account and role_arn "
                "(arn:aws:iam::<account>:role/<name>) as literals, one association per agent "
                "ServiceAccount; target_role_arn, when set, is a literal role ARN too."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = [*_PATTERNS, "target_role_arn"]
        for key, pattern in _PATTERNS.items():
            value = attr_str(conf, key)
            if value is None or not pattern.match(value):
                found = "missing" if attr(conf, key) is MISSING else repr(attr(conf, key))
                self.details.append(f"{key} must be a literal {key.replace('_', ' ')}, not {found}")
        if "target_role_arn" in conf:
            value = attr_str(conf, "target_role_arn")
            if value is None or not _PATTERNS["role_arn"].match(value):
                self.details.append(f"target_role_arn must be a literal role ARN, not {attr(conf, 'target_role_arn')!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = PodIdentityAssociationLiteral()
