# terraform test for ./release: runs offline (the module uses no provider).
# Fixture releases under fixtures/ are written for these tests in the shape of the real assets.

variables {
  release          = "v9.9.9"
  egress_policy    = "agent-sandbox-controller-egress"
  controller_image = "registry.example/agent-sandbox-controller:v9.9.9@sha256:1111111111111111111111111111111111111111111111111111111111111111"
  documents = [
    { file = "manifest.yaml", body = file("tests/fixtures/core.yaml"), sha256 = sha256(file("tests/fixtures/core.yaml")) },
    { file = "extensions.yaml", body = file("tests/fixtures/extensions.yaml"), sha256 = sha256(file("tests/fixtures/extensions.yaml")) },
  ]
}

run "verified_release_is_split_and_hardened" {
  command = plan

  assert {
    condition     = sort(keys(output.crds)) == sort(["CustomResourceDefinition//sandboxes.agents.x-k8s.io", "CustomResourceDefinition//sandboxtemplates.extensions.agents.x-k8s.io"])
    error_message = "both assets' CRDs, and only CRDs, are applied first"
  }
  assert {
    condition     = !contains(keys(output.crds["CustomResourceDefinition//sandboxtemplates.extensions.agents.x-k8s.io"]), "status")
    error_message = "the API server's status is dropped (kubernetes_manifest refuses it)"
  }
  assert {
    condition     = !contains(keys(output.crds["CustomResourceDefinition//sandboxes.agents.x-k8s.io"].metadata), "creationTimestamp")
    error_message = "a generated creationTimestamp is dropped (it would show as a change on every plan)"
  }
  assert {
    condition     = sort(keys(output.controller)) == sort(["ClusterRoleBinding//agent-sandbox-controller", "Deployment/agent-sandbox-system/agent-sandbox-controller", "ServiceAccount/agent-sandbox-system/agent-sandbox-controller"])
    error_message = "the release's Namespace is dropped (the root declares it); everything else is kept"
  }
  assert {
    condition     = output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.spec.containers[0].args == ["--leader-elect=true", "--extensions"]
    error_message = "the later asset's Deployment replaces the earlier one"
  }
  assert {
    condition     = output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.spec.containers[0].image == var.controller_image
    error_message = "the controller runs the digest-pinned image"
  }
  assert {
    condition = output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.spec.containers[0].securityContext == {
      allowPrivilegeEscalation = false
      privileged               = false
      readOnlyRootFilesystem   = true
      runAsNonRoot             = true
      runAsUser                = 65532
      runAsGroup               = 65532
      capabilities             = { drop = ["ALL"] }
      seccompProfile           = { type = "RuntimeDefault" }
    }
    error_message = "the controller container is hardened to Pod Security restricted"
  }
  assert {
    condition     = output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.spec.securityContext.seccompProfile.type == "RuntimeDefault"
    error_message = "the controller pod has a RuntimeDefault seccomp profile"
  }
  assert {
    condition     = [for v in output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.spec.volumes : v.name] == ["blueprint-tmp"]
    error_message = "the read-only root gets a memory-backed /tmp"
  }
  assert {
    condition     = output.controller["Deployment/agent-sandbox-system/agent-sandbox-controller"].spec.template.metadata.annotations["blueprint.dev/egress-policy"] == "agent-sandbox-controller-egress"
    error_message = "the pod template records (and so waits for) the root's egress policy"
  }
}

run "a_checksum_mismatch_stops_the_apply" {
  command = plan

  variables {
    documents = [
      { file = "manifest.yaml", body = file("tests/fixtures/core.yaml"), sha256 = sha256(file("tests/fixtures/core.yaml")) },
      { file = "extensions.yaml", body = file("tests/fixtures/extensions.yaml"), sha256 = "0000000000000000000000000000000000000000000000000000000000000000" },
    ]
  }

  expect_failures = [output.crds, output.controller]
}

run "unreviewed_kinds_and_foreign_namespaces_stop_the_apply" {
  command = plan

  variables {
    documents = [
      { file = "manifest.yaml", body = file("tests/fixtures/core.yaml"), sha256 = sha256(file("tests/fixtures/core.yaml")) },
      { file = "webhook.yaml", body = file("tests/fixtures/webhook.yaml"), sha256 = sha256(file("tests/fixtures/webhook.yaml")) },
    ]
  }

  expect_failures = [output.controller]
}

run "an_unpinned_image_is_refused" {
  command = plan

  variables {
    controller_image = "registry.example/agent-sandbox-controller:v9.9.9"
  }

  expect_failures = [var.controller_image]
}

run "a_moving_release_is_refused" {
  command = plan

  variables {
    release = "main"
  }

  expect_failures = [var.release]
}

run "bindings_to_other_subjects_stop_the_apply" {
  command = plan

  variables {
    documents = [
      { file = "manifest.yaml", body = file("tests/fixtures/core.yaml"), sha256 = sha256(file("tests/fixtures/core.yaml")) },
      { file = "admin.yaml", body = file("tests/fixtures/admin-binding.yaml"), sha256 = sha256(file("tests/fixtures/admin-binding.yaml")) },
    ]
  }

  expect_failures = [output.controller]
}

run "a_sidecar_or_init_container_stops_the_apply" {
  command = plan

  variables {
    documents = [
      { file = "manifest.yaml", body = file("tests/fixtures/core.yaml"), sha256 = sha256(file("tests/fixtures/core.yaml")) },
      { file = "sidecar.yaml", body = file("tests/fixtures/sidecar.yaml"), sha256 = sha256(file("tests/fixtures/sidecar.yaml")) },
    ]
  }

  expect_failures = [output.controller]
}
