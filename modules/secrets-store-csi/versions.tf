# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.

terraform {
  # Validation blocks that refer to another variable need Terraform 1.9 or later.
  required_version = ">= 1.9.0"

  required_providers {
    # Pinned to the provider release blueprint's schema oracle was generated from:
    # cdktn-provider-helm 15.1.0 (helm 3.3.0). The module creates no kubernetes resource (the
    # provider pods' NetworkPolicies live in the calling root), so it requires no kubernetes provider.
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.3.0"
    }
  }
}
