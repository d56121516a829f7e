"""The Environment: one cluster, its network ranges, its catalogue of egress destinations, its state."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from blueprint.models.base import API_VERSION, StrictModel
from blueprint.models.types import (
    Cidr,
    DestinationName,
    EnvName,
    FreeText,
    IpAddress,
    KubernetesVersion,
    LabelKey,
    LabelValue,
    NamespaceName,
    Port,
)


class ApiServer(StrictModel):
    """Where pods reach the Kubernetes API. NetworkPolicy matches the endpoint addresses after the
    kubernetes Service is resolved, so `cidrs` are the control-plane endpoint addresses."""

    endpoint: Annotated[
        str,
        StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=253),
        Field(description="https://host[:port], used as the provider's host"),
    ]
    cidrs: Annotated[list[Cidr], Field(min_length=1)]
    port: Port = 443


class Dns(StrictModel):
    """The cluster DNS every agent may query on port 53."""

    namespace: NamespaceName = "kube-system"
    pod_labels: dict[LabelKey, LabelValue] = {"k8s-app": "kube-dns"}
    # With NodeLocal DNSCache, pods query a link-local address on their node instead of kube-dns.
    node_local_address: IpAddress | None = None


class Kubeconfig(StrictModel):
    path: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./~-]+$", max_length=1024)] = "~/.kube/config"
    context: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@/-]+$", max_length=253)] | None = None


class Cluster(StrictModel):
    kubernetes_version: KubernetesVersion
    api_server: ApiServer
    pod_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    service_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    node_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    dns: Dns = Dns()
    kubeconfig: Kubeconfig = Kubeconfig()
    gpu_resource: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+/[a-z0-9.-]+$")] = "nvidia.com/gpu"


class EgressPolicy(StrictModel):
    """The widest egress a profile may use without a named exception."""

    widest_ipv4_prefix: Annotated[int, Field(ge=1, le=32)] = 24
    widest_ipv6_prefix: Annotated[int, Field(ge=1, le=128)] = 48


class Selector(StrictModel):
    match_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]


class DestinationPort(StrictModel):
    port: Port
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class Destination(StrictModel):
    """A named place agents may reach: fixed CIDR blocks, or in-cluster pods by selector."""

    description: FreeText = ""
    cidrs: list[Cidr] = []
    namespace_selector: Selector | None = None
    pod_selector: Selector | None = None
    ports: Annotated[list[DestinationPort], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_kind(self) -> "Destination":
        has_selector = self.namespace_selector is not None or self.pod_selector is not None
        if bool(self.cidrs) == has_selector:
            raise ValueError(
                "give either 'cidrs' (addresses outside the cluster) or 'namespaceSelector'/'podSelector' "
                "(pods in the cluster), not both and not neither"
            )
        if self.pod_selector is not None and self.namespace_selector is None:
            raise ValueError(
                "'podSelector' alone would only match pods in the agent's own namespace; add 'namespaceSelector'"
            )
        return self


class S3Backend(StrictModel):
    type: Literal["s3"]
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
    key_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")] = "blueprint"
    use_lockfile: bool = True


class LocalBackend(StrictModel):
    type: Literal["local"]
    directory: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]+$")] = "terraform-state"


class Environment(StrictModel):
    api_version: Literal["blueprint.dev/v1alpha1"] = Field(description=f"must be {API_VERSION}")
    kind: Literal["Environment"]
    name: EnvName
    description: FreeText = ""
    cluster: Cluster
    egress_policy: EgressPolicy = EgressPolicy()
    destinations: dict[DestinationName, Destination] = {}
    state: Annotated[S3Backend | LocalBackend, Field(discriminator="type")]
