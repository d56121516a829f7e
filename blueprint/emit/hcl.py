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
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else None
    return _scalar(value)


def _render_items(items: list, depth: int) -> list[str]:
    lines: list[str] = []
    run: list[tuple[str, str]] = []  # consecutive single-line attributes, aligned together
    pad = INDENT * depth

    def flush() -> None:
        if run:
            width = max(len(k) for k, _ in run)
            lines.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
            run.clear()

    for item in items:
        if isinstance(item, Attr):
            single = _single_line(item.value)
            if single is not None:
                run.append((item.key, single))
                continue
            flush()
            lines.append(f"{pad}{item.key} = {{")
            # Object keys are always quoted, so any label key is valid; nested objects nest.
            lines.extend(_render_items([Attr(quote(k), v) for k, v in item.value.items()], depth + 1))
            lines.append(f"{pad}}}")
        elif isinstance(item, Block):
            flush()
            lines.extend(render_block(item, depth))
        elif isinstance(item, Comment):
            flush()
            lines.append(f"{pad}# {item.text}")
        else:
            flush()
            lines.append("")
    flush()
    return lines


def render_block(block: Block, depth: int = 0) -> list[str]:
    pad = INDENT * depth
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    if not block.items:
        return [f"{pad}{head} {{}}"]
    return [f"{pad}{head} {{", *_render_items(block.items, depth + 1), f"{pad}}}"]


def comment_text(text: str) -> str:
    """One comment line: no line breaks or control characters can end the comment early."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def render_file(header: list[str], blocks: list[Block]) -> str:
    """A whole file: comment header, then blocks separated by one blank line, ending in a newline."""
    parts = ["\n".join(f"# {comment_text(line)}" if line else "#" for line in header)]
    parts += ["\n".join(render_block(b)) for b in blocks]
    return "\n\n".join(parts) + "\n"
