"""The only module that writes files: atomic writes, scratch-then-move, stale-file removal.

Each output folder keeps a manifest of the files blueprint wrote there. On the next write, files
in the old manifest that are no longer emitted are removed (a deleted agent must not keep its
permissions), and nothing else in the folder is touched (.terraform/, lock files, local state).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from blueprint.errors import InputError, Location, Problem

MANIFEST = ".blueprint-manifest.json"


@dataclass(frozen=True)
class WriteResult:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ours(out_dir: Path, rel: str) -> bool:
    """Only .tf/.md files inside out_dir can be ours: a hand-edited manifest must not delete anything else."""
    path = out_dir / rel
    try:
        inside = path.resolve().is_relative_to(out_dir.resolve())
    except OSError:
        return False
    return inside and not Path(rel).is_absolute() and ".." not in Path(rel).parts and rel.endswith((".tf", ".md", ".Dockerfile", ".yaml"))


def read_manifest(out_dir: Path) -> list[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = data.get("files", []) if isinstance(data, dict) else []
        return [str(p) for p in files if isinstance(p, str) and _ours(out_dir, p)]
    except (OSError, ValueError):
        return []


def stale_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Files blueprint wrote earlier that this render no longer emits."""
    return sorted(p for p in read_manifest(out_dir) if p not in files and (out_dir / p).is_file())


def write_tree(out_dir: Path, files: dict[str, str]) -> WriteResult:
    """Write `files` into out_dir; a path that cannot be written is a located input error (exit 2)."""
    try:
        return _write_tree(out_dir, files)
    except OSError as exc:
        raise InputError([Problem(Location(str(out_dir)), f"cannot write the output here: {exc.strerror or exc} "
                                  f"({exc.filename or out_dir}); choose another --out folder")]) from None


def _write_tree(out_dir: Path, files: dict[str, str]) -> WriteResult:
    """Write `files` (relative path -> text) into out_dir, removing stale ones from the last write."""
    written, unchanged = [], []
    for rel, text in sorted(files.items()):
        target = out_dir / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            unchanged.append(rel)
            continue
        _atomic_write(target, text)
        written.append(rel)
    removed = stale_files(out_dir, files)
    for rel in removed:
        (out_dir / rel).unlink()
    _atomic_write(out_dir / MANIFEST, json.dumps({"files": sorted(files)}, indent=2) + "\n")
    return WriteResult(tuple(written), tuple(unchanged), tuple(removed))


def write_file(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write one standalone file (a report, a new profile, a schema) atomically; no manifest, so
    nothing else is removed. `exclusive` never replaces an existing file, even one created since
    the caller last looked (the text is linked into place, which fails if the name exists)."""
    try:
        if not exclusive:
            _atomic_write(path, text)
            return
        tmp = path.with_name(f".{path.name}.new")
        _atomic_write(tmp, text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise InputError([Problem(Location(str(path)), "already exists; blueprint never overwrites it: "
                                      "choose another name or remove the file first")]) from None
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise InputError([Problem(Location(str(path)), f"cannot write this file: {exc.strerror or exc}; "
                                  "choose another path")]) from None


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="blueprint-"))


def write_scratch(files: dict[str, str]) -> Path:
    """Write a render into a fresh scratch folder (gates run there, never in build/)."""
    root = scratch_dir()
    for rel, text in files.items():
        _atomic_write(root / rel, text)
    return root


def remove_scratch(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
