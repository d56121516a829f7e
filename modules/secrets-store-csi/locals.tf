# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# The chart values, kept apart from the resources so the tests can render them with a real
# `terraform plan` without the helm and kubernetes providers (they cannot be installed offline).

locals {
  # Audiences whose short-lived, pod-bound ServiceAccount tokens the kubelet mints and passes to
  # the providers in every mount (CSIDriver spec.tokenRequests). Only the enabled providers'.
  aws_audience = var.aws.identity == "pod-identity" ? "pods.eks.amazonaws.com" : "sts.amazonaws.com"
  token_requests = concat(
    var.vault.enabled ? [{ audience = var.vault.audience, expirationSeconds = var.driver.token_expiration_seconds }] : [],
    var.aws.enabled ? [{ audience = local.aws_audience, expirationSeconds = var.driver.token_expiration_seconds }] : [],
  )

  # secrets-store-csi-driver chart: rotation on, syncing into Kubernetes Secrets off (the
  # secret RBAC is then not installed either), tokens for the providers' audiences.
  driver_values = {
    syncSecret = {
      enabled = false
    }
    enableSecretRotation = true
    rotationPollInterval = var.driver.rotation_poll_interval
    tokenRequests        = local.token_requests
  }

  # hashicorp/vault chart: only the CSI provider, pointed at the external Vault.
  vault_values = {
    global = {
      externalVaultAddr = var.vault.address
    }
    server = {
      enabled = false
    }
    injector = {
      enabled = false
    }
    csi = {
      enabled = true
    }
  }

  # secrets-store-csi-driver-provider-aws chart: the driver comes from our own release, not the
  # chart's dependency; a fixed region also drops the chart's pods/nodes read permissions.
  aws_values = {
    "secrets-store-csi-driver" = {
      install = false
    }
    awsRegion = var.aws.region
  }

  # The labels the charts put on the provider pods, derived from the fixed release names in
  # main.tf (no nameOverride is set). The caller's egress NetworkPolicies select exactly these:
  # - hashicorp/vault templates/csi-daemonset.yaml: name "<chart name>-csi-provider", instance =
  #   the release name ("vault");
  # - secrets-store-csi-driver-provider-aws templates/_helpers.tpl provider.selectorLabels:
  #   name = the chart name, instance = the release name.
  chart_pod_labels = {
    vault = {
      "app.kubernetes.io/name"     = "vault-csi-provider"
      "app.kubernetes.io/instance" = "vault"
    }
    aws = {
      "app.kubernetes.io/name"     = "secrets-store-csi-driver-provider-aws"
      "app.kubernetes.io/instance" = "secrets-store-csi-driver-provider-aws"
    }
  }
  provider_enabled = {
    vault = var.vault.enabled
    aws   = var.aws.enabled
  }
  # Only the enabled providers': one egress NetworkPolicy per key is the caller's job.
  provider_pod_labels = {
    for provider, labels in local.chart_pod_labels : provider => labels if local.provider_enabled[provider]
  }
}
