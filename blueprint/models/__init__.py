"""Pydantic models of blueprint's inputs: the Environment and the AgentProfile."""

from blueprint.models.environment import Environment
from blueprint.models.profile import AgentProfile

__all__ = ["AgentProfile", "Environment"]
