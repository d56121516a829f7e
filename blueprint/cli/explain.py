"""explain: every control of each agent, read back from the emitted files, with the threat it answers."""

from __future__ import annotations

import argparse
from pathlib import Path

from blueprint import explain
from blueprint.cli.common import add_env_args, emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="show each agent's effective permissions and the threats they mitigate")
    p.add_argument("agent", nargs="?", help="one agent (default: every agent of the environment)")
    add_env_args(p, ("text", "markdown", "json"))
    p.add_argument("--from", dest="from_dir", type=Path,
                   help="read an existing output folder (e.g. build/<env>) instead of rendering the inputs")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    result = explain.explain_environment(args.environments, args.env, args.agent, args.from_dir)
    lines = explain.explanation_text(result, markdown=args.format == "markdown")
    emit(args.format, lines, explain.explanation_data(result))
    return 0
