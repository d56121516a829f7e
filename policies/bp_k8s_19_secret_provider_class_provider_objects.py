"""BP_K8S_19: a SecretProviderClass uses the aws or vault provider and lists its objects literally."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import SPC_KIND, NotApplicable, is_literal_str, manifest_of_kind
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

PROVIDERS = ("aws", "vault")


class SecretProviderClassProviderObjects(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SecretProviderClass provider is aws or vault and spec.parameters.objects lists the secrets",
            id="BP_K8S_19",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_manifest"],
            guideline=(
                "Set spec.provider to \"aws\" or \"vault\" and spec.parameters.objects to the literal "
                "list of the agent's secrets (a YAML string); for vault also set parameters.roleName and "
                "an https:// vaultAddress, so the ServiceAccount token and secrets never cross in clear."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["manifest/spec/provider", "manifest/spec/parameters"]
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
            return CheckResult.FAILED
        provider = spec.get("provider")
        if provider not in PROVIDERS:
            self.details.append(f"spec.provider is {provider!r}: use one of {', '.join(PROVIDERS)}")
        parameters = spec.get("parameters")
        if not isinstance(parameters, dict):
            self.details.append("spec.parameters must be a literal object with objects")
            return CheckResult.FAILED
        objects = parameters.get("objects")
        if not is_literal_str(objects) or not objects.strip():
            self.details.append(f"spec.parameters.objects must be a literal, non-empty list of objects, not {objects!r}")
        if provider == "vault":
            role = parameters.get("roleName")
            if not is_literal_str(role) or not role.strip():
                self.details.append("spec.parameters.roleName must name the agent's Vault role literally")
            address = parameters.get("vaultAddress")
            if not is_literal_str(address) or not address.startswith("https://"):
                self.details.append(f"spec.parameters.vaultAddress must be a literal https:// URL, not {address!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = SecretProviderClassProviderObjects()
