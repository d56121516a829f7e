"""`blueprint new agent`: a minimal, valid, least-privilege profile to start from.

The profile grants nothing an agent cannot run without: no Kubernetes API rules (so no token and
no API egress), no egress but the DNS every agent gets, no secrets, the smallest quota, a shared
workload. Comments show where each permission goes; values a team must replace say PLACEHOLDER.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from blueprint import schema_export, writer
from blueprint.errors import InputError, Location, Problem
from blueprint.loader import display_path, read_yaml, validate
from blueprint.models import Environment
from blueprint.models.base import API_VERSION
from blueprint.models.types import AgentName, EnvName, NamespaceName

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Scaffold:
    path: Path
    text: str
    has_runtime: bool


def _check(value: str, grammar: Any, argument: str, expected: str) -> None:
    """Command-line values follow the models' grammar: the same one the loader enforces later."""
    try:
        TypeAdapter(grammar).validate_python(value, strict=True)
    except ValidationError:
        raise InputError([Problem(Location("command line", path=argument),
                                  f"{value!r} is not allowed; expected {expected}")]) from None


def _environment(environments_root: Path, env: str) -> Environment:
    env_file = environments_root / env / "environment.yaml"
    if not env_file.is_file():
        known = sorted(p.name for p in environments_root.iterdir() if (p / "environment.yaml").is_file()) \
            if environments_root.is_dir() else []
        raise InputError([Problem(Location(display_path(env_file)),
                                  f"no environment '{env}' (known: {', '.join(known) or 'none'}); "
                                  f"create it first, or pass --environments DIR")])
    return validate(Environment, read_yaml(env_file))


def _modeline(target: Path) -> str:
    """Relative to the new file, so the editor finds the schema shipped with this blueprint."""
    schema = schema_export.committed_path("profile").resolve()
    try:
        ref = Path(os.path.relpath(schema, target.parent.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        ref = schema.as_uri()
    return f"# yaml-language-server: $schema={ref}"


def _one_line(text: str, width: int = 72) -> str:
    """A description shown in a comment: one line (a newline would end the comment), kept short."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _text(target: Path, name: str, env: str, environment: Environment, namespace: str | None) -> str:
    rule_namespace = namespace or "<namespace>  # omit for the agent's own namespace"
    destinations = [f"#   {dest:<20} {_one_line(environment.destinations[dest].description)}".rstrip()
                    for dest in sorted(environment.destinations)] or ["#   (none defined yet)"]
    backends = environment.secret_backends
    secret_examples = []
    if backends.vault is not None:
        secret_examples += ["#   - name: api-token",
                            f"#     vault: {{path: {backends.vault.allowed_path_prefixes[0]}{name}/<secret>, key: <key>}}"]
    if backends.aws is not None:
        secret_examples += ["#   - name: api-key",
                            f"#     aws: {{arn: arn:aws:secretsmanager:{backends.aws.region}:{backends.aws.account_id}:"
                            f"secret:{backends.aws.allowed_secret_prefixes[0]}{name}/<secret>-AbCdEf}}"]
    secret_examples = secret_examples or ["#   (the environment configures no secret backend yet)"]
    lines = [
        _modeline(target),
        f"# Scaffolded by `blueprint new agent {name} --env {env}`. It grants only what every agent gets:",
        "# its own namespace and ServiceAccount (no token), DNS, a small quota. Replace every PLACEHOLDER,",
        "# then widen it only as far as the agent needs; reviewers see each permission in this file.",
        f"apiVersion: {API_VERSION}",
        "kind: AgentProfile",
        f"name: {name}",
        "owner: PLACEHOLDER-team  # PLACEHOLDER: the owning team's e-mail address or handle",
        "description: >-",
        "  PLACEHOLDER: what this agent does, and why it needs each permission below.",
        "# Kubernetes API access: none, so the pod gets no token and no egress to the API server.",
        "# Add Role rules with exact verbs and resources only, for example:",
        "#   rules:",
        '#     - apiGroups: [""]',
        "#       resources: [pods]",
        "#       verbs: [get, list]",
        f"#       namespace: {rule_namespace}",
        "kubernetes:",
        "  rules: []",
        "# Egress: none beyond DNS. Add destination names from this environment's catalogue",
        f"# ({display_path(target.parents[1] / 'environment.yaml')}):",
        *destinations,
        "egress: []",
        "# Secrets: none. Each is read from a file in the agent's CSI mount; one backend per agent, e.g.:",
        *secret_examples,
        "secrets: []",
        "# Per pod; the namespace quota is these times maxPods.",
        "resources:",
        "  requests: {cpu: 100m, memory: 128Mi}",
        "  limits: {cpu: 250m, memory: 256Mi}",
        "  maxPods: 1",
    ]
    runtime = [
        "# The workload: one shared Deployment. `isolation: per-session` gives each session its own sandbox.",
        "runtime:",
        f"  image: registry.example.com/agents/{name}:0.1.0@{PLACEHOLDER_DIGEST}  # PLACEHOLDER: your build's digest",
        "  entryModule: agent.main  # PLACEHOLDER: the agent's Python entry module",
        "  replicas: 1",
        "  isolation: shared",
    ]
    if environment.runtime is None:
        runtime = ["# The workload: add a `runtime:` section once the environment defines its runtime settings."]
    return "\n".join(lines + runtime) + "\n"


def plan(environments_root: Path, env: str, name: str, namespace: str | None = None) -> Scaffold:
    """Check the arguments and the environment, and build the profile text. Writes nothing."""
    name_help = TypeAdapter(AgentName).json_schema().get("description", "an RFC 1123 label")
    _check(name, AgentName, "NAME", name_help)
    _check(env, EnvName, "--env", "an environment name (lower-case letters, digits and '-')")
    if namespace is not None:
        _check(namespace, NamespaceName, "--namespace", "a namespace name (RFC 1123 label, at most 63 characters)")
    environment = _environment(environments_root, env)
    agents = environments_root / env / "agents"
    for existing in (agents / f"{name}.yaml", agents / f"{name}.yml"):
        if existing.exists():
            raise InputError([Problem(Location(display_path(existing)),
                                      f"a profile for agent '{name}' already exists; `blueprint new` never overwrites: "
                                      "edit that file, or choose another name")])
    target = agents / f"{name}.yaml"
    return Scaffold(target, _text(target, name, env, environment, namespace), environment.runtime is not None)


def create(environments_root: Path, env: str, name: str, namespace: str | None = None) -> Scaffold:
    """Write the new profile; an existing one is never overwritten (checked in `plan`)."""
    scaffold = plan(environments_root, env, name, namespace)
    # One file, never replacing another (not `write_tree`: its manifest would make the next
    # scaffold in the same folder remove this profile as stale).
    writer.write_file(scaffold.path, scaffold.text, exclusive=True)
    return scaffold
