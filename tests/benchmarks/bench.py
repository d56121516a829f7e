"""Benchmark (not a test): render and check N synthetic agents; prints agents/second and gate times.

    make bench                      # N = 100 and 1000
    python tests/benchmarks/bench.py --agents 100 1000 --check-agents 100 1000 --review-agents 100

Render is timed as a whole `blueprint render` process (start-up included), the way users run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def synthetic_environment(root: Path, agents: int) -> None:
    env_dir = root / "bench"
    (env_dir / "agents").mkdir(parents=True)
    example = (REPO / "environments/prod/environment.yaml").read_text().replace("name: prod", "name: bench")
    (env_dir / "environment.yaml").write_text(example)
    for i in range(agents):
        kind = i % 3
        rules = ""
        if kind == 0:
            rules = ("kubernetes:\n  rules:\n"
                     f"    - apiGroups: [\"\"]\n      resources: [pods, pods/log]\n      verbs: [get, list, watch]\n"
                     f"      namespace: team-{i % 17}\n"
                     f"    - apiGroups: [\"\"]\n      resources: [configmaps]\n      verbs: [get]\n"
                     f"      resourceNames: [agent-{i}-config]\n")
        egress = ["llm-api"] + (["web-proxy"] if kind == 1 else [])
        secrets = ("secrets:\n  - name: api-token\n    vault: {path: secret/data/prod/agent-%04d/token, key: token}\n" % i
                   if kind == 2 else "")
        runtime = ("runtime:\n  image: registry.example.com/agents/agent-%04d:1.0.0@sha256:%s\n"
                   "  entryModule: agent.main\n  tools: [search, summarize]\n"
                   "callers:\n  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: team-%d}}\n"
                   % (i, "a" * 64, i % 17))
        (env_dir / "agents" / f"agent-{i:04d}.yaml").write_text(
            "apiVersion: blueprint.dev/v1alpha1\nkind: AgentProfile\n"
            f"name: agent-{i:04d}\nowner: team-{i % 17}@example.com\n"
            f"description: Synthetic agent {i} with ${{literal}} text.\n{rules}"
            f"egress: [{', '.join(egress)}]\n{secrets}{runtime}"
            "resources:\n  requests: {cpu: 100m, memory: 128Mi}\n  limits: {cpu: 500m, memory: 512Mi}\n")


def blueprint(*argv: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "blueprint", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=1800)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--check-agents", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--review-agents", type=int, nargs="*", default=[100],
                        help="sizes for explain (of a checked output folder) and diff (two folders)")
    parser.add_argument("--repeat", type=int, default=3, help="render runs per size; the best is reported")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="blueprint-bench-"))
    try:
        print(f"{'agents':>7} {'render wall (best of ' + str(args.repeat) + ')':>26} {'agents/s':>10}")
        for n in args.agents:
            root = work / f"render-{n}"
            synthetic_environment(root, n)
            best = min(blueprint("render", "--env", "bench", "--environments", str(root),
                                 "--out", str(work / f"out-{n}-{r}"))[0] for r in range(args.repeat))
            print(f"{n:>7} {best:>25.3f}s {n / best:>10.0f}")
        for n in args.check_agents:
            root = work / f"check-{n}"
            synthetic_environment(root, n)
            wall, proc = blueprint("check", "--env", "bench", "--environments", str(root),
                                   "--out", str(work / f"checked-{n}"), "--format", "json")
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            gates = json.loads(proc.stdout)["gates"]
            split = ", ".join(f"{g['gate']} {g['seconds']:.2f}s" for g in gates)
            print(f"check {n} agents: {wall:.2f}s wall; {split}")
        for n in args.review_agents:
            root = work / f"review-{n}"
            synthetic_environment(root, n)
            out = work / f"reviewed-{n}"
            blueprint("render", "--env", "bench", "--environments", str(root), "--out", str(out))
            wall, proc = blueprint("explain", "--env", "bench", "--environments", str(root), "--from", str(out),
                                   "--format", "json")
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            print(f"explain {n} agents (--from a rendered folder): {wall:.2f}s wall")
            wall, proc = blueprint("diff", "--old", str(out), "--new", str(out), "--format", "json")
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            print(f"diff {n} agents (two output folders): {wall:.2f}s wall")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
