"""`blueprint diff`: what two states of an environment grant differently, widening first.

A state is the facts read back from emitted files (blueprint.permissions). Three ways to get two:
a git revision's inputs against the working tree (both rendered with the current generator), two
existing output folders, or an environment against what promoting another environment's profiles
into it would give. Added grants widen, removed ones narrow; a setting widens when its rank grows
(a longer credential lifetime, per-session -> shared). Nothing here prints.
"""

from __future__ import annotations

import io
import ipaddress
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from blueprint import hcl_reader, pipeline
from blueprint.errors import BlueprintError, InputError, Location, Problem, ToolError
from blueprint.explain import inputs_for_output, read_render
from blueprint.loader import display_path, environment_dir, load_environment
from blueprint.permissions import (
    LAYERS,
    AgentPermissions,
    Fact,
    location_data,
    location_text,
    read_output,
)

WIDENING, NARROWING, NEUTRAL = "widening", "narrowing", "neutral"
_EFFECT_ORDER = (WIDENING, NARROWING, NEUTRAL)
# How a headline counts a layer's added or removed grants.
_NOUNS = {"kubernetes-api": "verbs", "session-broker": "broker grants", "egress": "egress", "ingress": "callers",
          "secrets": "secrets", "identity": "identity bindings", "data": "data mounts", "tools": "tools",
          "exceptions": "exceptions"}
GIT_TIMEOUT = 60


@dataclass(frozen=True)
class Change:
    agent: str
    kind: str  # "added" | "removed" | "changed"
    effect: str  # widening | narrowing | neutral
    layer: str
    text: str
    location: Location  # the new state's line for additions and changes, the old state's for removals
    old: Fact | None = None
    new: Fact | None = None

    def as_dict(self) -> dict[str, Any]:
        fact = self.new or self.old
        assert fact is not None
        return {"agent": self.agent, "kind": self.kind, "effect": self.effect, "layer": self.layer,
                "key": list(fact.key), "text": self.text, "source": location_data(self.location),
                "old": self.old.value if self.old and not self.old.grant else None,
                "new": self.new.value if self.new and not self.new.grant else None}


@dataclass(frozen=True)
class AgentDiff:
    agent: str
    status: str  # "added" | "removed" | "changed" | "unchanged" | "blocked"
    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()  # why a promotion is refused (status "blocked")

    @property
    def widens(self) -> bool:
        return any(c.effect == WIDENING for c in self.changes)

    @property
    def effect(self) -> str:
        if self.status == "blocked":
            return "blocked"
        effects = {c.effect for c in self.changes}
        return next((e for e in _EFFECT_ORDER if e in effects), "unchanged")


@dataclass(frozen=True)
class DiffResult:
    environment: str
    old_label: str
    new_label: str
    agents: tuple[AgentDiff, ...] = field(default=())

    @property
    def widens(self) -> bool:
        return any(a.widens for a in self.agents)

    @property
    def blocked(self) -> bool:
        return any(a.status == "blocked" for a in self.agents)


# ---------------------------------------------------------------- comparing two states

def _setting_effect(old: Fact, new: Fact) -> str:
    if old.rank is None or new.rank is None or old.rank == new.rank:
        return NEUTRAL
    return WIDENING if new.rank > old.rank else NARROWING


def covers(wider: Fact, narrower: Fact) -> bool:
    """Whether grant `wider` already allows everything grant `narrower` does (same layer): the
    same rule with a superset of resource names (none named: all), or the same port to a CIDR
    that contains the other's. Anything else only covers itself."""
    if wider.layer != narrower.layer:
        return False
    if wider.identity == narrower.identity:
        return True
    w, n = wider.data, narrower.data
    if wider.layer in ("kubernetes-api", "session-broker"):
        same = all(w.get(k) == n.get(k) for k in ("namespace", "api_group", "resource", "verb", "subject"))
        w_names, n_names = set(w.get("resource_names") or ()), set(n.get("resource_names") or ())
        return same and (not w_names or (bool(n_names) and n_names <= w_names))
    if wider.layer == "egress" and w.get("cidr") and n.get("cidr"):
        if (w.get("port"), w.get("protocol")) != (n.get("port"), n.get("protocol")):
            return False
        try:
            w_net, n_net = ipaddress.ip_network(w["cidr"], strict=False), ipaddress.ip_network(n["cidr"], strict=False)
        except ValueError:
            return False
        return w_net.version == n_net.version and n_net.subnet_of(w_net)  # type: ignore[arg-type]
    return False


def diff_agent(agent: str, old: AgentPermissions | None, new: AgentPermissions | None) -> AgentDiff:
    before = {f.identity: f for f in old.facts} if old else {}
    after = {f.identity: f for f in new.facts} if new else {}
    changes = []
    for identity, fact in after.items():
        previous = before.get(identity)
        if previous is None:
            # A grant the old state already allowed through a wider one (a CIDR narrowed, a
            # resource name dropped) is no new access: the wider one's removal is the change.
            widens = fact.grant and not any(covers(f, fact) for f in before.values() if f.grant)
            changes.append(Change(agent, "added", WIDENING if widens else NEUTRAL, fact.layer, fact.text,
                                  fact.location, None, fact))
        elif not fact.grant and previous.value != fact.value:
            changes.append(Change(agent, "changed", _setting_effect(previous, fact), fact.layer,
                                  f"{fact.text} (was {previous.value})", fact.location, previous, fact))
    for identity, fact in before.items():
        if identity not in after:
            narrows = fact.grant and not any(covers(f, fact) for f in after.values() if f.grant)
            changes.append(Change(agent, "removed", NARROWING if narrows else NEUTRAL, fact.layer, fact.text,
                                  fact.location, fact, None))
    changes.sort(key=lambda c: (_EFFECT_ORDER.index(c.effect), LAYERS.index(c.layer), c.text))
    status = "added" if old is None else "removed" if new is None else "changed" if changes else "unchanged"
    return AgentDiff(agent, status, tuple(changes))


def diff_states(old: dict[str, AgentPermissions], new: dict[str, AgentPermissions]) -> list[AgentDiff]:
    return [diff_agent(name, old.get(name), new.get(name)) for name in sorted(set(old) | set(new))]


# ---------------------------------------------------------------- the three ways to get two states

def diff_folders(old_dir: Path, new_dir: Path) -> DiffResult:
    """Two existing output folders; facts are located in the inputs their headers name, if those load."""
    states = []
    memo = hcl_reader.ParseMemo()  # files the two folders share are parsed once
    for folder in (old_dir, new_dir):
        if not folder.is_dir():
            raise InputError([Problem(Location(str(folder)), "no such folder; give two output folders of "
                                      "`blueprint render` or `check` (e.g. build/<env>)")])
        states.append(read_output(folder, inputs_for_output(folder), memo))
    env = next((p.environment for s in reversed(states) for p in s.values() if p.environment), "")
    return DiffResult(env, str(old_dir), str(new_dir), tuple(diff_states(states[0], states[1])))


def render_state(environments_root: Path, env: str,
                 memo: hcl_reader.ParseMemo | None = None) -> dict[str, AgentPermissions]:
    render = pipeline.render(environments_root, env)
    return read_render(render.files, render.loaded, memo)


def diff_base(environments_root: Path, env: str, rev: str) -> DiffResult:
    """The inputs at git revision `rev` against the working tree, both rendered by this generator."""
    memo = hcl_reader.ParseMemo()  # agents the change leaves alone are parsed once
    with git_inputs(environments_root, rev) as (old_root, relabel):
        if (old_root / env / "environment.yaml").is_file():
            try:
                old = render_state(old_root, env, memo)
            except BlueprintError as error:
                raise _relabelled(error, relabel) from None
            old = {name: relocate(perms, relabel) for name, perms in old.items()}
        else:
            old = {}  # a new environment (or a first environments/ folder): every grant is new
    new = render_state(environments_root, env, memo)
    return DiffResult(env, f"{rev} ({display_path(environments_root)})", f"working tree ({display_path(environments_root)})",
                      tuple(diff_states(old, new)))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise ToolError("git is not installed; --base needs it to read the old inputs") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"git {' '.join(args)} took longer than {GIT_TIMEOUT} s") from None


@contextmanager
def git_inputs(environments_root: Path, rev: str) -> Iterator[tuple[Path, Callable[[str], str]]]:
    """The environments folder as it was at `rev`, exported into a temporary folder (git archive:
    the repository, its index and its worktrees are left untouched), and a function that turns a
    path in the export back into `rev:path` (what `git show` takes)."""
    where = Location(display_path(environments_root), path="--base")
    if not environments_root.is_dir():
        raise InputError([Problem(where, "no such folder; give the environments folder with --environments")])
    top = _git(["rev-parse", "--show-toplevel"], environments_root)
    if top.returncode != 0:
        raise InputError([Problem(where, "not inside a git repository, so --base has no history to compare with; "
                                  "use --old/--new with two output folders instead")])
    repo = Path(top.stdout.decode().strip()).resolve()
    commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], repo)
    if commit.returncode != 0 or rev.startswith("-"):
        raise InputError([Problem(where, f"unknown revision '{rev}' (try a branch, a tag or a commit such as HEAD~1)")])
    sha = commit.stdout.decode().strip()
    relative = environments_root.resolve().relative_to(repo).as_posix()
    existed = relative == "." or _git(["cat-file", "-e", f"{sha}:{relative}"], repo).returncode == 0
    archive = _git(["archive", "--format=tar", sha, "--", relative], repo) if existed else None
    if archive is not None and archive.returncode != 0:
        raise InputError([Problem(where, f"git archive of {relative}/ at {rev} failed: "
                                  f"{archive.stderr.decode(errors='replace').strip()}")])
    scratch = Path(tempfile.mkdtemp(prefix="blueprint-base-"))
    try:
        # A folder that did not exist at `rev` is an empty old state: every grant in it is new.
        if archive is not None:
            try:
                with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and paths outside
                        tar.extractall(scratch, filter="data")
                    else:  # pragma: no cover - our own repository's archive
                        tar.extractall(scratch)
            except tarfile.TarError as exc:
                raise InputError([Problem(where, f"the inputs at {rev} cannot be exported safely: {exc}; "
                                          "remove links that point outside the environments folder")]) from None
        prefixes = tuple(f"{p}/" for p in {str(scratch), str(scratch.resolve())})

        def relabel(file: str) -> str:
            for prefix in prefixes:
                if file.startswith(prefix):
                    return f"{rev}:{file[len(prefix):]}"
            return file

        yield scratch / relative, relabel
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def diff_promote(environments_root: Path, source_env: str, target_env: str) -> DiffResult:
    """What promoting `source_env`'s profiles into `target_env` would change there.

    Each agent is promoted on its own (the target's environment.yaml, its other agents as they are,
    this agent's profile from the source), so one profile the target refuses does not hide what the
    others would change; an agent the source lacks would be removed.
    """
    memo = hcl_reader.ParseMemo()  # one render per promoted agent: only that agent's files are new
    current = render_state(environments_root, target_env, memo)
    source_agents = _agent_files(environments_root, source_env)
    target_agents = _agent_files(environments_root, target_env)
    scratch = Path(tempfile.mkdtemp(prefix="blueprint-promote-"))
    try:
        root = scratch / "environments"
        shutil.copytree(environments_root, root, ignore=shutil.ignore_patterns(".git"))
        agents_dir = environment_dir(root, target_env) / "agents"
        results = []
        for name in sorted(set(source_agents) | set(target_agents)):
            if name not in source_agents:
                results.append(diff_agent(name, current.get(name), None))
                continue
            shutil.rmtree(agents_dir, ignore_errors=True)
            agents_dir.mkdir(parents=True)
            for other, path in target_agents.items():
                if other != name:
                    shutil.copy2(path, agents_dir / path.name)
            shutil.copy2(source_agents[name], agents_dir / source_agents[name].name)
            relabel = _promote_relabel(root, environments_root, source_agents[name], target_env)
            try:
                promoted = render_state(root, target_env, memo)
            except BlueprintError as error:
                results.append(AgentDiff(name, "blocked", problems=tuple(_relabelled(error, relabel).problems)
                                         or (Problem(Location(str(source_agents[name])), error.text),)))
                continue
            results.append(diff_agent(name, current.get(name), relocate(promoted[name], relabel)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return DiffResult(target_env, f"{target_env} as is",
                      f"{target_env} with {source_env}'s profiles ({display_path(environment_dir(environments_root, source_env) / 'agents')})",
                      tuple(results))


def _agent_files(environments_root: Path, env: str) -> dict[str, Path]:
    directory = environment_dir(environments_root, env)
    if not (directory / "environment.yaml").is_file():
        load_environment(environments_root, env)  # raises the located "no environment" error
    return {p.stem: p for p in sorted((directory / "agents").glob("*.y*ml"))}


def _promote_relabel(copy_root: Path, environments_root: Path, promoted: Path, target_env: str) -> Callable[[str], str]:
    """Paths in the promoted copy -> the files a reviewer edits (the promoted profile: the source's)."""
    prefixes = tuple(f"{p}/" for p in {str(copy_root), str(copy_root.resolve())})
    promoted_copy = f"{target_env}/agents/{promoted.name}"

    def relabel(file: str) -> str:
        for prefix in prefixes:
            if file.startswith(prefix):
                relative = file[len(prefix):]
                return display_path(promoted) if relative == promoted_copy else display_path(environments_root / relative)
        return file
    return relabel


# ---------------------------------------------------------------- locations of a temporary copy

def relocate(perms: AgentPermissions, relabel: Callable[[str], str]) -> AgentPermissions:
    facts = tuple(replace(f, location=replace(f.location, file=relabel(f.location.file))) for f in perms.facts)
    return replace(perms, profile=relabel(perms.profile), facts=facts)


_PATH_IN_TEXT = re.compile(r"/[^\s:()]+")


def _relabelled(error: BlueprintError, relabel: Callable[[str], str]) -> BlueprintError:
    """The same error, pointing at the files a reviewer edits instead of a temporary copy (messages too:
    a refusal names the environment setting it broke)."""
    problems = [Problem(replace(p.location, file=relabel(p.location.file)),
                        _PATH_IN_TEXT.sub(lambda m: relabel(m.group(0)), p.message)) for p in error.problems]
    if not problems:
        return error
    return type(error)(problems)


# ---------------------------------------------------------------- formatting

def headline(agent: AgentDiff) -> str:
    """One line for a PR comment: 'research: +2 secrets, +1 egress 10.20.0.0/16 443/TCP (widening)'."""
    if agent.status == "blocked":
        count = len(agent.problems)
        return f"{agent.agent}: promotion refused ({count} problem{'s' if count != 1 else ''})"
    parts = []
    if agent.status in ("added", "removed"):
        parts.append(f"agent {agent.status}")
    for kind, sign in (("added", "+"), ("removed", "-")):
        by_layer: dict[str, list[Change]] = {}
        for change in agent.changes:
            if change.kind == kind and (change.new or change.old).grant:  # type: ignore[union-attr]
                by_layer.setdefault(change.layer, []).append(change)
        for layer, changes in by_layer.items():
            if layer == "egress":
                peers = ", ".join(f"{(c.new or c.old).data.get('peer')} {_port(c)}" for c in changes)  # type: ignore[union-attr]
                parts.append(f"{sign}{len(changes)} egress {peers}")
            else:
                parts.append(f"{sign}{len(changes)} {_NOUNS.get(layer, layer)}")
    settings = 0
    for change in agent.changes:
        if change.kind == "changed":
            parts.append(f"{_setting_name(change)} {change.old.value} -> {change.new.value}")  # type: ignore[union-attr]
        elif not (change.new or change.old).grant:  # type: ignore[union-attr]
            settings += 1  # a setting that exists on one side only (a workload's replicas, a first secret's lifetime)
    if settings and agent.status not in ("added", "removed"):
        parts.append(f"{settings} setting{'s' if settings != 1 else ''} added or removed")
    return f"{agent.agent}: {', '.join(parts) or 'no change'} ({agent.effect})"


def _setting_name(change: Change) -> str:
    """Which setting changed, e.g. 'quota limits.cpu' or 'container limits cpu' (the layer alone
    would not tell a reviewer which of several resource caps moved)."""
    fact = change.new or change.old
    assert fact is not None
    detail = " ".join(k for k in fact.key if k not in (fact.layer, change.layer))
    return f"{change.layer} {detail}".strip() if len(fact.key) > 1 else change.layer


def _port(change: Change) -> str:
    fact = change.new or change.old
    assert fact is not None
    return f"{fact.data.get('port')}/{fact.data.get('protocol')}" if fact.data.get("port") else "all ports"


def change_lines(agent: AgentDiff) -> list[tuple[Change, str, tuple[str, ...]]]:
    """Display lines: added or removed facts of one group merge ('added get, list: pods in namespace x')."""
    merged: dict[tuple, list[Change]] = {}
    for change in agent.changes:
        fact = change.new or change.old
        assert fact is not None
        key = (change.kind, change.effect, fact.group) if fact.group and change.kind != "changed" else (id(change),)
        merged.setdefault(key, []).append(change)
    out = []
    for changes in merged.values():
        first = changes[0]
        fact = first.new or first.old
        assert fact is not None
        text = (f"{fact.group}: {', '.join(dict.fromkeys((c.new or c.old).member for c in changes))}"  # type: ignore[union-attr]
                if len(changes) > 1 else first.text)
        out.append((first, text, tuple(dict.fromkeys(location_text(c.location) for c in changes))))
    return out


_MARK = {WIDENING: "+ widening ", NARROWING: "- narrowing", NEUTRAL: "~ neutral  "}


def diff_text(result: DiffResult) -> list[str]:
    out = [f"Permission diff for {result.environment}: {result.old_label} -> {result.new_label}"]
    changed = [a for a in result.agents if a.status != "unchanged"]
    if not changed:
        return out + ["", "No permission changes."]
    for agent in sorted(changed, key=_agent_order):
        out += ["", headline(agent)]
        for problem in agent.problems:
            out.append(f"  refused  {problem}")
        for change, text, sources in change_lines(agent):
            out.append(f"  {_MARK[change.effect]} {change.kind:<7} {text}")
            out.append(f"              at {'; '.join(sources)}")
    return out


def diff_markdown(result: DiffResult) -> list[str]:
    changed = sorted((a for a in result.agents if a.status != "unchanged"), key=_agent_order)
    widening = sum(1 for a in changed if a.widens)
    out = [f"### blueprint: permission diff for `{result.environment}`", "",
           f"`{result.old_label}` -> `{result.new_label}`: "
           + (f"**{widening} agent(s) widen**" if widening else "nothing widens")
           + (f", {sum(1 for a in changed if a.status == 'blocked')} refused" if result.blocked else ""), ""]
    if not changed:
        return out + ["No permission changes."]
    out += [f"- {'**' if a.widens or a.status == 'blocked' else ''}{headline(a)}"
            f"{'**' if a.widens or a.status == 'blocked' else ''}" for a in changed]
    for agent in changed:
        out += ["", f"#### {agent.agent}", ""]
        if agent.problems:
            out += [f"- refused: `{p.location}` {p.location.path}: {p.message}" for p in agent.problems]
            continue
        out += ["| effect | change | profile line |", "|---|---|---|"]
        for change, text, sources in change_lines(agent):
            sign = {"added": "+", "removed": "-"}.get(change.kind, "~")
            where = "<br>".join(f"`{s}`" for s in sources)
            out.append(f"| {change.effect} | {sign} {text.replace('|', '/')} | {where} |")
    return out


def _agent_order(agent: AgentDiff) -> tuple:
    rank = {"blocked": 0, WIDENING: 1, NARROWING: 2, NEUTRAL: 3, "unchanged": 4}
    return (rank[agent.effect], agent.agent)


def diff_data(result: DiffResult) -> dict[str, Any]:
    return {
        "ok": not result.blocked, "environment": result.environment, "old": result.old_label, "new": result.new_label,
        "widening": result.widens, "blocked": result.blocked,
        "agents": [{"agent": a.agent, "status": a.status, "effect": a.effect, "headline": headline(a),
                    "changes": [c.as_dict() for c in a.changes],
                    "problems": [{"file": p.location.file, "line": p.location.line, "path": p.location.path,
                                  "message": p.message} for p in a.problems]}
                   for a in sorted(result.agents, key=_agent_order)],
    }
