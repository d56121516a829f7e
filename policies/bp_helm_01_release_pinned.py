"""BP_HELM_1: a Helm release installs one exact chart version from an HTTPS repository.

The rules, all on `helm_release`:

- `version` is set and is one exact release, `MAJOR.MINOR.PATCH` (semver digits, no leading zeros,
  no `v`, no range, no pre-release or build suffix): without it Helm installs whatever is newest
  at apply time, and a range does the same within its bounds. A value checkov could not resolve
  (a root variable, a computed expression) fails: what the check cannot see never passes.
- `repository` is a literal `https://` URL: charts are never fetched over plain HTTP (nor from
  an `oci://` registry, a local path or an unresolved value, which this check cannot vet).
- no `set_sensitive` and no `set_wo`: no secret value passes into chart values (they end up in the
  Helm release Secret in the cluster; blueprint's secrets reach pods through the CSI driver).
- no `devel = true` (development versions); `devel`, when present, is the literal false.

The chart-values syntax (`values` vs `set`) and `verify` (provenance files, which most public
charts do not publish) are out of scope.
"""

from __future__ import annotations

import re
from typing import Any

from bp_k8s_lib import attr, attr_str
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_EXACT_VERSION_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_HTTPS_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")
_SECRET_VALUE_KEYS = ("set_sensitive", "set_wo")


class HelmReleasePinned(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Helm release pins an exact chart version from an https repository, without secret values or devel",
            id="BP_HELM_1",
            categories=[CheckCategories.SUPPLY_CHAIN],
            supported_resources=["helm_release"],
            guideline=(
                'Set version to one literal release ("1.6.1": no range, no "v", no pre-release), '
                'repository to an https:// chart repository URL, drop set_sensitive/set_wo (mount '
                "secrets through the CSI driver instead) and devel."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["version", "repository", "devel", *_SECRET_VALUE_KEYS]
        problems: list[str] = []

        version = attr_str(conf, "version")
        if version is None:
            problems.append("version is missing or not a literal string: pin one exact chart release")
        elif not _EXACT_VERSION_RE.match(version):
            problems.append(f"version {version!r} is not one exact release MAJOR.MINOR.PATCH")

        repository = attr_str(conf, "repository")
        if repository is None:
            problems.append("repository is missing or not a literal string")
        elif not _HTTPS_URL_RE.match(repository):
            problems.append(f"repository {repository!r} is not an https:// URL")

        for key in _SECRET_VALUE_KEYS:
            if key in conf:
                problems.append(f"{key} passes secret values into the chart")

        devel = attr(conf, "devel")
        if "devel" in conf and devel is not False:
            problems.append("devel must be absent or the literal false" if devel is not True else "devel = true")

        if problems:
            self.details.extend(problems)
            return CheckResult.FAILED
        return CheckResult.PASSED


check = HelmReleasePinned()
