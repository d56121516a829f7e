"""BP_K8S_21: an agent-sandbox SandboxWarmPool is bounded and recreates stale warm pods."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import NotApplicable, manifest_of_kind
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

MAX_WARM = 100


class SandboxWarmPoolBounded(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SandboxWarmPool: literal replicas (0-100), a literal template, Recreate on change",
            id="BP_K8S_21",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_manifest"],
            guideline=(
                f"Set spec.replicas to a literal 0-{MAX_WARM} (warm pods hold quota and credentials), "
                "spec.sandboxTemplateRef.name to the agent's template, and spec.updateStrategy.type = "
                "Recreate so a hardening change replaces the warm pods at once."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["manifest/spec"]
        try:
            manifest = manifest_of_kind(conf, "SandboxWarmPool")
        except NotApplicable:
            return CheckResult.UNKNOWN
        if manifest is None:
            self.details.append("manifest must be a literal object with a literal kind")
            return CheckResult.FAILED
        spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
        replicas = spec.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas <= MAX_WARM:
            self.details.append(f"spec.replicas must be a literal whole number 0-{MAX_WARM}")
        ref = spec.get("sandboxTemplateRef")
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref.get("name"):
            self.details.append("spec.sandboxTemplateRef.name must name the template literally")
        strategy = spec.get("updateStrategy")
        if not isinstance(strategy, dict) or strategy.get("type") != "Recreate":
            self.details.append("spec.updateStrategy.type must be Recreate")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = SandboxWarmPoolBounded()
