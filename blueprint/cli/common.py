"""Shared pieces of the command line: the --env/--environments/--format arguments and output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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


def emit(fmt: str, lines: list[str], data: dict[str, Any]) -> None:
    """Print the JSON document for --format json, else the human lines."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print("\n".join(lines))
