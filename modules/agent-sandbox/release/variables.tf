# Hand-written module (blueprint platform stage). Not generated: edit here. See ../README.md.

variable "release" {
  description = "The agent-sandbox release the documents come from, e.g. v1.0.6 (only used in messages)."
  type        = string

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", var.release))
    error_message = "release must be an exact release tag such as v1.0.6, never a branch or 'latest'."
  }
}

variable "documents" {
  description = "The release assets in apply order: file name, the text fetched, and the sha256 it must have. Objects of a later asset replace same-named objects of an earlier one."
  type = list(object({
    file   = string
    body   = string
    sha256 = string
  }))

  validation {
    condition     = length(var.documents) > 0 && alltrue([for d in var.documents : can(regex("^[0-9a-f]{64}$", d.sha256))])
    error_message = "every release asset needs its sha256 as 64 lowercase hex digits."
  }
}

variable "namespace" {
  description = "The namespace the release installs the controller into. The calling root creates it (restricted Pod Security, egress policy), so the release's own Namespace object is dropped."
  type        = string
  default     = "agent-sandbox-system"
}

variable "egress_policy" {
  description = "The name of the NetworkPolicy the calling root declares for the controller's namespace. Recorded on the controller's pod template; passing it also makes the controller wait for the policy."
  type        = string
}

variable "controller_image" {
  description = "The controller image, pinned by digest; replaces the release's tag-only reference."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.controller_image))
    error_message = "controller_image must be pinned by digest (name:tag@sha256:<64 hex>)."
  }
}

variable "run_as_user" {
  description = "The numeric non-root UID/GID the controller runs as (65532: the nonroot user of the distroless base the controller image is built on)."
  type        = number
  default     = 65532

  validation {
    condition     = var.run_as_user >= 1000 && var.run_as_user <= 65535 && floor(var.run_as_user) == var.run_as_user
    error_message = "run_as_user must be a whole number from 1000 to 65535 (never root)."
  }
}

variable "resources" {
  description = "Requests and limits for the controller container (the release sets none)."
  type = object({
    requests = object({ cpu = string, memory = string })
    limits   = object({ cpu = string, memory = string })
  })
  default = {
    requests = { cpu = "100m", memory = "128Mi" }
    limits   = { cpu = "500m", memory = "512Mi" }
  }
}

variable "allowed_kinds" {
  description = "The kinds a release may contain. Anything else (a webhook configuration, a DaemonSet, a cluster-wide binding to another subject) stops the apply for review."
  type        = list(string)
  default = [
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "CustomResourceDefinition",
    "Deployment",
    "Namespace",
    "Role",
    "RoleBinding",
    "Service",
    "ServiceAccount",
  ]
}
