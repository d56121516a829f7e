"""BP_K8S_5: a ServiceAccount turns token automounting off explicitly."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class ServiceAccountAutomountOff(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ServiceAccount sets automount_service_account_token = false explicitly",
            id="BP_K8S_5",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_service_account_v1", "kubernetes_service_account"],
            guideline=(
                "Add automount_service_account_token = false to the ServiceAccount (the provider's "
                "default is true); a pod that needs the API opts in on its own spec."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["automount_service_account_token"]
        if "automount_service_account_token" not in conf:
            self.details.append("automount_service_account_token is not set (the default is true)")
            return CheckResult.FAILED
        if attr(conf, "automount_service_account_token") is not False:
            self.details.append("automount_service_account_token must be the literal false")
            return CheckResult.FAILED
        return CheckResult.PASSED


check = ServiceAccountAutomountOff()
