# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# Every input is typed and validated here, so a bad value fails at `terraform plan` before any
# chart is installed. Network addresses (backend CIDRs, API server, DNS) are not inputs: the
# provider pods' egress NetworkPolicies belong to the calling root (see README.md).

variable "namespace" {
  description = "Namespace the driver and the providers are installed into (must exist; the providers need a privileged Pod Security level for their hostPath socket)."
  type        = string
  default     = "kube-system"

  validation {
    condition     = length(var.namespace) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace))
    error_message = "namespace must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters."
  }
}

variable "driver" {
  description = "The Secrets Store CSI driver: pinned chart version, rotation poll interval, lifetime of the ServiceAccount tokens the kubelet mints for the providers."
  type = object({
    chart_version            = optional(string, "1.6.1")
    rotation_poll_interval   = optional(string, "2m")
    token_expiration_seconds = optional(number, 600)
  })
  default = {}

  validation {
    condition     = can(regex("^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$", var.driver.chart_version))
    error_message = "driver.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"1.6.1\"): no ranges, no 'v' prefix, no leading zeros, no pre-releases."
  }

  validation {
    condition     = can(regex("^[1-9][0-9]*(s|m|h)$", var.driver.rotation_poll_interval))
    error_message = "driver.rotation_poll_interval must be a positive whole number of seconds, minutes or hours with its unit, e.g. \"90s\", \"2m\" or \"1h\"."
  }

  validation {
    condition = (
      var.driver.token_expiration_seconds == floor(var.driver.token_expiration_seconds)
      && var.driver.token_expiration_seconds >= 600
      && var.driver.token_expiration_seconds <= 3600
    )
    error_message = "driver.token_expiration_seconds must be a whole number from 600 (the Kubernetes minimum for CSIDriver tokenRequests) to 3600: provider tokens stay short-lived."
  }
}

variable "vault" {
  description = "The HashiCorp Vault CSI provider (hashicorp/vault chart with server and injector disabled): pinned chart version, Vault address, audience of the tokens the provider presents to Vault."
  type = object({
    enabled       = bool
    chart_version = optional(string, "0.34.1")
    address       = optional(string)
    audience      = optional(string, "vault")
  })
  default = {
    enabled = false
  }

  validation {
    condition     = can(regex("^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$", var.vault.chart_version))
    error_message = "vault.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"0.34.1\"): no ranges, no 'v' prefix, no leading zeros, no pre-releases."
  }

  validation {
    condition     = !var.vault.enabled || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.vault.address))
    error_message = "vault.address is required when vault.enabled is true and must be https://host[:port] (TLS only, no path)."
  }

  validation {
    condition = (
      length(var.vault.audience) <= 253
      && can(regex("^[A-Za-z0-9_.:/-]+$", var.vault.audience))
      && !contains(["sts.amazonaws.com", "pods.eks.amazonaws.com"], var.vault.audience)
    )
    error_message = "vault.audience must be a non-empty audience of letters, digits and _ . : / - (at most 253 characters), distinct from the AWS audiences: an empty audience would mint tokens valid for the Kubernetes API itself."
  }
}

variable "aws" {
  description = "The AWS Secrets Manager CSI provider (ASCP): pinned chart version, region, and how pods get AWS credentials (irsa or pod-identity)."
  type = object({
    enabled       = bool
    chart_version = optional(string, "3.2.0")
    region        = optional(string)
    identity      = optional(string, "irsa")
  })
  default = {
    enabled = false
  }

  validation {
    condition     = var.aws.enabled || var.vault.enabled
    error_message = "At least one provider must be enabled: set vault.enabled or aws.enabled to true (a driver without a provider mounts nothing)."
  }

  validation {
    condition     = can(regex("^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$", var.aws.chart_version))
    error_message = "aws.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"3.2.0\"): no ranges, no 'v' prefix, no leading zeros, no pre-releases."
  }

  validation {
    condition     = contains(["irsa", "pod-identity"], var.aws.identity)
    error_message = "aws.identity must be \"irsa\" or \"pod-identity\"."
  }

  validation {
    condition     = !var.aws.enabled || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws.region))
    error_message = "aws.region is required when aws.enabled is true and must be an AWS region name such as \"eu-west-1\"."
  }
}
