# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# Agents never reach a secret backend: the provider pods fetch secrets and the driver writes them
# into the agent's tmpfs mount. So only the provider pods get egress to Vault or AWS. Their egress
# NetworkPolicies are NOT here: the calling root declares them as literal resources (so checkov
# can read them) and passes them in the module's `depends_on`, so no provider pod ever runs
# unrestricted. They select the labels of `output.provider_pod_labels` (see README.md).
#
# Release names are fixed: the charts derive the provider pods' labels from them.

resource "helm_release" "driver" {
  name             = "secrets-store-csi-driver"
  namespace        = var.namespace
  create_namespace = false
  repository       = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
  chart            = "secrets-store-csi-driver"
  version          = var.driver.chart_version
  atomic           = true
  cleanup_on_fail  = true
  wait             = true
  timeout          = 600
  max_history      = 10
  values           = [yamlencode(local.driver_values)]
}

# ---- HashiCorp Vault provider --------------------------------------------------------------

resource "helm_release" "vault_provider" {
  count = var.vault.enabled ? 1 : 0

  name             = "vault"
  namespace        = var.namespace
  create_namespace = false
  repository       = "https://helm.releases.hashicorp.com"
  chart            = "vault"
  version          = var.vault.chart_version
  atomic           = true
  cleanup_on_fail  = true
  wait             = true
  timeout          = 600
  max_history      = 10
  values           = [yamlencode(local.vault_values)]

  depends_on = [helm_release.driver]
}

# ---- AWS Secrets Manager provider (ASCP) ---------------------------------------------------

resource "helm_release" "aws_provider" {
  count = var.aws.enabled ? 1 : 0

  name             = "secrets-store-csi-driver-provider-aws"
  namespace        = var.namespace
  create_namespace = false
  repository       = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
  chart            = "secrets-store-csi-driver-provider-aws"
  version          = var.aws.chart_version
  atomic           = true
  cleanup_on_fail  = true
  wait             = true
  timeout          = 600
  max_history      = 10
  values           = [yamlencode(local.aws_values)]

  depends_on = [helm_release.driver]
}
