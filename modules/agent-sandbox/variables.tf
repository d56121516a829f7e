# Hand-written module (blueprint platform stage): the agent-sandbox controller.
# Not generated: edit here. See README.md.

variable "release" {
  description = "The agent-sandbox release to install, e.g. v1.0.6: the API version blueprint's sandbox objects target."
  type        = string

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", var.release))
    error_message = "release must be an exact release tag such as v1.0.6, never a branch or 'latest'."
  }
}

variable "release_base_url" {
  description = "Where the release assets are downloaded from: <release_base_url>/<release>/<file>. Point it at an internal mirror for air-gapped clusters."
  type        = string
  default     = "https://github.com/kubernetes-sigs/agent-sandbox/releases/download"

  validation {
    condition     = startswith(var.release_base_url, "https://") && !endswith(var.release_base_url, "/")
    error_message = "release_base_url must be an https:// URL without a trailing slash."
  }
}

variable "assets" {
  description = "The release assets to apply, in order, each with the sha256 it must have (objects of a later asset replace same-named objects of an earlier one)."
  type = list(object({
    file   = string
    sha256 = string
  }))

  validation {
    condition     = length(var.assets) > 0 && alltrue([for a in var.assets : can(regex("^[A-Za-z0-9._-]+\\.yaml$", a.file)) && can(regex("^[0-9a-f]{64}$", a.sha256))])
    error_message = "assets needs at least one entry; each file is a plain *.yaml name and each sha256 is 64 lowercase hex digits."
  }
}

variable "namespace" {
  description = "The controller's namespace, declared by the calling root (restricted Pod Security). Pass it as a reference to that resource, never with depends_on on this module: depends_on would defer reading the release to apply time, and for_each needs its keys at plan time."
  type        = string
  default     = "agent-sandbox-system"
}

variable "egress_policy" {
  description = "The name of the controller namespace's NetworkPolicy, declared by the calling root. Pass it as a reference to that resource: the controller objects then wait for it."
  type        = string
}

variable "controller_image" {
  description = "The controller image, pinned by digest."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.controller_image))
    error_message = "controller_image must be pinned by digest (name:tag@sha256:<64 hex>)."
  }
}

variable "run_as_user" {
  description = "The numeric non-root UID/GID of the controller."
  type        = number
  default     = 65532
}
