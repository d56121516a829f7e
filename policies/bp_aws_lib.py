"""IAM policy helpers shared by the BP_AWS checks. Not a check: it defines no `check`.

An IAM policy reaches a check in one of two shapes, and both are read into the same `Statement`
model so that every rule is written once:

- a `data "aws_iam_policy_document"` block (checkov's data checks get it like a resource: every
  attribute wrapped in a one-element list, every nested block a list of dicts), and
- a JSON policy on a resource attribute (`assume_role_policy`, `policy`): checkov hands over
  `jsonencode({...})` and a JSON heredoc already parsed into a dict; a string longer than
  checkov's render limit (CHECKOV_RENDER_MAX_LEN, 10,000 characters) arrives as raw JSON text,
  which is parsed here.

A policy written as `data.aws_iam_policy_document.<name>.json` reaches a resource check as that
bare reference text: checkov does not render a data source's `json` into the attribute (its graph
only links the two blocks). The resource checks accept exactly that reference, because the data
checks inspect every policy document of the root.

Anything not literal (a variable, a reference, a template, a `dynamic` block, a merged source or
override document) reads as None, and the rules treat None as a failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bp_k8s_lib import attr, attr_str, attr_strings, blocks, has_dynamic, hcl_unescape, is_literal_str

# `data.aws_iam_policy_document.<label>.json`, as checkov leaves the reference (with or without ${}).
DATA_DOCUMENT_REF_RE = re.compile(r"^(\$\{)?data\.aws_iam_policy_document\.[A-Za-z_][A-Za-z0-9_-]*\.json(\})?$")
# Attributes of aws_iam_policy_document that pull statements from elsewhere: a check cannot see them.
MERGED_DOCUMENT_KEYS = ("source_policy_documents", "override_policy_documents", "source_json", "override_json")

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = frozenset({"sts:AssumeRole", "sts:TagSession"})
STS_AUDIENCE = "sts.amazonaws.com"
# Actions a secret-reading agent may hold, per service; a service not listed is not restricted
# beyond "no wildcard".
ALLOWED_SERVICE_ACTIONS = {
    "secretsmanager": frozenset({"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}),
    "kms": frozenset({"kms:Decrypt"}),
}

_OIDC_PROVIDER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/([A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*)$")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
_SUB_RE = re.compile(rf"^system:serviceaccount:({_DNS_LABEL}):({_DNS_SUBDOMAIN})$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_EKS_CLUSTER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:eks:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12})?:\S+$")


@dataclass
class Condition:
    test: str | None
    variable: str | None
    values: list[str] | None


@dataclass
class Statement:
    """One policy statement; a field is None when present but not literal, [] when absent."""

    where: str
    effect: str | None = "Allow"
    actions: list[str] | None = field(default_factory=list)
    resources: list[str] | None = field(default_factory=list)
    # (type, identifiers); type is "AWS", "Service", "Federated" or "*"
    principals: list[tuple[str | None, list[str] | None]] | None = field(default_factory=list)
    conditions: list[Condition] | None = field(default_factory=list)
    # not_actions / not_resources / not_principals: grants by exclusion, never literal enough
    negated: list[str] = field(default_factory=list)

    @property
    def allows(self) -> bool:
        """Deny statements only narrow access; anything not literally Deny is treated as Allow."""
        return self.effect != "Deny"

    @property
    def is_trust(self) -> bool:
        return bool(self.principals) or self.principals is None or "not_principals" in self.negated


class PolicyError(Exception):
    """The policy cannot be read as literal statements; the message says why."""


# ------------------------------------------------------------------ reading policies


def document_statements(conf: dict[str, Any]) -> list[Statement]:
    """The statements of a `data "aws_iam_policy_document"` configuration, or PolicyError."""
    if has_dynamic(conf):
        raise PolicyError("a dynamic block hides statements from review: write each statement literally")
    merged = [key for key in MERGED_DOCUMENT_KEYS if key in conf]
    if merged:
        raise PolicyError(f"{', '.join(merged)} merges statements the check cannot see: write them in this document")
    statements = []
    for index, block in enumerate(blocks(conf, "statement")):
        where = f"statement[{index}]"
        statement = Statement(where=where)
        if "effect" in block:
            statement.effect = attr_str(block, "effect")
        for key in ("actions", "resources"):
            if key in block:
                setattr(statement, key, attr_strings(block, key))
        statement.negated = [k for k in ("not_actions", "not_resources", "not_principals") if k in block]
        principals: list[tuple[str | None, list[str] | None]] = []
        for principal in blocks(block, "principals"):
            principals.append((attr_str(principal, "type"), attr_strings(principal, "identifiers")))
        statement.principals = principals
        conditions = []
        for condition in blocks(block, "condition"):
            conditions.append(
                Condition(attr_str(condition, "test"), attr_str(condition, "variable"), attr_strings(condition, "values"))
            )
        statement.conditions = conditions
        statements.append(statement)
    if not statements:
        raise PolicyError("the document has no statement")
    return statements


def is_document_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(DATA_DOCUMENT_REF_RE.match(value))


def json_policy_statements(conf: dict[str, Any], key: str) -> list[Statement]:
    """The statements of a JSON policy attribute (jsonencode, heredoc or JSON text), or PolicyError."""
    value = attr(conf, key)
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            value = _json_from_source_text(text)
            if value is None:
                raise PolicyError(
                    f"{key} is neither literal JSON nor data.aws_iam_policy_document.<name>.json: {text[:80]!r}"
                ) from None
    if not isinstance(value, dict):
        raise PolicyError(f"{key} is missing or not a literal JSON policy")
    raw = value.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{key} has no Statement")
    return [_json_statement(f"{key}.Statement[{i}]", s) for i, s in enumerate(raw)]


def _json_from_source_text(text: str) -> Any:
    """A quoted JSON string longer than checkov's render limit arrives as HCL source text."""
    try:
        return json.loads(hcl_unescape(text)) if "\\" in text else None
    except ValueError:
        return None


def _json_strings(value: Any) -> list[str] | None:
    """A JSON "string or list of strings" value as a literal list, or None."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(is_literal_str(v) for v in value):
        return None
    return list(value)


def _json_statement(where: str, raw: Any) -> Statement:
    statement = Statement(where=where)
    if not isinstance(raw, dict):
        statement.effect = None
        return statement
    effect = raw.get("Effect")
    statement.effect = effect if is_literal_str(effect) else None
    statement.actions = _json_strings(raw["Action"]) if "Action" in raw else []
    statement.resources = _json_strings(raw["Resource"]) if "Resource" in raw else []
    statement.negated = [k for k in ("NotAction", "NotResource", "NotPrincipal") if k in raw]
    if "Principal" in raw:
        principal = raw["Principal"]
        if principal == "*":
            statement.principals = [("*", ["*"])]
        elif isinstance(principal, dict) and principal:
            statement.principals = [
                (kind if is_literal_str(kind) else None, _json_strings(ids)) for kind, ids in principal.items()
            ]
        else:
            statement.principals = None
    if "Condition" in raw:
        condition = raw["Condition"]
        if isinstance(condition, dict):
            conditions = []
            for test, pairs in condition.items():
                if not isinstance(pairs, dict):
                    conditions.append(Condition(test if is_literal_str(test) else None, None, None))
                    continue
                for variable, values in pairs.items():
                    conditions.append(
                        Condition(
                            test if is_literal_str(test) else None,
                            variable if is_literal_str(variable) else None,
                            _json_strings(values),
                        )
                    )
            statement.conditions = conditions
        else:
            statement.conditions = None
    return statement


# ------------------------------------------------------------------ rules


def trust_problems(statements: list[Statement]) -> list[str]:
    """Why a trust policy is wider than one ServiceAccount's workload identity (empty: it is not).

    Every Allow statement must be either an IRSA statement (Federated EKS OIDC provider,
    sts:AssumeRoleWithWebIdentity only, StringEquals on `<provider>:sub` = exactly one
    `system:serviceaccount:<ns>:<sa>` and `<provider>:aud` = exactly `sts.amazonaws.com`) or an
    EKS Pod Identity statement (Service pods.eks.amazonaws.com, only sts:AssumeRole and
    sts:TagSession, StringEquals on aws:SourceAccount and ArnEquals/StringEquals on aws:SourceArn).
    """
    problems: list[str] = []
    allowing = 0
    for statement in statements:
        where = statement.where
        if statement.effect is None:
            problems.append(f"{where}.effect must be the literal Allow or Deny")
            continue
        if not statement.allows:
            continue
        allowing += 1
        if statement.negated:
            problems.append(f"{where} uses {', '.join(statement.negated)}: name the principal and actions instead")
            continue
        if statement.principals is None or not statement.principals:
            problems.append(f"{where} has no literal principal: a trust statement names exactly one")
            continue
        if len(statement.principals) != 1:
            problems.append(f"{where} names {len(statement.principals)} principal types: use one per statement")
            continue
        kind, identifiers = statement.principals[0]
        if kind == "Federated":
            problems += _web_identity_problems(statement, identifiers)
        elif kind == "Service":
            problems += _pod_identity_problems(statement, identifiers)
        else:
            problems.append(
                f"{where} trusts principal type {kind!r}: agent roles trust only an EKS OIDC provider "
                f"(Federated, IRSA) or {POD_IDENTITY_SERVICE} (Service, Pod Identity)"
            )
    if not allowing:
        problems.append("the trust policy allows no principal")
    return problems


def _web_identity_problems(statement: Statement, identifiers: list[str] | None) -> list[str]:
    where = statement.where
    problems: list[str] = []
    provider = None
    if identifiers is None or len(identifiers) != 1:
        problems.append(f"{where} must federate exactly one literal OIDC provider ARN")
    else:
        match = _OIDC_PROVIDER_ARN_RE.match(identifiers[0])
        if match:
            provider = match.group(1)
        else:
            problems.append(f"{where} principal {identifiers[0]!r} is not an IAM OIDC provider ARN")
    if statement.actions != [WEB_IDENTITY_ACTION]:
        problems.append(f"{where}.actions must be exactly [{WEB_IDENTITY_ACTION!r}], not {statement.actions!r}")
    if statement.conditions is None:
        problems.append(f"{where}.condition is not literal")
        return problems
    if provider is None:
        return problems
    found = {"sub": [], "aud": []}
    for index, condition in enumerate(statement.conditions):
        if condition.variable is None or condition.test is None:
            problems.append(f"{where}.condition[{index}] must name a literal test and variable")
            continue
        for claim in found:
            if condition.variable == f"{provider}:{claim}":
                found[claim].append(condition)
            elif condition.variable.endswith(f":{claim}"):
                problems.append(
                    f"{where}.condition[{index}] tests {condition.variable!r}, not a claim of the federated "
                    f"provider {provider!r}"
                )
    expected = {"sub": "system:serviceaccount:<namespace>:<service account>", "aud": STS_AUDIENCE}
    for claim, conditions in found.items():
        if not conditions:
            problems.append(f"{where} has no StringEquals condition on {provider}:{claim} (expected {expected[claim]})")
            continue
        for condition in conditions:
            if condition.test != "StringEquals":
                problems.append(
                    f"{where} tests {provider}:{claim} with {condition.test}: use StringEquals (no patterns)"
                )
            values = condition.values
            if values is None:
                problems.append(f"{where} {provider}:{claim} values are not literal (a variable or reference)")
                continue
            if len(values) != 1:
                problems.append(f"{where} {provider}:{claim} must hold exactly one value, not {values!r}")
                continue
            value = values[0]
            if claim == "sub" and not _SUB_RE.match(value):
                problems.append(
                    f"{where} {provider}:sub is {value!r}, not exactly system:serviceaccount:<namespace>:<name> "
                    "(no '*' or '?')"
                )
            if claim == "aud" and value != STS_AUDIENCE:
                problems.append(f"{where} {provider}:aud is {value!r}, not {STS_AUDIENCE!r}")
    return problems


def _pod_identity_problems(statement: Statement, identifiers: list[str] | None) -> list[str]:
    where = statement.where
    problems: list[str] = []
    if identifiers != [POD_IDENTITY_SERVICE]:
        problems.append(f"{where} trusts service {identifiers!r}: agent roles trust only {POD_IDENTITY_SERVICE!r}")
        return problems
    actions = statement.actions
    if not actions or not set(actions) <= POD_IDENTITY_ACTIONS or "sts:AssumeRole" not in actions:
        problems.append(
            f"{where}.actions must be sts:AssumeRole and optionally sts:TagSession for Pod Identity, not {actions!r}"
        )
    if statement.conditions is None:
        problems.append(f"{where}.condition is not literal")
        return problems
    # exact-match operators only (ArnEquals is AWS's recommended operator for aws:SourceArn)
    expected = {
        "aws:SourceAccount": (("StringEquals",), _ACCOUNT_RE, "account id"),
        "aws:SourceArn": (("ArnEquals", "StringEquals"), _EKS_CLUSTER_ARN_RE, "EKS cluster ARN"),
    }
    for variable, (tests, pattern, what) in expected.items():
        good = [
            c
            for c in statement.conditions
            if c.variable == variable
            and c.test in tests
            and c.values is not None
            and len(c.values) == 1
            and pattern.match(c.values[0])
        ]
        if not good:
            problems.append(
                f"{where} needs an exact {' or '.join(tests)} condition on {variable} with exactly one literal "
                f"{what} (confused deputy)"
            )
    return problems


def permission_problems(statements: list[Statement]) -> list[str]:
    """Why an identity policy grants more than named actions on named resources (empty: it does not)."""
    problems: list[str] = []
    for statement in statements:
        where = statement.where
        if statement.effect is None:
            problems.append(f"{where}.effect must be the literal Allow or Deny")
            continue
        if not statement.allows:
            continue
        if statement.negated:
            problems.append(f"{where} uses {', '.join(statement.negated)}: list the granted actions and resources")
        if statement.principals is None or statement.principals:
            problems.append(f"{where} names principals: an identity policy does not")
        actions = statement.actions
        if not actions:
            problems.append(f"{where}.actions must be a non-empty list of literal actions")
        else:
            for action in actions:
                if "*" in action or "?" in action:
                    problems.append(f"{where} action {action!r} is a wildcard: name each action")
                elif not _ACTION_RE.match(action):
                    problems.append(f"{where} action {action!r} is not a literal service:Action")
                else:
                    service = action.split(":", 1)[0].lower()
                    allowed = ALLOWED_SERVICE_ACTIONS.get(service)
                    if allowed is not None and action not in allowed:
                        problems.append(
                            f"{where} action {action!r} is not allowed for {service}: only {', '.join(sorted(allowed))}"
                        )
        resources = statement.resources
        if not resources:
            problems.append(f"{where}.resources must be a non-empty list of literal ARNs")
        else:
            for resource in resources:
                if "*" in resource or "?" in resource:
                    problems.append(f"{where} resource {resource!r} is a wildcard: name each ARN")
                elif not _ARN_RE.match(resource):
                    problems.append(f"{where} resource {resource!r} is not a literal ARN")
        if statement.conditions is None:
            problems.append(f"{where}.condition is not literal")
    return problems
