"""validate, render and check: the pipeline's own commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from blueprint import pipeline, writer
from blueprint.cli.common import Progress, add_env_args, emit
from blueprint.emit.terraform import stages
from blueprint.errors import BlueprintError, InputError
from blueprint.report import agent_data, gates_text, plan_text, platform_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate an environment's inputs (nothing is written)")
    add_env_args(p)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("render", help="write the environment's Terraform without gating it")
    add_env_args(p, ("table", "json", "manifests"))
    p.add_argument("--out", type=Path, help="output folder (default: build/<env>)")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("check", help="render into a scratch folder, run every gate, and write only if all pass")
    add_env_args(p)
    p.add_argument("--out", type=Path, help="output folder (default: build/<env>)")
    p.add_argument("--sarif", type=Path, metavar="PATH",
                   help="also write the outcome as SARIF 2.1.0 (code scanning), whatever it is")
    p.add_argument("--junit", type=Path, metavar="PATH",
                   help="also write the outcome as JUnit XML (CI test reports), whatever it is")
    p.set_defaults(func=cmd_check)


def _apply_order(files: dict[str, str], out: Path) -> list[str]:
    order = stages(files)
    return ["Apply the stages in this order (each is its own Terraform root):"] + [
        f"  {i}. {stage:<15} cd {out}/{stage} && terraform init && terraform apply" for i, stage in enumerate(order, 1)]


def _write_summary(result: writer.WriteResult, removals: list[pipeline.Removal], out: Path) -> list[str]:
    lines = [f"Wrote {out}/: {len(result.written)} written, {len(result.unchanged)} unchanged, "
             f"{len(result.removed)} removed"]
    for removal in removals:
        lines.append(f"  removed {removal.file}: terraform apply will destroy "
                     f"{', '.join(removal.resources) or 'its resources'}")
    return lines


def _write_data(result: writer.WriteResult, removals: list[pipeline.Removal]) -> dict[str, Any]:
    return {"written": list(result.written), "unchanged": list(result.unchanged),
            "removed": [{"file": r.file, "destroys": list(r.resources)} for r in removals]}


def cmd_validate(args: argparse.Namespace) -> int:
    render = pipeline.render(args.environments, args.env)
    data = {"ok": True, "environment": args.env, "agents": [agent_data(a) for a in render.plan.agents],
            "platform": platform_data(render.plan)}
    emit(args.format, [f"{args.env}: {len(render.plan.agents)} profiles valid; nothing refused."] + [""] + plan_text(render.plan), data)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    render = pipeline.render(args.environments, args.env)
    if args.format == "manifests":
        out = args.out or Path("build") / args.env / "manifests"
        text, count = pipeline.manifests_text(render)
        writer.write_tree(out, {"manifests.yaml": text})
        print(f"Wrote {out}/manifests.yaml: {count} Kubernetes objects of the agents, agents-crd and platform "
              "stages. Not gated: `blueprint check` gates the same objects; cloud identity, Vault and the Helm "
              "releases still need their Terraform stages.")
        return 0
    out = args.out or Path("build") / args.env
    result, removals = pipeline.write(render, out)
    lines = plan_text(render.plan) + [""] + _write_summary(result, removals, out) + _apply_order(render.files, out) + [
        "Not gated: run `blueprint check` before applying."]
    data = {"ok": True, "environment": args.env, "gated": False, "out": str(out), "stages": stages(render.files),
            "agents": [agent_data(a) for a in render.plan.agents], "platform": platform_data(render.plan),
            **_write_data(result, removals)}
    emit(args.format, lines, data)
    return 0


REPORT_NAMES = {"sarif": "SARIF", "junit": "JUnit XML"}


def _write_reports(args: argparse.Namespace, render: pipeline.Render | None, gates: list,
                   error: BlueprintError | None, exit_code: int) -> dict[str, str]:
    """Write the --sarif/--junit reports of this check's outcome, whatever it is; return their paths.

    With an error already on its way, a report that cannot be written joins that error, so
    neither is lost.
    """
    if not (args.sarif or args.junit):
        return {}
    from blueprint.junit import junit_xml
    from blueprint.provenance import trace
    from blueprint.sarif import sarif_log, sarif_text

    out = str(args.out or Path("build") / args.env)
    traced = [trace(g.findings, render.loaded, render.files, out) if render else [] for g in gates]
    written: dict[str, str] = {}
    problems = []
    reports = []
    if args.sarif:
        reports.append(("sarif", args.sarif, lambda: sarif_text(sarif_log([t for items in traced for t in items],
                                                                          gates, error, exit_code))))
    if args.junit:
        reports.append(("junit", args.junit, lambda: junit_xml(args.env, gates, traced, error)))
    for kind, path, text in reports:  # each report on its own: one bad path must not cost the other
        try:
            writer.write_file(path, text())
            written[kind] = str(path)
        except BlueprintError as write_error:
            problems += write_error.problems
    if problems:
        if error is None:
            raise InputError(problems)
        joined = error.problems + problems if error.problems else f"{error.text}\n" + "\n".join(map(str, problems))
        raise type(error)(joined) from None
    return written


def cmd_check(args: argparse.Namespace) -> int:
    render = None
    gates: list = []
    reported = False
    try:
        render = pipeline.render(args.environments, args.env)
        from blueprint.gates.run import run_gates  # imported here: validate/render need no gate tools

        out = args.out or Path("build") / args.env
        scratch = writer.write_scratch(render.files)
        try:
            profiles = [lp.profile for lp in render.loaded.profiles]
            progress = Progress()
            try:
                gates = run_gates(scratch, profiles, render.loaded.environment, progress)
            finally:
                progress.clear()
            ok = all(g.ok for g in gates)
            # Reports first: if one cannot be written the check fails, and then nothing is promoted.
            reported = True
            reports = _write_reports(args, render, gates, None, 0 if ok else 1)
            result = removals = None
            if ok:
                result, removals = pipeline.promote(scratch, render.files, out)
        finally:
            writer.remove_scratch(scratch)
    except BlueprintError as error:  # refused (1), invalid input (2), tool (3): reported, then re-raised
        if not reported:
            _write_reports(args, render, gates, error, error.exit_code)
        raise
    lines = plan_text(render.plan) + gates_text(gates) + [""]
    if ok:
        lines += _write_summary(result, removals, out) + _apply_order(render.files, out) + [
            f"PASS: {args.env} is ready for terraform apply."]
    else:
        lines += [f"FAIL: gates failed; nothing was written to {out}/."]
    lines += [f"Wrote the {REPORT_NAMES[kind]} report to {path}." for kind, path in reports.items()]
    data = {"ok": ok, "environment": args.env, "gated": True, "out": str(out), "stages": stages(render.files),
            "agents": [agent_data(a) for a in render.plan.agents], "platform": platform_data(render.plan),
            "gates": [g.as_dict() for g in gates],
            **(_write_data(result, removals) if ok else {"written": [], "unchanged": [], "removed": []})}
    if reports:
        data["reports"] = reports
    emit(args.format, lines, data)
    return 0 if ok else 1
