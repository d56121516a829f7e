# Hand-written module (blueprint platform stage). Not generated: edit here. See ../README.md.

output "crds" {
  description = "The release's CustomResourceDefinitions, keyed kind/namespace/name: applied first."
  value       = local.crds

  precondition {
    condition     = length(local.mismatched) == 0
    error_message = "agent-sandbox ${var.release}: ${join(", ", local.mismatched)} does not match its pinned sha256; refusing to install unverified manifests. Check the release page and update the environment's runtime.sandboxController checksums."
  }
}

output "controller" {
  description = "Every other object of the release (ServiceAccount, RBAC, Service, the hardened Deployment), keyed kind/namespace/name; the release's Namespace is dropped (the calling root declares it)."
  value       = local.controller

  precondition {
    condition     = length(local.mismatched) == 0
    error_message = "agent-sandbox ${var.release}: ${join(", ", local.mismatched)} does not match its pinned sha256; refusing to install unverified manifests."
  }
  precondition {
    condition     = length(local.unexpected_kinds) == 0
    error_message = "agent-sandbox ${var.release} contains kinds blueprint does not install unreviewed: ${join(", ", local.unexpected_kinds)}. Review them and add them to allowed_kinds."
  }
  precondition {
    condition     = length(local.foreign_namespaces) == 0 && length(local.other_namespace_objects) == 0
    error_message = "agent-sandbox ${var.release} places objects outside ${var.namespace} (${join(", ", concat(local.foreign_namespaces, local.other_namespace_objects))}); the root's restricted namespace and egress policy would not cover them."
  }
  precondition {
    condition     = length(local.foreign_subjects) == 0 && length(local.admin_bindings) == 0
    error_message = "agent-sandbox ${var.release} binds roles beyond its own ServiceAccounts or binds a built-in admin role (${join(", ", concat(local.foreign_subjects, local.admin_bindings))}); review the release before installing it."
  }
  precondition {
    condition     = length(local.unexpected_pods) == 0
    error_message = "agent-sandbox ${var.release}: Deployment(s) ${join(", ", local.unexpected_pods)} carry more than the one controller container (or init containers), which blueprint cannot harden; review the release."
  }
  precondition {
    condition     = length(local.hardened) > 0
    error_message = "agent-sandbox ${var.release} contains no controller Deployment; is this the right asset list?"
  }
}
