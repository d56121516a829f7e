"""Constrained types for identifier fields: each rejects anything outside its grammar.

Nothing here accepts `${` or `%{`, so no identifier can inject a Terraform expression. Free text
(descriptions, reasons) is the only unconstrained string; the emitter escapes it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# RFC 1123 label: namespaces, agent names, label values' strictest common form.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# RFC 1123 subdomain: resource names, API groups.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# The namespace blueprint creates for an agent is NAMESPACE_PREFIX + agent name (<= 63 chars).
NAMESPACE_PREFIX = "agent-"
AGENT_NAME_MAX = 63 - len(NAMESPACE_PREFIX)

AgentName = Annotated[
    str,
    # Starts with a letter: the name also becomes Terraform resource names, which cannot start with a digit.
    StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", min_length=2, max_length=AGENT_NAME_MAX),
    Field(
        description=f"lower-case letters, digits and '-', starting with a letter, 2-{AGENT_NAME_MAX} chars; "
        f"becomes namespace '{NAMESPACE_PREFIX}<name>' (<= 63 chars) and the ServiceAccount name"
    ),
]
EnvName = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=20)]
NamespaceName = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=63)]
DestinationName = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=63)]
ExceptionName = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=63)]
ResourceName = Annotated[
    str, StringConstraints(pattern=DNS_SUBDOMAIN + "|^[A-Za-z0-9._:-]+$", min_length=1, max_length=253)
]
# "" is the core API group; "*" is schema-valid so that it can be refused by name (exit 1).
ApiGroup = Annotated[str, StringConstraints(pattern=r"^(\*|" + DNS_SUBDOMAIN[1:-1] + r")?$", max_length=253)]
# Plural resource, optionally with a subresource ("pods/log"), or "*".
KubeResource = Annotated[
    str, StringConstraints(pattern=r"^(\*|[a-z][a-z0-9]*(/[a-z][a-z0-9]*)?|[a-z][a-z0-9]*/\*)$", max_length=253)
]
Verb = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-zA-Z]*)$", max_length=63)]
Owner = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._%+-]+(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$", max_length=254),
    Field(description="an e-mail address or a team handle (letters, digits, . _ % + -)"),
]
FreeText = Annotated[str, StringConstraints(max_length=2000)]
Reason = Annotated[str, StringConstraints(min_length=20, max_length=2000)]
LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
        max_length=317,
    ),
]
LabelValue = Annotated[
    str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", max_length=63)
]
KubernetesVersion = Annotated[
    str,
    StringConstraints(pattern=r"^1\.(2[5-9]|3[0-7])$"),
    Field(description="minor version '1.25' to '1.37' (the range kubernetes-validate ships schemas for)"),
]
Port = Annotated[int, Field(ge=1, le=65535)]


# IPv6 ranges that carry IPv4 addresses: written this way, an IPv4 destination would slip past
# the checks for the metadata address, the cluster ranges and the prefix limit.
_IPV4_IN_IPV6 = tuple(ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16"))


def _canonical_cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR block with its host bits zero ({exc})") from None
    # A supernet of these (e.g. ::/0) is caught by the egress-world and prefix-limit refusals.
    if net.version == 6 and any(net.subnet_of(embedded) for embedded in _IPV4_IN_IPV6):
        raise ValueError("IPv4-mapped, NAT64 and 6to4 ranges embed IPv4 addresses; write the IPv4 CIDR instead")
    return str(net)


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IP address") from None


Cidr = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$", max_length=64),
    AfterValidator(_canonical_cidr),
    Field(description="a CIDR block such as 192.0.2.0/24, host bits zero"),
]
IpAddress = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f:.]+$", max_length=45), AfterValidator(_ip_address)]

# Kubernetes quantities: we accept the common suffixes and normalise them for arithmetic.
_CPU = re.compile(r"^([0-9]+)(m?)$|^([0-9]+)\.([0-9]{1,3})$")
_MEMORY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_FACTOR = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                  "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millicores(value: str) -> int:
    match = _CPU.match(value)
    if not match:
        raise ValueError("not a CPU quantity (use whole cores like '2', decimals like '0.5', or millicores like '500m')")
    if match.group(1) is not None:
        number = int(match.group(1))
        return number if match.group(2) == "m" else number * 1000
    return int(match.group(3)) * 1000 + int(match.group(4).ljust(3, "0"))


def memory_bytes(value: str) -> int:
    match = _MEMORY.match(value)
    if not match:
        raise ValueError("not a memory quantity (use e.g. '512Mi', '2Gi')")
    return int(match.group(1)) * _MEMORY_FACTOR[match.group(2)]


def _cpu(value: str | int) -> str:
    text = str(value)
    if cpu_millicores(text) <= 0:
        raise ValueError("must be more than zero")
    return text


def _memory(value: str | int) -> str:
    text = str(value)
    if memory_bytes(text) <= 0:
        raise ValueError("must be more than zero")
    return text


CpuQuantity = Annotated[str | int, AfterValidator(_cpu), Field(description="CPU: '2', '0.5' or '500m'")]
MemoryQuantity = Annotated[str | int, AfterValidator(_memory), Field(description="memory: '512Mi', '2Gi'")]


def format_cpu(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(size: int) -> str:
    for suffix, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


# Container images: registry/repository[:tag][@sha256:<64 hex>]; no `latest`-only references.
IMAGE_PATTERN = (r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                 r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
ImageRef = Annotated[
    str,
    StringConstraints(pattern=IMAGE_PATTERN, max_length=512),
    Field(description="an image reference, registry/repository[:tag]@sha256:<64 hex digest>"),
]
def _no_keywords(value: str) -> str:
    import keyword

    if any(keyword.iskeyword(part) for part in value.split(".")):
        raise ValueError("a Python keyword cannot be part of a module name")
    return value


PythonModule = Annotated[
    str,
    AfterValidator(_no_keywords),
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", max_length=200),
    Field(description="a dotted Python module name, e.g. agent.main"),
]
def _no_parent(value: str) -> str:
    if ".." in value.split("/"):
        raise ValueError("'..' is not allowed in a path")
    if any(part.startswith(".") for part in value.split("/") if part):
        raise ValueError("hidden path segments (starting with '.') are not allowed")
    return value


RelativePath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$", max_length=255),
    AfterValidator(_no_parent),
    Field(description="a relative path inside the agent's source tree, without '..'"),
]
MountPath = Annotated[
    str,
    StringConstraints(pattern=r"^/[A-Za-z0-9_./-]+$", max_length=255),
    AfterValidator(_no_parent),
    Field(description="an absolute path, e.g. /data/kb"),
]
HttpPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9/_.-]*$", max_length=255)]
ToolName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
CommandArg = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./:=@+-]{1,200}$")]
