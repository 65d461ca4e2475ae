"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run, every rule of the registry in ``tool.driver.rules`` (so an alert can be explained even
when a run finds nothing of that rule), one result per finding. Paths are written relative to
``%SRCROOT%``, the directory k0s-policy ran in; the GitHub Action runs from the repository root, so
they are relative to the repository, as code scanning requires.

Fingerprints. ``k0sPolicy/v1`` is the finding's own fingerprint (rule, file, cluster and YAML node;
never a line number), the same value the JSON report prints. GitHub matches alerts across commits
by ``primaryLocationLineHash`` alone; when that key is missing, ``upload-sarif`` computes it from
the text of roughly 100 non-blank characters starting at the flagged line, which in a YAML file
spans the next few lines too: editing a neighbouring image would close the alert and open a new one
(and lose a dismissal). So we fill ``primaryLocationLineHash`` with the node-based fingerprint plus
an occurrence counter, like GitHub's own ``hash:n`` form. ``upload-sarif`` keeps a value that is
present (it logs a warning per result that its own line hash differs), and uploads through the REST
API, which computes nothing, get stable alerts as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from checker.findings import Finding, Severity
from checker.report.model import RULE_DOCS_URI, ReportInput, rule_page

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "k0s-policy"
INFORMATION_URI = "https://github.com/k0s-policy/k0s-policy"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "k0sPolicy/v1"
LEVELS: dict[Severity, str] = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FAMILIES: dict[str, str] = {
    "K0S0": "input",
    "K0S1": "images",
    "K0S2": "pull-policy",
    "K0S3": "version-skew",
    "K0S4": "dynamic-config",
}
DESCRIPTION_LIMIT = 1024  # GitHub's limit for shortDescription and fullDescription


def write(report: ReportInput, out: TextIO) -> None:
    json.dump(build(report, Path.cwd()), out, indent=2, ensure_ascii=False)
    out.write("\n")


def build(report: ReportInput, root: Path) -> dict[str, Any]:
    """The SARIF log as plain data; ``root`` is the directory relative paths start from."""
    descriptors = rule_descriptors(report.findings)
    index = {descriptor["id"]: position for position, descriptor in enumerate(descriptors)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "semanticVersion": report.tool_version or "0.0.0",
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {
            SRCROOT: {
                "uri": _directory_uri(root),
                "description": {"text": "The directory k0s-policy ran in (the repository root in CI)."},
            }
        },
        "invocations": [_invocation(report, root)],
        "columnKind": "unicodeCodePoints",
        "results": list(_results(report.findings, index)),
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rule_descriptors(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Every registered rule, then any rule id a finding carries that the registry lacks
    (custom policies), each with the metadata code scanning requires."""
    from checker.rules import ALL_RULES  # only SARIF needs the registry's metadata

    descriptors = [
        _descriptor(rule.id, rule.name, rule.summary, rule.severity, rule_page(rule.id)) for rule in ALL_RULES
    ]
    known = {rule.id for rule in ALL_RULES}
    extra: dict[str, Severity] = {}
    for finding in findings:
        if finding.rule not in known:
            extra.setdefault(finding.rule, finding.severity)
    for rule_id in sorted(extra):
        summary = f"Finding reported by the policy {rule_id}."
        descriptors.append(_descriptor(rule_id, rule_id, summary, extra[rule_id], None))
    return descriptors


def _descriptor(
    rule_id: str, name: str, summary: str, severity: Severity, page: str | None
) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": _clip(summary)},
        "fullDescription": {"text": _clip(_what_it_does(page, summary))},
        "help": {"text": page or summary, "markdown": page or summary},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"tags": ["k0s", *([FAMILIES[rule_id[:4]]] if rule_id[:4] in FAMILIES else [])]},
    }
    if page is not None:
        descriptor["helpUri"] = RULE_DOCS_URI.format(id=rule_id)
    return descriptor


def _what_it_does(page: str | None, summary: str) -> str:
    """The first paragraph of the page's "What it does" section, as one line of text. A sentence
    that introduces a list (ends with a colon) is dropped; the summary stands in when nothing is left."""
    match = re.search(
        r"^## What it does\s*\n(.*?)(?:\n\s*\n|\n## |\Z)", page or "", flags=re.DOTALL | re.MULTILINE
    )
    if not match:
        return summary
    paragraph = " ".join(match.group(1).split())
    if paragraph.endswith(":"):
        head, _, _ = paragraph.rpartition(". ")
        paragraph = f"{head}." if head else ""
    return paragraph or summary


def _clip(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1].rstrip() + "…"


def _results(findings: Iterable[Finding], index: dict[str, int]) -> Iterable[dict[str, Any]]:
    seen: dict[tuple[str, str], int] = {}
    for finding in findings:
        fingerprint = finding.fingerprint
        occurrence = seen[(finding.rule, fingerprint)] = seen.get((finding.rule, fingerprint), 0) + 1
        # The message first (alert lists show its first line), then the why and the fix. Plain text
        # only: a Markdown message would render links and images from the repository under check.
        message = finding.message
        if finding.detail:
            message = f"{message}\n{finding.detail}"
        if finding.fix and finding.fix not in finding.message:
            message = f"{message}\nFix: {finding.fix}"
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": _artifact(finding.path),
                "region": {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1)},
            }
        }
        if finding.node:
            location["logicalLocations"] = [{"fullyQualifiedName": finding.node, "kind": "value"}]
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": LEVELS[finding.severity],
            "message": {"text": message},
            "locations": [location],
            "partialFingerprints": {
                FINGERPRINT_KEY: fingerprint,
                "primaryLocationLineHash": f"{fingerprint}:{occurrence}",
            },
        }
        properties = {
            "cluster": finding.cluster,
            "yamlPath": finding.node,
            "fix": finding.fix,
            "detail": finding.detail,
        }
        properties = {key: value for key, value in properties.items() if value}
        if properties:
            result["properties"] = properties
        if finding.suppressed_by:
            result["suppressions"] = [_suppression(finding.suppressed_by)]
        yield result


def _suppression(suppressed_by: str) -> dict[str, str]:
    """Inline comments live in the source; configuration ignores and baselines outside it."""
    kind = "inSource" if suppressed_by.startswith("inline comment") else "external"
    return {"kind": kind, "status": "accepted", "justification": suppressed_by}


def _artifact(path: str) -> dict[str, Any]:
    if path.startswith("<") and path.endswith(">"):  # <stdin>: no file to point at
        return {"uri": quote(path.strip("<>")), "description": {"text": f"read from {path}"}}
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(posix.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _directory_uri(root: Path) -> str:
    uri = root.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _invocation(report: ReportInput, root: Path) -> dict[str, Any]:
    notifications = [
        {"level": "error", "message": {"text": f"input error: {error}"}} for error in report.input_errors
    ]
    notifications += [{"level": "note", "message": {"text": f"skipped: {item}"}} for item in report.skipped]
    invocation: dict[str, Any] = {
        "executionSuccessful": not report.input_errors,
        "workingDirectory": {"uri": _directory_uri(root)},
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation
