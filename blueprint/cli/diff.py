"""diff: a semantic permission diff between two states of an environment, widening first."""

from __future__ import annotations

import argparse
from pathlib import Path

from blueprint import diff
from blueprint.cli.common import add_env_args, emit
from blueprint.errors import InputError, Location, Problem


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="what two states grant differently (a git revision, two output folders, "
                                    "or a promotion), widening first")
    add_env_args(p, ("text", "markdown", "json"), env_required=False)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--base", metavar="REV", help="git revision whose inputs to compare with the working tree "
                                                    "(both rendered by this blueprint); needs --env")
    mode.add_argument("--old", type=Path, metavar="DIR", help="an existing output folder (with --new)")
    mode.add_argument("--promote", nargs=2, metavar=("FROM", "TO"),
                      help="what promoting FROM's agent profiles into TO would change in TO")
    p.add_argument("--new", type=Path, metavar="DIR", help="the output folder to compare --old with")
    p.add_argument("--fail-on-widening", action="store_true", help="exit 1 when anything widens")
    p.set_defaults(func=cmd_diff)


def _usage_error(message: str) -> InputError:
    return InputError([Problem(Location("blueprint diff"), message)])


def cmd_diff(args: argparse.Namespace) -> int:
    if (args.old is None) != (args.new is None):
        raise _usage_error("--old and --new go together: give both output folders")
    if args.base is not None:
        if not args.env:
            raise _usage_error("--base needs --env: the environment to compare")
        result = diff.diff_base(args.environments, args.env, args.base)
    elif args.old is not None:
        result = diff.diff_folders(args.old, args.new)
    else:
        result = diff.diff_promote(args.environments, *args.promote)
    lines = diff.diff_markdown(result) if args.format == "markdown" else diff.diff_text(result)
    emit(args.format, lines, diff.diff_data(result))
    if result.blocked:
        return 1  # least privilege (or the target's inputs) would refuse the promotion
    return 1 if args.fail_on_widening and result.widens else 0
