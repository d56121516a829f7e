# Hand-written module (blueprint platform stage): verify, decode and harden the agent-sandbox
# release manifests. Not generated: edit here. See ../README.md.
#
# Deliberately provider-free (Terraform built-in functions only), so `terraform test` runs it
# offline against fixture releases: the verification and hardening are tested, not assumed.

terraform {
  required_version = ">= 1.9.0"
}
