"""The AgentProfile: everything one agent may do, written by a platform team and reviewed in a PR."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from blueprint.models.base import API_VERSION, StrictModel
from blueprint.models.types import (
    DNS_LABEL,
    AgentName,
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
