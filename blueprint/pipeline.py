"""The pipeline in one direction: load -> judge -> plan -> emit -> (scratch -> gates -> promote).

cli.py calls these and prints; nothing here prints or exits.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from blueprint.emit.terraform import CSI_MODULE, SANDBOX_MODULE, emit_environment
from blueprint.errors import Problem, RefusedError, ToolError
from blueprint.loader import LoadedEnvironment, dotted, load_environment
from blueprint.plan.build import plan_agent, plan_environment
from blueprint.plan.least_privilege import Judgement, judge
from blueprint.plan.objects import EnvironmentPlan
from blueprint import writer


@dataclass
class Render:
    loaded: LoadedEnvironment
    plan: EnvironmentPlan
    files: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)


def refusal_problems(loaded: LoadedEnvironment, judgements: list[Judgement]) -> list[Problem]:
    """Every least-privilege refusal no exception waives, plus exceptions that waive nothing."""
    problems: list[Problem] = []
    for lp, judgement in zip(loaded.profiles, judgements):
        for refusal in judgement.refused:
            message = refusal.message
            if refusal.env_path is not None:
                what = "destination defined at" if refusal.destination else "environment setting at"
                message += f" ({what} {loaded.source.locate(refusal.env_path)} {dotted(refusal.env_path)})"
            problems.append(Problem(lp.source.locate(refusal.profile_path), f"[{refusal.code}] {message}"))
        for index, waiver in judgement.unused:
            problems.append(Problem(lp.source.locate(("exceptions", index)),
                                    f"[unused-exception] exception '{waiver.name}' waives nothing in this "
                                    "profile; remove it so it cannot silently waive a later change"))
    return problems


def modules_dir() -> Path:
    """Our hand-written Terraform modules: $BLUEPRINT_MODULES, else the repository's modules/."""
    explicit = os.environ.get("BLUEPRINT_MODULES")
    candidates = [Path(explicit)] if explicit else [Path(__file__).resolve().parents[1] / "modules",
                                                    Path.cwd() / "modules"]
    for candidate in candidates:
        if (candidate / CSI_MODULE / "main.tf").is_file():
            return candidate
    raise ToolError(f"the Terraform modules were not found (looked in {', '.join(map(str, candidates))}); "
                    "set BLUEPRINT_MODULES to the modules/ folder of the blueprint repository")


def module_files(name: str) -> dict[str, str]:
    """A module's files and its local submodules, to copy next to the root that calls it (the
    output is self-contained). Its tests stay behind: they are not part of what is applied."""
    folder = modules_dir() / name
    return {f"platform/modules/{name}/{p.relative_to(folder).as_posix()}": p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".tf", ".md")
            and "tests" not in p.relative_to(folder).parts and ".terraform" not in p.relative_to(folder).parts}


def render(environments_root: Path, env: str) -> Render:
    """Load, refuse what breaks least privilege, plan and emit. Raises InputError / RefusedError."""
    t0 = time.perf_counter()
    loaded = load_environment(environments_root, env)
    t1 = time.perf_counter()
    judgements = [judge(lp.profile, loaded.environment) for lp in loaded.profiles]
    problems = refusal_problems(loaded, judgements)
    if problems:
        raise RefusedError(problems)
    agents = [plan_agent(lp.profile, loaded.environment, judgement, lp.file, lp.base)
              for lp, judgement in zip(loaded.profiles, judgements)]
    plan = plan_environment(loaded.environment, loaded.file, agents)
    t2 = time.perf_counter()
    files = emit_environment(plan)
    modules = ([CSI_MODULE] if plan.csi is not None else []) + ([SANDBOX_MODULE] if plan.sandbox_controller else [])
    if modules:
        files = dict(sorted({**files, **{k: v for m in modules for k, v in module_files(m).items()}}.items()))
    t3 = time.perf_counter()
    return Render(loaded, plan, files, {"load": t1 - t0, "plan": t2 - t1, "emit": t3 - t2})


@dataclass(frozen=True)
class Removal:
    file: str
    resources: tuple[str, ...]


def pending_removals(out_dir: Path, files: dict[str, str]) -> list[Removal]:
    """Files a write would remove, with the resources `terraform apply` would then destroy."""
    from blueprint import hcl_reader  # only needed when something is removed

    removals = []
    for rel in writer.stale_files(out_dir, files):
        try:
            parsed = hcl_reader.parse_file(out_dir / rel, out_dir)
            addresses = tuple(r.address for r in hcl_reader.resources(parsed))
        except hcl_reader.HclParseError:
            addresses = ()
        removals.append(Removal(rel, addresses))
    return removals


def write(render_: Render, out_dir: Path) -> tuple[writer.WriteResult, list[Removal]]:
    removals = pending_removals(out_dir, render_.files)
    return writer.write_tree(out_dir, render_.files), removals


def promote(scratch: Path, files: dict[str, str], out_dir: Path) -> tuple[writer.WriteResult, list[Removal]]:
    """Move gated files into out_dir: the bytes written are the bytes the gates read."""
    gated = {rel: (scratch / rel).read_text(encoding="utf-8") for rel in files}
    removals = pending_removals(out_dir, gated)
    return writer.write_tree(out_dir, gated), removals


def manifests_text(render_: Render) -> tuple[str, int]:
    """The Kubernetes objects the emitted Terraform creates, as one YAML stream (for GitOps)."""
    from blueprint.emit.manifests import dump_manifests, manifests_from_resources
    from blueprint import hcl_reader

    resources = [
        r for path, text in render_.files.items()
        if path.endswith(".tf") and (path.startswith(("agents/", "agents-crd/")) or path == "platform/main.tf")
        for r in hcl_reader.resources(hcl_reader.ParsedFile(path, hcl_reader.parse_text(text, path)))
    ]
    objects = manifests_from_resources(resources)
    return dump_manifests(objects), len(objects)
