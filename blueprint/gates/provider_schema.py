"""Provider-schema oracle: check emitted resource blocks against a provider's recorded schema.

The kubernetes, vault and helm providers cannot be installed where blueprint runs its gates, so
`terraform validate` is not available for their roots. The PyPI bindings `cdktn-provider-<name>`
are generated from each provider's schema and ship it as a jsii assembly: a tarball
`<package>/_jsii/provider-<name>@<version>.jsii.tgz` holding `package/.jsii` (JSON: every resource
class and every struct with its properties and types) and `package/package.json` (whose
`cdktn.provider` names the provider source and version the bindings were generated from). We read
both with tarfile and json, never importing the package (that would start node through jsii).

How the cdktf/cdktn generator encodes a Terraform schema in the assembly (the rules we decode):

- A resource is a class whose docs summary is `Represents a {@link <docs-url> <terraform type>}`;
  its initializer's `config` parameter is the struct of the resource's top-level arguments.
- Every struct property (one per argument or nested block the user may set; computed-only
  attributes are left out) carries `Docs at Terraform Registry: {@link <url>#<name> <Class>#<name>}`
  where `<name>` is the Terraform name verbatim. We take names from that link only: jsii names
  are camelCase and converting back is a guess (vault's `krb5conf_path` is jsii `krb5ConfPath`).
- A nested block is a property whose description the generator sets to `<name> block`; any other
  struct-typed property is an attribute of object type (a plugin-framework nested attribute).
- A block typed as one struct is a single-item block (max_items = 1, or nesting mode single); a
  block typed as an array of structs is a list/set block without max_items = 1. (A nesting-mode
  single block counts as required when all its attributes are: a generator rule, rare.)
- A property is required when jsii marks it not `optional`: for an attribute, `required` in the
  schema; for a list or set block, min_items >= 1.
- Types: string, number, boolean (bool), any (dynamic or skipped by the generator), arrays (list
  or set: HCL writes both as a list), maps, and structs (objects).

What the assembly cannot tell, hence what this oracle cannot check: limits enforced by a
provider's validators rather than its schema. Plugin-framework resources (in provider kubernetes
3.x: kubernetes_namespace_v1 and kubernetes_role_v1) declare `metadata` as an optional list of
blocks and enforce "exactly one" in code, so a missing or repeated `metadata` there is not caught.
Literal types follow Terraform's conversions: a number or bool is accepted where a string is
expected, a numeric string where a number is, "true"/"false"/"1"/"0" where a bool is.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import tarfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from blueprint.errors import ToolError
from blueprint.hcl_reader import BLOCK_MARK, Expression, Resource

META_ARGUMENTS = frozenset(
    {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
)

_RESOURCE_DOC = re.compile(r"Represents a \{@link \S+ (\w+)\}")
_ARGUMENT_DOC = re.compile(r"\{@link \S+#(\w+) \w+#\1\}")
_TYPE_KEY = re.compile(r'\n    "([^"\n]+)": \{')
_RESOURCE_BASE = re.compile(r'"base": "[\w.]+\.TerraformResource"')
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_BOOL_STRINGS = frozenset({"true", "false", "1", "0"})
_PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool"}  # others: any


class ProviderSchemaError(ToolError):
    """The bindings package is missing or its assembly cannot be read (environment broken)."""


@dataclass(frozen=True)
class Type:
    """The type of an attribute: string, number, bool, any, list, map or object."""

    kind: str
    element: Type | None = None
    fields: Block | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.kind in ("list", "map"):
            return f"{self.kind}({self.element})"
        return self.kind


@dataclass(frozen=True)
class Attribute:
    name: str
    type: Type
    required: bool


@dataclass(frozen=True)
class NestedBlock:
    name: str
    block: Block
    min_items: int
    max_items: int | None


@dataclass(eq=False, repr=False)
class Block:
    """The arguments allowed in one block body (a resource, a nested block or an object value)."""

    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: dict[str, NestedBlock] = field(default_factory=dict)

    def __repr__(self) -> str:  # structs can be recursive: name the members, do not expand them
        return f"Block(attributes={sorted(self.attributes)}, blocks={sorted(self.blocks)})"


@dataclass(eq=False)
class ProviderSchema:
    package: str
    package_version: str
    source: str  # e.g. registry.terraform.io/hashicorp/kubernetes
    provider_version: str  # the provider release the bindings were generated from
    resources: dict[str, Block] = field(repr=False)
    load_seconds: float = 0.0

    @property
    def name(self) -> str:
        """The provider's local name, prefix of its resource types: kubernetes, vault, helm."""
        return self.source.rsplit("/", 1)[-1]

    def resource(self, resource_type: str) -> Block | None:
        return self.resources.get(resource_type)


@cache
def load_provider_schema(package: str = "cdktn_provider_kubernetes") -> ProviderSchema:
    """The schema recorded in an installed cdktn/cdktf provider package, loaded once a process."""
    started = time.perf_counter()
    assembly, package_json = _read_tarball(_find_tarball(package))
    schema = schema_from_assembly(package, assembly, package_json)
    schema.load_seconds = time.perf_counter() - started
    return schema


def _find_tarball(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ProviderSchemaError(
            f"provider schema: Python package {package} is not installed (pip install {dist})"
        )
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("_jsii/*.jsii.tgz"))
    if len(found) != 1:
        raise ProviderSchemaError(f"provider schema: expected one _jsii/*.jsii.tgz in {package}")
    return found[0]


def _read_tarball(path: Path) -> tuple[str, dict[str, Any]]:
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:  # one pass; stop once both members are read
                if member.name in ("package/.jsii", "package/package.json"):
                    data = tar.extractfile(member)
                    members[member.name] = data.read() if data else b""
                    if len(members) == 2:
                        break
        return members["package/.jsii"].decode(), json.loads(members["package/package.json"])
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise ProviderSchemaError(f"provider schema: cannot read {path}: {exc}") from None


def schema_from_assembly(
    package: str, assembly: str, package_json: dict[str, Any]
) -> ProviderSchema:
    """The schema from the `.jsii` text and `package.json` of a provider bindings package."""
    meta = package_json.get("cdktn") or package_json.get("cdktf") or {}
    provider = meta.get("provider") or {}
    if not provider.get("name") or not provider.get("version"):
        raise ProviderSchemaError(f"provider schema: {package}'s package.json names no provider")
    types = _Types(assembly)
    structs: dict[str, Block] = {}
    resources: dict[str, Block] = {}
    for cls in types.resource_classes():
        match = _RESOURCE_DOC.search(cls.get("docs", {}).get("summary", ""))
        params = cls.get("initializer", {}).get("parameters", [])
        config = next((p["type"]["fqn"] for p in params if p["name"] == "config"), None)
        if match and config:
            resources[match.group(1)] = _struct(types, config, structs)
    if not resources:
        raise ProviderSchemaError(f"provider schema: no resources found in {package}'s assembly")
    return ProviderSchema(
        package=package,
        package_version=package_json.get("version", ""),
        source=provider["name"],
        provider_version=provider["version"],
        resources=dict(sorted(resources.items())),
    )


class _Types:
    """The assembly's `types`, decoding only the entries asked for.

    jsii writes the assembly with two-space indentation, so each type starts on a line indented
    by four spaces inside `"types"` (a raw newline never occurs inside a JSON string). Indexing
    those lines and decoding single entries costs a fraction of parsing all of it; any other
    layout falls back to a full parse (0.45 s instead of 1 s for provider kubernetes).
    """

    def __init__(self, text: str):
        self._text = text
        self._decoder = json.JSONDecoder()
        self._parsed: dict[str, Any] | None = None
        self._offsets: dict[str, tuple[int, int]] = {}
        self._decoded: dict[str, dict[str, Any]] = {}
        start = text.find('\n  "types": {\n')
        end = text.find("\n  }", start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            try:
                self._parsed = json.loads(text).get("types") or {}
            except (ValueError, AttributeError) as exc:
                raise ProviderSchemaError(f"provider schema: bad assembly: {exc}") from None
            return
        keys = [(m.group(1), m.end() - 1) for m in _TYPE_KEY.finditer(text, start, end)]
        for (fqn, begin), (_, after) in zip(keys, [*keys[1:], ("", end)]):
            self._offsets[fqn] = (begin, after)

    def get(self, fqn: str) -> dict[str, Any] | None:
        if self._parsed is not None:
            return self._parsed.get(fqn)
        if fqn not in self._decoded and fqn in self._offsets:
            self._decoded[fqn] = self._decoder.raw_decode(self._text, self._offsets[fqn][0])[0]
        return self._decoded.get(fqn)

    def resource_classes(self) -> list[dict[str, Any]]:
        if self._parsed is not None:
            return [t for t in self._parsed.values() if _is_resource_class(t)]
        found = []
        for fqn, (begin, after) in self._offsets.items():
            if _RESOURCE_BASE.search(self._text, begin, after):  # cheap pre-filter, then decode
                entry = self.get(fqn)
                if entry and _is_resource_class(entry):
                    found.append(entry)
        return found


def _is_resource_class(entry: dict[str, Any]) -> bool:
    base = str(entry.get("base", ""))
    return entry.get("kind") == "class" and base.endswith(".TerraformResource")


def _struct(types: _Types, fqn: str, memo: dict[str, Block]) -> Block:
    if fqn in memo:  # shared and recursive structs are built once
        return memo[fqn]
    block = memo[fqn] = Block()
    entry = types.get(fqn)
    if entry is None:
        raise ProviderSchemaError(f"provider schema: struct {fqn} is missing from the assembly")
    for prop in entry.get("properties", []):
        docs = prop.get("docs", {})
        # jsii splits doc comments into summary, remarks and custom tags (an "@hourly" in a
        # description becomes a tag), so the link may be in any of them.
        summary = docs.get("summary", "")
        link = _ARGUMENT_DOC.search(
            " ".join([summary, docs.get("remarks", ""), *docs.get("custom", {}).values()])
        )
        if not link:
            where = f"{fqn}.{prop['name']}"
            raise ProviderSchemaError(f"provider schema: no Terraform name for {where}")
        name, required = link.group(1), not prop.get("optional", False)
        ref = _strip_resolvable(prop["type"])
        target = _block_target(types, ref) if summary.rstrip(".") == f"{name} block" else None
        if target:
            nested = _struct(types, target[0], memo)
            block.blocks[name] = NestedBlock(name, nested, int(required), target[1])
            continue
        block.attributes[name] = Attribute(name, _type(types, ref, memo), required)
    return block


def _block_target(types: _Types, ref: dict[str, Any]) -> tuple[str, int | None] | None:
    """(struct, max_items) of a block: one struct is a single-item block, an array a list or set."""
    max_items: int | None = 1
    if ref.get("collection", {}).get("kind") == "array":
        ref, max_items = ref["collection"]["elementtype"], None
    return (ref["fqn"], max_items) if _is_struct(types, ref) else None


def _is_struct(types: _Types, ref: dict[str, Any]) -> bool:
    return "fqn" in ref and bool((types.get(ref["fqn"]) or {}).get("datatype"))


def _strip_resolvable(ref: dict[str, Any]) -> dict[str, Any]:
    """`T | IResolvable` (how jsii spells "a value or a token") is T."""
    if "union" in ref:
        rest = [t for t in ref["union"]["types"] if not t.get("fqn", "").endswith(".IResolvable")]
        return _strip_resolvable(rest[0]) if len(rest) == 1 else {"primitive": "any"}
    return ref


def _type(types: _Types, ref: dict[str, Any], memo: dict[str, Block]) -> Type:
    ref = _strip_resolvable(ref)
    if "primitive" in ref:  # string, number, boolean; any and json: not checked
        return Type(_PRIMITIVES.get(ref["primitive"], "any"))
    if "collection" in ref:
        kind = "list" if ref["collection"]["kind"] == "array" else "map"
        return Type(kind, _type(types, ref["collection"]["elementtype"], memo))
    if _is_struct(types, ref):
        return Type("object", fields=_struct(types, ref["fqn"], memo))
    return Type("any")


# --- checking parsed HCL ---------------------------------------------------------------------


def check_resource(schema: ProviderSchema, resource: Resource) -> list[str]:
    """Problems of one parsed resource against the schema, as `<address>: <path>: <what>`."""
    block = schema.resource(resource.type)
    if block is None:
        hint = _did_you_mean(resource.type, schema.resources)
        where = f"{schema.source.removeprefix('registry.terraform.io/')} {schema.provider_version}"
        unknown = f'unknown resource type "{resource.type}" in provider {where}{hint}'
        return [f"{resource.address}: {unknown}"]
    problems: list[tuple[str, str]] = []
    _check_body(block, resource.body, "", problems, top=True)
    return [f"{resource.address}: {path}: {message}" for path, message in problems]


def _check_body(
    block: Block, body: dict[str, Any], path: str, out: list[tuple[str, str]], top: bool = False
) -> None:
    dynamic: set[str] = set()
    for key, value in body.items():
        if key == BLOCK_MARK:
            continue
        if top and key in META_ARGUMENTS and not (key in block.attributes or key in block.blocks):
            continue
        where = f"{path}.{key}" if path else key
        is_block = _is_block_list(value)
        if key == "dynamic" and is_block and "dynamic" not in block.blocks:
            dynamic |= _check_dynamic(block, value, where, out)
        elif key in block.attributes:
            if is_block:
                out.append((where, f'is an attribute, not a block (write "{key} = ...")'))
            else:
                _check_value(block.attributes[key].type, value, where, out)
        elif key in block.blocks:
            nested = block.blocks[key]
            if not is_block:
                out.append((where, f'is a block, not an attribute (write "{key} {{ ... }}")'))
                continue
            if nested.max_items is not None and len(value) > nested.max_items:
                limit = f"at most {nested.max_items} allowed, found {len(value)}"
                out.append((where, f"too many blocks: {limit}"))
            for i, item in enumerate(value):
                if _is_block(item):
                    _check_body(nested.block, item, f"{where}[{i}]", out)
                else:
                    out.append((f"{where}[{i}]", "unexpected block label"))
        else:
            hint = _did_you_mean(key, [*block.attributes, *block.blocks])
            out.append((where, f"unknown {'block' if is_block else 'attribute'}{hint}"))
    for name, attribute in block.attributes.items():
        if attribute.required and body.get(name) is None:
            out.append((f"{path}.{name}" if path else name, "missing required attribute"))
    for name, nested in block.blocks.items():
        if nested.min_items and name not in body and name not in dynamic:
            out.append((f"{path}.{name}" if path else name, "missing required block"))


def _check_dynamic(
    block: Block, value: list[Any], where: str, out: list[tuple[str, str]]
) -> set[str]:
    """A `dynamic "<name>"` block must name a nested block; its generated content is not checked."""
    names: set[str] = set()
    for item in value:
        for label in item:
            if label == BLOCK_MARK:
                continue
            if label in block.blocks:
                names.add(label)
            else:
                hint = _did_you_mean(label, block.blocks)
                out.append((f"{where}.{label}", f"unknown block{hint}"))
    return names


def _is_block(item: Any) -> bool:
    return isinstance(item, dict) and item.get(BLOCK_MARK) is True


def _is_block_list(value: Any) -> bool:
    """python-hcl2 gives blocks as a list of marked dicts; a labeled block is wrapped once more."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            _is_block(v) or (isinstance(v, dict) and len(v) == 1 and _is_block([*v.values()][0]))
            for v in value
        )
    )


def _check_value(expected: Type, value: Any, where: str, out: list[tuple[str, str]]) -> None:
    if value is None or isinstance(value, Expression) or expected.kind == "any":
        return  # null means unset; Terraform evaluates expressions, we do not
    if expected.kind == "list":
        if not isinstance(value, list) or _is_block_list(value):
            out.append((where, f"wrong type: expected {expected}, got {_describe(value)}"))
            return
        for i, item in enumerate(value):
            _check_value(expected.element, item, f"{where}[{i}]", out)  # type: ignore[arg-type]
    elif expected.kind in ("map", "object"):
        if not isinstance(value, dict) or _is_block(value):
            out.append((where, f"wrong type: expected {expected}, got {_describe(value)}"))
        elif expected.kind == "object":
            _check_body(expected.fields, value, where, out)  # type: ignore[arg-type]
        else:
            for key, item in value.items():
                where_item = f"{where}[{json.dumps(key)}]"
                _check_value(expected.element, item, where_item, out)  # type: ignore[arg-type]
    elif not _converts(value, expected.kind):
        got = _describe(value) + (f" {json.dumps(value)}" if isinstance(value, str) else "")
        out.append((where, f"wrong type: expected {expected}, got {got}"))


def _converts(value: Any, kind: str) -> bool:
    """Whether Terraform converts this literal to a primitive type (as cty's convert does)."""
    if isinstance(value, (list, dict)):
        return False
    if kind == "string":
        return True
    if kind == "number":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and _NUMBER.fullmatch(value) is not None
        )
    return isinstance(value, bool) or (isinstance(value, str) and value in _BOOL_STRINGS)


def _describe(value: Any) -> str:
    if _is_block_list(value):
        return "block"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "map"


def _did_you_mean(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
