"""Machine-readable report, versioned: {"version": 1, "findings": [...], "summary": {...}}.

Fields are only ever added within a version: ``detail`` (the why, always present, "" when a finding
has none) and ``docs`` (the rule's page, for rules of the registry) came after the first release.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from checker.findings import Finding
from checker.report.model import ReportInput, rule_docs_uri

FORMAT_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule": finding.rule,
        "severity": str(finding.severity),
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "cluster": finding.cluster,
        "node": finding.node,
        "fingerprint": finding.fingerprint,
        "detail": finding.detail,
    }
    if finding.fix:
        entry["fix"] = finding.fix
    docs = rule_docs_uri(finding.rule)
    if docs:
        entry["docs"] = docs
    if finding.suppressed_by:
        entry["suppressed"] = finding.suppressed_by
    return entry


def write(report: ReportInput, out: TextIO) -> None:
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "tool": {"name": "k0s-policy", "version": report.tool_version},
        "findings": _Findings(report.findings),
        "clusters": [
            {
                "name": c.name,
                "target": c.target,
                "source": c.source,
                "airgapped": c.airgapped,
                "dynamic_config": c.dynamic_config,
            }
            for c in report.clusters
        ],
        "skipped": report.skipped,
        "input_errors": report.input_errors,
        "summary": report.summary(),
    }
    if report.shard is not None:  # check --shard K/N (absent otherwise): merge-reports joins the shards
        document["shard"] = {"index": report.shard[0], "count": report.shard[1]}
    # PR mode and baselines (absent otherwise); fixed findings carry their base-revision location
    if report.notes:
        document["notes"] = report.notes
    if report.fixed is not None:
        document["fixed"] = _Findings(report.fixed)
    if report.added_suppressions is not None:
        document["added_suppressions"] = _Findings(report.added_suppressions)
    # The text of json.dumps(document, indent=2), written a few hundred findings at a time: dumping a
    # big run's findings in one piece held several times the report's size at once.
    separator = "{"
    for key, value in document.items():
        out.write(f"{separator}\n  {json.dumps(key)}: ")
        separator = ","
        if isinstance(value, _Findings):
            value.write(out)
        else:
            out.write(_indented(value, 1))
    out.write("\n}\n")


class _Findings:
    """A list of findings in the document, written in batches."""

    BATCH = 500

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings

    def write(self, out: TextIO) -> None:
        if not self.findings:
            out.write("[]")
            return
        separator = "["
        for start in range(0, len(self.findings), self.BATCH):
            batch = self.findings[start : start + self.BATCH]
            out.write(separator + "\n    " + ",\n    ".join(_indented(finding_to_dict(f), 2) for f in batch))
            separator = ","
        out.write("\n  ]")


def _indented(value: Any, level: int) -> str:
    """json.dumps(value, indent=2) as it reads ``level`` levels deep (JSON text has no raw newline in
    a string, so every newline starts a line of the layout)."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)
