"""BP_K8S_18: a SecretProviderClass does not sync secrets into Kubernetes Secrets."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import SPC_KIND, NotApplicable, manifest_of_kind
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class SecretProviderClassNoSync(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SecretProviderClass has no secretObjects (no copy into Kubernetes Secrets)",
            id="BP_K8S_18",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_manifest"],
            guideline=(
                "Remove spec.secretObjects: synced Kubernetes Secrets outlive the pod, are readable by "
                "anyone who may read Secrets in the namespace and end up in etcd; the agent reads its "
                "secrets from the CSI volume's files only."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["manifest/spec/secretObjects"]
        try:
            manifest = manifest_of_kind(conf, SPC_KIND)
        except NotApplicable:
            return CheckResult.UNKNOWN
        if manifest is None:
            self.details.append("manifest must be a literal object with a literal kind")
            return CheckResult.FAILED
        spec = manifest.get("spec")
        if not isinstance(spec, dict):
            self.details.append("spec must be a literal object")
        elif "secretObjects" in spec:
            self.details.append("spec.secretObjects syncs the secrets into Kubernetes Secrets: remove it")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = SecretProviderClassNoSync()
