"""The HCL writer: strings come back literally (checked by real Terraform), output is fmt clean."""

from __future__ import annotations

import pytest

import json
import os
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from blueprint.emit.hcl import Block, Ref, quote, render_block, render_file
from blueprint.hcl_reader import Expression, parse_text

NASTY = [
    "${var.secret}",
    "%{ if true }x%{ endif }",
    "$${already}",
    "%%{already}",
    'quote " and back\\slash',
    "new\nline\r\ttab",
    "trailing $",
    "trailing %",
    "$$${x}",
    "${",
    "%{",
    "unclosed ${ and %{ here",
    "unicode: é ✓ \u0001 \u007f",
    "",
]


def test_quote_escapes_templates() -> None:
    assert quote("${x}") == '"\\u0024{x}"'
    assert quote("%{x}") == '"\\u0025{x}"'
    assert quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'


def test_reader_reads_back_literally() -> None:
    text = "\n".join(f"v{i} = {quote(s)}" for i, s in enumerate(NASTY))
    parsed = parse_text(text)
    for i, s in enumerate(NASTY):
        assert parsed[f"v{i}"] == s
        assert not isinstance(parsed[f"v{i}"], Expression)


def test_reader_flags_real_interpolation() -> None:
    parsed = parse_text('a = "x-${var.y}"\nb = var.z\nc = "$${lit}"\n')
    assert isinstance(parsed["a"], Expression) and isinstance(parsed["b"], Expression)
    assert not isinstance(parsed["c"], Expression) and parsed["c"] == "${lit}"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_round_trips_through_the_reader(text: str) -> None:
    assert parse_text(f"v = {quote(text)}\n")["v"] == text


def test_terraform_itself_reads_escaped_text_literally(tmp_path: Path, terraform_bin: str) -> None:
    # Outputs need no provider, so real Terraform can evaluate every string offline.
    body = "\n".join(f'output "o{i}" {{\n  value = {quote(s)}\n}}' for i, s in enumerate(NASTY))
    (tmp_path / "main.tf").write_text(body + "\n")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    for argv in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
        proc = subprocess.run([terraform_bin, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([terraform_bin, "output", "-json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    outputs = json.loads(proc.stdout)
    assert {k: v["value"] for k, v in outputs.items()} == {f"o{i}": s for i, s in enumerate(NASTY)}


def test_alignment_matches_terraform_fmt(tmp_path: Path, terraform_bin: str) -> None:
    block = Block("resource", ("kubernetes_service_account_v1", "x"))
    meta = block.block("metadata")
    meta.attr("name", "x").attr("namespace", "agent-x").attr("labels", {"a": "1", "long-key": "2"})
    meta.attr("after", "y").attr("z", ["a", "b"])
    block.attr("automount_service_account_token", False)
    block.attr("depends_on", [Ref("kubernetes_namespace_v1.x")])
    block.block("empty")
    block.attr("number", 5).attr("map", {})
    block.comment("checkov:skip=CKV_X_1: a reason")
    text = render_file(["header"], [block])
    (tmp_path / "a.tf").write_text(text)
    proc = subprocess.run([terraform_bin, "fmt", "-check", "-diff", "."], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "CHECKPOINT_DISABLE": "1"})
    assert proc.returncode == 0, proc.stdout
    assert render_block(Block("x")) == ["x {}"]


def test_parse_memo_parses_each_text_once_and_hands_out_fresh_objects(monkeypatch) -> None:
    from blueprint import hcl_reader

    calls = []
    real = hcl_reader._loads
    monkeypatch.setattr(hcl_reader, "_loads", lambda text, path: calls.append(path) or real(text, path))
    memo = hcl_reader.ParseMemo()
    text = 'resource "kubernetes_namespace_v1" "a" {\n  metadata {\n    name = "a"\n  }\n}\n'
    first = hcl_reader.parse_text(text, "old/a.tf", memo)
    first["resource"].clear()  # a caller mutating its copy must not change the next one's
    second = hcl_reader.parse_text(text, "new/a.tf", memo)
    assert calls == ["old/a.tf"]
    assert second == hcl_reader.parse_text(text)
    assert second["resource"][0]["kubernetes_namespace_v1"]["a"]["metadata"][0]["name"] == "a"


@pytest.mark.parametrize("parallel", [False, True])
def test_parse_gate_locates_every_broken_file_sequentially_and_in_parallel(tmp_path, monkeypatch, parallel) -> None:
    from blueprint import hcl_reader
    from blueprint.gates.run import parse_gate

    monkeypatch.setattr(hcl_reader, "PARALLEL_MIN_FILES", 1 if parallel else 10**6)
    (tmp_path / "agents").mkdir()
    good = 'resource "kubernetes_namespace_v1" "a%d" {\n  metadata {\n    name = "a%d"\n  }\n}\n'
    for i in range(3):
        (tmp_path / "agents" / f"agent_a{i}.tf").write_text(good % (i, i))
    (tmp_path / "agents" / "agent_broken.tf").write_text('resource "x" "y" {\n  name = \n')
    (tmp_path / "agents" / "agent_escape.tf").write_text('resource "x" "z" {\n  name = "\\uZZZZ"\n}\n')
    resources, result = parse_gate(tmp_path)
    assert sorted(r.address for r in resources) == [f"kubernetes_namespace_v1.a{i}" for i in range(3)]
    assert sorted((f.check_id, f.file) for f in result.findings) == [
        ("HCL_PARSE", "agents/agent_broken.tf"), ("HCL_PARSE", "agents/agent_escape.tf")]
    assert all(f.message.startswith(f.file + ": ") for f in result.findings)
