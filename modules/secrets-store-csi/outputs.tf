# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# References only (names, versions, audiences): no secret value passes through this module.

output "namespace" {
  description = "Namespace of the driver and the providers."
  value       = var.namespace
}

output "csi_driver_name" {
  description = "The CSI driver name a pod's csi volume names (driver = ...)."
  value       = "secrets-store.csi.k8s.io"
}

output "driver" {
  description = "The driver's Helm release: name and pinned chart version."
  value = {
    release       = helm_release.driver.name
    chart_version = var.driver.chart_version
  }
}

output "token_audiences" {
  description = "Audiences of the ServiceAccount tokens the kubelet passes to the providers (CSIDriver tokenRequests); a SecretProviderClass's Vault audience must be one of them."
  value       = [for request in local.token_requests : request.audience]
}

output "token_expiration_seconds" {
  description = "Lifetime of those tokens, in seconds."
  value       = var.driver.token_expiration_seconds
}

output "vault_provider" {
  description = "The Vault CSI provider: release, pinned chart version, token audience; null when disabled. SecretProviderClass: provider = \"vault\"."
  value = var.vault.enabled ? {
    release       = helm_release.vault_provider[0].name
    chart_version = var.vault.chart_version
    audience      = var.vault.audience
  } : null
}

output "aws_provider" {
  description = "The AWS CSI provider: release, pinned chart version, token audience; null when disabled. SecretProviderClass: provider = \"aws\"."
  value = var.aws.enabled ? {
    release       = helm_release.aws_provider[0].name
    chart_version = var.aws.chart_version
    audience      = local.aws_audience
  } : null
}

output "provider_pod_labels" {
  description = "Per enabled provider (\"vault\", \"aws\"): the labels the chart puts on the provider pods. The caller's egress NetworkPolicy for that provider selects exactly these (pod_selector.match_labels) and must exist before this module's releases (module depends_on)."
  value       = local.provider_pod_labels
}
