"""BP_K8S_14: a ResourceQuota bounds CPU and memory requests and limits, and the pod count."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_map, scalar_text, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_REQUIRED = ("limits.cpu", "limits.memory", "requests.cpu", "requests.memory", "pods")


class ResourceQuotaBounds(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ResourceQuota sets limits.cpu, limits.memory, requests.cpu, requests.memory and pods, unscoped",
            id="BP_K8S_14",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_resource_quota_v1", "kubernetes_resource_quota"],
            guideline=(
                "Set spec.hard with literal values for limits.cpu, limits.memory, requests.cpu, "
                "requests.memory and pods, and no scopes or scope_selector (a scoped quota leaves "
                "the pods outside its scope unbounded)."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["spec/[0]/hard"]
        spec = single_block(conf, "spec")
        hard = attr_map(spec, "hard")
        if hard is None:
            self.details.append("spec.hard is missing or not a literal map")
            return CheckResult.FAILED
        for key in _REQUIRED:
            if scalar_text(hard.get(key)) is None:
                self.details.append(f"spec.hard[{key!r}] is missing or not a literal quantity")
        for key in ("scopes", "scope_selector"):
            if spec is not None and key in spec:
                self.details.append(f"spec.{key} narrows the quota to some pods only")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = ResourceQuotaBounds()
