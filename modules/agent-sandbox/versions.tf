# Hand-written module (blueprint platform stage): the kubernetes-sigs/agent-sandbox controller.
# Not generated: edit here. See README.md.

terraform {
  # Validation blocks that refer to another variable need Terraform 1.9 or later.
  required_version = ">= 1.9.0"

  required_providers {
    # Pinned to the provider release blueprint's schema oracle was generated from:
    # cdktn-provider-kubernetes 17.1.0 (kubernetes 3.4.0).
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.4.0"
    }
    # Fetches the pinned release assets at plan time; ./release verifies their sha256 before
    # anything decodes them.
    http = {
      source  = "hashicorp/http"
      version = "~> 3.5"
    }
  }
}
