"""The Environment: one cluster, its network ranges, its catalogue of egress destinations, its state."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from blueprint.models.base import API_VERSION, StrictModel
from blueprint.models.types import (
    DNS_SUBDOMAIN,
    IMAGE_PATTERN,
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


class VaultBackend(StrictModel):
    """Vault with its Kubernetes auth method; the CSI provider pods (not agents) reach `cidrs`."""

    address: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=253),
                       Field(description="https://host[:port] of Vault")]
    cidrs: Annotated[list[Cidr], Field(min_length=1)]
    port: Port = 8200
    kubernetes_auth_mount: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = "kubernetes"
    audience: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]+$", max_length=253)] = "vault"
    token_ttl_ceiling: Annotated[int, Field(ge=60, le=900, description="seconds, at most 900 (15 minutes)")] = 900
    # The environment's grant: agents may only be given paths under these prefixes.
    allowed_path_prefixes: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*/$")]],
        Field(min_length=1, description="path prefixes ending in '/', e.g. secret/data/prod/"),
    ]


class AwsBackend(StrictModel):
    """AWS Secrets Manager through IRSA or EKS Pod Identity."""

    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$"), Field(description="12 digits, quoted")]
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
    eks_cluster: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")]
    identity: Literal["irsa", "pod-identity"] = "irsa"
    oidc_provider: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9.*?-]+(/[A-Za-z0-9*?-]+)*$", max_length=253),
        Field(description="the cluster's OIDC issuer without https://, e.g. oidc.eks.eu-west-1.amazonaws.com/id/<32 hex>"),
    ] | None = None
    endpoint_cidrs: Annotated[list[Cidr], Field(min_length=1, description="Secrets Manager and STS VPC endpoints")]
    # IAM's floor for max_session_duration is 3600 s: the shortest ceiling a role can have.
    session_ceiling: Annotated[int, Field(ge=3600, le=3600)] = 3600
    # The environment's grant: agents may only be given secrets whose names start with these.
    allowed_secret_prefixes: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/_+=.@-]+/$")]],
        Field(min_length=1, description="secret name prefixes ending in '/', e.g. prod/"),
    ]
    role_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+=,.@_-]{1,20}$")] = "blueprint"

    def role_name(self, env: str, agent: str) -> str:
        """The agent's IAM role name (IAM allows 64 characters; the loader checks the length)."""
        return f"{self.role_prefix}-{env}-{agent}"

    @model_validator(mode="after")
    def _identity_settings(self) -> "AwsBackend":
        if self.identity == "irsa" and self.oidc_provider is None:
            raise ValueError("identity 'irsa' needs 'oidcProvider' (the cluster's OIDC issuer host and path)")
        if self.identity == "pod-identity" and self.oidc_provider is not None:
            raise ValueError("identity 'pod-identity' does not use 'oidcProvider'; remove it")
        return self


class SecretBackends(StrictModel):
    vault: VaultBackend | None = None
    aws: AwsBackend | None = None


class SessionBroker(StrictModel):
    """The platform component that creates and deletes per-session sandboxes."""

    namespace: NamespaceName
    service_account: Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN, max_length=253)]


SANDBOX_RELEASES = "https://github.com/kubernetes-sigs/agent-sandbox/releases/download"


class ReleaseAsset(StrictModel):
    file: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+\.yaml$", max_length=128),
                    Field(description="a release asset's file name, e.g. manifest.yaml")]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$"),
                      Field(description="the asset's sha256 (64 lowercase hex); the apply stops on a mismatch")]


class SandboxController(StrictModel):
    """The kubernetes-sigs/agent-sandbox controller the platform stage installs for per-session agents."""

    release: Literal["v1.0.6"] = Field(
        description="the agent-sandbox release blueprint's sandbox objects target (v1beta1 API); only v1.0.6 is "
                    "supported by this blueprint version")
    release_base_url: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%-]+)*$",
                                                       max_length=512)] = SANDBOX_RELEASES
    assets: Annotated[list[ReleaseAsset], Field(min_length=1, max_length=4)]
    checksums_are_placeholders: bool = False
    image: Annotated[str, StringConstraints(pattern=IMAGE_PATTERN, max_length=512),
                     Field(description="the controller image, pinned by digest")]
    image_is_placeholder: bool = False

    @model_validator(mode="after")
    def _pinned(self) -> "SandboxController":
        if "@sha256:" not in self.image:
            raise ValueError("image must be pinned by digest (name:tag@sha256:<64 hex>)")
        files = [a.file for a in self.assets]
        if len(set(files)) != len(files):
            raise ValueError("assets lists a file twice")
        return self


class RuntimeSettings(StrictModel):
    """How agent workloads run in this environment."""

    runtime_class_name: Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN, max_length=253)] | None = None
    base_image: Annotated[str, StringConstraints(pattern=IMAGE_PATTERN, max_length=512),
                          Field(description="the Python base image of agent Dockerfiles, pinned by digest")]
    base_image_is_placeholder: bool = False
    run_as_user: Annotated[int, Field(ge=1000, le=65535)] = 10001
    require_image_digest: bool = True
    session_broker: SessionBroker | None = None
    sandbox_controller: SandboxController | None = None

    @model_validator(mode="after")
    def _base_pinned(self) -> "RuntimeSettings":
        if "@sha256:" not in self.base_image:
            raise ValueError("baseImage must be pinned by digest (name:tag@sha256:<64 hex>)")
        if self.base_image.split("@")[0].endswith(":latest"):
            raise ValueError("baseImage must name a version tag, not 'latest'")
        return self


class Environment(StrictModel):
    api_version: Literal["blueprint.dev/v1alpha1"] = Field(description=f"must be {API_VERSION}")
    kind: Literal["Environment"]
    name: EnvName
    description: FreeText = ""
    cluster: Cluster
    egress_policy: EgressPolicy = EgressPolicy()
    destinations: dict[DestinationName, Destination] = {}
    secret_backends: SecretBackends = SecretBackends()
    runtime: RuntimeSettings | None = None
    state: Annotated[S3Backend | LocalBackend, Field(discriminator="type")]
