"""BP_K8S_15: a LimitRange gives containers default, default_request and max CPU and memory."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import (
    attr_map,
    attr_str,
    blocks,
    has_dynamic,
    scalar_text,
    single_block,
)
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_KINDS = ("default", "default_request", "max")


class LimitRangeContainerDefaults(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="LimitRange sets default, default_request and max cpu and memory for Containers",
            id="BP_K8S_15",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_limit_range_v1", "kubernetes_limit_range"],
            guideline=(
                "Add a spec.limit block with type = \"Container\" and literal cpu and memory in each "
                "of default, default_request and max, so a container that declares nothing is still "
                "bounded and none can ask for more than max."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["spec/[0]/limit"]
        spec = single_block(conf, "spec")
        if spec is None or has_dynamic(spec):
            self.details.append("spec must be one literal block (no dynamic blocks)")
            return CheckResult.FAILED
        containers = [limit for limit in blocks(spec, "limit") if attr_str(limit, "type") == "Container"]
        if not containers:
            self.details.append("no spec.limit block with type = \"Container\"")
            return CheckResult.FAILED
        for kind in _KINDS:
            for resource in ("cpu", "memory"):
                if not any(scalar_text((attr_map(limit, kind) or {}).get(resource)) for limit in containers):
                    self.details.append(f"no Container limit sets {kind}.{resource}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = LimitRangeContainerDefaults()
