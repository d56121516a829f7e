"""A small HCL writer whose output is already `terraform fmt` clean.

Only what blueprint emits: blocks, attributes with strings, numbers, bools, lists of scalars,
maps of strings, and raw references (for depends_on). fmt aligns the `=` of consecutive
single-line attributes; a block, a multi-line map or a blank line ends the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

INDENT = "  "


@dataclass(frozen=True)
class Ref:
    """A Terraform reference written bare (e.g. kubernetes_namespace_v1.x)."""

    text: str


Scalar = Union[str, int, bool, Ref]
Value = Union[Scalar, list, dict]


@dataclass
class Block:
    type: str
    labels: tuple[str, ...] = ()
    items: list = field(default_factory=list)  # of Attr | Block | Comment | Blank

    def attr(self, key: str, value: Value) -> "Block":
        self.items.append(Attr(key, value))
        return self

    def block(self, type_: str, *labels: str) -> "Block":
        child = Block(type_, tuple(labels))
        self.items.append(child)
        return child

    def comment(self, text: str) -> "Block":
        self.items.append(Comment(comment_text(text)))
        return self

    def blank(self) -> "Block":
        self.items.append(Blank())
        return self


@dataclass(frozen=True)
class Attr:
    key: str
    value: Value


@dataclass(frozen=True)
class Blank:
    pass


@dataclass(frozen=True)
class Comment:
    """A `#` comment line inside a block (checkov reads `# checkov:skip=ID:reason` from here)."""

    text: str


_SAFE = re.compile(r"[A-Za-z0-9 ._/:@,+=()'*#!?;<>\[\]~^&|-]*")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES.update({chr(c): f"\\u{c:04x}" for c in [*range(0x20), 0x7F] if chr(c) not in _ESCAPES})
_TRANSLATE = str.maketrans(_ESCAPES)
DIRECTIVE = re.compile(r"(checkov|bridgecrew|cortex|prisma)(\s*):", re.IGNORECASE)


@lru_cache(maxsize=65536)
def quote(text: str) -> str:
    """An HCL string literal whose value is exactly `text`: no interpolation can survive."""
    if _SAFE.fullmatch(text) and not DIRECTIVE.search(text):  # the common case: identifiers, labels, CIDRs
        return f'"{text}"'
    body = text.translate(_TRANSLATE)
    # checkov reads `checkov:skip=` anywhere on a line, even inside a string: a description must not
    # switch checks off. The unicode escape keeps the value and hides the directive.
    body = DIRECTIVE.sub(lambda m: m.group(1) + m.group(2) + "\\u003a", body)
    # `${` and `%{` would start an interpolation or a directive. Terraform reads both `$${` and
    # `\u0024{` as the literal text; python-hcl2 (our gates' parser) rejects a `$${` with no later
    # `}`, so we write the unicode escape, which every parser reads literally.
    body = body.replace("${", "\\u0024{").replace("%{", "\\u0025{")
    return f'"{body}"'


def _scalar(value: Scalar) -> str:
    if isinstance(value, Ref):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


def _single_line(value: Value) -> str | None:
    kind = type(value)
    if kind is str:
        return quote(value)  # type: ignore[arg-type]
    if kind is list:
        if any(type(v) in (dict, list) for v in value):  # type: ignore[union-attr]
            return None  # a list of objects is written one element per line
        return "[" + ", ".join([_scalar(v) for v in value]) + "]"  # type: ignore[union-attr]
    if kind is dict:
        return None if value else "{}"
    return _scalar(value)  # type: ignore[arg-type]


def _render_items(items: list, depth: int, out: list[str]) -> None:
    """Append the lines of `items` to `out` (one shared list: this is the render hot path)."""
    run: list[tuple[str, str]] = []  # consecutive single-line attributes, aligned together
    pad = INDENT * depth

    def flush() -> None:
        width = max([len(k) for k, _ in run])
        out.extend([f"{pad}{k.ljust(width)} = {v}" for k, v in run])
        run.clear()

    for item in items:
        kind = type(item)
        if kind is Attr:
            single = _single_line(item.value)
            if single is not None:
                run.append((item.key, single))
                continue
            if run:
                flush()
            if type(item.value) is list:
                out.append(f"{pad}{item.key} = [")
                _render_elements(item.value, depth + 1, out)
                out.append(f"{pad}]")
                continue
            out.append(f"{pad}{item.key} = {{")
            # Object keys are always quoted, so any label key is valid; nested objects nest.
            _render_items([Attr(quote(k), v) for k, v in item.value.items()], depth + 1, out)
            out.append(f"{pad}}}")
            continue
        if run:
            flush()
        if kind is Block:
            _render_block(item, depth, out)
        elif kind is Comment:
            out.append(f"{pad}# {item.text}")
        else:
            out.append("")
    if run:
        flush()


def _render_elements(values: list, depth: int, out: list[str]) -> None:
    """The elements of a multi-line list, each followed by a comma (as terraform fmt keeps them)."""
    pad = INDENT * depth
    for value in values:
        if type(value) is dict and value:
            out.append(f"{pad}{{")
            _render_items([Attr(quote(k), v) for k, v in value.items()], depth + 1, out)
            out.append(f"{pad}}},")
        elif type(value) is list and any(type(v) in (dict, list) for v in value):
            out.append(f"{pad}[")
            _render_elements(value, depth + 1, out)
            out.append(f"{pad}],")
        else:
            out.append(f"{pad}{_single_line(value)},")


def _render_block(block: Block, depth: int, out: list[str]) -> None:
    pad = INDENT * depth
    head = " ".join([block.type, *[quote(label) for label in block.labels]])
    if not block.items:
        out.append(f"{pad}{head} {{}}")
        return
    out.append(f"{pad}{head} {{")
    _render_items(block.items, depth + 1, out)
    out.append(f"{pad}}}")


def render_block(block: Block, depth: int = 0) -> list[str]:
    out: list[str] = []
    _render_block(block, depth, out)
    return out


def comment_text(text: str) -> str:
    """One comment line: no line breaks or control characters can end the comment early."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def render_file(header: list[str], blocks: list[Block]) -> str:
    """A whole file: comment header, then blocks separated by one blank line, ending in a newline."""
    parts = ["\n".join(f"# {comment_text(line)}" if line else "#" for line in header)]
    parts += ["\n".join(render_block(b)) for b in blocks]
    return "\n\n".join(parts) + "\n"
