"""YAML -> models, with every problem located at file:line:column and a dotted field path.

PyYAML's C composer keeps line/column marks at a fraction of ruamel's cost; we build the data and
a map from field path to source position from the same node tree. `extends:` merges a base profile
(mappings merge key by key; lists and scalars replace, never append) and the map keeps pointing at
whichever file each value came from.
"""

from __future__ import annotations

import ipaddress
import types as pytypes
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from blueprint.errors import InputError, Location, Problem
from blueprint.models import AgentProfile, Environment

try:  # the C loader is ~40x faster; fall back so a missing libyaml is not fatal
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]
MAX_EXTENDS_DEPTH = 5


@dataclass
class SourceMap:
    """Field path -> (file, line, column) of the value, and of the key for mapping entries."""

    values: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, key: bool = False) -> Location:
        """The position of `path`, or of its nearest located ancestor."""
        probe = tuple(path)
        table = self.keys if key else self.values
        while True:
            hit = table.get(probe) or self.values.get(probe)
            if hit:
                return Location(hit[0], hit[1], hit[2], dotted(path))
            if not probe:
                return Location("<unknown>", None, None, dotted(path))
            probe = probe[:-1]

    def replace_subtree(self, prefix: Path_, other: "SourceMap") -> None:
        """Make every position under `prefix` come from `other` (an overlay replaced that value)."""
        n = len(prefix)
        for table in (self.values, self.keys):
            for path in [p for p in table if p[:n] == prefix]:
                del table[path]
        for path, pos in other.values.items():
            if path[:n] == prefix:
                self.values[path] = pos
        for path, pos in other.keys.items():
            if path[:n] == prefix:
                self.keys[path] = pos


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Document:
    file: str
    data: Any
    source: SourceMap


def _mark(file: str, node: yaml.Node) -> tuple[str, int, int]:
    return (file, node.start_mark.line + 1, node.start_mark.column + 1)


_STR_TAG = "tag:yaml.org,2002:str"


class _AliasError(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _walk(file: str, node: yaml.Node, path: Path_, source: SourceMap, problems: list[Problem], loader: Any,
          seen: set[int] | None = None) -> Any:
    """Build the data and the source map in one pass over the composed node tree.

    An alias makes the composer reuse a node; we refuse any node reached twice, which rules out
    recursive aliases and alias-expansion bombs, and keeps every value at exactly one location.
    """
    seen = set() if seen is None else seen
    if id(node) in seen:
        raise _AliasError(node)
    seen.add(id(node))
    source.values[path] = _mark(file, node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG or key_node.value in ("", "<<"):
                shown_key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a non-text key"
                problems.append(Problem(Location(*_mark(file, key_node), dotted(path)),
                                        f"key {shown_key!r} must be plain text; quote it or use a field name"))
                continue
            key = key_node.value
            if key in out:
                problems.append(
                    Problem(Location(*_mark(file, key_node), dotted(path + (key,))), f"duplicate key '{key}'; give each key once")
                )
            source.keys[path + (key,)] = _mark(file, key_node)
            out[key] = _walk(file, value_node, path + (key,), source, problems, loader, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(file, item, path + (i,), source, problems, loader, seen) for i, item in enumerate(node.value)]
    # Plain strings are by far the most common scalar; let PyYAML resolve everything else.
    return node.value if node.tag == _STR_TAG else loader.construct_object(node, deep=True)


def read_yaml(path: Path) -> Document:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(Location(shown), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(Location(shown), f"cannot read the file: {exc}")]) from None
    loader = _Loader(text)
    source = SourceMap()
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        data = _walk(shown, node, (), source, problems, loader) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(shown, mark.line + 1, mark.column + 1) if mark else Location(shown)
        raise InputError([Problem(location, f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(Location(shown), f"invalid YAML: {exc}")]) from None
    except _AliasError as exc:
        raise InputError([Problem(Location(*_mark(shown, exc.node)),
                                  "this value is reused through a YAML alias (*name); aliases are not supported: "
                                  "write the value out, or share it through `extends:`")]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar PyYAML cannot construct
        raise InputError([Problem(Location(shown), f"invalid YAML value: {exc}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InputError([Problem(Location(shown, 1, 1), "the file must hold a YAML mapping (key: value pairs)")])
    if problems:
        raise InputError(problems)
    return Document(shown, data, source)


# ---------------------------------------------------------------- pydantic errors -> located problems

def _unwrap(annotation: Any) -> list[Any]:
    """The model classes and containers an annotation can hold (Optional, Annotated, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, pytypes.UnionType):
        return [inner for arg in typing.get_args(annotation) for inner in _unwrap(arg)]
    return [annotation]


def _model_at(model: type[BaseModel], loc: Path_, data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (None when it is not a model)."""
    current: Any = model
    value = data
    for part in loc:
        candidates = _unwrap(current)
        step = None
        for cand in candidates:
            origin = typing.get_origin(cand)
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                by_alias = {f.alias or name: f for name, f in cand.model_fields.items()}
                if part in by_alias:
                    step = by_alias[part].annotation
                    break
            elif origin is list and isinstance(part, int):
                step = typing.get_args(cand)[0]
                break
            elif origin is dict and isinstance(part, str):
                step = typing.get_args(cand)[1]
                break
        if step is None:
            return None
        current = step
        value = value.get(part) if isinstance(value, dict) else (
            value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else None
        )
    models = [c for c in _unwrap(current) if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) > 1 and isinstance(value, dict):  # a discriminated union: pick by 'type'
        for cand in models:
            literal = cand.model_fields.get("type")
            if literal and value.get("type") in typing.get_args(literal.annotation):
                return cand
    return models[0] if models else None


def _allowed_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    return ", ".join(sorted(f.alias or name for name, f in model.model_fields.items()))


def _field_description(root: type[BaseModel], loc: Path_, data: Any) -> str:
    """The description a field (or its constrained type) carries, for a readable message."""
    if not loc or isinstance(loc[-1], int):
        return ""
    model = _model_at(root, loc[:-1], data)
    if model is None:
        return ""
    by_alias = {f.alias or name: f for name, f in model.model_fields.items()}
    fld = by_alias.get(str(loc[-1]))
    if fld is None:
        return ""
    if fld.description:
        return fld.description
    for meta in fld.metadata:
        if getattr(meta, "description", None):
            return meta.description
    return ""


def _message(error: dict, root: type[BaseModel], data: Any) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(_model_at(root, loc[:-1], data))
        return f"unknown key '{loc[-1]}'; allowed keys here: {allowed}"
    if kind == "missing":
        return f"required key '{loc[-1]}' is missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        help_text = _field_description(root, loc, data) or PATTERN_HELP.get(pattern, f"the pattern {pattern}")
        return f"{value!r} is not allowed here; expected {help_text}"
    if kind in ("string_too_long", "string_too_short"):
        described = _field_description(root, loc, data)
        return error["msg"] + (f" ({described})" if described else "")
    if kind in ("string_type", "int_type", "bool_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
        expected = {
            "string_type": "a string", "int_type": "a whole number", "bool_type": "true or false",
            "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
            "model_attributes_type": "a mapping",
        }[kind]
        hint = ""
        if kind == "string_type" and isinstance(value, (float, int, bool)):
            hint = " (quote it, e.g. '1.30', so YAML keeps it as text)"
        return f"expected {expected}, got {type(value).__name__} {value!r}{hint}"
    if kind == "literal_error":
        return f"{value!r} is not allowed; {error['msg'][0].lower() + error['msg'][1:]}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "missing the 'type' key that says which kind this is"
    return error["msg"]


# Readable grammar for each identifier pattern (see blueprint.models.types).
from blueprint.models import types as _t  # noqa: E402

PATTERN_HELP = {
    _t.DNS_LABEL: "lower-case letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)",
}


def validation_problems(exc: ValidationError, root: type[BaseModel], data: Any, source: SourceMap) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = _data_path(tuple(error["loc"]), data, error["type"])
        message = _message({**error, "loc": loc}, root, data)
        if error["type"] == "union_tag_invalid":
            loc = loc + ("type",)
        on_key = error["type"] == "extra_forbidden" or "[key]" in error["loc"]
        location = source.locate(loc, key=on_key)
        problems.append(Problem(location, message))
    return problems


def _data_path(loc: Path_, data: Any, kind: str) -> Path_:
    """Drop the union-member tags pydantic puts in `loc`, keeping only steps that exist in the data."""
    kept: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        elif index == len(loc) - 1 and kind in ("missing", "extra_forbidden"):
            pass
        else:
            continue
        kept.append(part)
    return tuple(kept)


def validate(model: type[BaseModel], doc: Document) -> Any:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, model, doc.data, doc.source)) from None


# ---------------------------------------------------------------- profiles, extends, environments

def merge(base: Document, overlay: Document) -> Document:
    """Overlay on base: mappings merge key by key, lists and scalars replace (never append)."""
    source = SourceMap(dict(base.source.values), dict(base.source.keys))

    def merged(b: Any, o: Any, path: Path_) -> Any:
        if isinstance(b, dict) and isinstance(o, dict):
            out = dict(b)
            for key, value in o.items():
                if key in out:
                    out[key] = merged(out[key], value, path + (key,))
                else:
                    out[key] = value
                    source.replace_subtree(path + (key,), overlay.source)
            return out
        source.replace_subtree(path, overlay.source)
        return o

    data = merged(base.data, overlay.data, ())
    return Document(overlay.file, data, source)


@dataclass
class LoadedProfile:
    profile: AgentProfile
    file: str
    source: SourceMap
    base: AgentProfile | None = None
    base_file: str | None = None


def _resolve_extends(doc: Document, path: Path, boundary: Path) -> Path:
    target = doc.data.get("extends")
    location = doc.source.locate(("extends",))
    if not isinstance(target, str) or not target.endswith((".yaml", ".yml")):
        raise InputError([Problem(location, "extends must be the relative path of a base profile .yaml file")])
    resolved = (path.parent / target).resolve()
    if boundary.resolve() not in resolved.parents:
        raise InputError([Problem(location, f"extends must stay inside {display_path(boundary)}; got {target!r}")])
    if not resolved.is_file():
        raise InputError([Problem(location, f"extends points at {target!r}, which does not exist")])
    return resolved


def _profile_document(path: Path, boundary: Path, depth: int = 0, chain: tuple[Path, ...] = ()) -> tuple[Document, Document | None]:
    """The profile's merged document, and its base's own merged document (None without extends)."""
    doc = read_yaml(path)
    if "extends" not in doc.data:
        return doc, None
    base_path = _resolve_extends(doc, path, boundary)
    location = doc.source.locate(("extends",))
    if base_path in chain or base_path == path.resolve():
        raise InputError([Problem(location, "extends forms a cycle; a base must not extend the profile")])
    if depth >= MAX_EXTENDS_DEPTH:
        raise InputError([Problem(location, f"extends is nested deeper than {MAX_EXTENDS_DEPTH} levels")])
    base_doc, _ = _profile_document(base_path, boundary, depth + 1, chain + (path.resolve(),))
    overlay = Document(doc.file, {k: v for k, v in doc.data.items()}, doc.source)
    return merge(base_doc, overlay), base_doc


def load_profile(path: Path, boundary: Path) -> LoadedProfile:
    doc, base_doc = _profile_document(path, boundary)
    profile = validate(AgentProfile, doc)
    base = None
    if base_doc is not None:
        # The base stands alone as a profile (its name may come from the overlay) so we can
        # show what an environment grants beyond it.
        data = {k: v for k, v in base_doc.data.items() if k != "extends"}
        data.setdefault("name", profile.name)
        base = validate(AgentProfile, Document(base_doc.file, data, base_doc.source))
    return LoadedProfile(profile, doc.file, doc.source, base, base_doc.file if base_doc else None)


IAM_ROLE_NAME_MAX = 64
METADATA_ADDRESSES = ("169.254.169.254", "fd00:ec2::254")


def _fixed_egress_problems(environment: Environment, source: SourceMap) -> list[Problem]:
    """Addresses the environment itself opens egress to (the API server for agents with API rules,
    the secret backends for the CSI provider pods) follow the same limits as destinations."""
    cluster = environment.cluster
    backends = environment.secret_backends
    fixed: list[tuple[Path_, list[str], list[str]]] = [
        (("cluster", "apiServer", "cidrs"), cluster.api_server.cidrs, cluster.pod_cidrs + cluster.service_cidrs)]
    if backends.vault:
        fixed.append((("secretBackends", "vault", "cidrs"), backends.vault.cidrs, []))
    if backends.aws:
        fixed.append((("secretBackends", "aws", "endpointCidrs"), backends.aws.endpoint_cidrs, []))
    problems = []
    policy = environment.egress_policy
    for path, cidrs, inside in fixed:
        for i, cidr in enumerate(cidrs):
            net = ipaddress.ip_network(cidr)
            widest = policy.widest_ipv4_prefix if net.version == 4 else policy.widest_ipv6_prefix
            message = None
            if net.prefixlen < widest:
                message = f"{cidr} is wider than egressPolicy allows (/{widest}); list the exact endpoint addresses"
            elif any(ipaddress.ip_address(m) in net for m in METADATA_ADDRESSES
                     if ipaddress.ip_address(m).version == net.version):
                message = f"{cidr} includes the cloud metadata address; list the exact endpoint addresses"
            else:
                hit = next((o for o in inside if ipaddress.ip_network(o).version == net.version
                            and net.overlaps(ipaddress.ip_network(o))), None)
                if hit:
                    message = f"{cidr} overlaps the cluster range {hit}; give the endpoint addresses"
            if message:
                problems.append(Problem(source.locate(path + (i,)), message))
    return problems


def _secret_reference_problems(loaded: LoadedProfile, environment: Environment) -> list[Problem]:
    """Secrets need their backend configured in the environment, in its region, with names that fit."""
    problems: list[Problem] = []
    backends = environment.secret_backends
    for i, secret in enumerate(loaded.profile.secrets):
        backend = secret.backend
        configured = getattr(backends, backend)
        if configured is None:
            problems.append(Problem(loaded.source.locate(("secrets", i, backend), key=True),
                                    f"the environment configures no '{backend}' secret backend; add "
                                    f"secretBackends.{backend} to environment.yaml or use another backend"))
            continue
        if secret.aws is not None:
            region = secret.aws.arn.split(":")[3]
            if region != configured.region:
                problems.append(Problem(loaded.source.locate(("secrets", i, "aws", "arn")),
                                        f"secret is in region {region}, but the environment's AWS backend "
                                        f"reads from {configured.region}; use a secret in {configured.region}"))
            if secret.aws.kms_key_arn and secret.aws.kms_key_arn.split(":")[3] != configured.region:
                problems.append(Problem(loaded.source.locate(("secrets", i, "aws", "kmsKeyArn")),
                                        f"the KMS key must be in {configured.region}, the secret's region"))
    if loaded.profile.secret_backend == "aws" and backends.aws is not None:
        role = backends.aws.role_name(environment.name, loaded.profile.name)
        if len(role) > IAM_ROLE_NAME_MAX:
            problems.append(Problem(loaded.source.locate(("name",)),
                                    f"the IAM role name '{role}' would be {len(role)} characters; IAM allows "
                                    f"{IAM_ROLE_NAME_MAX}: shorten the agent name or the environment's rolePrefix"))
    return problems


def _runtime_problems(loaded: LoadedProfile, environment: Environment) -> list[Problem]:
    """A workload needs the environment's runtime settings, its collector, and room in its quota."""
    runtime = loaded.profile.runtime
    if runtime is None:
        if loaded.profile.callers:
            return [Problem(loaded.source.locate(("callers",), key=True),
                            "callers need a workload to call: add 'runtime' or remove 'callers'")]
        return []
    problems = []
    if environment.runtime is None:
        problems.append(Problem(loaded.source.locate(("runtime",), key=True),
                                "the environment has no 'runtime' settings (base image, user id); add them to "
                                "environment.yaml"))
    elif runtime.isolation == "per-session" and environment.runtime.session_broker is None:
        problems.append(Problem(loaded.source.locate(("runtime", "isolation")),
                                "per-session isolation needs the environment's runtime.sessionBroker (who creates "
                                "the sessions)"))
    elif runtime.isolation == "per-session" and environment.runtime.sandbox_controller is None:
        problems.append(Problem(loaded.source.locate(("runtime", "isolation")),
                                "per-session isolation needs the environment's runtime.sandboxController (the "
                                "agent-sandbox release the platform stage installs, with its checksums)"))
    collector = runtime.tracing.collector
    if runtime.tracing.enabled and collector not in environment.destinations:
        problems.append(Problem(loaded.source.locate(("runtime", "tracing", "collector")),
                                f"unknown destination '{collector}'; the environment defines: "
                                f"{', '.join(sorted(environment.destinations)) or 'none'}"))
    if runtime.replicas > loaded.profile.resources.max_pods:
        problems.append(Problem(loaded.source.locate(("runtime", "replicas")),
                                f"{runtime.replicas} replicas do not fit the quota of resources.maxPods "
                                f"{loaded.profile.resources.max_pods}; raise maxPods or lower replicas"))
    return problems


@dataclass
class LoadedEnvironment:
    environment: Environment
    directory: Path
    file: str
    source: SourceMap
    profiles: list[LoadedProfile]


def environment_dir(environments_root: Path, env: str) -> Path:
    return environments_root / env


def load_environment(environments_root: Path, env: str) -> LoadedEnvironment:
    """Load and validate one environment and all its profiles; every problem found is reported."""
    directory = environment_dir(environments_root, env)
    env_file = directory / "environment.yaml"
    if not env_file.is_file():
        known = sorted(p.name for p in environments_root.iterdir() if (p / "environment.yaml").is_file()) \
            if environments_root.is_dir() else []
        raise InputError([Problem(Location(display_path(env_file)),
                                  f"no environment '{env}' (known: {', '.join(known) or 'none'}); "
                                  f"create {display_path(env_file)}")])
    problems: list[Problem] = []
    env_doc = read_yaml(env_file)
    environment: Environment | None = None
    try:
        environment = validate(Environment, env_doc)
    except InputError as exc:
        problems.extend(exc.problems)
    if environment is not None:
        problems.extend(_fixed_egress_problems(environment, env_doc.source))
    if environment is not None and environment.name != env:
        problems.append(Problem(env_doc.source.locate(("name",)),
                                f"name '{environment.name}' must equal the folder name '{env}'"))

    profiles: list[LoadedProfile] = []
    paths = sorted((directory / "agents").glob("*.y*ml"))
    stems: dict[str, Path] = {}
    for path in paths:
        if path.stem in stems:
            problems.append(Problem(Location(display_path(path)),
                                    f"two profiles for agent '{path.stem}' ({stems[path.stem].name} and {path.name}); "
                                    "keep one file per agent"))
        stems.setdefault(path.stem, path)
    for path in paths:
        try:
            loaded = load_profile(path, environments_root)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if loaded.profile.name != path.stem:
            problems.append(Problem(loaded.source.locate(("name",)),
                                    f"name '{loaded.profile.name}' must equal the file name '{path.stem}'"))
        profiles.append(loaded)

    if environment is not None:
        for loaded in profiles:
            for index, dest in enumerate(loaded.profile.egress):
                if dest not in environment.destinations:
                    known = ", ".join(sorted(environment.destinations)) or "none"
                    problems.append(Problem(loaded.source.locate(("egress", index)),
                                            f"unknown destination '{dest}'; the environment defines: {known}"))
            problems.extend(_secret_reference_problems(loaded, environment))
            problems.extend(_runtime_problems(loaded, environment))
            for index, waiver in enumerate(loaded.profile.exceptions):
                if waiver.destination is not None and waiver.destination not in loaded.profile.egress:
                    problems.append(Problem(loaded.source.locate(("exceptions", index, "destination")),
                                            f"exception names destination '{waiver.destination}', "
                                            "which this profile's egress does not list"))
    if problems:
        raise InputError(problems)
    assert environment is not None
    return LoadedEnvironment(environment, directory, env_doc.file, env_doc.source, profiles)
