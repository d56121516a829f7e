# Hand-written module (blueprint platform stage): Secrets Store CSI driver and its providers.
# Not generated: edit here. See README.md.
#
# Every input is typed and validated here, so a bad value fails at `terraform plan` before any
# chart is installed. CIDR rules (IPv4 only): a canonical network address, a prefix of /16 or
# longer (so never 0.0.0.0/0), and nothing in 169.254.0.0/16 (cloud metadata, link-local).

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
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.driver.chart_version))
    error_message = "driver.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"1.6.1\"): no ranges, no 'v' prefix, no pre-releases."
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
  description = "The HashiCorp Vault CSI provider (hashicorp/vault chart with server and injector disabled). cidrs/port: where the provider pods reach Vault."
  type = object({
    enabled       = bool
    chart_version = optional(string, "0.34.1")
    address       = optional(string)
    audience      = optional(string, "vault")
    cidrs         = optional(list(string), [])
    port          = optional(number, 8200)
  })
  default = {
    enabled = false
  }

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.vault.chart_version))
    error_message = "vault.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"0.34.1\"): no ranges, no 'v' prefix, no pre-releases."
  }

  validation {
    condition     = !var.vault.enabled || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.vault.address))
    error_message = "vault.address is required when vault.enabled is true and must be https://host[:port] (TLS only, no path)."
  }

  validation {
    condition     = !var.vault.enabled || length(var.vault.cidrs) > 0
    error_message = "vault.cidrs must list at least one CIDR when vault.enabled is true: the provider pods may reach Vault only there."
  }

  validation {
    condition = (
      length(var.vault.audience) <= 253
      && can(regex("^[A-Za-z0-9_.:/-]+$", var.vault.audience))
      && !contains(["sts.amazonaws.com", "pods.eks.amazonaws.com"], var.vault.audience)
    )
    error_message = "vault.audience must be a non-empty audience of letters, digits and _ . : / - (at most 253 characters), distinct from the AWS audiences: an empty audience would mint tokens valid for the Kubernetes API itself."
  }

  validation {
    condition     = var.vault.port == floor(var.vault.port) && var.vault.port >= 1 && var.vault.port <= 65535
    error_message = "vault.port must be a whole number from 1 to 65535."
  }

  validation {
    condition = alltrue([
      for c in var.vault.cidrs :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", c))
      && try(cidrsubnet(c, 0, 0) == c, false)
    ])
    error_message = "vault.cidrs entries must be IPv4 CIDRs written as their network address (e.g. 192.0.2.40/32, not 192.0.2.41/24)."
  }

  validation {
    condition     = alltrue([for c in var.vault.cidrs : try(tonumber(split("/", c)[1]) >= 16, true)])
    error_message = "vault.cidrs entries must have a prefix of /16 or longer: 0.0.0.0/0 and other wide ranges are refused."
  }

  validation {
    condition     = alltrue([for c in var.vault.cidrs : !startswith(c, "169.254.")])
    error_message = "vault.cidrs entries must not be in 169.254.0.0/16 (link-local: the cloud metadata address 169.254.169.254 lives there)."
  }
}

variable "aws" {
  description = "The AWS Secrets Manager CSI provider (ASCP). endpoint_cidrs: the Secrets Manager and STS VPC endpoints the provider pods reach on 443."
  type = object({
    enabled        = bool
    chart_version  = optional(string, "3.2.0")
    region         = optional(string)
    identity       = optional(string, "irsa")
    endpoint_cidrs = optional(list(string), [])
  })
  default = {
    enabled = false
  }

  validation {
    condition     = var.aws.enabled || var.vault.enabled
    error_message = "At least one provider must be enabled: set vault.enabled or aws.enabled to true (a driver without a provider mounts nothing)."
  }

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.aws.chart_version))
    error_message = "aws.chart_version must pin one exact release as MAJOR.MINOR.PATCH (e.g. \"3.2.0\"): no ranges, no 'v' prefix, no pre-releases."
  }

  validation {
    condition     = contains(["irsa", "pod-identity"], var.aws.identity)
    error_message = "aws.identity must be \"irsa\" or \"pod-identity\"."
  }

  validation {
    condition     = !var.aws.enabled || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws.region))
    error_message = "aws.region is required when aws.enabled is true and must be an AWS region name such as \"eu-west-1\"."
  }

  validation {
    condition     = !var.aws.enabled || length(var.aws.endpoint_cidrs) > 0
    error_message = "aws.endpoint_cidrs must list at least one CIDR when aws.enabled is true: the Secrets Manager and STS endpoints the provider pods may reach."
  }

  validation {
    condition = alltrue([
      for c in var.aws.endpoint_cidrs :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", c))
      && try(cidrsubnet(c, 0, 0) == c, false)
    ])
    error_message = "aws.endpoint_cidrs entries must be IPv4 CIDRs written as their network address (e.g. 192.0.2.50/32, not 192.0.2.51/24)."
  }

  validation {
    condition     = alltrue([for c in var.aws.endpoint_cidrs : try(tonumber(split("/", c)[1]) >= 16, true)])
    error_message = "aws.endpoint_cidrs entries must have a prefix of /16 or longer: 0.0.0.0/0 and other wide ranges are refused."
  }

  validation {
    condition     = alltrue([for c in var.aws.endpoint_cidrs : !startswith(c, "169.254.")])
    error_message = "aws.endpoint_cidrs entries must not be in 169.254.0.0/16 (link-local: the cloud metadata address 169.254.169.254 lives there; the Pod Identity Agent is added by aws.identity = \"pod-identity\")."
  }
}

variable "kubernetes_api" {
  description = "Where the provider pods reach the Kubernetes API: the control-plane endpoint addresses (NetworkPolicy sees them after the kubernetes Service is resolved), and the port."
  type = object({
    cidrs = list(string)
    port  = optional(number, 443)
  })

  validation {
    condition     = length(var.kubernetes_api.cidrs) > 0
    error_message = "kubernetes_api.cidrs must list at least one CIDR: both providers call the Kubernetes API."
  }

  validation {
    condition     = var.kubernetes_api.port == floor(var.kubernetes_api.port) && var.kubernetes_api.port >= 1 && var.kubernetes_api.port <= 65535
    error_message = "kubernetes_api.port must be a whole number from 1 to 65535."
  }

  validation {
    condition = alltrue([
      for c in var.kubernetes_api.cidrs :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", c))
      && try(cidrsubnet(c, 0, 0) == c, false)
    ])
    error_message = "kubernetes_api.cidrs entries must be IPv4 CIDRs written as their network address (e.g. 203.0.113.30/32, not 203.0.113.31/24)."
  }

  validation {
    condition     = alltrue([for c in var.kubernetes_api.cidrs : try(tonumber(split("/", c)[1]) >= 16, true)])
    error_message = "kubernetes_api.cidrs entries must have a prefix of /16 or longer: 0.0.0.0/0 and other wide ranges are refused."
  }

  validation {
    condition     = alltrue([for c in var.kubernetes_api.cidrs : !startswith(c, "169.254.")])
    error_message = "kubernetes_api.cidrs entries must not be in 169.254.0.0/16 (link-local: the cloud metadata address 169.254.169.254 lives there)."
  }
}

variable "dns" {
  description = "The cluster DNS the provider pods may query on port 53: kube-dns by namespace and pod labels, plus the NodeLocal DNSCache address when the cluster runs one."
  type = object({
    namespace          = optional(string, "kube-system")
    pod_labels         = optional(map(string), { "k8s-app" = "kube-dns" })
    node_local_address = optional(string)
  })
  default = {}

  validation {
    condition     = length(var.dns.namespace) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.dns.namespace))
    error_message = "dns.namespace must be an RFC 1123 label of at most 63 characters."
  }

  validation {
    condition     = length(var.dns.pod_labels) > 0
    error_message = "dns.pod_labels must name at least one label: an empty selector would allow port 53 to every pod of the DNS namespace."
  }

  validation {
    condition = var.dns.node_local_address == null || can(regex(
      "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$",
      var.dns.node_local_address
    ))
    error_message = "dns.node_local_address must be a single IPv4 address (e.g. 169.254.20.10) or null."
  }
}
