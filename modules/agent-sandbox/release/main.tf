# Hand-written module (blueprint platform stage): verify, decode and harden the agent-sandbox
# release manifests. Not generated: edit here. See ../README.md.

locals {
  # A document is verified before anything reads it: the apply stops on a mismatch (the output
  # preconditions below), so an unpinned or tampered release never reaches the cluster.
  mismatched = [for d in var.documents : d.file if sha256(d.body) != d.sha256]

  # Multi-document YAML, split at `---` lines (a separator always starts a line; block scalars
  # inside the CRDs are indented, so they cannot contain one). Empty and comment-only documents
  # decode to null and are dropped.
  decoded = flatten([
    for d in var.documents : [
      for text in split("\n---", "\n${replace(d.body, "\r\n", "\n")}") :
      yamldecode(trimprefix(text, "\n")) if trimspace(replace(text, "/(?m)^#.*$/", "")) != "" && trimspace(text) != ""
    ] if sha256(d.body) == d.sha256 # only verified text is decoded
  ])
  # `status` is the API server's to write, and kubernetes_manifest refuses a manifest that sets
  # it (controller-gen CRDs often carry an empty one).
  # Likewise metadata.creationTimestamp (often `null` in generated manifests): the provider would
  # show it as a change on every plan.
  objects = [
    for o in local.decoded : merge({ for k, v in o : k => v if k != "status" }, {
      metadata = { for k, v in o.metadata : k => v if k != "creationTimestamp" }
    }) if o != null
  ]

  # Keyed by kind, namespace and name: a later asset replaces an earlier asset's object (merge
  # keeps the last value of a key).
  by_key = merge([for o in local.objects : { "${o.kind}/${try(o.metadata.namespace, "")}/${o.metadata.name}" = o }]...)

  unexpected_kinds = sort(distinct([for o in local.objects : o.kind if !contains(var.allowed_kinds, o.kind)]))
  foreign_namespaces = sort(distinct([
    for o in local.objects : try(o.metadata.namespace, "") if try(o.metadata.namespace, "") != "" && try(o.metadata.namespace, "") != var.namespace
  ]))
  other_namespace_objects = sort([for o in local.objects : o.metadata.name if o.kind == "Namespace" && o.metadata.name != var.namespace])

  # Bindings may only grant to ServiceAccounts of the controller's namespace, and never a built-in
  # admin role: a release that binds anyone else stops for review.
  bindings = [for o in local.objects : o if contains(["ClusterRoleBinding", "RoleBinding"], o.kind)]
  foreign_subjects = sort(distinct(flatten([
    for b in local.bindings : [
      for subject in try(b.subjects, []) : "${b.kind}/${b.metadata.name} -> ${subject.kind}/${try(subject.namespace, "")}/${subject.name}"
      if subject.kind != "ServiceAccount" || try(subject.namespace, "") != var.namespace
    ]
  ])))
  admin_bindings = sort([
    for b in local.bindings : "${b.kind}/${b.metadata.name} -> ${b.roleRef.name}"
    if b.roleRef.kind == "ClusterRole" && contains(["cluster-admin", "admin", "edit"], b.roleRef.name)
  ])

  # The hardening below re-images the one controller container; anything else in the pod (an init
  # container, a sidecar) would run unhardened or with the wrong image, so it stops for review.
  unexpected_pods = sort([
    # (HCL's && does not short-circuit, hence try() around what only a Deployment has.)
    for o in local.objects : o.metadata.name if o.kind == "Deployment" && try(
      length(o.spec.template.spec.containers) != 1 || length(try(o.spec.template.spec.initContainers, [])) > 0, true
    )
  ])

  crds = { for k, o in local.by_key : k => o if o.kind == "CustomResourceDefinition" }

  # The hardening blueprint adds to the controller's pod (the release ships none): Pod Security
  # restricted, a digest-pinned image, requests and limits, a writable memory-backed /tmp for the
  # read-only root.
  pod_security = {
    runAsNonRoot   = true
    runAsUser      = var.run_as_user
    runAsGroup     = var.run_as_user
    fsGroup        = var.run_as_user
    seccompProfile = { type = "RuntimeDefault" }
  }
  container_security = {
    allowPrivilegeEscalation = false
    privileged               = false
    readOnlyRootFilesystem   = true
    runAsNonRoot             = true
    runAsUser                = var.run_as_user
    runAsGroup               = var.run_as_user
    capabilities             = { drop = ["ALL"] }
    seccompProfile           = { type = "RuntimeDefault" }
  }
  tmp_volume = { name = "blueprint-tmp", emptyDir = { medium = "Memory", sizeLimit = "64Mi" } }
  tmp_mount  = { name = "blueprint-tmp", mountPath = "/tmp" }

  hardened = {
    for k, o in local.by_key : k => merge(o, {
      spec = merge(o.spec, {
        template = merge(o.spec.template, {
          metadata = merge({ for k, v in try(o.spec.template.metadata, {}) : k => v if k != "creationTimestamp" }, {
            annotations = merge(try(o.spec.template.metadata.annotations, {}), { "blueprint.dev/egress-policy" = var.egress_policy })
          })
          spec = merge(o.spec.template.spec, {
            securityContext = local.pod_security
            volumes         = concat([for v in try(o.spec.template.spec.volumes, []) : v if v.name != local.tmp_volume.name], [local.tmp_volume])
            containers = [
              for c in o.spec.template.spec.containers : merge(c, {
                image           = var.controller_image
                imagePullPolicy = "IfNotPresent"
                securityContext = local.container_security
                resources       = var.resources
                volumeMounts    = concat([for m in try(c.volumeMounts, []) : m if m.mountPath != "/tmp"], [local.tmp_mount])
              })
            ]
          })
        })
      })
    }) if o.kind == "Deployment"
  }

  # Everything the controller needs besides its CRDs, in the namespace the root created.
  controller = merge(
    { for k, o in local.by_key : k => o if !contains(["CustomResourceDefinition", "Namespace", "Deployment"], o.kind) },
    local.hardened,
  )
}
