# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.

terraform {
  # Validation blocks that refer to another variable need Terraform 1.9 or later.
  required_version = ">= 1.9.0"

  required_providers {
    # Pinned to the provider releases blueprint's schema oracle was generated from:
    # cdktn-provider-helm 15.1.0 (helm 3.3.0) and cdktn-provider-kubernetes 17.1.0 (kubernetes 3.4.0).
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.4.0"
    }
  }
}
