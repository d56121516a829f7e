# Hand-written module (blueprint platform stage): the kubernetes-sigs/agent-sandbox controller,
# for agents with `isolation: per-session`. Not generated: edit here. See README.md.
#
# Upstream publishes no Helm repository, only release assets (manifest.yaml, extensions.yaml).
# They are fetched at the pinned release, verified against pinned sha256 sums, decoded and
# hardened by ./release (provider-free, so it is tested offline with `terraform test`), then
# applied with kubernetes_manifest: the CRDs first, then the controller.

data "http" "asset" {
  for_each = { for a in var.assets : a.file => a }

  url                = "${var.release_base_url}/${var.release}/${each.key}"
  request_timeout_ms = 30000

  retry {
    attempts     = 3
    min_delay_ms = 1000
  }

  lifecycle {
    postcondition {
      condition     = self.status_code == 200
      error_message = "downloading ${self.url} returned HTTP ${self.status_code}; check release_base_url and the release tag."
    }
  }
}

module "release" {
  source = "./release"

  release          = var.release
  namespace        = var.namespace
  egress_policy    = var.egress_policy
  controller_image = var.controller_image
  run_as_user      = var.run_as_user
  documents        = [for a in var.assets : { file = a.file, body = data.http.asset[a.file].response_body, sha256 = a.sha256 }]
}

resource "kubernetes_manifest" "crd" {
  # The objects are upstream's, fetched at apply time: no static check can read them. Their
  # sha256 is verified and the controller's hardening is tested in ./release/tests instead; these
  # skips are the reviewed list blueprint's gate allows for this file (gates/run.py MODULE_SKIPS).
  # checkov:skip=BP_K8S_17:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_18:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_19:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_20:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_21:upstream release objects, verified by sha256 in ./release
  for_each = module.release.crds

  manifest = each.value

  field_manager {
    name            = "blueprint"
    force_conflicts = false
  }
}

resource "kubernetes_manifest" "controller" {
  # The objects are upstream's, fetched at apply time: no static check can read them. Their
  # sha256 is verified and the controller's hardening is tested in ./release/tests instead; these
  # skips are the reviewed list blueprint's gate allows for this file (gates/run.py MODULE_SKIPS).
  # checkov:skip=BP_K8S_17:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_18:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_19:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_20:upstream release objects, verified by sha256 in ./release
  # checkov:skip=BP_K8S_21:upstream release objects, verified by sha256 in ./release
  for_each = module.release.controller

  manifest = each.value

  field_manager {
    name            = "blueprint"
    force_conflicts = false
  }

  depends_on = [kubernetes_manifest.crd]
}
