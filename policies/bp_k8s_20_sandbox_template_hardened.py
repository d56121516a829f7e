"""BP_K8S_20: an agent-sandbox SandboxTemplate keeps the controller's network policy off and its pod hardened."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import NotApplicable, manifest_of_kind
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


class SandboxTemplateHardened(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SandboxTemplate: controller NetworkPolicy off, no injection, hardened non-root pod",
            id="BP_K8S_20",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_manifest"],
            guideline=(
                "Set spec.networkPolicyManagement = Unmanaged (the controller's default policy allows the "
                "whole internet), envVarsInjectionPolicy and volumeClaimTemplatesPolicy = Disallowed, "
                "service = false, and give the pod automountServiceAccountToken = false, runAsNonRoot, "
                "seccomp RuntimeDefault, and containers that drop ALL capabilities, never escalate and "
                "have a read-only root filesystem, with a digest-pinned image."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["manifest/spec"]
        try:
            manifest = manifest_of_kind(conf, "SandboxTemplate")
        except NotApplicable:
            return CheckResult.UNKNOWN
        if manifest is None:
            self.details.append("manifest must be a literal object with a literal kind")
            return CheckResult.FAILED
        spec = _get(manifest, "spec") or {}
        expected = {"networkPolicyManagement": "Unmanaged", "envVarsInjectionPolicy": "Disallowed",
                    "volumeClaimTemplatesPolicy": "Disallowed", "service": False}
        for key, value in expected.items():
            if spec.get(key) != value:
                self.details.append(f"spec.{key} must be {value!r}")
        pod = _get(spec, "podTemplate", "spec") or {}
        if pod.get("automountServiceAccountToken") is not False:
            self.details.append("the pod must not automount a ServiceAccount token")
        if any(pod.get(k) is True for k in ("hostNetwork", "hostPID", "hostIPC")):
            self.details.append("the pod must not share host namespaces")
        if _get(pod, "securityContext", "runAsNonRoot") is not True \
                or _get(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault":
            self.details.append("the pod needs runAsNonRoot and seccomp RuntimeDefault")
        containers = pod.get("containers")
        if not isinstance(containers, list) or not containers:
            self.details.append("the pod needs literal containers")
            containers = []
        for container in containers:
            ctx = _get(container, "securityContext") or {}
            drop = _get(ctx, "capabilities", "drop") or []
            if (ctx.get("allowPrivilegeEscalation") is not False or ctx.get("readOnlyRootFilesystem") is not True
                    or ctx.get("privileged") is True or "ALL" not in drop):
                self.details.append(f"container {_get(container, 'name')!r} must drop ALL, never escalate and "
                                    "run with a read-only root filesystem")
            image = _get(container, "image")
            if not isinstance(image, str) or "@sha256:" not in image:
                self.details.append(f"container {_get(container, 'name')!r} needs a digest-pinned image")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = SandboxTemplateHardened()
