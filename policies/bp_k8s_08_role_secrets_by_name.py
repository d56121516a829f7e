"""BP_K8S_8: secrets and serviceaccounts/token are reachable only by name, never listed or watched."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr_strings, blocks, has_dynamic
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Verbs Kubernetes cannot restrict with resourceNames, per sensitive resource: a rule granting
# them reaches every object of the namespace (or cluster) whatever resource_names says.
_UNRESTRICTABLE = {
    "secrets": frozenset({"list", "watch", "deletecollection", "create", "*"}),
    "serviceaccounts/token": frozenset({"list", "watch", "deletecollection", "*"}),
}


class RoleSecretsOnlyByName(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role rules reach secrets and serviceaccounts/token only through resource_names",
            id="BP_K8S_8",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "kubernetes_role_v1", "kubernetes_role",
                "kubernetes_cluster_role_v1", "kubernetes_cluster_role",
            ],
            guideline=(
                "Name the exact objects with resource_names in any rule on secrets or "
                "serviceaccounts/token, and grant only get (or update/patch/delete; create for "
                "serviceaccounts/token). list, watch and deletecollection (and create on secrets) "
                "cannot be restricted by name in Kubernetes and are refused; mount a secret through "
                "the Secrets Store CSI driver instead of reading it from the API."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["rule"]
        if has_dynamic(conf):
            self.details.append("a dynamic block hides rules from review: write each rule literally")
            return CheckResult.FAILED
        for index, rule in enumerate(blocks(conf, "rule")):
            where = f"rule[{index}]"
            if "non_resource_urls" in rule and "resources" not in rule:
                continue
            resources = attr_strings(rule, "resources")
            verbs = attr_strings(rule, "verbs")
            if resources is None or verbs is None:
                self.details.append(f"{where}: resources and verbs must be literal lists")
                continue
            sensitive = sorted(
                name for name in _UNRESTRICTABLE
                if name in resources or "*" in resources or f"{name.split('/')[0]}/*" in resources
            )
            if not sensitive:
                continue
            names = attr_strings(rule, "resource_names")
            if not names or any(not n or "*" in n for n in names):
                self.details.append(f"{where} reaches {', '.join(sensitive)} without literal resource_names")
            for name in sensitive:
                bad = sorted(_UNRESTRICTABLE[name].intersection(verbs))
                if bad:
                    self.details.append(
                        f"{where} grants {', '.join(bad)} on {name}, which resource_names cannot restrict"
                    )
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleSecretsOnlyByName()
