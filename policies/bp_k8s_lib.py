"""Value helpers shared by the blueprint checkov pack. Not a check: it defines no `check`.

checkov hands a Python resource check the resource's configuration with every attribute value
wrapped in a one-element list (`verbs = ["get"]` arrives as `[["get"]]`, `name = "x"` as `["x"]`,
a map as `[{...}]`) and every nested block as a list of dicts (one dict per block). A reference
it could not resolve arrives as text (`"${var.x}"`, or a bare `"var.x"` inside a list), and a
`dynamic` block leaves a `dynamic` key behind. blueprint emits literal values only, so every
helper here returns None for anything that is not a literal of the expected shape, and a check
treats None as a failure: a value a check needs that is missing or not literal never passes.

checkov loads this file as a module named `bp_k8s_lib` (it puts the pack folder on sys.path
before loading), which is how the checks import it.
"""

from __future__ import annotations

import re
from typing import Any

_RESOURCE_RE = re.compile(r"^[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)?$")
_VERB_RE = re.compile(r"^[a-z]+$")
_API_GROUP_RE = re.compile(r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?)?$")
# What checkov leaves for a reference it could not resolve, when not wrapped in `${...}`:
# `var.x`, `local.x`, `each.value`, ... or a resource attribute (`kubernetes_role_v1.r.metadata`;
# resource types always contain `_`, which no Kubernetes name or API group does).
_REFERENCE_RE = re.compile(
    r"^(var|local|module|data|each|count|path|terraform|self)\.[A-Za-z_]|^[a-z][a-z0-9]*_[a-z0-9_]*\.[A-Za-z_]"
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def attr(block: Any, key: str) -> Any:
    """An attribute's value without checkov's one-element list, or MISSING.

    A literal attribute always arrives wrapped in a one-element list; anything else (an
    unresolved list variable arrives as a bare `[]`) is not a literal and reads as MISSING.
    """
    if not isinstance(block, dict) or key not in block:
        return MISSING
    value = block[key]
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return MISSING


def is_literal_str(value: Any) -> bool:
    """A string Terraform uses as written: no template and not an unresolved reference."""
    return (
        isinstance(value, str)
        and "${" not in value
        and "%{" not in value
        and not _REFERENCE_RE.match(value)
    )


def attr_str(block: Any, key: str) -> str | None:
    """A literal string attribute of a block, or None when missing or not literal."""
    value = attr(block, key)
    return value if is_literal_str(value) else None


def attr_strings(block: Any, key: str) -> list[str] | None:
    """A literal list-of-strings attribute of a block, or None when missing or not literal."""
    value = attr(block, key)
    if not isinstance(value, list) or not all(is_literal_str(v) for v in value):
        return None
    return list(value)


def attr_map(block: Any, key: str) -> dict[str, Any] | None:
    """A literal map attribute of a block, or None when missing or not a map."""
    value = attr(block, key)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return None
    return value


def blocks(block: Any, key: str) -> list[dict[str, Any]]:
    """The nested blocks named `key` (empty when there are none)."""
    if not isinstance(block, dict):
        return []
    value = block.get(key)
    if not isinstance(value, list):
        return []
    return [b if isinstance(b, dict) else {"__not_a_block__": b} for b in value]


def single_block(block: Any, key: str) -> dict[str, Any] | None:
    """The one nested block named `key`, or None when it is missing or repeated."""
    found = blocks(block, key)
    return found[0] if len(found) == 1 else None


def has_dynamic(value: Any) -> bool:
    """True when a `dynamic` block appears anywhere: its content is not literal."""
    if isinstance(value, dict):
        return "dynamic" in value or any(has_dynamic(v) for v in value.values())
    if isinstance(value, list):
        return any(has_dynamic(v) for v in value)
    return False


_HCL_ESCAPE_RE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_HCL_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def hcl_unescape(text: str) -> str:
    """Decode HCL string escapes (`\\n`, `\\"`, `\\\\`, `\\uXXXX`, ...) as Terraform does.

    checkov's renderer decodes a quoted string only when it renders it; a string longer than
    CHECKOV_RENDER_MAX_LEN (10,000 characters) reaches a check as its source text, escapes
    included. Decoding is the safe direction: `\\u002a` is a `*` to Terraform.
    """

    def replace(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        if code:
            return chr(int(code, 16))
        char = match.group(3)
        return _HCL_SIMPLE_ESCAPES.get(char, "\\" + char)

    return _HCL_ESCAPE_RE.sub(replace, text)


def scalar_text(value: Any) -> str | None:
    """A literal scalar (string or number) as text, or None; booleans are not quantities.

    For values inside a map (not wrapped); use `scalar_text(attr(block, key))` for attributes.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if is_literal_str(value) and value.strip():
        return value
    return None


def valid_verb(verb: str) -> bool:
    return bool(_VERB_RE.match(verb))


def valid_resource(resource: str) -> bool:
    return bool(_RESOURCE_RE.match(resource))


def valid_api_group(group: str) -> bool:
    return bool(_API_GROUP_RE.match(group))


# ------------------------------------------------------------------ kubernetes_manifest

SPC_KIND = "SecretProviderClass"
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"


class NotApplicable(Exception):
    """The kubernetes_manifest holds another kind: the check does not apply."""


def manifest_of_kind(conf: Any, kind: str) -> dict[str, Any] | None:
    """The literal `manifest` object of a kubernetes_manifest when it is of `kind`.

    checkov hands `manifest = { ... }` over as one wrapped dict whose nested maps and lists are
    plain (not wrapped again). Raises NotApplicable for another literal kind; returns None when the
    manifest or its kind is not literal (a `yamldecode(file(...))`, a variable), which a check fails.
    """
    manifest = attr(conf, "manifest")
    if not isinstance(manifest, dict):
        return None
    found = manifest.get("kind")
    if not is_literal_str(found):
        return None
    if found != kind:
        raise NotApplicable(found)
    return manifest
