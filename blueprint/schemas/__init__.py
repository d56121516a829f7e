"""JSON Schemas of the custom resources blueprint emits (read with importlib.resources)."""
