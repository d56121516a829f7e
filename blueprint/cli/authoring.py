"""Placeholder: filled in by the authoring work (issue 5). Registers no command yet."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
