"""What an audit produces: findings with stable ids. Shared by the host audit and `k8s audit`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckInfo:
    """The catalogue entry of one check: what it looks at, why it matters, how to fix a failure."""

    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    kind: str = "static"  # "static" (as root), "attack" (as the agent), "manifest" (k8s)


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    status: str
    filesystem: str
    evidence: str
    remediation: str

    @classmethod
    def of(cls, check: CheckInfo, status: Status, target: str, evidence: str) -> Finding:
        return cls(
            id=check.id,
            title=check.title,
            severity=str(check.severity),
            status=str(status),
            filesystem=target,
            evidence=evidence,
            remediation=check.remediation if status in (Status.FAIL, Status.WARN) else "",
        )

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Report:
    tool: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: str = ""
    duration_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        counts = {str(status): 0 for status in Status}
        for finding in self.findings:
            counts[finding.status] = counts.get(finding.status, 0) + 1
        return counts

    @property
    def failed(self) -> bool:
        return any(finding.status == Status.FAIL for finding in self.findings)

    def exit_code(self) -> int:
        if self.errors and not self.findings:
            return 2
        return 1 if self.failed else 0
