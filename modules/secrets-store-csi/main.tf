# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# Agents never reach a secret backend: the provider pods fetch secrets and the driver writes them
# into the agent's tmpfs mount. So only the provider pods get egress to Vault or AWS, and each
# provider's NetworkPolicy exists before its pods do (depends_on), leaving no unrestricted window.

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

resource "kubernetes_network_policy_v1" "vault_provider_egress" {
  count = var.vault.enabled ? 1 : 0

  metadata {
    name      = "vault-csi-provider-egress"
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/managed-by" = "blueprint"
    }
  }

  spec {
    # The labels the hashicorp/vault chart puts on the CSI provider pods (templates/
    # csi-daemonset.yaml): name "<chart name>-csi-provider", instance = the release name.
    pod_selector {
      match_labels = {
        "app.kubernetes.io/name"     = "vault-csi-provider"
        "app.kubernetes.io/instance" = "vault"
      }
    }
    policy_types = ["Egress"]

    # DNS: kube-dns (and the NodeLocal DNSCache address, when the cluster has one).
    egress {
      ports {
        port     = "53"
        protocol = "UDP"
      }
      ports {
        port     = "53"
        protocol = "TCP"
      }
      to {
        namespace_selector {
          match_labels = {
            "kubernetes.io/metadata.name" = var.dns.namespace
          }
        }
        pod_selector {
          match_labels = var.dns.pod_labels
        }
      }
      dynamic "to" {
        for_each = var.dns.node_local_address == null ? [] : [var.dns.node_local_address]
        content {
          ip_block {
            cidr = "${to.value}/32"
          }
        }
      }
    }

    # Kubernetes API: the provider reads and creates its HMAC-key Secret, and mints a
    # ServiceAccount token itself when a mount carries none for its audience.
    egress {
      ports {
        port     = tostring(var.kubernetes_api.port)
        protocol = "TCP"
      }
      dynamic "to" {
        for_each = var.kubernetes_api.cidrs
        content {
          ip_block {
            cidr = to.value
          }
        }
      }
    }

    # Vault: exactly the declared addresses and port.
    egress {
      ports {
        port     = tostring(var.vault.port)
        protocol = "TCP"
      }
      dynamic "to" {
        for_each = var.vault.cidrs
        content {
          ip_block {
            cidr = to.value
          }
        }
      }
    }
  }
}

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

  depends_on = [helm_release.driver, kubernetes_network_policy_v1.vault_provider_egress]
}

# ---- AWS Secrets Manager provider (ASCP) ---------------------------------------------------

resource "kubernetes_network_policy_v1" "aws_provider_egress" {
  count = var.aws.enabled ? 1 : 0

  metadata {
    name      = "aws-csi-provider-egress"
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/managed-by" = "blueprint"
    }
  }

  spec {
    # The selector labels the secrets-store-csi-driver-provider-aws chart puts on its pods
    # (templates/_helpers.tpl provider.selectorLabels): name = chart name, instance = release.
    pod_selector {
      match_labels = {
        "app.kubernetes.io/name"     = "secrets-store-csi-driver-provider-aws"
        "app.kubernetes.io/instance" = "secrets-store-csi-driver-provider-aws"
      }
    }
    policy_types = ["Egress"]

    # DNS: kube-dns (and the NodeLocal DNSCache address, when the cluster has one).
    egress {
      ports {
        port     = "53"
        protocol = "UDP"
      }
      ports {
        port     = "53"
        protocol = "TCP"
      }
      to {
        namespace_selector {
          match_labels = {
            "kubernetes.io/metadata.name" = var.dns.namespace
          }
        }
        pod_selector {
          match_labels = var.dns.pod_labels
        }
      }
      dynamic "to" {
        for_each = var.dns.node_local_address == null ? [] : [var.dns.node_local_address]
        content {
          ip_block {
            cidr = "${to.value}/32"
          }
        }
      }
    }

    # Kubernetes API: the provider reads the pod's ServiceAccount (the IRSA role annotation)
    # and, in releases before CSI token requests, mints the ServiceAccount token itself.
    egress {
      ports {
        port     = tostring(var.kubernetes_api.port)
        protocol = "TCP"
      }
      dynamic "to" {
        for_each = var.kubernetes_api.cidrs
        content {
          ip_block {
            cidr = to.value
          }
        }
      }
    }

    # Secrets Manager and STS endpoints: exactly the declared addresses, HTTPS only.
    egress {
      ports {
        port     = "443"
        protocol = "TCP"
      }
      dynamic "to" {
        for_each = var.aws.endpoint_cidrs
        content {
          ip_block {
            cidr = to.value
          }
        }
      }
    }

    # EKS Pod Identity: credentials come from the node's Pod Identity Agent (169.254.170.23:80),
    # never from the instance metadata address 169.254.169.254.
    dynamic "egress" {
      for_each = var.aws.identity == "pod-identity" ? ["169.254.170.23/32"] : []
      content {
        ports {
          port     = "80"
          protocol = "TCP"
        }
        to {
          ip_block {
            cidr = egress.value
          }
        }
      }
    }
  }
}

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

  depends_on = [helm_release.driver, kubernetes_network_policy_v1.aws_provider_egress]
}
