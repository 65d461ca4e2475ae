"""conftest's JSON result shape, so dashboards built for ``conftest test --output json`` keep working.

One entry per file and policy namespace::

    [{"filename": "clusters/a/k0s.yaml", "namespace": "main", "successes": 3,
      "warnings": [{"msg": "...", "loc": {"file": ..., "line": 12}, "metadata": {...}}],
      "failures": [...], "exceptions": [...]}]

Findings of Rego policies keep their namespace and metadata (plus conftest's ``query``); findings
of k0s-policy's own rules appear under the namespace ``k0s-policy`` with their rule id, severity
and a ``query`` of the form ``data.k0s-policy.K0S102`` as metadata. Errors are failures, warnings
and info are warnings, suppressed findings are exceptions. Empty lists are left out, as conftest
does. Every checked file has an entry, clean ones included; ``successes`` counts the rules that
passed on it: the Rego rules (conftest's count) and, under ``k0s-policy``, the built-in rules that
ran on the file's cluster without a finding in it. Stdin's filename is ``""``, as in conftest.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from checker.findings import Finding, Severity
from checker.inputs.sources import STDIN_LABEL
from checker.report.model import ReportInput

OWN_NAMESPACE = "k0s-policy"


def _filename(path: str) -> str:
    return "" if path == STDIN_LABEL else path


def _result(finding: Finding) -> dict[str, Any]:
    if finding.data.get("engine") == "rego":
        metadata = dict(finding.data.get("metadata") or {})
        metadata.setdefault("query", finding.data.get("query", ""))
    else:
        metadata = {
            "id": finding.rule,
            "severity": str(finding.severity),
            "query": f"data.{OWN_NAMESPACE}.{finding.rule}",
        }
        metadata |= {key: value for key, value in (("fix", finding.fix), ("detail", finding.detail)) if value}
    if finding.suppressed_by:
        metadata["suppressed_by"] = finding.suppressed_by
    return {
        "msg": finding.message,
        "loc": {"file": _filename(finding.path), "line": finding.line},
        "metadata": metadata,
    }


def _namespace(finding: Finding) -> str:
    namespace = finding.data.get("namespace") if finding.data.get("engine") == "rego" else None
    return namespace if isinstance(namespace, str) else OWN_NAMESPACE


def entries(report: ReportInput) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for key in report.policy_successes:
        grouped.setdefault(key, {})
    for path in report.rules_run:
        grouped.setdefault((path, OWN_NAMESPACE), {})
    for finding in report.findings:
        if finding.suppressed_by:
            kind = "exceptions"
        elif finding.severity >= Severity.ERROR:
            kind = "failures"
        else:
            kind = "warnings"
        lists = grouped.setdefault((finding.path, _namespace(finding)), {})
        lists.setdefault(kind, []).append(_result(finding))
    result: list[dict[str, Any]] = []
    for (filename, namespace), lists in sorted(grouped.items()):
        if namespace == OWN_NAMESPACE:
            found = {f.rule for f in report.findings if f.path == filename}
            successes = len(report.rules_run.get(filename, set()) - found)
        else:
            successes = report.policy_successes.get((filename, namespace), 0)
        entry: dict[str, Any] = {
            "filename": _filename(filename),
            "namespace": namespace,
            "successes": successes,
        }
        for kind in ("warnings", "failures", "exceptions"):
            if lists.get(kind):
                entry[kind] = lists[kind]
        result.append(entry)
    return result


def write(report: ReportInput, out: TextIO) -> None:
    json.dump(entries(report), out, indent="\t")
    out.write("\n")
