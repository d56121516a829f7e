"""Trace a gate finding in a generated file back to the input line that caused it.

A finding names a file relative to the output folder, maybe a Terraform address and a line. The
emitted layout says which agent a file belongs to (`<stage>/agent_<label>.tf`,
`docker/<agent>.Dockerfile`); the resource type, its name suffix and the check say which part of
the profile (or of environment.yaml) produced it. Reviewers fix inputs, not generated files, so a
finding always gets an input line: at worst the top of the agent's profile (or the environment).
Pure functions: nothing here prints, reads or writes files (paths are shown relative to the
working directory, as the loader shows them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from blueprint.errors import Location
from blueprint.gates.result import Finding
from blueprint.loader import LoadedEnvironment, LoadedProfile, Path_, SourceMap, display_path
from blueprint.plan.objects import agent_label

_AGENT_FILE = re.compile(r"^[a-z-]+/agent_([a-z0-9_]+)\.tf$")
_DOCKERFILE = re.compile(r"^docker/([a-z0-9-]+)\.Dockerfile$")

# Words in a workload finding that say which field it is about, checked in this order
# (E: environment.yaml, P: the profile).
_WORKLOAD_HINTS: tuple[tuple[tuple[str, ...], str, Path_], ...] = (
    (("probe", "health"), "P", ("runtime", "healthPath")),
    (("image", "digest"), "P", ("runtime", "image")),
    (("/tmp", "emptydir", "empty_dir"), "P", ("runtime", "tmpSizeLimit")),
    (("prestop", "pre_stop", "lifecycle", "grace"), "P", ("runtime", "preStop")),
    (("replica",), "P", ("runtime", "replicas")),
    (("uid", "non-root", "nonroot", "as root", "runasuser", "run_as_user"), "E", ("runtime", "runAsUser")),
    (("runtimeclass", "runtime_class"), "E", ("runtime", "runtimeClassName")),
    (("cpu", "memory", "requests", "limits", "resource"), "P", ("resources",)),
    (("service account", "serviceaccount", "token"), "P", ("kubernetes",)),
)
# Which input field each Dockerfile instruction comes from (E: environment.yaml, P: the profile).
_DOCKERFILE_FIELDS: dict[str, tuple[str, Path_]] = {
    "FROM": ("E", ("runtime", "baseImage")),
    "USER": ("E", ("runtime", "runAsUser")),
    "LABEL": ("P", ("description",)),
    "EXPOSE": ("P", ("runtime", "port")),
    "HEALTHCHECK": ("P", ("runtime", "healthPath")),
    "ENTRYPOINT": ("P", ("runtime", "entryModule")),
    "CMD": ("P", ("runtime", "entryModule")),
}
# Environment-wide files: which environment.yaml field configures them.
_PROVIDER_FIELDS: dict[str, tuple[Path_, ...]] = {
    "agents": (("cluster", "kubeconfig"), ("cluster", "apiServer")),
    "agents-crd": (("cluster", "kubeconfig"), ("cluster", "apiServer")),
    "platform": (("cluster", "kubeconfig"), ("cluster", "apiServer")),
    "identity-aws": (("secretBackends", "aws"),),
    "identity-vault": (("secretBackends", "vault"),),
}


@dataclass(frozen=True)
class Traced:
    """A finding with the input line that caused it and the generated file it was found in."""

    finding: Finding
    origin: Location
    agent: str | None  # None: the finding is environment-wide
    generated: str  # the generated file as the user finds it (output folder + finding.file), or ""
    generated_line: int | None


def _split_address(address: str) -> tuple[str, str]:
    """(type, name) of a Terraform address; module prefixes and indexes dropped."""
    parts = [p for p in address.split(".") if p]
    while parts and parts[0] == "module" and len(parts) > 2:
        parts = parts[2:]
    if parts and parts[0] == "data":
        parts = parts[1:]
    if len(parts) < 2:
        return (parts[0] if parts else "", "")
    return parts[0], re.sub(r"\[.*\]$", "", parts[1])


def owning_profile(finding: Finding, loaded: LoadedEnvironment) -> LoadedProfile | None:
    """The agent whose profile produced the file or resource of `finding`, if any."""
    by_label = {agent_label(lp.profile.name): lp for lp in loaded.profiles}
    match = _AGENT_FILE.match(finding.file)
    if match:
        return by_label.get(match.group(1))
    match = _DOCKERFILE.match(finding.file)
    if match:
        return by_label.get(agent_label(match.group(1)))
    if finding.file:  # a stage's providers.tf, versions.tf or the platform root
        return None
    by_name = {lp.profile.name: lp for lp in loaded.profiles}
    if finding.resource in by_name:  # gates that judge a whole agent name it (credential lifetime)
        return by_name[finding.resource]
    _, name = _split_address(finding.resource)
    return by_label.get(name.split("__", 1)[0])


def _first_present(source: SourceMap, candidates: tuple[Path_, ...]) -> Location | None:
    for path in candidates:
        if path in source.values:
            return source.locate(path, key=True)
    return None


def _profile_location(lp: LoadedProfile, candidates: tuple[Path_, ...]) -> Location:
    """The first candidate field the profile (or its base) really sets, else its `name`, else line 1.

    With `extends:`, a mapping the base sets may have parts the environment's profile overrides
    (`resources: {limits: {cpu: "2"}}`): the overriding line is the one a reviewer edits, so it
    wins over the base's line for the whole mapping."""
    prefix = next((p for p in candidates + (("name",),) if p in lp.source.values), None)
    if prefix is None:
        return Location(lp.file, 1, 1, "")
    found = lp.source.locate(prefix, key=True)
    if lp.base_file is not None and found.file != lp.file:
        n = len(prefix)
        overrides = sorted((pos[1], pos[2], path) for path, pos in lp.source.keys.items()
                           if path[:n] == prefix and len(path) > n and pos[0] == lp.file)
        if overrides:
            return lp.source.locate(overrides[0][2], key=True)
    return found


def _environment_location(loaded: LoadedEnvironment, candidates: tuple[Path_, ...]) -> Location:
    return _first_present(loaded.source, candidates + (("name",),)) or Location(loaded.file, 1, 1, "")


def _egress_entry(lp: LoadedProfile, loaded: LoadedEnvironment, message: str) -> tuple[Path_, ...]:
    """The egress entry a network-policy finding names (by destination name or one of its CIDRs)."""
    for index, name in enumerate(lp.profile.egress):
        dest = loaded.environment.destinations.get(name)
        cidrs = [str(c) for c in (dest.cidrs or [])] if dest is not None else []
        if re.search(rf"(?<![a-z0-9-]){re.escape(name)}(?![a-z0-9-])", message) or any(c in message for c in cidrs):
            return (("egress", index),)
    runtime = lp.profile.runtime
    if runtime is not None and runtime.tracing.collector and runtime.tracing.collector in message:
        return (("runtime", "tracing", "collector"),)
    return ()


def _role_rule(lp: LoadedProfile, suffix: str) -> tuple[Path_, ...]:
    """The profile rule behind a Role (`ns_<namespace>`) or the ClusterRole (`cluster`)."""
    own = "agent-" + lp.profile.name
    for index, rule in enumerate(lp.profile.kubernetes.rules):
        if suffix == "cluster" and rule.scope == "cluster":
            return (("kubernetes", "rules", index),)
        namespace = rule.namespace or own
        if suffix == "ns_" + agent_label(namespace) and rule.scope != "cluster":
            return (("kubernetes", "rules", index),)
    return ()


def _workload_field(message: str) -> tuple[str, tuple[Path_, ...]]:
    """('P' or 'E', candidates) for a finding on the agent's pod spec."""
    lowered = message.lower()
    for words, side, path in _WORKLOAD_HINTS:
        if any(w in lowered for w in words):
            return side, (path,)
    return "P", ()


def _dockerfile_instruction(text: str, line: int | None) -> str:
    """The whole instruction at `line` (1-based), continuation lines joined."""
    lines = text.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return ""
    start = end = line - 1
    while start > 0 and lines[start - 1].rstrip().endswith("\\"):
        start -= 1
    while end < len(lines) - 1 and lines[end].rstrip().endswith("\\"):
        end += 1
    return " ".join(lines[start:end + 1])


def _dockerfile_field(lp: LoadedProfile, instruction: str) -> tuple[str, Path_]:
    keyword = instruction.split(None, 1)[0].upper() if instruction.strip() else ""
    lock = lp.profile.runtime.lock_file if lp.profile.runtime else ""
    if keyword in ("COPY", "RUN"):
        if "useradd" in instruction or "groupadd" in instruction:
            return "E", ("runtime", "runAsUser")
        if lock and lock in instruction or "pip " in instruction:
            return "P", ("runtime", "lockFile")
        return "P", ("runtime", "entryModule")  # the application source and its modes
    return _DOCKERFILE_FIELDS.get(keyword, ("P", ("runtime", "entryModule")))


def _profile_candidates(finding: Finding, lp: LoadedProfile, loaded: LoadedEnvironment,
                        files: Mapping[str, str]) -> tuple[str, tuple[Path_, ...]]:
    """('P' or 'E', candidate field paths) for a finding in one agent's files."""
    if finding.gate == "credential-lifetime":  # judged per agent, over both identity stages
        return "P", (("credentialTtl",), ("secrets",))
    if _DOCKERFILE.match(finding.file):
        side, field = _dockerfile_field(lp, _dockerfile_instruction(files.get(finding.file, ""), finding.line))
        return side, (field, ("runtime",))
    rtype, name = _split_address(finding.resource)
    suffix = name.split("__", 1)[1] if "__" in name else ""
    stage = finding.file.split("/", 1)[0]
    message = finding.message
    if rtype.startswith(("kubernetes_role", "kubernetes_cluster_role")):
        if suffix == "session_broker":
            return "E", (("runtime", "sessionBroker"),)
        return "P", _role_rule(lp, suffix) + (("kubernetes", "rules"), ("kubernetes",))
    if rtype == "kubernetes_network_policy_v1":
        if suffix == "allow_ingress":
            return "P", (("callers",), ("runtime", "port"))
        return "P", _egress_entry(lp, loaded, message) + (("egress",),)
    if rtype in ("kubernetes_resource_quota_v1", "kubernetes_limit_range_v1"):
        return "P", (("resources",),)
    if rtype in ("kubernetes_deployment_v1", "kubernetes_config_map_v1") or suffix == "sandbox_template":
        # The sandbox template carries the same pod spec as a Deployment.
        side, fields = _workload_field(message)
        isolation = (("runtime", "isolation"),) if suffix == "sandbox_template" else ()
        return side, fields + isolation + (("runtime",),)
    if rtype == "kubernetes_service_v1":
        return "P", (("callers",), ("runtime", "port"))
    if rtype == "kubernetes_service_account_v1":
        return "P", (("kubernetes",),)
    if rtype == "kubernetes_manifest":
        if suffix == "sandbox_pool":
            return "P", (("runtime", "warmPool"), ("runtime", "isolation"))
        return "P", (("secrets",),)
    if rtype.startswith(("aws_", "vault_")) or stage.startswith("identity-"):
        ttl = (("credentialTtl",),) if finding.gate == "credential-lifetime" else ()
        return "P", ttl + (("secrets",),)
    if stage == "agents-crd":
        return "P", (("secrets",), ("runtime",))
    return "P", ()


def _environment_candidates(finding: Finding) -> tuple[Path_, ...]:
    stage = finding.file.split("/", 1)[0]
    base = PurePosixPath(finding.file).name
    if base == "versions.tf":
        return (("state",),)
    if base == "providers.tf":
        return _PROVIDER_FIELDS.get(stage, ())
    if stage == "platform":
        rtype, name = _split_address(finding.resource)
        # The agent-sandbox controller's fence and module come from runtime.sandboxController.
        if "agent_sandbox" in finding.resource or finding.file.startswith("platform/modules/agent-sandbox/"):
            return (("runtime", "sandboxController"),)
        provider = name.removesuffix("_provider_egress") if rtype == "kubernetes_network_policy_v1" else ""
        return ((("secretBackends", provider),) if provider else ()) + (("secretBackends",),)
    return ()


def origin(finding: Finding, loaded: LoadedEnvironment, files: Mapping[str, str] | None = None) -> Location:
    """The input line that caused `finding`; `files` (the render's output) lets a Dockerfile line be read."""
    files = files or {}
    lp = owning_profile(finding, loaded)
    if lp is None:
        return _environment_location(loaded, _environment_candidates(finding))
    side, candidates = _profile_candidates(finding, lp, loaded, files)
    if side == "E":
        return _environment_location(loaded, candidates)
    return _profile_location(lp, candidates)


def generated_line(finding: Finding, files: Mapping[str, str]) -> int | None:
    """The finding's line in its generated file; else the line its resource block starts on."""
    if finding.line is not None:
        return finding.line
    text = files.get(finding.file)
    rtype, name = _split_address(finding.resource)
    if not text or not name or finding.resource.startswith("module."):
        return None
    kind = "data" if finding.resource.startswith("data.") else "resource"
    header = f'{kind} "{rtype}" "{name}"'
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(header):
            return number
    return None


def trace(findings: list[Finding], loaded: LoadedEnvironment, files: Mapping[str, str], out_dir: str) -> list[Traced]:
    """Each finding with its input line and generated location (`out_dir`: where the files go)."""
    out = []
    for finding in findings:
        lp = owning_profile(finding, loaded)
        generated = display_path(Path(out_dir) / finding.file) if finding.file else ""
        out.append(Traced(finding, origin(finding, loaded, files), lp.profile.name if lp else None,
                          generated, generated_line(finding, files)))
    return out
