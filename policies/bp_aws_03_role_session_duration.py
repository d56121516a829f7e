"""BP_AWS_3: an IAM role caps its sessions at one hour, literally."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# AWS accepts 3600-43200 s; 3600 is both the shortest maximum AWS allows and the longest we accept.
MAX_SESSION_SECONDS = 3600


class RoleSessionDuration(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"IAM role sets max_session_duration literally, at most {MAX_SESSION_SECONDS} seconds",
            id="BP_AWS_3",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role"],
            guideline=(
                f"Set max_session_duration = {MAX_SESSION_SECONDS} on the role (a literal number): the "
                "shortest maximum AWS allows, so a leaked session expires within the hour."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["max_session_duration"]
        value = attr(conf, "max_session_duration")
        if "max_session_duration" not in conf:
            self.details.append(f"max_session_duration is not set: set it to {MAX_SESSION_SECONDS}")
        elif isinstance(value, bool) or not isinstance(value, int):
            self.details.append(f"max_session_duration must be a literal number of seconds, not {value!r}")
        elif not 0 < value <= MAX_SESSION_SECONDS:
            self.details.append(f"max_session_duration is {value} s: at most {MAX_SESSION_SECONDS} s")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = RoleSessionDuration()
