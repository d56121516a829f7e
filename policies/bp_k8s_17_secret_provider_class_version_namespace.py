"""BP_K8S_17: a SecretProviderClass uses apiVersion secrets-store.csi.x-k8s.io/v1 and a literal namespace."""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import SPC_API_VERSION, SPC_KIND, NotApplicable, is_literal_str, manifest_of_kind
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class SecretProviderClassVersionNamespace(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"SecretProviderClass manifest is {SPC_API_VERSION} with a literal name and namespace",
            id="BP_K8S_17",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_manifest"],
            guideline=(
                f"Write the manifest as a literal object with apiVersion = \"{SPC_API_VERSION}\" (the "
                "version blueprint ships a schema for) and metadata.name and metadata.namespace set to "
                "literals: the agent's namespace, so only its pods can mount the secrets."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["manifest"]
        try:
            manifest = manifest_of_kind(conf, SPC_KIND)
        except NotApplicable:
            return CheckResult.UNKNOWN
        if manifest is None:
            self.details.append("manifest must be a literal object with a literal kind")
            return CheckResult.FAILED
        if manifest.get("apiVersion") != SPC_API_VERSION:
            self.details.append(f"apiVersion is {manifest.get('apiVersion')!r}, not {SPC_API_VERSION!r}")
        metadata = manifest.get("metadata")
        if not isinstance(metadata, dict):
            self.details.append("metadata must be a literal object with name and namespace")
            return CheckResult.FAILED
        for key, pattern in (("name", _DNS_SUBDOMAIN_RE), ("namespace", _DNS_LABEL_RE)):
            value = metadata.get(key)
            if not is_literal_str(value) or not pattern.match(value):
                self.details.append(f"metadata.{key} must be a literal Kubernetes name, not {value!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = SecretProviderClassVersionNamespace()
