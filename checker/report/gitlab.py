"""GitLab Code Quality: the JSON array GitLab reads from `artifacts:reports:codequality` and shows
in merge-request widgets and the pipeline's Code Quality tab.

Each active finding is one entry; suppressed findings are left out (GitLab has no such state).
GitLab de-duplicates by ``fingerprint``, so each entry carries the finding's own, which names the
rule, file, cluster and node rather than the line.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from checker.findings import Finding, Severity
from checker.report.model import ReportInput

# GitLab's scale is info, minor, major, critical, blocker.
SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def entry(finding: Finding) -> dict[str, Any]:
    description = finding.message
    if finding.fix:  # messages are one sentence without a full stop; the fix follows as a second one
        description += ("" if description.endswith((".", "?", "!")) else ".") + f" Fix: {finding.fix}"
    return {
        "type": "issue",
        "engine_name": "k0s-policy",
        "check_name": finding.rule,
        "description": description,
        "categories": ["Bug Risk"],
        "fingerprint": finding.fingerprint,
        "severity": SEVERITIES[finding.severity],
        "location": {"path": finding.path, "lines": {"begin": max(finding.line, 1)}},
    }


def write(report: ReportInput, out: TextIO) -> None:
    entries = [entry(f) for f in report.findings if not f.suppressed_by]
    out.write(json.dumps(entries, indent=2))
    out.write("\n")
