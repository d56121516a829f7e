"""BP_VAULT_2: a Vault Kubernetes auth role issues short-lived, non-renewable-forever tokens."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# The global ceiling (15 minutes, docs/emitted-terraform.md `tokenTtlCeiling`); an environment may
# set a lower one, which the invariants gate enforces (this pack cannot read environment settings).
MAX_TTL_SECONDS = 900
# Attributes that extend a token's life past token_max_ttl when set to a non-zero value
# (token_period makes a periodic token, renewable forever; ttl/max_ttl/period are the pre-3.0 names).
_EXTENDING = ("token_period", "period", "ttl", "max_ttl")


def _seconds(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class VaultRoleShortTokenTtl(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"Vault Kubernetes auth role sets token_ttl and token_max_ttl literally, at most {MAX_TTL_SECONDS} s",
            id="BP_VAULT_2",
            categories=[CheckCategories.IAM],
            supported_resources=["vault_kubernetes_auth_backend_role"],
            guideline=(
                f"Set token_ttl and token_max_ttl as literal seconds, 0 < token_ttl <= token_max_ttl <= "
                f"{MAX_TTL_SECONDS} (0 would mean Vault's system default, often 32 days); leave "
                f"token_period unset (a periodic token renews forever); token_explicit_max_ttl, when set, "
                f"is at most {MAX_TTL_SECONDS} too."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["token_ttl", "token_max_ttl", "token_explicit_max_ttl", *_EXTENDING]
        values: dict[str, int] = {}
        for key in ("token_ttl", "token_max_ttl"):
            seconds = _seconds(attr(conf, key))
            if key not in conf:
                self.details.append(f"{key} is not set (Vault would use its system default)")
            elif seconds is None:
                self.details.append(f"{key} must be a literal number of seconds, not {conf[key]!r}")
            elif not 0 < seconds <= MAX_TTL_SECONDS:
                self.details.append(f"{key} is {seconds} s: it must be between 1 and {MAX_TTL_SECONDS}")
            else:
                values[key] = seconds
        if len(values) == 2 and values["token_ttl"] > values["token_max_ttl"]:
            self.details.append("token_ttl is longer than token_max_ttl")
        if "token_explicit_max_ttl" in conf:
            seconds = _seconds(attr(conf, "token_explicit_max_ttl"))
            if seconds is None or not 0 <= seconds <= MAX_TTL_SECONDS:
                self.details.append(f"token_explicit_max_ttl must be a literal number <= {MAX_TTL_SECONDS}")
        for key in _EXTENDING:
            if key in conf and _seconds(attr(conf, key)) != 0:
                self.details.append(f"{key} must not be set: it lets a token outlive token_max_ttl")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = VaultRoleShortTokenTtl()
