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
  description = "The Vault CSI provider: release, pinned chart version, egress NetworkPolicy name; null when disabled. SecretProviderClass: provider = \"vault\"."
  value = var.vault.enabled ? {
    release        = helm_release.vault_provider[0].name
    chart_version  = var.vault.chart_version
    network_policy = kubernetes_network_policy_v1.vault_provider_egress[0].metadata[0].name
    audience       = var.vault.audience
  } : null
}

output "aws_provider" {
  description = "The AWS CSI provider: release, pinned chart version, egress NetworkPolicy name, token audience; null when disabled. SecretProviderClass: provider = \"aws\"."
  value = var.aws.enabled ? {
    release        = helm_release.aws_provider[0].name
    chart_version  = var.aws.chart_version
    network_policy = kubernetes_network_policy_v1.aws_provider_egress[0].metadata[0].name
    audience       = local.aws_audience
  } : null
}
