# Hand-written module (blueprint platform stage): the agent-sandbox controller.
# Not generated: edit here. See README.md.

output "crds" {
  description = "The CustomResourceDefinitions installed (kind/namespace/name keys)."
  value       = sort(keys(module.release.crds))
}

output "controller_objects" {
  description = "The controller objects installed (kind/namespace/name keys)."
  value       = sort(keys(module.release.controller))
}
