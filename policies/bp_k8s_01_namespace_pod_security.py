"""BP_K8S_1: a namespace enforces, audits and warns at the Pod Security `restricted` level."""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import attr_map, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_PREFIX = "pod-security.kubernetes.io/"
_VERSION_RE = re.compile(r"^(latest|v1\.(0|[1-9][0-9]*))$")


class NamespacePodSecurityRestricted(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Namespace enforces, audits and warns Pod Security level restricted, with a pinned enforce-version",
            id="BP_K8S_1",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["kubernetes_namespace_v1", "kubernetes_namespace"],
            guideline=(
                "Set metadata.labels 'pod-security.kubernetes.io/enforce', '/audit' and '/warn' to "
                "\"restricted\" and 'pod-security.kubernetes.io/enforce-version' to the cluster's "
                "minor version (e.g. \"v1.31\"); any '-version' label present must be 'v1.N' or 'latest'."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        labels = attr_map(single_block(conf, "metadata"), "labels")
        if labels is None:
            self.details.append("metadata.labels is missing or not a literal map")
            return CheckResult.FAILED
        for mode in ("enforce", "audit", "warn"):
            if labels.get(_PREFIX + mode) != "restricted":
                self.details.append(f"label {_PREFIX}{mode} must be \"restricted\"")
        if _PREFIX + "enforce-version" not in labels:
            self.details.append(f"label {_PREFIX}enforce-version is missing")
        for mode in ("enforce", "audit", "warn"):
            key = f"{_PREFIX}{mode}-version"
            if key in labels and not (isinstance(labels[key], str) and _VERSION_RE.match(labels[key])):
                self.details.append(f"label {key} must be 'v1.N' or 'latest'")
        self.evaluated_keys = ["metadata/[0]/labels"]
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NamespacePodSecurityRestricted()
