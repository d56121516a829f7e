"""The provider-schema oracle against the real cdktn-provider-kubernetes assembly."""

from __future__ import annotations

import copy
import json
import re
from importlib import metadata

import pytest

from blueprint.hcl_reader import ParsedFile, parse_text, resources
from blueprint.gates.provider_schema import (
    Block,
    ProviderSchemaError,
    _find_tarball,
    _read_tarball,
    _Types,
    check_resource,
    load_provider_schema,
    schema_from_assembly,
)

LABELS = """{
      "app.kubernetes.io/managed-by" = "blueprint"
      "blueprint.dev/agent"          = "cluster-triage"
    }"""

# The shape docs/emitted-terraform.md documents, for agent cluster-triage.
GOOD = f"""
resource "kubernetes_namespace_v1" "cluster_triage" {{
  metadata {{
    name = "agent-cluster-triage"
    annotations = {{
      "blueprint.dev/description" = "Reads pod state and logs to triage incidents."
    }}
    labels = {{
      "app.kubernetes.io/managed-by"     = "blueprint"
      "pod-security.kubernetes.io/enforce" = "restricted"
    }}
  }}
}}

resource "kubernetes_service_account_v1" "cluster_triage" {{
  metadata {{
    name      = "cluster-triage"
    namespace = "agent-cluster-triage"
    labels    = {LABELS}
  }}
  automount_service_account_token = false
  depends_on                      = [kubernetes_namespace_v1.cluster_triage]
}}

resource "kubernetes_role_v1" "cluster_triage_shop" {{
  metadata {{
    name      = "agent-cluster-triage"
    namespace = "shop"
    labels    = {LABELS}
  }}
  rule {{
    api_groups = [""]
    resources  = ["pods", "pods/log"]
    verbs      = ["get", "list", "watch"]
  }}
  rule {{
    api_groups     = [""]
    resources      = ["configmaps"]
    resource_names = ["app-config"]
    verbs          = ["get"]
  }}
}}

resource "kubernetes_role_binding_v1" "cluster_triage_shop" {{
  metadata {{
    name      = "agent-cluster-triage"
    namespace = "shop"
    labels    = {LABELS}
  }}
  role_ref {{
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = "agent-cluster-triage"
  }}
  subject {{
    kind      = "ServiceAccount"
    name      = "cluster-triage"
    namespace = "agent-cluster-triage"
  }}
  depends_on = [kubernetes_role_v1.cluster_triage_shop, kubernetes_service_account_v1.cluster_triage]
}}

resource "kubernetes_network_policy_v1" "cluster_triage_default_deny" {{
  metadata {{
    name      = "default-deny"
    namespace = "agent-cluster-triage"
    labels    = {LABELS}
  }}
  spec {{
    pod_selector {{}}
    policy_types = ["Ingress", "Egress"]
  }}
  depends_on = [kubernetes_namespace_v1.cluster_triage]
}}

resource "kubernetes_network_policy_v1" "cluster_triage_allow_egress" {{
  metadata {{
    name      = "allow-egress"
    namespace = "agent-cluster-triage"
    labels    = {LABELS}
  }}
  spec {{
    pod_selector {{}}
    policy_types = ["Egress"]
    egress {{
      ports {{
        port     = "53"
        protocol = "UDP"
      }}
      ports {{
        port     = "53"
        protocol = "TCP"
      }}
      to {{
        namespace_selector {{
          match_labels = {{
            "kubernetes.io/metadata.name" = "kube-system"
          }}
        }}
        pod_selector {{
          match_labels = {{
            "k8s-app" = "kube-dns"
          }}
        }}
      }}
    }}
    egress {{
      ports {{
        port     = "443"
        protocol = "TCP"
      }}
      to {{
        ip_block {{
          cidr = "198.51.100.10/32"
        }}
      }}
    }}
  }}
  depends_on = [kubernetes_namespace_v1.cluster_triage]
}}

resource "kubernetes_resource_quota_v1" "cluster_triage" {{
  metadata {{
    name      = "agent-quota"
    namespace = "agent-cluster-triage"
    labels    = {LABELS}
  }}
  spec {{
    hard = {{
      "limits.cpu"              = "2"
      "limits.memory"           = "2Gi"
      "pods"                    = "4"
      "requests.nvidia.com/gpu" = "0"
    }}
  }}
  depends_on = [kubernetes_namespace_v1.cluster_triage]
}}

resource "kubernetes_limit_range_v1" "cluster_triage" {{
  metadata {{
    name      = "agent-limits"
    namespace = "agent-cluster-triage"
    labels    = {LABELS}
  }}
  spec {{
    limit {{
      type            = "Container"
      default         = {{ cpu = "500m", memory = "512Mi" }}
      default_request = {{ cpu = "250m", memory = "256Mi" }}
      max             = {{ cpu = "1", memory = "1Gi" }}
    }}
  }}
  depends_on = [kubernetes_namespace_v1.cluster_triage]
}}
"""


@pytest.fixture(scope="module")
def schema():
    return load_provider_schema("cdktn_provider_kubernetes")


def problems(schema, text: str) -> list[str]:
    found = resources(ParsedFile("agent.tf", parse_text(text)))
    assert found, "the fixture declares no resource"
    return [p for r in found for p in check_resource(schema, r)]


def test_provider_version_is_the_one_the_bindings_were_generated_from(schema):
    # The wheel's own description states it independently of the assembly we read.
    description = metadata.metadata("cdktn-provider-kubernetes").get_payload()
    stated = re.search(r"bindings for hashicorp/kubernetes provider version (\S+)", description)
    assert stated and schema.provider_version == stated.group(1) == "3.4.0"
    assert schema.source == "registry.terraform.io/hashicorp/kubernetes"
    assert schema.name == "kubernetes"
    assert schema.package_version == metadata.version("cdktn-provider-kubernetes") == "17.1.0"


def test_load_is_fast_and_cached_per_process(schema):
    assert schema.load_seconds < 2.0
    assert load_provider_schema("cdktn_provider_kubernetes") is schema
    assert len(schema.resources) > 70 and "kubernetes_manifest" in schema.resources


def test_terraform_names_and_types(schema):
    sa = schema.resource("kubernetes_service_account_v1")
    assert sa.attributes["automount_service_account_token"].type.kind == "bool"
    spec = schema.resource("kubernetes_network_policy_v1").blocks["spec"].block
    to = spec.blocks["egress"].block.blocks["to"].block
    assert set(to.blocks) == {"ip_block", "namespace_selector", "pod_selector"}
    assert str(to.blocks["pod_selector"].block.attributes["match_labels"].type) == "map(string)"
    limit = schema.resource("kubernetes_limit_range_v1").blocks["spec"].block.blocks["limit"].block
    assert str(limit.attributes["default_request"].type) == "map(string)"
    every_name = _names(schema.resources.values())
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in every_name)


def test_required_ness_and_item_limits_follow_the_schema(schema):
    binding = schema.resource("kubernetes_role_binding_v1")
    assert (binding.blocks["metadata"].min_items, binding.blocks["metadata"].max_items) == (1, 1)
    assert (binding.blocks["subject"].min_items, binding.blocks["subject"].max_items) == (1, None)
    rule = schema.resource("kubernetes_role_v1").blocks["rule"].block
    assert {n: a.required for n, a in rule.attributes.items()} == {
        "api_groups": True, "resources": True, "verbs": True, "resource_names": False,
    }
    assert str(rule.attributes["verbs"].type) == "list(string)"


def test_emitted_agent_resources_have_no_problems(schema):
    found = resources(ParsedFile("agent.tf", parse_text(GOOD)))
    assert {r.type for r in found} == {
        "kubernetes_namespace_v1", "kubernetes_service_account_v1", "kubernetes_role_v1",
        "kubernetes_role_binding_v1", "kubernetes_network_policy_v1",
        "kubernetes_resource_quota_v1", "kubernetes_limit_range_v1",
    }
    assert [p for r in found for p in check_resource(schema, r)] == []


ROLE = """
resource "kubernetes_role_v1" "x" {
  metadata {
    name      = "agent-x"
    namespace = "shop"
  }
  rule {
    api_groups = [""]
    resources  = ["pods"]
    %s
  }
}
"""


def test_misspelled_attribute(schema):
    assert problems(schema, ROLE % 'verb = ["get"]') == [
        'kubernetes_role_v1.x: rule[0].verb: unknown attribute (did you mean "verbs"?)',
        "kubernetes_role_v1.x: rule[0].verbs: missing required attribute",
    ]


def test_misspelled_block(schema):
    text = ROLE.replace("rule {", "rules {") % 'verbs = ["get"]'
    assert problems(schema, text) == ['kubernetes_role_v1.x: rules: unknown block (did you mean "rule"?)']


def test_attribute_given_as_block_and_block_given_as_attribute(schema):
    text = """
resource "kubernetes_service_account_v1" "x" {
  metadata = { name = "x" }
  automount_service_account_token = false
}
resource "kubernetes_namespace_v1" "x" {
  metadata {
    name = "agent-x"
    labels {
      team = "sre"
    }
  }
}
"""
    assert problems(schema, text) == [
        'kubernetes_service_account_v1.x: metadata: is a block, not an attribute (write "metadata { ... }")',
        'kubernetes_namespace_v1.x: metadata[0].labels: is an attribute, not a block (write "labels = ...")',
    ]


def test_missing_required_metadata(schema):
    text = """
resource "kubernetes_service_account_v1" "x" {
  automount_service_account_token = false
}
"""
    assert problems(schema, text) == ["kubernetes_service_account_v1.x: metadata: missing required block"]


def test_two_metadata_blocks(schema):
    text = """
resource "kubernetes_network_policy_v1" "x" {
  metadata {
    name      = "a"
    namespace = "agent-x"
  }
  metadata {
    name      = "b"
    namespace = "agent-x"
  }
  spec {
    pod_selector {}
    policy_types = ["Egress"]
  }
}
"""
    assert problems(schema, text) == [
        "kubernetes_network_policy_v1.x: metadata: too many blocks: at most 1 allowed, found 2"
    ]


def test_metadata_limits_of_framework_resources_are_not_in_the_schema(schema):
    # Provider 3.x checks namespace_v1/role_v1 metadata with validators the schema does not carry:
    # pinned so a provider update that records them makes this test fail and the docs get updated.
    assert problems(schema, 'resource "kubernetes_namespace_v1" "x" {\n}\n') == []
    assert schema.resource("kubernetes_namespace_v1").blocks["metadata"].max_items is None


def test_wrong_literal_types(schema):
    assert problems(schema, ROLE % 'verbs = "get"') == [
        "kubernetes_role_v1.x: rule[0].verbs: wrong type: expected list(string), got string"
    ]
    assert problems(schema, ROLE % 'verbs = ["get", ["list"]]') == [
        "kubernetes_role_v1.x: rule[0].verbs[1]: wrong type: expected string, got list"
    ]
    text = """
resource "kubernetes_service_account_v1" "x" {
  metadata {
    name   = "x"
    labels = ["a"]
    annotations = { "a" = ["b"] }
  }
  automount_service_account_token = "maybe"
}
"""
    assert problems(schema, text) == [
        "kubernetes_service_account_v1.x: metadata[0].labels: wrong type: expected map(string), got list",
        'kubernetes_service_account_v1.x: metadata[0].annotations["a"]: wrong type: expected string, got list',
        'kubernetes_service_account_v1.x: automount_service_account_token: wrong type: expected bool, got string "maybe"',
    ]


def test_literals_terraform_converts_and_expressions_pass(schema):
    text = """
resource "kubernetes_service_account_v1" "x" {
  metadata {
    name      = "x"
    namespace = kubernetes_namespace_v1.x.metadata[0].name
    labels    = var.labels
  }
  automount_service_account_token = "false"
}
resource "kubernetes_network_policy_v1" "x" {
  metadata {
    name = "x"
  }
  spec {
    pod_selector {}
    policy_types = ["Egress"]
    egress {
      ports {
        port     = 443
        end_port = "8443"
      }
    }
  }
}
"""
    assert problems(schema, text) == []
    assert problems(schema, text.replace('end_port = "8443"', 'end_port = "high"')) == [
        'kubernetes_network_policy_v1.x: spec[0].egress[0].ports[0].end_port: wrong type: expected number, got string "high"'
    ]


def test_unknown_resource_type(schema):
    assert problems(schema, ROLE.replace("kubernetes_role_v1", "kubernetes_rol_v1") % "") == [
        'kubernetes_rol_v1.x: unknown resource type "kubernetes_rol_v1" in provider '
        'hashicorp/kubernetes 3.4.0 (did you mean "kubernetes_role_v1"?)'
    ]


def test_meta_arguments_and_dynamic_blocks(schema):
    text = ROLE.replace("metadata {", """count      = 2
  for_each   = toset(["a"])
  provider   = kubernetes.other
  depends_on = [kubernetes_namespace_v1.x]
  lifecycle {
    prevent_destroy = true
  }
  dynamic "rule" {
    for_each = var.rules
    content {
      verbs = rule.value
    }
  }
  dynamic "rulez" {
    for_each = var.rules
    content {}
  }
  metadata {""") % 'verbs = ["get"]'
    assert problems(schema, text) == [
        'kubernetes_role_v1.x: dynamic.rulez: unknown block (did you mean "rule"?)'
    ]


def test_nested_attributes_are_objects_not_blocks(schema):
    # kubernetes_validating_admission_policy_v1 is a plugin-framework resource: `spec = { ... }`.
    text = """
resource "kubernetes_validating_admission_policy_v1" "x" {
  spec = {
    failure_polcy     = "Fail"
    audit_annotations = []
    match_constraints = {}
  }
}
resource "kubernetes_validating_admission_policy_v1" "y" {
  spec {
    failure_policy = "Fail"
  }
}
"""
    assert problems(schema, text) == [
        'kubernetes_validating_admission_policy_v1.x: spec.failure_polcy: unknown attribute (did you mean "failure_policy"?)',
        "kubernetes_validating_admission_policy_v1.x: spec.failure_policy: missing required attribute",
        'kubernetes_validating_admission_policy_v1.y: spec: is an attribute, not a block (write "spec = ...")',
    ]


@pytest.fixture(scope="module")
def role_assembly():
    """kubernetes_role_v1's entries of the real assembly, and the package.json."""
    text, package_json = _read_tarball(_find_tarball("cdktn_provider_kubernetes"))
    types = _Types(text)
    role = next(c for c in types.resource_classes() if c["name"] == "RoleV1")
    wanted = [role["fqn"]] + [f"{role['fqn']}{s}" for s in ("Config", "Metadata", "Rule")]
    return {fqn: types.get(fqn) for fqn in wanted}, package_json


def test_compact_assembly_gives_the_same_schema(schema, role_assembly):
    # jsii may write the assembly without indentation: the reader then parses it whole.
    types, package_json = role_assembly
    compact = json.dumps({"types": types})
    small = schema_from_assembly("cdktn_provider_kubernetes", compact, package_json)
    assert list(small.resources) == ["kubernetes_role_v1"]
    assert _tree(small.resource("kubernetes_role_v1")) == _tree(schema.resource("kubernetes_role_v1"))


def test_names_come_from_the_registry_link_not_from_the_jsii_name(role_assembly):
    # Converting camelCase back is a guess (vault's krb5conf_path is jsii krb5ConfPath): the
    # Terraform name is the anchor of the generator's "Docs at Terraform Registry" link.
    types, package_json = role_assembly
    types = copy.deepcopy(types)
    rule = next(t for fqn, t in types.items() if fqn.endswith("RoleV1Rule"))
    verbs = next(p for p in rule["properties"] if p["name"] == "verbs")
    assert "role_v1#verbs RoleV1#verbs}" in verbs["docs"]["remarks"]
    verbs["docs"]["remarks"] = verbs["docs"]["remarks"].replace("#verbs", "#verbs2_x")
    small = schema_from_assembly("pkg", json.dumps({"types": types}), package_json)
    names = set(small.resource("kubernetes_role_v1").blocks["rule"].block.attributes)
    assert names == {"api_groups", "resources", "resource_names", "verbs2_x"}


def test_missing_package_is_an_environment_error():
    with pytest.raises(ProviderSchemaError) as caught:
        load_provider_schema("cdktn_provider_nonexistent")
    assert caught.value.exit_code == 3
    assert "pip install cdktn-provider-nonexistent" in str(caught.value)


def _tree(block: Block, seen: frozenset[int] = frozenset()) -> dict:
    if id(block) in seen:
        return {"recursive": True}
    seen = seen | {id(block)}
    return {
        "attributes": {n: (str(a.type), a.required) for n, a in block.attributes.items()},
        "blocks": {
            n: (b.min_items, b.max_items, _tree(b.block, seen)) for n, b in block.blocks.items()
        },
    }


def _names(blocks, seen: set[int] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    names: set[str] = set()
    for block in blocks:
        if id(block) in seen:
            continue
        seen.add(id(block))
        names |= set(block.attributes) | set(block.blocks)
        inner = [b.block for b in block.blocks.values()]
        inner += [a.type.fields for a in block.attributes.values() if a.type.fields is not None]
        names |= _names(inner, seen)
    return names
