"""Authoring support: `blueprint schema` (JSON Schema for editors) and `blueprint new agent`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from blueprint import scaffold, schema_export
from blueprint.cli.common import add_env_args, add_format_arg, emit
from blueprint.loader import display_path


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    p = sub.add_parser("schema", help="print or write the JSON Schema of profiles and environments (for editors)")
    p.add_argument("which", nargs="?", choices=(*schema_export.NAMES, "all"), default="all",
                   help="which schema (default: all)")
    p.add_argument("--out", type=Path, help="write <name>.schema.json files into this folder instead of printing")
    add_format_arg(p, ("json", "table"))
    p.set_defaults(func=cmd_schema)

    new = sub.add_parser("new", help="scaffold a new input file")
    kinds = new.add_subparsers(dest="kind", required=True, metavar="KIND")
    p = kinds.add_parser("agent", help="a minimal least-privilege profile at <environments>/<env>/agents/NAME.yaml")
    p.add_argument("name", metavar="NAME", help="the agent's name (also its file name)")
    add_env_args(p)
    p.add_argument("--namespace", help="the namespace the example Kubernetes rule in the comments points at")
    p.set_defaults(func=cmd_new_agent)


def cmd_schema(args: argparse.Namespace) -> int:
    names = list(schema_export.NAMES) if args.which == "all" else [args.which]
    files = schema_export.files(names)
    rows = [f"  {name:<12} {schema_export.file_name(name):<24} {len(files[schema_export.file_name(name)]):>7} bytes"
            for name in names]
    if args.out is None:
        if args.format == "json":  # the output is the schema itself, ready to redirect into a file
            data = {name: schema_export.schema(name) for name in names}
            print(json.dumps(data if args.which == "all" else data[args.which], indent=2, ensure_ascii=False))
        else:
            print("\n".join(["JSON Schemas (draft 2020-12); write them with --out DIR:", *rows]))
        return 0
    written, unchanged = schema_export.write(args.out, files)
    emit(args.format, [f"Wrote {args.out}/: {len(written)} written, {len(unchanged)} unchanged", *rows],
         {"ok": True, "out": str(args.out), "written": written, "unchanged": unchanged})
    return 0


def cmd_new_agent(args: argparse.Namespace) -> int:
    created = scaffold.create(args.environments, args.env, args.name, args.namespace)
    path = display_path(created.path)
    lines = [f"Created {path}: no API rules, no egress beyond DNS, no secrets"
             + (", a shared workload." if created.has_runtime else "."),
             "Replace the PLACEHOLDER values, then widen it only as far as the agent needs.",
             f"Next: blueprint validate --env {args.env}" + (f" --environments {args.environments}"
                                                             if args.environments != Path("environments") else "")]
    emit(args.format, lines, {"ok": True, "environment": args.env, "agent": args.name, "file": path,
                              "runtime": created.has_runtime})
    return 0
