"""What a gate reports: findings located in the emitted files, and how long it took."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One failed check. `file` is relative to the environment's output folder."""

    gate: str
    check_id: str
    message: str
    file: str = ""
    resource: str = ""
    line: int | None = None

    def as_dict(self) -> dict:
        return {
            "gate": self.gate,
            "check_id": self.check_id,
            "message": self.message,
            "file": self.file,
            "resource": self.resource,
            "line": self.line,
        }


@dataclass
class GateResult:
    """The outcome of one gate over one environment's output."""

    gate: str
    checks_passed: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:
        return {
            "gate": self.gate,
            "ok": self.ok,
            "checks_passed": self.checks_passed,
            "checks_failed": len(self.findings),
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "findings": [f.as_dict() for f in self.findings],
        }
