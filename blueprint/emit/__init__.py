"""Plan objects -> text (HCL, later Dockerfiles and manifests). Deterministic; no I/O."""
