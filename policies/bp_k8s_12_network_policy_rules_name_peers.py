"""BP_K8S_12: every NetworkPolicy ingress/egress rule names its peers."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import blocks, has_dynamic, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_PEER_KINDS = ("ip_block", "namespace_selector", "pod_selector")


class NetworkPolicyRulesNamePeers(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="NetworkPolicy ingress and egress rules each name their peers",
            id="BP_K8S_12",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["kubernetes_network_policy_v1", "kubernetes_network_policy"],
            guideline=(
                "Give every egress block a 'to' block and every ingress block a 'from' block, each "
                "with an ip_block, namespace_selector or pod_selector: a rule without peers allows "
                "every address, inside and outside the cluster."
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
                peers = blocks(rule, peer_key)
                if not peers:
                    self.details.append(f"spec.{direction}[{index}] has no '{peer_key}' block: every peer is allowed")
                for peer_index, peer in enumerate(peers):
                    if not any(blocks(peer, kind) for kind in _PEER_KINDS):
                        self.details.append(
                            f"spec.{direction}[{index}].{peer_key}[{peer_index}] names no ip_block or selector"
                        )
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NetworkPolicyRulesNamePeers()
