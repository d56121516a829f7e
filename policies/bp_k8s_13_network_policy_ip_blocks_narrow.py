"""BP_K8S_13: NetworkPolicy ip_blocks are valid, narrow, and never reach the metadata service."""

from __future__ import annotations

import ipaddress
from typing import Any

from bp_k8s_lib import attr_str, blocks, has_dynamic, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Cloud instance metadata endpoints (AWS, GCP, Azure share the IPv4 one; AWS IMDS over IPv6), and
# the IPv4 one as an IPv4-mapped IPv6 address.
_METADATA = (
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("::ffff:169.254.169.254"),
)
# The shortest prefix allowed anywhere; each environment enforces its own, stricter limit.
_MIN_PREFIX = {4: 8, 6: 32}


class NetworkPolicyIpBlocksNarrow(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="NetworkPolicy ip_blocks are narrow CIDRs that exclude the cloud metadata address",
            id="BP_K8S_13",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["kubernetes_network_policy_v1", "kubernetes_network_policy"],
            guideline=(
                "Use the exact CIDR of each destination (a /32 for one address, a VPC endpoint or "
                "egress proxy for external APIs). Refused: 0.0.0.0/0 and ::/0, any IPv4 prefix "
                "shorter than /8 or IPv6 prefix shorter than /32, and any CIDR containing "
                "169.254.169.254 or fd00:ec2::254 (cloud metadata), even with an 'except' entry."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = single_block(conf, "spec")
        if spec is None or has_dynamic(spec):
            self.details.append("spec must be one literal block (no dynamic blocks)")
            return CheckResult.FAILED
        for direction, peer_key in (("ingress", "from"), ("egress", "to")):
            for index, rule in enumerate(blocks(spec, direction)):
                for peer_index, peer in enumerate(blocks(rule, peer_key)):
                    for ip_block in blocks(peer, "ip_block"):
                        where = f"spec.{direction}[{index}].{peer_key}[{peer_index}].ip_block"
                        cidr = attr_str(ip_block, "cidr")
                        try:
                            network = ipaddress.ip_network(cidr or "", strict=False)
                        except ValueError:
                            self.details.append(f"{where}.cidr {cidr!r} is missing or not a literal CIDR")
                            continue
                        if network.prefixlen < _MIN_PREFIX[network.version]:
                            self.details.append(
                                f"{where}.cidr {cidr} is wider than /{_MIN_PREFIX[network.version]}"
                            )
                        if any(a.version == network.version and a in network for a in _METADATA):
                            self.details.append(f"{where}.cidr {cidr} contains the cloud metadata address")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NetworkPolicyIpBlocksNarrow()
