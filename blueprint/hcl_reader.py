"""Parse emitted .tf files back with python-hcl2, so gates check what will be applied.

python-hcl2 8 returns string literals as their raw source (quotes and escapes included) and
expressions as `${...}`. We decode literals exactly as Terraform does (backslash escapes, `$${`,
`%%{`) so a gate sees the value Terraform will use, and return anything Terraform would evaluate
(a reference, or a string with an unescaped `${`/`%{` template) as an `Expression`, so a gate can
tell the literal text "${x}" from an interpolation. Blocks keep the `__is_block__` marker so a
block and a map stay distinct.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from blueprint.errors import BlueprintError

_OPTIONS = SerializationOptions(
    strip_string_quotes=False, explicit_blocks=True, with_comments=False, with_meta=False
)
BLOCK_MARK = "__is_block__"
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class HclParseError(BlueprintError):
    """An emitted file does not parse: a generator bug, reported as a failed gate (exit 1)."""


class Expression(str):
    """A value Terraform evaluates (reference, function call, template), not a literal."""


@dataclass(frozen=True)
class Resource:
    """One `resource "type" "name" { ... }` (or, with mode "data", `data ...`) block of a file."""

    type: str
    name: str
    body: dict[str, Any]
    file: str
    mode: str = "managed"

    @property
    def address(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        return f"{prefix}{self.type}.{self.name}"


@dataclass(frozen=True)
class ParsedFile:
    path: str
    document: dict[str, Any]


def decode_literal(raw: str) -> str:
    """Decode the body of a quoted HCL string; an unescaped template marker makes it an Expression."""
    out: list[str] = []
    i, n = 0, len(raw)
    template = False
    while i < n:
        ch = raw[i]
        if ch == "\\" and i + 1 < n:
            nxt = raw[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}.get(nxt)
            if width and i + 2 + width <= n:
                out.append(chr(int(raw[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        if ch in "$%" and raw.startswith(ch * 2 + "{", i):
            out.append(ch + "{")
            i += 3
            continue
        if ch in "$%" and raw.startswith(ch + "{", i):
            template = True
        out.append(ch)
        i += 1
    text = "".join(out)
    return Expression(text) if template else text


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return decode_literal(value[1:-1])
        return Expression(value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        # Keys keep their Expression-ness: `"${var.k}" = ...` or `(var.k) = ...` is not a literal key.
        return {_decode_key(k): _decode(v) for k, v in value.items()}
    return value


def _decode_key(key: Any) -> Any:
    if not isinstance(key, str) or key == BLOCK_MARK:
        return key
    if len(key) >= 2 and key[0] == key[-1] == '"':
        return decode_literal(key[1:-1])
    # A bare identifier (block, attribute or object key) is literal; `(expr)` arrives as `${(expr)}`.
    return Expression(key) if key.startswith("${") else key


def _loads(text: str, path: str) -> dict[str, Any]:
    try:
        return hcl2.loads(text, serialization_options=_OPTIONS)
    except Exception as exc:  # python-hcl2 raises lark errors of many kinds
        raise HclParseError(f"{path}: does not parse as HCL: {exc}") from None


def _decoded(raw: dict[str, Any], path: str) -> dict[str, Any]:
    try:
        return _decode(raw)
    except ValueError as exc:  # a malformed \u or \U escape
        raise HclParseError(f"{path}: a string has an invalid escape: {exc}") from None


def parse_text(text: str, path: str = "<text>", memo: "ParseMemo | None" = None) -> dict[str, Any]:
    if memo is not None:
        return memo.parse_text(text, path)
    return _decoded(_loads(text, path), path)


PARALLEL_MIN_FILES = 64  # below this, starting worker processes costs more than it saves


def _loads_or_error(text: str, path: str) -> dict[str, Any] | HclParseError:
    try:
        return _loads(text, path)
    except HclParseError as exc:
        return exc


def parse_texts(items: list[tuple[str, str]], memo: "ParseMemo | None" = None,
                keep_errors: bool = False) -> list[Any]:
    """Parse many (text, path) pairs; large batches use every core (python-hcl2 is pure Python,
    so threads would not help). Same results, in the same order, as parse_text one by one. With
    keep_errors, a file that does not parse yields its HclParseError instead of raising it."""
    memo = memo if memo is not None else ParseMemo()
    keys = [hashlib.sha256(text.encode("utf-8")).digest() for text, _ in items]
    missing = {}
    for key, (text, path) in zip(keys, items):
        if key not in memo._raw and key not in missing:
            missing[key] = (text, path)
    workers = min(os.cpu_count() or 1, 8)
    if len(missing) >= PARALLEL_MIN_FILES and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            texts = [t for t, _ in missing.values()]
            paths = [p for _, p in missing.values()]
            parsed = list(pool.map(_loads_or_error, texts, paths, chunksize=16))
    else:
        parsed = [_loads_or_error(text, path) for text, path in missing.values()]
    errors: dict[bytes, HclParseError] = {}
    for key, raw in zip(missing, parsed):
        if isinstance(raw, HclParseError):
            errors[key] = raw
        else:
            memo._raw[key] = raw
    out: list[Any] = []
    for key, (_, path) in zip(keys, items):
        try:
            if key in errors:
                raise errors[key]
            out.append(_decoded(memo._raw[key], path))
        except HclParseError as exc:
            if not keep_errors:
                raise
            out.append(exc)
    return out


class ParseMemo:
    """python-hcl2's output by file content, for reads of mostly identical files in one command
    (a diff's two states; a promotion that renders the environment once per agent). Parsing is the
    slow part (~40 ms per agent file); each caller still gets freshly decoded objects."""

    def __init__(self) -> None:
        self._raw: dict[bytes, dict[str, Any]] = {}

    def parse_text(self, text: str, path: str) -> dict[str, Any]:
        key = hashlib.sha256(text.encode("utf-8")).digest()
        raw = self._raw.get(key)
        if raw is None:
            raw = self._raw[key] = _loads(text, path)
        return _decoded(raw, path)


def parse_file(path: Path, relative_to: Path | None = None) -> ParsedFile:
    shown = str(path.relative_to(relative_to)) if relative_to else str(path)
    return ParsedFile(shown, parse_text(path.read_text(encoding="utf-8"), shown))


def resources(parsed: ParsedFile, modes: tuple[str, ...] = ("managed",)) -> list[Resource]:
    """The file's resource blocks; pass modes=("managed", "data") for data sources too."""
    found: list[Resource] = []
    for mode, keyword in (("managed", "resource"), ("data", "data")):
        if mode not in modes:
            continue
        for entry in parsed.document.get(keyword, []):
            for rtype, by_name in entry.items():
                if rtype == BLOCK_MARK:
                    continue
                for rname, body in by_name.items():
                    if rname != BLOCK_MARK:
                        found.append(Resource(rtype, rname, body, parsed.path, mode))
    return found


def parse_root(root: Path) -> tuple[list[ParsedFile], list[Resource]]:
    """Parse every .tf file of one Terraform root, in name order."""
    files = [parse_file(p, root) for p in sorted(root.glob("*.tf"))]
    return files, [r for f in files for r in resources(f)]


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The nested blocks called `name` (an absent block is an empty list)."""
    value = body.get(name, [])
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block called `name`, or {} when absent."""
    found = blocks(body, name)
    return found[0] if found else {}
