"""The hardened Dockerfile of one Python agent, from the jinja2 template `agent.Dockerfile.j2`.

Deterministic: the same spec gives byte-identical text. Every value is checked against a strict
grammar when the spec is built (`DockerfileSpecError`, a ValueError naming the field), so a
profile cannot inject a Dockerfile instruction: no line breaks anywhere, free text only inside a
double-quoted string with `\\`, `"` and `$` escaped, exec-form arrays written with json.dumps.

The template's source is the repository's top-level `templates/` folder. An installed wheel
carries it as `blueprint/templates/` (package data); a source checkout without that copy reads
`templates/` next to the package.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2

TEMPLATE_NAME = "agent.Dockerfile.j2"

# Image references, after github.com/distribution/reference (lower-case path components, an
# optional registry host[:port], an optional tag), and always a sha256 digest.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_RE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?@(?P<digest>sha256:[a-f0-9]{{64}})", re.ASCII)
AGENT_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?", re.ASCII)
MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", re.ASCII)
# Relative POSIX paths whose segments start with a letter, digit or underscore: no `/` prefix,
# no `.`/`..`, no hidden files, no leading `-` (read as a flag), no glob or quote characters.
PATH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*", re.ASCII)
HEALTH_PATH_RE = re.compile(r"/[A-Za-z0-9/_.-]*", re.ASCII)
SOURCE_URL_RE = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%+/-]*)?", re.ASCII)

MIN_ID, MAX_ID = 1000, 65535
MIN_PORT, MAX_PORT = 1024, 65535  # all capabilities are dropped: no NET_BIND_SERVICE for < 1024
MAX_DESCRIPTION = 1024
MAX_PATH = 255
MAX_IMAGE_NAME = 255


class DockerfileSpecError(ValueError):
    """One or more spec fields are outside their grammar. `problems` holds (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.problems))


@dataclass(frozen=True)
class DockerfileSpec:
    """What the Dockerfile of one agent needs; every field is validated on construction.

    `source_file` is the profile the Dockerfile comes from (relative, for the header);
    `lock_file` and `app_dir` are relative to the image's build context (the agent's source
    tree); `source_url` (optional) becomes the org.opencontainers.image.source label.
    """

    agent: str
    source_file: str
    description: str
    base_image: str
    base_is_placeholder: bool
    uid: int
    gid: int
    entry_module: str
    lock_file: str
    app_dir: str = "src"
    port: int = 8080
    health_path: str = "/healthz"
    source_url: str = ""

    def __post_init__(self) -> None:
        problems = spec_problems(self)
        if problems:
            raise DockerfileSpecError(problems)


_TYPE_NAMES = {bool: "true or false", int: "an integer", str: "a string"}


def spec_problems(spec: DockerfileSpec) -> list[tuple[str, str]]:
    """Every (field, message) for a value outside its grammar, in field order."""
    problems: list[tuple[str, str]] = []
    for f in fields(spec):
        value = getattr(spec, f.name)
        expected = bool if f.name == "base_is_placeholder" else (int if f.name in ("uid", "gid", "port") else str)
        if type(value) is not expected:  # bool is an int: reject True as a UID
            problems.append((f.name, f"must be {_TYPE_NAMES[expected]}, not {type(value).__name__}"))
            continue
        message = _CHECKS.get(f.name, lambda _v: None)(value)
        if message:
            problems.append((f.name, message))
    return problems


def _check_agent(value: str) -> str | None:
    if len(value) > 63 or not AGENT_RE.fullmatch(value):
        return f"{value!r} is not a DNS label (lower-case letters, digits and '-', at most 63 characters)"
    return None


def _check_relative_path(value: str) -> str | None:
    if value.startswith("/"):
        return f"{value!r} must be a path relative to the build context, not absolute"
    if ".." in value.split("/"):
        return f"{value!r} must not contain '..': it must stay inside the build context"
    if len(value) > MAX_PATH or not PATH_RE.fullmatch(value):
        return (f"{value!r} is not a plain relative path (segments of letters, digits, '_', '.', '-', "
                f"not starting with '.' or '-', at most {MAX_PATH} characters)")
    return None


def _check_description(value: str) -> str | None:
    if len(value) > MAX_DESCRIPTION:
        return f"is {len(value)} characters long; at most {MAX_DESCRIPTION}"
    if not value.isprintable():
        return "must be one line of printable text (no line breaks, tabs or control characters)"
    return None


def _check_base_image(value: str) -> str | None:
    match = IMAGE_RE.fullmatch(value)
    if not match:
        return (f"{value!r} is not an image pinned by digest: write name[:tag]@sha256:<64 hex>, "
                "e.g. python:3.11-slim@sha256:<digest>")
    if len(match["name"]) > MAX_IMAGE_NAME:
        return f"the image name is longer than {MAX_IMAGE_NAME} characters"
    if match["tag"] == "latest":
        return f"{value!r} uses the tag 'latest': name the version you pinned (e.g. python:3.11-slim@sha256:...)"
    return None


def _check_id(value: int) -> str | None:
    if not MIN_ID <= value <= MAX_ID:
        return f"{value} is outside {MIN_ID}-{MAX_ID} (a numeric, non-root, non-system id)"
    return None


def _check_entry_module(value: str) -> str | None:
    if len(value) > 200 or not MODULE_RE.fullmatch(value):
        return f"{value!r} is not a dotted Python module name (e.g. research_agent.main)"
    reserved = [part for part in value.split(".") if keyword.iskeyword(part)]
    if reserved:
        return f"{value!r} uses the Python keyword {reserved[0]!r} as a module name"
    return None


def _check_port(value: int) -> str | None:
    if not MIN_PORT <= value <= MAX_PORT:
        return (f"{value} is outside {MIN_PORT}-{MAX_PORT}: the agent runs without capabilities and "
                "cannot bind a privileged port")
    return None


def _check_health_path(value: str) -> str | None:
    if len(value) > 200 or not HEALTH_PATH_RE.fullmatch(value):
        return f"{value!r} is not an HTTP path of letters, digits and '/_.-' starting with '/'"
    return None


def _check_source_url(value: str) -> str | None:
    if value and (len(value) > MAX_PATH or not SOURCE_URL_RE.fullmatch(value)):
        return f"{value!r} is not an https:// URL of letters, digits and '._~%+/-'"
    return None


_CHECKS = {
    "agent": _check_agent,
    "source_file": _check_relative_path,
    "description": _check_description,
    "base_image": _check_base_image,
    "uid": _check_id,
    "gid": _check_id,
    "entry_module": _check_entry_module,
    "lock_file": _check_relative_path,
    "app_dir": _check_relative_path,
    "port": _check_port,
    "health_path": _check_health_path,
    "source_url": _check_source_url,
}


# ---------------------------------------------------------------- rendering


def render_dockerfile(spec: DockerfileSpec) -> str:
    """The Dockerfile text for `spec` (ends with a newline)."""
    problems = spec_problems(spec)  # a spec cannot be built invalid; this guards object.__setattr__
    if problems:
        raise DockerfileSpecError(problems)
    match = IMAGE_RE.fullmatch(spec.base_image)
    assert match is not None
    health_url = f"http://127.0.0.1:{spec.port}{spec.health_path}"
    context = {
        **{f.name: getattr(spec, f.name) for f in fields(spec)},
        "base_name": match["name"],
        "base_tag_suffix": f":{match['tag']}" if match["tag"] else "",
        "base_digest": match["digest"],
        # A failed request raises (exit 1); anything but 200 exits 1. No curl in the image.
        "healthcheck": [
            "python", "-c",
            "import sys, urllib.request; "
            f"r = urllib.request.urlopen('{health_url}', timeout=4); "
            "sys.exit(0 if r.status == 200 else 1)",
        ],
        "entrypoint": ["python", "-m", spec.entry_module],
    }
    return _template().render(context)


def docker_quote(value: str) -> str:
    """`value` as a double-quoted Dockerfile word: `\\`, `"` and `$` escaped; no line breaks."""
    if not isinstance(value, str) or not value.isprintable():
        raise ValueError(f"{value!r} cannot be written into a Dockerfile string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def exec_form(argv: list[str]) -> str:
    """An exec-form (JSON array) argument list: ["python", "-m", "x"]."""
    if not argv or not all(isinstance(arg, str) and arg.isprintable() for arg in argv):
        raise ValueError(f"{argv!r} is not a list of one-line strings")
    return json.dumps(argv)


def template_source() -> tuple[str, str]:
    """(where the template was found, its text): the wheel's copy, else the source checkout's."""
    packaged = resources.files("blueprint").joinpath("templates", TEMPLATE_NAME)
    if packaged.is_file():
        return str(packaged), packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "templates" / TEMPLATE_NAME
    if checkout.is_file():
        return str(checkout), checkout.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"the Dockerfile template {TEMPLATE_NAME} is missing: neither {packaged} (installed package) "
        f"nor {checkout} (source checkout) exists; reinstall blueprint"
    )


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    where, text = template_source()
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["dq"] = docker_quote
    environment.filters["exec_form"] = exec_form
    template = environment.from_string(text)
    template.filename = where
    return template
