"""BP_K8S_11: every NetworkPolicy ingress/egress rule lists the ports it opens."""

from __future__ import annotations

from typing import Any

from bp_k8s_lib import attr, blocks, has_dynamic, scalar_text, single_block
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class NetworkPolicyRulesListPorts(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="NetworkPolicy ingress and egress rules each list their ports",
            id="BP_K8S_11",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["kubernetes_network_policy_v1", "kubernetes_network_policy"],
            guideline=(
                "Give every ingress and egress block at least one ports block, each with a literal "
                "port (and protocol): a rule without ports, or a ports block without port, opens "
                "every port to its peers."
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = single_block(conf, "spec")
        if spec is None or has_dynamic(spec):
            self.details.append("spec must be one literal block (no dynamic blocks)")
            return CheckResult.FAILED
        for direction in ("ingress", "egress"):
            for index, rule in enumerate(blocks(spec, direction)):
                ports = blocks(rule, "ports")
                if not ports:
                    self.details.append(f"spec.{direction}[{index}] has no ports block: all ports are open")
                for port_index, port in enumerate(ports):
                    if scalar_text(attr(port, "port")) is None:
                        self.details.append(
                            f"spec.{direction}[{index}].ports[{port_index}] has no literal port: all ports are open"
                        )
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NetworkPolicyRulesListPorts()
