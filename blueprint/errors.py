"""The error hierarchy. Each kind maps to one exit code; only cli.py turns them into exits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem is: 1-based line and column, plus the dotted field path."""

    file: str
    line: int | None = None
    column: int | None = None
    path: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


@dataclass(frozen=True)
class Problem:
    """One located problem with an input: what is wrong and how to fix it."""

    location: Location
    message: str

    def __str__(self) -> str:
        path = f" {self.location.path}:" if self.location.path else ""
        return f"{self.location}:{path} {self.message}"


class BlueprintError(Exception):
    """Base of every error blueprint reports to a user (never a traceback)."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            self.text = problems
        else:
            self.problems = list(problems)
            self.text = "\n".join(str(p) for p in self.problems)
        super().__init__(self.text)


class InputError(BlueprintError):
    """The input is invalid: YAML, schema, references. Exit 2; nothing is written."""

    exit_code = 2


class RefusedError(BlueprintError):
    """The input is valid but would break least privilege. Exit 1; nothing is written."""

    exit_code = 1


class ToolError(BlueprintError):
    """A required external tool is missing or failed to run. Exit 3."""

    exit_code = 3
