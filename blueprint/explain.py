"""`blueprint explain`: every control of each agent, the threat each one mitigates, and the gaps.

The controls are the facts read back from the emitted files (blueprint.permissions); this module
tags them with the OWASP Agentic AI threats they answer and formats the result as text, markdown
or JSON data. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blueprint import hcl_reader, pipeline, writer
from blueprint.errors import BlueprintError, InputError, Location, Problem
from blueprint.loader import (
    LoadedEnvironment,
    display_path,
    environment_dir,
)
from blueprint.permissions import (
    HEADER,
    AgentPermissions,
    Fact,
    location_text,
    read_output,
)

# OWASP Agentic AI threats (Agentic AI - Threats and Mitigations, T1-T15) the controls answer.
# Data exfiltration has no number of its own there (it is where T2/T3 lead); we use the OWASP LLM
# Top 10 entry for it, since the egress allow-list is the control that limits it.
THREATS: dict[str, tuple[str, str]] = {
    "privilege-compromise": ("T3", "Privilege compromise"),
    "tool-misuse": ("T2", "Tool misuse"),
    "identity-spoofing": ("T9", "Identity spoofing and impersonation"),
    "memory-poisoning": ("T1", "Memory poisoning and session leakage"),
    "resource-overload": ("T4", "Resource overload"),
    "unexpected-code-execution": ("T11", "Unexpected code execution"),
    "data-exfiltration": ("LLM02", "Data exfiltration (sensitive information disclosure)"),
    "repudiation": ("T8", "Repudiation and untraceability"),
}
# Why a threat can have no control, and what would add one.
_GAP_REASONS = {
    "memory-poisoning": "sessions share pods with no clean-up hook, no read-only data and no per-session sandbox; "
                        "set runtime.isolation: per-session",
    "unexpected-code-execution": "no sandboxed runtime class, Pod Security or container hardening in the output",
    "repudiation": "runtime.tracing is off: the agent's turns are not traced to a collector; enable runtime.tracing",
    "tool-misuse": "no tool allow-list and no egress allow-list in the output",
    "data-exfiltration": "no default-deny egress policy in the output",
    "identity-spoofing": "no workload identity, token or caller restriction in the output",
    "privilege-compromise": "no RBAC, token or Pod Security control in the output",
    "resource-overload": "no quota, limits or budgets in the output",
}
_NO_WORKLOAD = "the agent has no workload in the output (no runtime: section), so there is no pod to protect"
LAYER_TITLES = {
    "kubernetes-api": "Kubernetes API (the agent's ServiceAccount)",
    "session-broker": "Session broker (per-session sandboxes)",
    "egress": "Egress (destinations the agent may reach)",
    "ingress": "Ingress (who may call the agent)",
    "network": "Network default",
    "secrets": "Secrets",
    "identity": "Workload identity",
    "credential-lifetime": "Credential lifetime",
    "token": "Kubernetes API token",
    "isolation": "Isolation",
    "data": "Data the agent reads",
    "pod-security": "Pod hardening",
    "resources": "Resource caps",
    "tools": "Tools",
    "budgets": "Budgets",
    "tracing": "Tracing",
    "exceptions": "Exceptions (waived refusals)",
}


def threats_of(fact: Fact) -> tuple[str, ...]:
    """The threats a control mitigates; () for a fact that is no control (a shared pod, tracing off)."""
    layer, key = fact.layer, fact.key[0]
    if layer == "kubernetes-api":
        return ("privilege-compromise",)
    if layer == "session-broker":
        return ("memory-poisoning", "privilege-compromise")
    if layer == "egress":
        return ("tool-misuse", "data-exfiltration")
    if layer == "ingress":
        return ("identity-spoofing",)
    if layer == "network":
        return ("data-exfiltration", "tool-misuse") if fact.rank == 0 else ()
    if layer == "secrets":
        return ("privilege-compromise", "tool-misuse")
    if layer == "identity":
        return ("identity-spoofing",)
    if layer == "credential-lifetime":
        return ("identity-spoofing", "privilege-compromise")
    if layer == "token":
        return ("identity-spoofing", "privilege-compromise") if fact.value != "automounted" else ()
    if layer == "isolation":
        if key == "isolation":
            return ("memory-poisoning", "unexpected-code-execution") if fact.value == "per-session" else ()
        if key == "runtime-class":
            return ("unexpected-code-execution",) if fact.rank == 0 else ()
        return ("memory-poisoning",) if "preStop `" in fact.value else ()
    if layer == "data":
        return ("memory-poisoning",) if fact.data.get("read_only") else ()
    if layer == "pod-security":
        return ("unexpected-code-execution", "privilege-compromise") if fact.rank == 0 else ()
    if layer in ("resources", "budgets"):
        return ("resource-overload",)
    if layer == "tools":
        return ("tool-misuse",) if fact.grant or fact.rank == 0 else ()
    if layer == "tracing":
        return ("repudiation",) if fact.rank == 0 else ()
    return ()  # exceptions weaken a control; they mitigate nothing


@dataclass(frozen=True)
class Coverage:
    threat: str
    controls: tuple[Fact, ...]
    why_none: str = ""

    @property
    def covered(self) -> bool:
        return bool(self.controls)


def coverage(perms: AgentPermissions) -> list[Coverage]:
    has_workload = any(f.layer == "isolation" for f in perms.facts)
    out = []
    for threat in THREATS:
        controls = tuple(f for f in perms.facts if threat in threats_of(f))
        why = ""
        if not controls:
            pod_threat = threat in ("memory-poisoning", "unexpected-code-execution", "repudiation")
            why = _NO_WORKLOAD if pod_threat and not has_workload else _GAP_REASONS[threat]
        out.append(Coverage(threat, controls, why))
    return out


# ---------------------------------------------------------------- loading

@dataclass(frozen=True)
class Explanation:
    environment: str
    source: str  # "rendered from <inputs>" or the output folder read
    agents: tuple[AgentPermissions, ...]
    located: bool  # whether facts point at input lines (False: at profile files only)


def explain_environment(environments_root: Path, env: str, agent: str | None = None,
                        from_dir: Path | None = None) -> Explanation:
    """Render the environment into a scratch folder (or read `from_dir`) and read every agent's facts."""
    if from_dir is None:
        render = pipeline.render(environments_root, env)
        perms = read_render(render.files, render.loaded)
        inputs: LoadedEnvironment | None = render.loaded
        source = f"rendered from {display_path(environment_dir(environments_root, env))}"
    else:
        if not from_dir.is_dir():
            raise InputError([Problem(Location(str(from_dir)), "no such folder; give an output folder of "
                                      "`blueprint render` or `check` (e.g. build/<env>)")])
        inputs = inputs_for_output(from_dir, environments_root, env)
        perms = read_output(from_dir, inputs)
        source = f"read from {from_dir}"
    if agent is not None:
        if agent not in perms:
            where = environment_dir(environments_root, env) / "agents" if from_dir is None else from_dir
            raise InputError([Problem(Location(display_path(where)),
                                      f"no agent '{agent}' in {env} (known: {', '.join(sorted(perms)) or 'none'})")])
        perms = {agent: perms[agent]}
    return Explanation(env, source, tuple(perms[name] for name in sorted(perms)), inputs is not None)


def read_render(files: dict[str, str], inputs: LoadedEnvironment | None,
                memo: hcl_reader.ParseMemo | None = None) -> dict[str, AgentPermissions]:
    """Write a render into a scratch folder and read the facts back from the files."""
    scratch = writer.write_scratch(files)
    try:
        return read_output(scratch, inputs, memo)
    finally:
        writer.remove_scratch(scratch)


def inputs_for_output(folder: Path, environments_root: Path | None = None,
                      env: str | None = None) -> LoadedEnvironment | None:
    """The inputs an output folder was rendered from (by default those its file headers name), only
    when they still render exactly its agent files: stale inputs would point facts at lines that did
    not make them, and add exceptions the output never had."""
    if environments_root is None or env is None:
        profile = next((Path(m.group(1)) for p in sorted((folder / "agents").glob("agent_*.tf"))
                        if (m := HEADER.match(p.read_text(encoding="utf-8")))), None)
        if profile is None or len(profile.parts) < 3:
            return None
        environments_root, env = profile.parents[2], profile.parents[1].name
    try:
        render = pipeline.render(environments_root, env)
    except BlueprintError:
        return None
    emitted = {rel: text for rel, text in render.files.items() if Path(rel).name.startswith("agent_")}
    present = {p.relative_to(folder).as_posix() for p in folder.glob("*/agent_*.tf")}
    if present != set(emitted):
        return None
    same = all((folder / rel).read_text(encoding="utf-8") == text for rel, text in emitted.items())
    return render.loaded if same else None


# ---------------------------------------------------------------- formatting

def _lines(facts: list[Fact]) -> list[tuple[str, tuple[str, ...], list[Fact]]]:
    """Display lines: facts of one group merge into one line ('pods in namespace shop: get, list'),
    with every input line responsible for them."""
    merged: dict[tuple, list[Fact]] = {}
    for fact in facts:
        merged.setdefault((fact.group,) if fact.group else (id(fact),), []).append(fact)
    out = []
    for group in merged.values():
        first = group[0]
        text = f"{first.group}: {', '.join(dict.fromkeys(f.member for f in group))}" if first.group else first.text
        sources = tuple(dict.fromkeys(location_text(f.location) for f in group))
        out.append((text, sources, group))
    return out


def _codes(facts: list[Fact]) -> str:
    threats = {t for f in facts for t in threats_of(f)}
    return ", ".join(code for slug, (code, _) in THREATS.items() if slug in threats)


def _count(n: int) -> str:
    return f"{n} control{'s' if n != 1 else ''}"


def explanation_text(explanation: Explanation, markdown: bool = False) -> list[str]:
    out = [f"# Effective permissions: {explanation.environment}" if markdown else
           f"Effective permissions in {explanation.environment} ({explanation.source}):"]
    if not explanation.located:
        out.append("(the inputs do not render this output as it is: facts point at the profile files only)")
    for perms in explanation.agents:
        out += _agent_markdown(perms) if markdown else _agent_text(perms)
    out += ["", "Threats (OWASP Agentic AI): " + "; ".join(f"{code} {title}" for code, title in THREATS.values())]
    return out


def _agent_text(perms: AgentPermissions) -> list[str]:
    out = ["", f"Agent {perms.agent} (namespace {perms.namespace}, profile {perms.profile})"]
    for layer, title in LAYER_TITLES.items():
        facts = perms.layer(layer)
        if not facts:
            continue
        out.append(f"  {title}")
        for text, sources, group in _lines(facts):
            codes = _codes(group)
            out.append(f"    {text}{f' [{codes}]' if codes else ''}")
            out.append(f"        from {'; '.join(sources)}")
    out.append("  Threat coverage")
    for item in coverage(perms):
        code, title = THREATS[item.threat]
        if item.covered:
            layers = sorted({f.layer for f in item.controls}, key=list(LAYER_TITLES).index)
            out.append(f"    {code:<6} {title}: {_count(len(item.controls))} ({', '.join(layers)})")
        else:
            out.append(f"    {code:<6} {title}: NONE, {item.why_none}")
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _agent_markdown(perms: AgentPermissions) -> list[str]:
    out = ["", f"## {perms.agent}", "", f"Namespace `{perms.namespace}`, profile `{perms.profile}`.", "",
           "| layer | control | mitigates | from |", "|---|---|---|---|"]
    for layer in LAYER_TITLES:
        for text, sources, group in _lines(perms.layer(layer)):
            out.append(f"| {layer} | {_cell(text)} | {_codes(group) or '-'} | "
                       f"{'<br>'.join(f'`{_cell(s)}`' for s in sources)} |")
    out += ["", "| threat | covered by |", "|---|---|"]
    for item in coverage(perms):
        code, title = THREATS[item.threat]
        if item.covered:
            layers = sorted({f.layer for f in item.controls}, key=list(LAYER_TITLES).index)
            out.append(f"| {code} {title} | {_count(len(item.controls))}: {', '.join(layers)} |")
        else:
            out.append(f"| {code} {title} | **none**: {_cell(item.why_none)} |")
    return out


def explanation_data(explanation: Explanation) -> dict[str, Any]:
    agents = []
    for perms in explanation.agents:
        data = perms.as_dict()
        data["facts"] = [{**f.as_dict(), "threats": list(threats_of(f))} for f in perms.facts]
        data["coverage"] = {
            item.threat: {"covered": item.covered, "controls": len(item.controls),
                          "layers": sorted({f.layer for f in item.controls}), "why_none": item.why_none or None}
            for item in coverage(perms)}
        agents.append(data)
    return {"ok": True, "environment": explanation.environment, "source": explanation.source,
            "located": explanation.located,
            "threats": {slug: {"code": code, "title": title} for slug, (code, title) in THREATS.items()},
            "agents": agents}

