"""Plan -> Terraform for the identity stages (identity-aws, identity-vault) and the agents-crd
stage (one SecretProviderClass per agent). Literal values; the trust subject, the grant and the
mounted objects all come from the same SecretsPlan, and the consistency gate re-checks them."""

from __future__ import annotations

import json

from blueprint.emit.hcl import Block, Ref
from blueprint.plan.objects import AgentPlan, SecretsPlan

IRSA_AUDIENCE = "sts.amazonaws.com"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
SECRETS_MANAGER_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"


def _statement(doc: Block, sid: str, actions: list[str]) -> Block:
    statement = doc.block("statement")
    statement.attr("sid", sid)
    statement.attr("effect", "Allow")
    statement.attr("actions", actions)
    return statement


def _condition(statement: Block, test: str, variable: str, values: list[str]) -> None:
    condition = statement.block("condition")
    condition.attr("test", test)
    condition.attr("variable", variable)
    condition.attr("values", values)


def aws_blocks(agent: AgentPlan) -> list[Block]:
    secrets = agent.secrets
    assert secrets is not None and secrets.aws is not None
    aws = secrets.aws
    label = agent.label
    trust = Block("data", ("aws_iam_policy_document", f"{label}__trust"))
    if aws.mode == "irsa":
        issuer = aws.oidc_provider
        statement = _statement(trust, "AssumeFromAgentServiceAccount", ["sts:AssumeRoleWithWebIdentity"])
        principals = statement.block("principals")
        principals.attr("type", "Federated")
        principals.attr("identifiers", [f"arn:aws:iam::{aws.account_id}:oidc-provider/{issuer}"])
        _condition(statement, "StringEquals", f"{issuer}:sub",
                   [f"system:serviceaccount:{agent.namespace}:{agent.service_account}"])
        _condition(statement, "StringEquals", f"{issuer}:aud", [IRSA_AUDIENCE])
    else:
        statement = _statement(trust, "AssumeFromAgentPodIdentity", ["sts:AssumeRole", "sts:TagSession"])
        principals = statement.block("principals")
        principals.attr("type", "Service")
        principals.attr("identifiers", [POD_IDENTITY_PRINCIPAL])
        _condition(statement, "StringEquals", "aws:SourceAccount", [aws.account_id])
        _condition(statement, "ArnEquals", "aws:SourceArn",
                   [f"arn:aws:eks:{aws.region}:{aws.account_id}:cluster/{aws.cluster}"])

    role = Block("resource", ("aws_iam_role", label))
    role.attr("name", aws.role_name)
    role.attr("description", f"blueprint agent {agent.name}: reads its declared secrets")
    role.attr("assume_role_policy", Ref(f"data.aws_iam_policy_document.{label}__trust.json"))
    role.attr("max_session_duration", aws.max_session)
    role.attr("tags", {"blueprint.dev/agent": agent.name})  # the provider adds the default tags

    grant = Block("data", ("aws_iam_policy_document", f"{label}__secrets"))
    read = _statement(grant, "ReadDeclaredSecrets", SECRETS_MANAGER_ACTIONS)
    read.attr("resources", sorted({o.reference for o in secrets.objects}))
    keys = sorted({o.kms_key_arn for o in secrets.objects if o.kms_key_arn})
    if keys:
        decrypt = _statement(grant, "DecryptDeclaredSecrets", ["kms:Decrypt"])
        decrypt.attr("resources", keys)
        _condition(decrypt, "StringEquals", "kms:ViaService", [f"secretsmanager.{aws.region}.amazonaws.com"])

    policy = Block("resource", ("aws_iam_role_policy", f"{label}__secrets"))
    policy.attr("name", "read-declared-secrets")
    policy.attr("role", aws.role_name)
    policy.attr("policy", Ref(f"data.aws_iam_policy_document.{label}__secrets.json"))
    policy.attr("depends_on", [Ref(f"aws_iam_role.{label}")])
    blocks = [trust, role, grant, policy]

    if aws.mode == "pod-identity":
        association = Block("resource", ("aws_eks_pod_identity_association", label))
        association.attr("cluster_name", aws.cluster)
        association.attr("namespace", agent.namespace)
        association.attr("service_account", agent.service_account)
        association.attr("role_arn", aws.role_arn)
        association.attr("tags", {"blueprint.dev/agent": agent.name})
        association.attr("depends_on", [Ref(f"aws_iam_role.{label}")])
        blocks.append(association)
    return blocks


def vault_policy_text(secrets: SecretsPlan) -> str:
    """Vault policy HCL: `read` on exactly the declared paths."""
    paths = sorted({o.reference for o in secrets.objects})
    return "".join(f'path "{p}" {{\n  capabilities = ["read"]\n}}\n' for p in paths)


def vault_blocks(agent: AgentPlan) -> list[Block]:
    secrets = agent.secrets
    assert secrets is not None and secrets.vault is not None
    vault = secrets.vault
    label = agent.label
    policy = Block("resource", ("vault_policy", label))
    policy.attr("name", vault.policy_name)
    policy.attr("policy", vault_policy_text(secrets))
    role = Block("resource", ("vault_kubernetes_auth_backend_role", label))
    role.attr("backend", vault.auth_mount)
    role.attr("role_name", vault.role_name)
    role.attr("bound_service_account_names", [agent.service_account])
    role.attr("bound_service_account_namespaces", [agent.namespace])
    role.attr("audience", vault.audience)
    role.attr("token_ttl", vault.token_ttl)
    role.attr("token_max_ttl", vault.token_max_ttl)
    role.attr("token_policies", [vault.policy_name])
    role.attr("token_no_default_policy", True)
    role.attr("token_type", "service")
    role.attr("depends_on", [Ref(f"vault_policy.{label}")])
    return [policy, role]


def _yaml_objects(items: list[dict[str, object]]) -> str:
    # JSON scalars are valid YAML scalars: every value quoted, nothing for YAML to reinterpret.
    lines = []
    for item in items:
        first = True
        for key, value in item.items():
            prefix = "- " if first else "  "
            first = False
            if isinstance(value, list):
                lines.append(f"{prefix}{key}:")
                for sub in value:
                    sub_first = True
                    for k, v in sub.items():
                        lines.append(f"    {'- ' if sub_first else '  '}{k}: {json.dumps(v)}")
                        sub_first = False
            else:
                lines.append(f"{prefix}{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def spc_objects(secrets: SecretsPlan) -> str:
    """The provider's `objects` parameter: exactly the declared objects, in declaration order."""
    items: list[dict[str, object]] = []
    for obj in secrets.objects:
        if secrets.backend == "aws":
            item: dict[str, object] = {"objectName": obj.reference, "objectType": "secretsmanager"}
            if obj.key:
                # The AWS provider also writes the whole secret; it gets the alias <file>.json.
                item["objectAlias"] = f"{obj.file}.json"
                item["jmesPath"] = [{"path": obj.key, "objectAlias": obj.file}]
            else:
                item["objectAlias"] = obj.file
        else:
            item = {"objectName": obj.file, "secretPath": obj.reference, "secretKey": obj.key or ""}
        items.append(item)
    return _yaml_objects(items)


def spc_block(agent: AgentPlan) -> Block:
    secrets = agent.secrets
    assert secrets is not None
    if secrets.backend == "aws":
        aws = secrets.aws
        assert aws is not None
        parameters = {"objects": spc_objects(secrets), "region": aws.region}
        if aws.mode == "pod-identity":
            parameters["usePodIdentity"] = "true"
    else:
        vault = secrets.vault
        assert vault is not None
        parameters = {"audience": vault.audience, "objects": spc_objects(secrets), "roleName": vault.role_name,
                      "vaultAddress": vault.address, "vaultKubernetesMountPath": vault.auth_mount}
    manifest = Block("resource", ("kubernetes_manifest", f"{agent.label}__secrets"))
    manifest.attr("manifest", {
        "apiVersion": SPC_API_VERSION,
        "kind": "SecretProviderClass",
        "metadata": {"name": secrets.spc_name, "namespace": agent.namespace, "labels": dict(agent.labels)},
        "spec": {"provider": secrets.backend, "parameters": parameters},
    })
    return manifest
