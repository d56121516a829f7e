r"""Vault policy helpers shared by the BP_VAULT checks. Not a check: it defines no `check`.

`vault_policy.policy` reaches a check as text, but not always the text Terraform sends to Vault:
checkov's variable renderer (strings up to CHECKOV_RENDER_MAX_LEN, 10,000 characters) deletes
every newline, turns `=` inside braces into `:` and unwraps `${x}` into `x`:

    path "secret/data/a" {\n  capabilities = ["read"]\n}\n   ->   path "secret/data/a" {  capabilities : ["read"]}

Longer strings arrive as their HCL source text, escapes (`\n`, `\"`) not decoded; `parse_policy`
decodes them. It then reads both forms: a sequence of
`path "<path>" { capabilities = [<strings>] }` blocks with `=` or `:`, and nothing else.
Comments are refused: with the newlines gone, a `#` comment would swallow the rules after it, so
the check could not see what Vault will see. Other path-rule keys (`allowed_parameters`,
`min_wrapping_ttl`, ...) are refused too: blueprint emits only `capabilities`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bp_k8s_lib import hcl_unescape, is_literal_str

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[{}\[\]=:,])
  | (?P<comment>\#|//|/\*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# What checkov leaves of an interpolation `${var.x}` inside the text: a path segment `var.x`.
_REFERENCE_SEGMENT_RE = re.compile(r"^(var|local|module|data|each|count|path|terraform|self)\.[A-Za-z_]")


class VaultPolicyError(Exception):
    """The policy text is not a sequence of literal path blocks; the message says why."""


@dataclass(frozen=True)
class PathRule:
    path: str
    capabilities: tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group()
        if kind == "space":
            continue
        if kind == "comment":
            raise VaultPolicyError(
                "the policy has a comment: checkov joins the lines, so a comment would hide the rules after "
                "it; remove comments from the policy text"
            )
        if kind == "other":
            raise VaultPolicyError(f"unexpected {value!r} at offset {match.start()}: only path blocks are allowed")
        tokens.append((kind, value))
    return tokens


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_policy(text: object) -> list[PathRule]:
    """The path rules of a Vault HCL policy in the subset blueprint emits, or VaultPolicyError."""
    if isinstance(text, str) and "\\" in text:
        text = hcl_unescape(text)  # longer than checkov's render limit: still HCL source text
    if not is_literal_str(text):
        raise VaultPolicyError(f"policy is not literal text (a variable, reference or template): {str(text)[:80]!r}")
    tokens = _tokens(text)
    rules: list[PathRule] = []
    i = 0

    def expect(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens):
            raise VaultPolicyError(f"the policy ends early: expected {value or kind}")
        got_kind, got = tokens[i]
        if got_kind != kind or (value is not None and got not in value.split("|")):
            raise VaultPolicyError(f"expected {value or kind}, found {got!r}")
        i += 1
        return got

    while i < len(tokens):
        expect("ident", "path")
        path = _unquote(expect("string"))
        expect("punct", "{")
        capabilities: list[str] | None = None
        while i < len(tokens) and tokens[i] != ("punct", "}"):
            key = expect("ident")
            if key != "capabilities":
                raise VaultPolicyError(f'path "{path}" sets {key!r}: blueprint policies set only capabilities')
            if capabilities is not None:
                raise VaultPolicyError(f'path "{path}" sets capabilities twice')
            expect("punct", "=|:")
            expect("punct", "[")
            capabilities = []
            while i < len(tokens) and tokens[i] != ("punct", "]"):
                capabilities.append(_unquote(expect("string")))
                if i < len(tokens) and tokens[i] == ("punct", ","):
                    i += 1
            expect("punct", "]")
        expect("punct", "}")
        if capabilities is None:
            raise VaultPolicyError(f'path "{path}" sets no capabilities')
        rules.append(PathRule(path, tuple(capabilities)))
    if not rules:
        raise VaultPolicyError("the policy has no path rule")
    return rules


def path_problem(path: str) -> str | None:
    """Why a policy path is not one literal, non-glob, non-system path (None: it is fine)."""
    if not path:
        return "an empty path"
    if "*" in path or "+" in path:
        return "a glob ('*' or '+'): name each secret's exact path"
    if path.startswith("/") or "//" in path or path.endswith("/"):
        return "not a clean path (leading, trailing or double '/')"
    if any(_REFERENCE_SEGMENT_RE.match(segment) for segment in path.split("/")):
        return "an unresolved Terraform reference (checkov renders ${var.x} as var.x): write the path literally"
    if path.split("/", 1)[0] in ("sys", "auth"):
        return "a Vault system or auth path: agents read only secret paths"
    return None
