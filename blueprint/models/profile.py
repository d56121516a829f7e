"""The AgentProfile: everything one agent may do, written by a platform team and reviewed in a PR."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from blueprint.models.base import API_VERSION, StrictModel
from blueprint.models.types import (
    DNS_LABEL,
    AgentName,
    CommandArg,
    HttpPath,
    ImageRef,
    LabelKey,
    LabelValue,
    MountPath,
    PythonModule,
    RelativePath,
    ToolName,
    ApiGroup,
    CpuQuantity,
    DestinationName,
    ExceptionName,
    FreeText,
    KubeResource,
    MemoryQuantity,
    NamespaceName,
    Owner,
    Reason,
    ResourceName,
    Verb,
    cpu_millicores,
    memory_bytes,
)

# Every least-privilege refusal has a code; only an exception naming that code can waive it.
RefusalCode = Literal[
    "wildcard",
    "escalation-verb",
    "unnamed-secret-read",
    "cluster-scope",
    "egress-world",
    "egress-too-wide",
    "egress-cluster-overlap",
    "egress-metadata",
    "egress-api-server",
]


def _unique(values: list[str], what: str) -> list[str]:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)
    return values


class Rule(StrictModel):
    """One RBAC rule. It applies in the agent's own namespace unless `namespace` names another."""

    api_groups: Annotated[list[ApiGroup], Field(min_length=1, description='"" is the core group')]
    resources: Annotated[list[KubeResource], Field(min_length=1)]
    verbs: Annotated[list[Verb], Field(min_length=1)]
    resource_names: list[ResourceName] = []
    namespace: NamespaceName | None = None
    scope: Literal["namespace", "cluster"] = "namespace"

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        _unique(self.api_groups, "api group")
        _unique(self.resources, "resource")
        _unique(self.verbs, "verb")
        _unique(self.resource_names, "resource name")
        if self.scope == "cluster" and self.namespace is not None:
            raise ValueError("a rule with scope 'cluster' applies to every namespace; remove 'namespace'")
        return self


class KubernetesAccess(StrictModel):
    rules: list[Rule] = []


class Requests(StrictModel):
    cpu: CpuQuantity
    memory: MemoryQuantity


class Limits(StrictModel):
    cpu: CpuQuantity
    memory: MemoryQuantity
    gpu: Annotated[int, Field(ge=0, le=16)] = 0


class Resources(StrictModel):
    """Per-pod requests and limits; the namespace quota is these times `maxPods`."""

    requests: Requests
    limits: Limits
    max_pods: Annotated[int, Field(ge=1, le=100)] = 2

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "Resources":
        if cpu_millicores(str(self.requests.cpu)) > cpu_millicores(str(self.limits.cpu)):
            raise ValueError("requests.cpu is above limits.cpu; a request must not exceed its limit")
        if memory_bytes(str(self.requests.memory)) > memory_bytes(str(self.limits.memory)):
            raise ValueError("requests.memory is above limits.memory; a request must not exceed its limit")
        return self


class Waiver(StrictModel):
    """A named, reasoned exception to one least-privilege refusal. Every one shows in the report."""

    name: ExceptionName
    waives: RefusalCode
    destination: DestinationName | None = Field(
        default=None, description="for egress-* codes: waive only for this destination"
    )
    reason: Reason


AwsSecretArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$",
        max_length=2048,
    ),
    Field(description="the full ARN of a Secrets Manager secret, including its 6-character suffix "
                      "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf)"),
]
KmsKeyArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[0-9a-f-]{36}$"),
    Field(description="a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>); aliases are not exact"),
]
VaultPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)+$", max_length=512),
    Field(description="a Vault API path without globs, e.g. secret/data/prod/research/search (KV v2)"),
]
SecretKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$", max_length=253)]
FileName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=253),
    Field(description="a plain file name in the secrets mount (no '/', not starting with '.')"),
]


class AwsSecretRef(StrictModel):
    arn: AwsSecretArn
    json_key: SecretKey | None = None
    kms_key_arn: KmsKeyArn | None = None


class VaultSecretRef(StrictModel):
    path: VaultPath
    key: SecretKey


class Secret(StrictModel):
    """One secret the agent reads from a file in its Secrets Store CSI mount."""

    name: Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=63)]
    file: FileName | None = None
    aws: AwsSecretRef | None = None
    vault: VaultSecretRef | None = None

    @model_validator(mode="after")
    def _one_backend(self) -> "Secret":
        if (self.aws is None) == (self.vault is None):
            raise ValueError("give exactly one backend: 'aws' (Secrets Manager) or 'vault'")
        return self

    @property
    def backend(self) -> str:
        return "aws" if self.aws is not None else "vault"

    @property
    def mount_file(self) -> str:
        return self.file or self.name


class SelectorRef(StrictModel):
    match_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]


class Caller(StrictModel):
    """Pods allowed to call the agent: a namespace selector, optionally narrowed to some pods."""

    namespace_selector: SelectorRef
    pod_selector: SelectorRef | None = None


class ConfigMapMount(StrictModel):
    """Data the agent only reads (a knowledge base): mounted read-only, no RBAC or API access."""

    name: Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
    config_map: ResourceName
    mount_path: MountPath


class Budgets(StrictModel):
    max_turns: Annotated[int, Field(ge=1, le=1000)] = 20
    max_cost_usd: Annotated[float, Field(gt=0, le=1000)] | Annotated[int, Field(gt=0, le=1000)] = 1
    max_input_chars: Annotated[int, Field(ge=100, le=1_000_000)] = 8000


class Tracing(StrictModel):
    """OpenTelemetry export; the collector is a destination of the environment (egress only when on)."""

    enabled: bool = False
    collector: DestinationName | None = None
    endpoint: Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9/_.-]*)?$"),
                        Field(description="the OTLP endpoint URL, reached through the collector destination")] | None = None
    service_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")] | None = None

    @model_validator(mode="after")
    def _collector(self) -> "Tracing":
        if self.enabled and (self.collector is None or self.endpoint is None):
            raise ValueError("tracing needs 'collector' (the environment destination of the OpenTelemetry "
                             "collector) and 'endpoint' (its OTLP URL)")
        return self


class Runtime(StrictModel):
    """How the agent runs: image, entry point, probes, clean-up, isolation and runtime limits."""

    image: ImageRef
    entry_module: PythonModule
    lock_file: RelativePath = "requirements.lock"
    # Unprivileged: every capability is dropped, so the agent cannot bind below 1024.
    port: Annotated[int, Field(ge=1024, le=65535)] = 8080
    health_path: HttpPath = "/healthz"
    replicas: Annotated[int, Field(ge=1, le=100)] = 1
    tmp_size_limit: MemoryQuantity = "64Mi"
    termination_grace_seconds: Annotated[int, Field(ge=1, le=600)] = 30
    # Runs before the container stops, to clear the session's memory and scratch files.
    pre_stop: Annotated[list[CommandArg], Field(min_length=1)] | None = None
    config_maps: list[ConfigMapMount] = []
    tools: list[ToolName] = []
    budgets: Budgets = Budgets()
    tracing: Tracing = Tracing()
    isolation: Literal["shared", "per-session"] = "shared"
    warm_pool: Annotated[int, Field(ge=0, le=100)] = 0

    @model_validator(mode="after")
    def _check(self) -> "Runtime":
        _unique(self.tools, "tool")
        _unique([c.name for c in self.config_maps], "config map volume")
        _unique([c.mount_path for c in self.config_maps], "mount path")
        if self.warm_pool and self.isolation != "per-session":
            raise ValueError("warmPool only applies to isolation 'per-session'")
        return self

    @property
    def cleanup_command(self) -> list[str]:
        return list(self.pre_stop) if self.pre_stop else ["python", "-m", self.entry_module, "--cleanup"]


class AgentProfile(StrictModel):
    api_version: Literal["blueprint.dev/v1alpha1"] = Field(description=f"must be {API_VERSION}")
    kind: Literal["AgentProfile"]
    extends: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]+\.ya?ml$")] | None = None
    name: AgentName
    owner: Owner
    description: FreeText = ""
    kubernetes: KubernetesAccess = KubernetesAccess()
    egress: list[DestinationName] = []
    resources: Resources
    secrets: list[Secret] = []
    runtime: Runtime | None = None
    callers: list[Caller] = []
    credential_ttl: Annotated[int, Field(ge=60, description="seconds a secrets credential may live; "
                                         "default and maximum: the environment's ceiling")] | None = None
    exceptions: list[Waiver] = []

    @model_validator(mode="after")
    def _check(self) -> "AgentProfile":
        _unique(self.egress, "destination")
        _unique([w.name for w in self.exceptions], "exception")
        return self

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, secrets: list[Secret]) -> list[Secret]:
        _unique([s.name for s in secrets], "secret")
        _unique([s.mount_file for s in secrets], "secret file")
        if len({s.backend for s in secrets}) > 1:
            raise ValueError("all secrets of one agent must come from one backend (one SecretProviderClass "
                             "per agent); split the agent or move the secrets")
        return secrets

    @property
    def secret_backend(self) -> str | None:
        return self.secrets[0].backend if self.secrets else None
