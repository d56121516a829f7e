"""The command line: a thin adapter over the pipeline. The only package that prints or exits.

Each module here registers its own subcommands; this one parses, dispatches and turns errors into
exit codes: 0 ok; 1 a gate failed or least privilege refused the input; 2 the input is invalid;
3 a required tool is missing or broken.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from blueprint import __version__
from blueprint.cli import authoring, core, diff, explain
from blueprint.errors import BlueprintError
from blueprint.report import error_data

COMMAND_MODULES = (core, explain, diff, authoring)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="blueprint",
        description="Turn per-agent permission profiles into gated, least-privilege Terraform.",
    )
    p.add_argument("--version", action="version", version=f"blueprint {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BlueprintError as error:
        if getattr(args, "format", None) == "json":
            print(json.dumps(error_data(error), indent=2, sort_keys=True))
        else:
            label = {2: "invalid input", 1: "refused", 3: "tool error"}.get(error.exit_code, "error")
            print(f"blueprint: {label}:", file=sys.stderr)
            for line in error.text.splitlines():
                print(f"  {line}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def run() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`blueprint ... | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    sys.exit(code)


if __name__ == "__main__":
    run()
