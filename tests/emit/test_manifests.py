"""Manifests derived from the parsed Terraform: the objects `terraform apply` creates.

Pure tests (no external tool): converters, the API-model check, the round trip against what the
example Terraform declares, and the YAML dump. tests/gates/test_kubernetes_validate.py runs the
real validators over the same objects and reuses DEPLOYMENT_TF from here.
"""

from __future__ import annotations

import copy
import random
from functools import cache

import pytest
import yaml

from blueprint.emit import manifests as m
from blueprint.emit.manifests import ManifestError, api_problems, dump_manifests, manifests_from_resources
from blueprint.hcl_reader import ParsedFile, Resource, block, blocks, parse_text, resources
from blueprint.pipeline import render
from conftest import ENVIRONMENTS, EXAMPLE_ENVS

KUBERNETES_STAGES = ("platform", "agents", "agents-crd")

# The agent workload as the issue describes it (the shape the emitter is converging on), with its
# runtime ConfigMap and Service.
DEPLOYMENT_TF = r'''
resource "kubernetes_config_map_v1" "customer_support__runtime" {
  metadata {
    name      = "agent-runtime"
    namespace = "agent-customer-support"
    labels = {
      "app.kubernetes.io/managed-by" = "blueprint"
      "blueprint.dev/agent"          = "customer-support"
    }
  }
  data = {
    "runtime.json" = "{\"allowedTools\":[\"search_kb\"],\"maxTurns\":8}"
  }
  depends_on = [kubernetes_namespace_v1.customer_support]
}

resource "kubernetes_deployment_v1" "customer_support" {
  metadata {
    name      = "customer-support"
    namespace = "agent-customer-support"
    labels = {
      "app.kubernetes.io/managed-by" = "blueprint"
      "blueprint.dev/agent"          = "customer-support"
    }
  }
  spec {
    replicas = 1
    selector {
      match_labels = {
        "blueprint.dev/agent" = "customer-support"
      }
    }
    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_surge       = "1"
        max_unavailable = "0"
      }
    }
    template {
      metadata {
        labels = {
          "app.kubernetes.io/managed-by" = "blueprint"
          "blueprint.dev/agent"          = "customer-support"
        }
        annotations = {
          "blueprint.dev/profile" = "environments/prod/agents/customer-support.yaml"
        }
      }
      spec {
        service_account_name             = "customer-support"
        automount_service_account_token  = false
        enable_service_links             = false
        runtime_class_name               = "gvisor"
        termination_grace_period_seconds = 30
        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          fs_group        = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "agent"
          image             = "registry.example.com/agents/customer-support@sha256:0000000000000000000000000000000000000000000000000000000000000000"
          image_pull_policy = "Always"
          port {
            name           = "http"
            container_port = 8080
            protocol       = "TCP"
          }
          env {
            name  = "AGENT_CONFIG"
            value = "/etc/agent/runtime.json"
          }
          resources {
            limits = {
              cpu    = "500m"
              memory = "512Mi"
            }
            requests = {
              cpu    = "250m"
              memory = "256Mi"
            }
          }
          security_context {
            allow_privilege_escalation = false
            privileged                 = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            run_as_user                = 10001
            run_as_group               = 10001
            capabilities {
              drop = ["ALL"]
            }
            seccomp_profile {
              type = "RuntimeDefault"
            }
          }
          readiness_probe {
            http_get {
              path = "/healthz"
              port = "http"
            }
            period_seconds = 10
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = "http"
            }
            initial_delay_seconds = 10
            period_seconds        = 20
          }
          lifecycle {
            pre_stop {
              exec {
                command = ["python", "-m", "agent.cleanup"]
              }
            }
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
          volume_mount {
            name       = "runtime-config"
            mount_path = "/etc/agent"
            read_only  = true
          }
          volume_mount {
            name       = "secrets"
            mount_path = "/mnt/secrets"
            read_only  = true
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            medium     = "Memory"
            size_limit = "64Mi"
          }
        }
        volume {
          name = "runtime-config"
          config_map {
            name         = "agent-runtime"
            default_mode = "0444"
          }
        }
        volume {
          name = "secrets"
          csi {
            driver    = "secrets-store.csi.k8s.io"
            read_only = true
            volume_attributes = {
              secretProviderClass = "agent-secrets"
            }
          }
        }
      }
    }
  }
  wait_for_rollout = false
  depends_on       = [kubernetes_namespace_v1.customer_support, kubernetes_service_account_v1.customer_support]
}

resource "kubernetes_service_v1" "customer_support" {
  metadata {
    name      = "customer-support"
    namespace = "agent-customer-support"
    labels = {
      "app.kubernetes.io/managed-by" = "blueprint"
      "blueprint.dev/agent"          = "customer-support"
    }
  }
  spec {
    type = "ClusterIP"
    selector = {
      "blueprint.dev/agent" = "customer-support"
    }
    port {
      name        = "http"
      port        = 8080
      target_port = "http"
      protocol    = "TCP"
    }
  }
  depends_on = [kubernetes_namespace_v1.customer_support]
}
'''
FIXTURE_FILE = "agents/agent_customer_support.tf"
LABELS = {"app.kubernetes.io/managed-by": "blueprint", "blueprint.dev/agent": "customer-support"}
DIGEST_IMAGE = ("registry.example.com/agents/customer-support@sha256:"
                "0000000000000000000000000000000000000000000000000000000000000000")
EXPECTED_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "customer-support", "namespace": "agent-customer-support", "labels": LABELS},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"blueprint.dev/agent": "customer-support"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {
                "labels": LABELS,
                "annotations": {"blueprint.dev/profile": "environments/prod/agents/customer-support.yaml"},
            },
            "spec": {
                "serviceAccountName": "customer-support",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "runtimeClassName": "gvisor",
                "terminationGracePeriodSeconds": 30,
                "securityContext": {
                    "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [{
                    "name": "agent",
                    "image": DIGEST_IMAGE,
                    "imagePullPolicy": "Always",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "AGENT_CONFIG", "value": "/etc/agent/runtime.json"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "512Mi"},
                                  "requests": {"cpu": "250m", "memory": "256Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                      "initialDelaySeconds": 10, "periodSeconds": 20},
                    "lifecycle": {"preStop": {"exec": {"command": ["python", "-m", "agent.cleanup"]}}},
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "runtime-config", "mountPath": "/etc/agent", "readOnly": True},
                        {"name": "secrets", "mountPath": "/mnt/secrets", "readOnly": True},
                    ],
                }],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                    {"name": "runtime-config", "configMap": {"name": "agent-runtime", "defaultMode": 0o444}},
                    {"name": "secrets", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                                "volumeAttributes": {"secretProviderClass": "agent-secrets"}}},
                ],
            },
        },
    },
}


def parse(text: str, path: str = FIXTURE_FILE) -> list[Resource]:
    return resources(ParsedFile(path, parse_text(text, path)))


def fixture_resources(*edits: tuple[str, str]) -> list[Resource]:
    text = DEPLOYMENT_TF
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse(text)


def one(text: str) -> dict:
    (obj,) = manifests_from_resources(parse(text))
    return obj


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as caught:
        manifests_from_resources(parse(text))
    return str(caught.value)


@cache
def rendered(env: str) -> tuple[list[Resource], str]:
    """The kubernetes_* resources of an example environment's emitted roots, parsed back."""
    result = render(ENVIRONMENTS, env)
    found = []
    for path, text in result.files.items():
        if path.endswith(".tf") and path.split("/", 1)[0] in KUBERNETES_STAGES and "/modules/" not in path:
            found += [r for r in resources(ParsedFile(path, parse_text(text, path))) if m.is_kubernetes_resource(r)]
    return found, result.loaded.environment.cluster.kubernetes_version


# ------------------------------------------------------------------------------ the Deployment


def test_deployment_fixture_converts_to_the_api_object() -> None:
    objects = {o["kind"]: o for o in manifests_from_resources(fixture_resources())}
    assert sorted(objects) == ["ConfigMap", "Deployment", "Service"]
    assert objects["Deployment"] == EXPECTED_DEPLOYMENT
    assert objects["ConfigMap"] == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "agent-runtime", "namespace": "agent-customer-support", "labels": LABELS},
        "data": {"runtime.json": '{"allowedTools":["search_kb"],"maxTurns":8}'},
    }
    assert objects["Service"] == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "customer-support", "namespace": "agent-customer-support", "labels": LABELS},
        "spec": {"type": "ClusterIP", "selector": {"blueprint.dev/agent": "customer-support"},
                 "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]},
    }


def test_manifest_keeps_its_terraform_source() -> None:
    found = m.manifests(fixture_resources())
    assert [(x.ref, x.file, x.address) for x in found] == [
        ("ConfigMap agent-customer-support/agent-runtime", FIXTURE_FILE, "kubernetes_config_map_v1.customer_support__runtime"),
        ("Deployment agent-customer-support/customer-support", FIXTURE_FILE, "kubernetes_deployment_v1.customer_support"),
        ("Service agent-customer-support/customer-support", FIXTURE_FILE, "kubernetes_service_v1.customer_support"),
    ]


def test_provider_defaults_the_token_automount_to_true() -> None:
    """The provider sends automount_service_account_token = true when it is absent; the derived
    object must say so, or checkov would judge a pod that does get a token."""
    objects = manifests_from_resources(fixture_resources(
        ("        automount_service_account_token  = false\n", ""),
        ("        enable_service_links             = false\n", "")))
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert pod["enableServiceLinks"] is True
    sa = one('resource "kubernetes_service_account_v1" "a" {\n  metadata {\n    name = "a"\n    namespace = "n"\n  }\n}\n')
    assert sa == {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"},
                  "automountServiceAccountToken": True}


def test_string_typed_provider_numbers_become_api_integers() -> None:
    objects = manifests_from_resources(fixture_resources(
        ("    replicas = 1", '    replicas = "2"'),
        ("          run_as_user     = 10001", '          run_as_user     = "10002"'),
        ('        max_surge       = "1"', '        max_surge       = "25%"'),
        ('            default_mode = "0444"', '            default_mode = "0640"'),
    ))
    spec = next(o for o in objects if o["kind"] == "Deployment")["spec"]
    assert spec["replicas"] == 2
    assert spec["template"]["spec"]["securityContext"]["runAsUser"] == 10002
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    assert spec["template"]["spec"]["volumes"][1]["configMap"]["defaultMode"] == 0o640 == 416


def test_projected_service_account_token_volume() -> None:
    objects = manifests_from_resources(fixture_resources((
        '        volume {\n          name = "tmp"',
        '        volume {\n          name = "token"\n          projected {\n            default_mode = "0440"\n'
        '            sources {\n              service_account_token {\n                audience = "vault"\n'
        '                expiration_seconds = 600\n                path = "token"\n              }\n'
        '              config_map {\n                name = "ca"\n              }\n            }\n'
        '          }\n        }\n        volume {\n          name = "tmp"')))
    volumes = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert volumes[0] == {"name": "token", "projected": {"defaultMode": 0o440, "sources": [
        {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 600, "path": "token"}},
        {"configMap": {"name": "ca"}},
    ]}}


# ------------------------------------------------------------------------------ small converters

RBAC_TF = '''
resource "kubernetes_cluster_role_v1" "r" {
  metadata {
    name = "agent-x"
  }
  rule {
    api_groups     = [""]
    resources      = ["configmaps"]
    resource_names = ["app-config"]
    verbs          = ["get"]
  }
  rule {
    non_resource_urls = ["/healthz"]
    verbs             = ["get"]
  }
}

resource "kubernetes_cluster_role_binding_v1" "r" {
  metadata {
    name = "agent-x"
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = "agent-x"
  }
  subject {
    kind      = "ServiceAccount"
    name      = "x"
    namespace = "agent-x"
  }
  depends_on = [kubernetes_cluster_role_v1.r]
}
'''


def test_cluster_rbac_converts() -> None:
    role, binding = manifests_from_resources(parse(RBAC_TF))  # sorted by kind
    assert role == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "agent-x"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["get"]},
                  {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
    }
    assert binding == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "agent-x"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "agent-x"},
        "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "agent-x"}],
    }


def test_network_policy_ports_are_int_or_string() -> None:
    obj = one('''
resource "kubernetes_network_policy_v1" "p" {
  metadata {
    name      = "allow-ingress"
    namespace = "agent-x"
  }
  spec {
    pod_selector {}
    policy_types = ["Ingress"]
    ingress {
      ports {
        port     = "8080"
        protocol = "TCP"
      }
      ports {
        port     = "http"
      }
      from {
        ip_block {
          cidr   = "10.0.0.0/8"
          except = ["10.1.0.0/16"]
        }
      }
    }
  }
}
''')
    assert obj["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}, {"port": "http"}],
                     "from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
    }


def test_kubernetes_manifest_passes_the_object_through() -> None:
    obj = one('''
resource "kubernetes_manifest" "spc" {
  manifest = {
    "apiVersion" = "secrets-store.csi.x-k8s.io/v1"
    "kind"       = "SecretProviderClass"
    "metadata" = {
      "name"      = "agent-secrets"
      "namespace" = "agent-x"
    }
    "spec" = {
      "provider" = "aws"
    }
  }
  field_manager {
    force_conflicts = true
  }
}
''')
    assert obj == {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
                   "metadata": {"name": "agent-secrets", "namespace": "agent-x"}, "spec": {"provider": "aws"}}


# ------------------------------------------------------------------------------ errors, never drops


def test_unknown_terraform_argument_is_an_error_naming_the_path() -> None:
    text = DEPLOYMENT_TF.replace('image_pull_policy = "Always"', 'image_pull_polcy = "Always"', 1)
    message = error_of(text)
    assert message.startswith(
        f"{FIXTURE_FILE}: kubernetes_deployment_v1.customer_support.spec.template.spec.container[0].image_pull_polcy: "
        "'image_pull_polcy' is not supported by blueprint's manifest converter (supported here: args, command, ")
    assert message.endswith("add it to blueprint/emit/manifests.py rather than let it vanish from the derived object")
    assert message.count("\n") == 0  # one problem


def test_every_problem_is_reported_at_once() -> None:
    text = (DEPLOYMENT_TF.replace("run_as_group    = 10001", "run_as_grup     = 10001", 1)
            .replace('  wait_for_rollout = false', '  wait_for_rollout = false\n  revision_limit = 3', 1))
    lines = error_of(text).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        "kubernetes_deployment_v1.customer_support.spec.template.spec.security_context.run_as_grup",
        "kubernetes_deployment_v1.customer_support.revision_limit",
    ]


def test_unknown_resource_type_is_an_error() -> None:
    message = error_of('resource "kubernetes_secret_v1" "s" {\n  metadata {\n    name = "s"\n  }\n}\n')
    assert message == (
        f"{FIXTURE_FILE}: kubernetes_secret_v1.s: no manifest converter for resource type kubernetes_secret_v1 "
        f"(supported: {', '.join(m.supported_types())})")


@pytest.mark.parametrize("text, path, message", [
    ('resource "kubernetes_namespace_v1" "n" {\n  metadata {\n    name = var.name\n  }\n}\n',
     "kubernetes_namespace_v1.n.metadata.name",
     "is not a literal (${var.name}): Terraform evaluates it, so the object it creates cannot be derived; "
     "emit literal values only"),
    ('resource "kubernetes_namespace_v1" "n" {\n  count = 2\n  metadata {\n    name = "n"\n  }\n}\n',
     "kubernetes_namespace_v1.n.count",
     "'count' makes one resource create several objects; blueprint emits one literal resource per object"),
    ('resource "kubernetes_namespace_v1" "n" {\n  metadata {\n    name = "n"\n  }\n  metadata {\n    name = "m"\n  }\n}\n',
     "kubernetes_namespace_v1.n.metadata", "expected one block, got 2"),
    ('resource "kubernetes_config_map_v1" "c" {\n  metadata {\n    name = "c"\n  }\n  immutable = "maybe"\n}\n',
     "kubernetes_config_map_v1.c.immutable", "expected a bool, got str 'maybe'"),
    ('resource "kubernetes_resource_quota_v1" "q" {\n  metadata {\n    name = "q"\n  }\n  spec {\n'
     '    hard = {\n      pods = ["1"]\n    }\n  }\n}\n',
     "kubernetes_resource_quota_v1.q.spec.hard['pods']", "expected a string, got list ['1']"),
])
def test_unconvertible_values_are_errors(text: str, path: str, message: str) -> None:
    assert error_of(text) == f"{FIXTURE_FILE}: {path}: {message}"


def test_octal_mode_must_be_octal() -> None:
    message = error_of(DEPLOYMENT_TF.replace('default_mode = "0444"', 'default_mode = "0999"', 1))
    assert message == (
        f"{FIXTURE_FILE}: kubernetes_deployment_v1.customer_support.spec.template.spec.volume[1].config_map."
        "default_mode: expected an octal file mode such as \"0444\", got str '0999'")


def test_kubernetes_manifest_of_a_builtin_kind_is_checked_against_the_api() -> None:
    message = error_of('''
resource "kubernetes_manifest" "cm" {
  manifest = {
    "apiVersion" = "v1"
    "kind"       = "ConfigMap"
    "metadata" = {
      "name"      = "c"
      "namespace" = "n"
      "lables"    = {}
    }
    "data" = {
      "k" = 1
    }
  }
}
''')
    lines = message.splitlines()
    assert lines[0].startswith(f"{FIXTURE_FILE}: kubernetes_manifest.cm: ConfigMap: metadata.lables: the Kubernetes "
                               "API has no field 'lables' in V1ObjectMeta (its fields: annotations, ")
    assert lines[1] == f"{FIXTURE_FILE}: kubernetes_manifest.cm: ConfigMap: data['k']: expected str, got int 1"


def test_two_resources_creating_one_object_is_an_error() -> None:
    text = ('resource "kubernetes_namespace_v1" "a" {\n  metadata {\n    name = "x"\n  }\n}\n'
            'resource "kubernetes_namespace_v1" "b" {\n  metadata {\n    name = "x"\n  }\n}\n')
    assert error_of(text) == (
        f"{FIXTURE_FILE}: kubernetes_namespace_v1.b: creates the same object as kubernetes_namespace_v1.a in "
        f"{FIXTURE_FILE} (Namespace x): one would overwrite the other at apply")


def test_api_check_names_the_api_path() -> None:
    broken = copy.deepcopy(EXPECTED_DEPLOYMENT)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["runAsUsr"] = 1
    container["ports"][0]["containerPort"] = "8080"
    assert api_problems(broken, "V1Deployment") == [
        "spec.template.spec.containers[0].ports[0].containerPort: expected int, got str '8080'",
        "spec.template.spec.containers[0].securityContext.runAsUsr: the Kubernetes API has no field 'runAsUsr' "
        "in V1SecurityContext (its fields: allowPrivilegeEscalation, appArmorProfile, capabilities, privileged, "
        "procMount, readOnlyRootFilesystem, runAsGroup, runAsNonRoot, runAsUser, seLinuxOptions, seccompProfile, "
        "windowsOptions)",
    ]
    assert api_problems(EXPECTED_DEPLOYMENT, "V1Deployment") == []


def test_every_converter_emits_only_api_fields() -> None:
    """Each converter's shape maps to fields the client model has: walk every shape with a sample
    value per field and check the result against the model (catches a wrong rename early)."""
    def sample(shape: m.Shape) -> dict:
        body: dict = {"__is_block__": True}
        for key, spec in shape.items():
            if spec.kind == "drop":
                continue
            if spec.kind in ("one", "many"):
                body[key] = [sample(spec.shape)]
            elif spec.kind == "custom":
                continue
            elif spec.kind == "map":
                body[key] = {"k": "v"}
            elif spec.kind == "list":
                body[key] = ["1"]
            else:
                body[key] = {m.to_bool: True, m.to_int: 1, m.to_octal_mode: "0444"}.get(spec.convert, "1")
        return body

    for rtype, converter in m.CONVERTERS.items():
        res = Resource(rtype, "x", sample(converter.shape), "x.tf")
        problems = m._Problems(res)
        obj = converter(res, problems)
        assert problems == []
        assert api_problems(obj, converter.model) == [], rtype


# ------------------------------------------------------------------------------ round trip


def _rules(body: dict) -> list[dict]:
    names = {"api_groups": "apiGroups", "resources": "resources", "resource_names": "resourceNames", "verbs": "verbs"}
    return [{names[k]: v for k, v in rule.items() if k in names} for rule in blocks(body, "rule")]


def _peers(rule: dict, key: str) -> list[dict]:
    out = []
    for peer in blocks(rule, key):
        item = {}
        if block(peer, "ip_block"):
            item["ipBlock"] = {"cidr": block(peer, "ip_block")["cidr"]}
        for tf, api in (("namespace_selector", "namespaceSelector"), ("pod_selector", "podSelector")):
            if block(peer, tf):
                item[api] = {"matchLabels": block(peer, tf)["match_labels"]}
        out.append(item)
    return out


def _ports(rule: dict) -> list[dict]:
    return [{"port": int(p["port"]), "protocol": p["protocol"]} for p in blocks(rule, "ports")]


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_round_trip_matches_what_the_terraform_declares(env: str) -> None:
    found, _ = rendered(env)
    derived = m.manifests(found)
    assert len(derived) == len(found)
    by_address = {x.address + "@" + x.file: x.object for x in derived}
    kinds_seen = set()
    for res in found:
        obj = by_address[res.address + "@" + res.file]
        kinds_seen.add(obj["kind"])
        if res.type == "kubernetes_manifest":
            assert obj == res.body["manifest"]
            continue
        meta = block(res.body, "metadata")
        assert obj["metadata"] == {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
        spec = block(res.body, "spec")
        if res.type == "kubernetes_namespace_v1":
            assert obj["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        elif res.type == "kubernetes_service_account_v1":
            assert obj["automountServiceAccountToken"] is res.body["automount_service_account_token"] is False
        elif res.type in ("kubernetes_role_v1", "kubernetes_cluster_role_v1"):
            assert obj["rules"] == _rules(res.body)
            assert obj["rules"]
        elif res.type in ("kubernetes_role_binding_v1", "kubernetes_cluster_role_binding_v1"):
            ref = block(res.body, "role_ref")
            assert obj["roleRef"] == {"apiGroup": ref["api_group"], "kind": ref["kind"], "name": ref["name"]}
            assert obj["subjects"] == [{k: s[k] for k in ("kind", "name", "namespace")} for s in blocks(res.body, "subject")]
        elif res.type == "kubernetes_network_policy_v1":
            assert obj["spec"]["policyTypes"] == spec["policy_types"]
            assert obj["spec"]["podSelector"] == ({"matchLabels": block(spec, "pod_selector")["match_labels"]}
                                                  if "match_labels" in block(spec, "pod_selector") else {})
            for direction, peer_key in (("egress", "to"), ("ingress", "from")):
                assert [{"ports": r.get("ports"), peer_key: r.get(peer_key)} for r in obj["spec"].get(direction, [])] == [
                    {"ports": _ports(r), peer_key: _peers(r, peer_key)} for r in blocks(spec, direction)]
        elif res.type == "kubernetes_resource_quota_v1":
            assert obj["spec"]["hard"] == spec["hard"]
        elif res.type == "kubernetes_limit_range_v1":
            limit = block(spec, "limit")
            assert obj["spec"]["limits"] == [{"type": limit["type"], "default": limit["default"],
                                              "defaultRequest": limit["default_request"], "max": limit["max"]}]
        elif res.type == "kubernetes_config_map_v1":
            assert obj["data"] == res.body["data"]
        elif res.type == "kubernetes_deployment_v1":
            pod = block(block(spec, "template"), "spec")
            container = block(pod, "container")
            api_pod = obj["spec"]["template"]["spec"]
            assert api_pod["automountServiceAccountToken"] is pod["automount_service_account_token"]
            assert api_pod["containers"][0]["image"] == container["image"]
            assert api_pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
            assert api_pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert [v["name"] for v in api_pod["volumes"]] == [v["name"] for v in blocks(pod, "volume")]
    assert {"Namespace", "ServiceAccount", "NetworkPolicy", "ResourceQuota", "LimitRange", "Role",
            "RoleBinding"} <= kinds_seen


def test_round_trip_literal_values_prod() -> None:
    found, _ = rendered("prod")
    objects = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
               for o in manifests_from_resources(found)}
    egress = objects[("NetworkPolicy", "agent-cluster-triage", "allow-egress")]["spec"]["egress"]
    assert egress[0] == {
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    }
    deny = objects[("NetworkPolicy", "agent-cluster-triage", "default-deny")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    binding = objects[("RoleBinding", "shop", "agent-cluster-triage")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cluster-triage", "namespace": "agent-cluster-triage"}]
    role = objects[("Role", "shop", "agent-cluster-triage")]
    assert all("*" not in r["verbs"] and set(r["verbs"]) <= {"get", "list", "watch"} for r in role["rules"])


# ------------------------------------------------------------------------------ YAML


def test_dump_is_deterministic_and_round_trips() -> None:
    found, _ = rendered("prod")
    objects = manifests_from_resources(found)
    text = dump_manifests(objects)
    shuffled = objects[:]
    random.Random(7).shuffle(shuffled)
    assert dump_manifests(shuffled) == text
    assert text.startswith("---\napiVersion: ")
    loaded = list(yaml.safe_load_all(text))
    key = m._sort_key
    assert loaded == sorted(objects, key=key)
    assert [key(o) for o in loaded] == sorted(key(o) for o in loaded)


def test_dump_orders_keys_and_quotes_ambiguous_strings() -> None:
    obj = {"kind": "ConfigMap", "data": {"b": "y", "a": "53", "c": "line\nnext\n"},
           "metadata": {"labels": {"x": "no"}, "namespace": "n", "name": "c"}, "apiVersion": "v1"}
    assert dump_manifests([obj]) == (
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: c\n"
        "  namespace: \"n\"\n"  # go-yaml (kubectl) would read a bare n as false
        "  labels:\n"
        "    x: 'no'\n"
        "data:\n"
        "  a: '53'\n"
        "  b: \"y\"\n"
        "  c: |\n"
        "    line\n"
        "    next\n"
    )
    assert list(yaml.safe_load_all(dump_manifests([obj]))) == [obj]
