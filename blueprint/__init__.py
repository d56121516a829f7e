"""blueprint: least-privilege Kubernetes Terraform for AI agents, gated before apply."""

__version__ = "0.1.0"
