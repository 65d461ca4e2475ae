"""What every report writer receives: findings plus the facts of the run a summary needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from checker.findings import Finding, counts


@dataclass(frozen=True)
class ClusterLine:
    name: str
    target: str
    source: str
    airgapped: bool
    dynamic_config: bool


@dataclass
class ReportInput:
    findings: list[Finding]
    files_read: int = 0
    documents: int = 0
    objects: int = 0
    clusters: list[ClusterLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    tool_version: str = ""
    show_suppressed: bool = False

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]

    def summary(self) -> dict[str, object]:
        return {
            "files_read": self.files_read,
            "documents_checked": self.documents,
            "k0s_objects": self.objects,
            "clusters": len(self.clusters),
            "findings": counts(self.findings),
            "checks_skipped": len(self.skipped),
            "input_errors": len(self.input_errors),
        }
