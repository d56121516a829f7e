"""Shared pieces of the command line: the --env/--environments/--format arguments, output,
colours and progress.

Colours only when the stream is a terminal (and NO_COLOR is unset); progress only on an
interactive stderr outside CI, so logs and pipes stay plain and machine-readable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO


def add_env_args(p: argparse.ArgumentParser, formats: tuple[str, ...] = ("table", "json"),
                 env_required: bool = True) -> None:
    """The arguments every environment-scoped command takes."""
    p.add_argument("--env", required=env_required, help="environment name (a folder under --environments)")
    p.add_argument("--environments", type=Path, default=Path("environments"),
                   help="folder holding <env>/environment.yaml and <env>/agents/ (default: environments)")
    add_format_arg(p, formats)


def add_format_arg(p: argparse.ArgumentParser, formats: tuple[str, ...] = ("table", "json")) -> None:
    p.add_argument("--format", choices=formats, default=formats[0],
                   help="output format" + ("; 'manifests' writes the Kubernetes objects as YAML for GitOps"
                                           if "manifests" in formats else ""))


def colour_enabled(stream: TextIO) -> bool:
    """https://no-color.org: NO_COLOR turns colour off; FORCE_COLOR turns it on; else only a TTY."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def interactive(stream: TextIO) -> bool:
    """Progress is for a person watching a terminal; CI logs get the final report only."""
    return stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


_STYLES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
# Words the reports use for outcomes, coloured where they stand alone.
_HIGHLIGHTS = [
    (re.compile(r"(?<![\w-])(FAIL|REFUSED|WIDENING)(?![\w-])"), "red"),
    (re.compile(r"(?<![\w-])(WARNING)(?=:)"), "yellow"),
    (re.compile(r"(?<![\w-])(PASS|pass)(?![\w-])"), "green"),
]


def style(text: str, name: str) -> str:
    return f"\033[{_STYLES[name]}m{text}\033[0m"


def highlight(line: str) -> str:
    for pattern, name in _HIGHLIGHTS:
        line = pattern.sub(lambda m: style(m.group(1), name), line)
    return line


def emit(fmt: str, lines: list[str], data: dict[str, Any]) -> None:
    """Print the JSON document for --format json, else the human lines (coloured on a TTY)."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    if colour_enabled(sys.stdout):
        lines = [highlight(line) for line in lines]
    print("\n".join(lines))


class Progress:
    """One status line on stderr, rewritten in place: what runs now, what finished, elapsed time.
    Does nothing unless stderr is an interactive terminal outside CI."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = interactive(self.stream) if enabled is None else enabled
        self.started = time.perf_counter()
        self.lock = threading.Lock()  # gates report from worker threads
        self.done: list[str] = []
        self.width = 0

    def __call__(self, event: str) -> None:
        """`event` is 'start NAME' or 'done NAME' (as blueprint.gates.run reports them)."""
        if not self.enabled:
            return
        with self.lock:
            kind, _, name = event.partition(" ")
            if kind == "done":
                self.done.append(name)
            elapsed = time.perf_counter() - self.started
            text = f"  {elapsed:5.1f}s  {'running' if kind == 'start' else 'finished'} {name}  ({len(self.done)} done)"
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.width:
            with self.lock:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
                self.width = 0
