"""The plan: pure data, one object per Kubernetes resource, every value literal.

The emitter turns these into HCL; nothing here knows about HCL or files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MANAGED_BY = {"app.kubernetes.io/managed-by": "blueprint"}


def agent_label(name: str) -> str:
    """The Terraform resource label stem of an agent (or namespace) name: a valid identifier."""
    return name.replace("-", "_")


@dataclass(frozen=True)
class RbacRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RolePlan:
    """A Role (namespace set) or ClusterRole (namespace None) plus its binding to the agent's SA."""

    name: str
    namespace: str | None
    rules: tuple[RbacRule, ...]

    @property
    def cluster(self) -> bool:
        return self.namespace is None


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str


@dataclass(frozen=True)
class Peer:
    """One NetworkPolicy peer: an ip_block, or namespace and/or pod selectors."""

    cidr: str | None = None
    namespace_labels: tuple[tuple[str, str], ...] = ()
    pod_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EgressRule:
    """Traffic the agent may send: to these peers on these ports. `why` names its origin."""

    why: str
    peers: tuple[Peer, ...]
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class Quota:
    hard: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LimitRangePlan:
    default: tuple[tuple[str, str], ...]
    default_request: tuple[tuple[str, str], ...]
    max: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AppliedException:
    """A waiver that took effect: which refusal it lifted, where, and why."""

    name: str
    waives: str
    reason: str
    waived: tuple[str, ...]


@dataclass(frozen=True)
class ConfigMapVolume:
    name: str
    config_map: str
    mount_path: str


@dataclass(frozen=True)
class WorkloadPlan:
    """The agent's pod: every hardening setting is decided here, literally."""

    image: str
    port: int
    health_path: str
    replicas: int
    run_as_user: int
    automount_token: bool
    runtime_class: str | None
    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]
    tmp_size_limit: str
    grace_seconds: int
    cleanup_command: tuple[str, ...]
    config_maps: tuple[ConfigMapVolume, ...]
    runtime_config: str  # the JSON the agent runtime reads: tools, budgets, tracing
    isolation: str  # "shared" | "per-session"
    warm_pool: int
    callers: tuple[Peer, ...]
    entry_module: str
    lock_file: str
    base_image: str
    base_is_placeholder: bool
    health_port: int = 8080
    session_broker: tuple[str, str] | None = None  # (namespace, ServiceAccount), per-session only


@dataclass(frozen=True)
class AgentPlan:
    name: str
    source_file: str
    owner: str
    description: str
    namespace: str
    namespace_labels: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    service_account: str
    roles: tuple[RolePlan, ...]
    egress: tuple[EgressRule, ...]
    quota: Quota
    limit_range: LimitRangePlan
    exceptions: tuple[AppliedException, ...] = ()
    widening: tuple[str, ...] = ()  # grants beyond the base profile, for the report
    secrets: "SecretsPlan | None" = None
    service_account_annotations: tuple[tuple[str, str], ...] = ()
    workload: WorkloadPlan | None = None

    @property
    def label(self) -> str:
        return agent_label(self.name)


@dataclass(frozen=True)
class Backend:
    """State backend; `{stage}` in a setting is replaced per stage root (each has its own state)."""

    type: str
    settings: tuple[tuple[str, str | bool], ...]

    def for_stage(self, stage: str) -> tuple[tuple[str, str | bool], ...]:
        return tuple((k, v.replace("{stage}", stage) if isinstance(v, str) else v) for k, v in self.settings)


@dataclass(frozen=True)
class ProviderPlan:
    host: str
    config_path: str
    config_context: str | None


@dataclass(frozen=True)
class ProviderPodEgress:
    """Egress for one CSI provider's pods: they fetch secrets, agents never reach the backends."""

    provider: str  # "vault" | "aws"
    pod_labels: tuple[tuple[str, str], ...]
    rules: tuple[EgressRule, ...]


@dataclass(frozen=True)
class CsiPlan:
    """Platform stage, when any agent has secrets: the Secrets Store CSI driver and its providers."""

    namespace: str
    driver_chart: str
    rotation_poll_interval: str
    token_expiration_seconds: int
    vault_chart: str | None
    vault_address: str | None
    vault_audience: str | None
    aws_chart: str | None
    aws_region: str | None
    aws_identity: str | None
    egress: tuple[ProviderPodEgress, ...]


@dataclass(frozen=True)
class SandboxControllerPlan:
    """Platform stage, when any agent runs per-session: the agent-sandbox controller, fetched at a
    pinned release, verified by sha256, hardened, in a restricted namespace whose only egress is
    DNS and the API server."""

    namespace: str
    labels: tuple[tuple[str, str], ...]  # of every object blueprint creates in the namespace
    namespace_labels: tuple[tuple[str, str], ...]  # the labels plus Pod Security restricted
    release: str
    release_base_url: str
    assets: tuple[tuple[str, str], ...]  # (file, sha256), in apply order
    checksums_are_placeholders: bool
    image: str
    image_is_placeholder: bool
    run_as_user: int
    egress: tuple[EgressRule, ...]
    webhook: EgressRule  # ingress to the controller's webhook port, from the API server only
    quota: Quota
    limit_range: LimitRangePlan


@dataclass(frozen=True)
class AwsProviderPlan:
    region: str
    account_id: str


@dataclass(frozen=True)
class EnvironmentPlan:
    env: str
    source_file: str
    kubernetes_version: str
    provider: ProviderPlan
    backend: Backend
    agents: tuple[AgentPlan, ...] = field(default=())
    aws: AwsProviderPlan | None = None
    vault_address: str | None = None
    csi: CsiPlan | None = None
    sandbox_controller: SandboxControllerPlan | None = None

    @property
    def has_platform(self) -> bool:
        return self.csi is not None or self.sandbox_controller is not None


# ---------------------------------------------------------------- secrets and workload identity

@dataclass(frozen=True)
class SecretObject:
    """One object the agent's SecretProviderClass mounts, and the grant that lets it be read."""

    name: str
    file: str
    reference: str  # the AWS secret ARN or the Vault path
    key: str | None = None  # JSON key (AWS) or field (Vault)
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class AwsIdentityPlan:
    role_name: str
    role_arn: str
    mode: str  # "irsa" | "pod-identity"
    account_id: str
    region: str
    cluster: str
    oidc_provider: str | None
    max_session: int


@dataclass(frozen=True)
class VaultIdentityPlan:
    role_name: str
    policy_name: str
    auth_mount: str
    audience: str
    address: str
    token_ttl: int
    token_max_ttl: int


@dataclass(frozen=True)
class SecretsPlan:
    """Everything one agent needs to read its secrets: the mount, the identity and the grant."""

    backend: str  # "aws" | "vault"
    spc_name: str
    objects: tuple[SecretObject, ...]
    aws: AwsIdentityPlan | None = None
    vault: VaultIdentityPlan | None = None

    @property
    def lifetime_seconds(self) -> int:
        """The longest a credential issued to this agent stays valid."""
        return self.aws.max_session if self.aws else self.vault.token_max_ttl  # type: ignore[union-attr]
