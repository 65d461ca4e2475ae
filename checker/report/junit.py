"""JUnit XML for CI dashboards (Jenkins, GitLab, Azure DevOps), valid against the Jenkins/xunit
``junit-10.xsd`` that those tools accept.

One ``<testsuite>`` per file, named by its path and carrying it in ``file``. Inside it, one
``<testcase>`` per rule that found something in that file, named by rule id and name and never by
a line, so an unrelated edit does not rename it; the lines of its findings go into the failure
text. A file's k0s objects without any finding are one passing case each (named by kind and name).
A rule with a finding at or above ``--fail-on`` is a ``<failure>`` (the dashboard and the exit code
agree); one whose findings are all below it passes and carries them in ``<system-out>``; one whose
findings are all suppressed is ``<skipped>`` with the reasons. Inputs that could not be read are
``<error>`` cases of a last suite named ``k0s-policy``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import TextIO

from checker.findings import Finding, Severity
from checker.records import dataclass, field
from checker.report.escape import finding_text
from checker.report.escape import text as escape_text
from checker.report.model import CheckedObject, ReportInput

# Characters XML 1.0 cannot carry at all, not even escaped; a hostile file could put them in a key.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TOTALS = ("tests", "failures", "errors", "skipped")


def clean(text: str) -> str:
    """Text XML can hold: forbidden characters become visible escapes."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def write(report: ReportInput, out: TextIO) -> None:
    root = build(report)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


@dataclass
class _Case:
    name: str
    classname: str
    outcome: str = ""  # "", "failure", "skipped" or "error"
    message: str = ""
    kind: str = ""
    body: str = ""
    output: list[str] = field(default_factory=list)


def build(report: ReportInput) -> ET.Element:
    threshold = None if report.fail_on == "never" else Severity.parse(report.fail_on)
    paths = {obj.path for obj in report.checked} | {finding.path for finding in report.findings}
    root = ET.Element("testsuites", name="k0s-policy")
    for path in sorted(paths):
        findings = [f for f in report.findings if f.path == path]
        objects = [obj for obj in report.checked if obj.path == path]
        _suite(root, path, path, _cases(path, findings, objects, threshold))
    if report.input_errors:
        cases = [
            _Case(f"input {number}", "k0s-policy", "error", error, "input-error", error)
            for number, error in enumerate(report.input_errors, start=1)
        ]
        _suite(root, "k0s-policy", "", cases)
    for total in ("tests", "failures", "errors"):  # the schema has no `skipped` on <testsuites>
        root.set(total, str(sum(int(suite.get(total, "0")) for suite in root)))
    return root


def _cases(
    path: str, findings: Sequence[Finding], objects: Sequence[CheckedObject], threshold: Severity | None
) -> list[_Case]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        by_rule.setdefault(finding.rule, []).append(finding)
    cases = [_rule_case(path, rule, found, threshold) for rule, found in sorted(by_rule.items())]
    with_findings = {owner for f in findings if (owner := _owner(f, objects)) is not None}
    seen: dict[str, int] = {}
    for obj in objects:
        if obj in with_findings:
            continue
        label = _label(obj)
        seen[label] = seen.get(label, 0) + 1
        name = label if seen[label] == 1 else f"{label} #{seen[label]}"
        cases.append(_Case(name, path, output=[f"{escape_text(path)}:{obj.line}: checked, no findings"]))
    return cases


def _suite(root: ET.Element, name: str, path: str, cases: Sequence[_Case]) -> None:
    suite = ET.SubElement(root, "testsuite", name=clean(escape_text(name)))
    if path:
        suite.set("file", clean(path))
    counts = dict.fromkeys(_TOTALS, 0)
    counts["tests"] = len(cases)
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            name=clean(escape_text(case.name)),
            classname=clean(escape_text(case.classname)),
        )
        if case.outcome:
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[case.outcome]] += 1
            detail = ET.SubElement(element, case.outcome, message=clean(case.message))
            if case.kind:
                detail.set("type", clean(case.kind))
            if case.body:
                detail.text = clean(case.body)
        if case.output:
            ET.SubElement(element, "system-out").text = clean("\n".join(case.output))
    for total in ("tests", "failures", "errors", "skipped"):
        suite.set(total, str(counts[total]))


def _rule_case(path: str, rule: str, findings: Sequence[Finding], threshold: Severity | None) -> _Case:
    """One test case for one rule in one file, however many findings and wherever they are."""
    case = _Case(_rule_title(rule), path)
    failing = [
        f for f in findings if not f.suppressed_by and threshold is not None and f.severity >= threshold
    ]
    active = [f for f in findings if not f.suppressed_by]
    lines = [_finding_text(f) for f in findings]
    if failing:
        worst = max(f.severity for f in failing)
        more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
        case.outcome, case.message, case.kind = "failure", _headline(failing[0]) + more, str(worst)
        case.body = "\n".join(lines)
    elif not active:
        reasons = sorted({f.suppressed_by for f in findings})
        case.outcome, case.message = "skipped", "suppressed: " + "; ".join(reasons)
        case.output = lines
    else:
        case.output = lines
    return case


def _rule_title(rule_id: str) -> str:
    from checker.rules import RULES_BY_ID

    rule = RULES_BY_ID.get(rule_id)
    return f"{rule_id} {rule.name}" if rule is not None else rule_id


def _finding_text(finding: Finding) -> str:
    finding = finding_text(finding)  # the body is printed in CI logs: no value may start a line there
    text = (
        f"{finding.path}:{finding.line}:{finding.column}: {finding.severity} {finding.rule} {finding.message}"
    )
    if finding.fix and finding.fix not in finding.message:
        text += f"\n    fix: {finding.fix}"
    if finding.detail:
        text += f"\n    why: {finding.detail}"
    if finding.suppressed_by:
        text += f"\n    suppressed: {finding.suppressed_by}"
    return text


def _headline(finding: Finding) -> str:
    """The finding's first sentence with its rule and line: what dashboards show before the details."""
    sentence = re.split(r"(?<=\.)\s", finding.message, maxsplit=1)[0]
    if len(sentence) > 300:
        sentence = sentence[:299].rstrip() + "…"
    return f"{finding.rule} line {finding.line}: {sentence}"


def _owner(finding: Finding, objects: Iterable[CheckedObject]) -> CheckedObject | None:
    """The object a finding lies in: the latest one starting at or before its line whose YAML path
    contains the finding's node (an embedded config beats the k0sctl file around it)."""
    best: CheckedObject | None = None
    for obj in objects:
        if obj.line > finding.line or not _contains(obj.base, finding.node):
            continue
        if best is None or (obj.line, len(obj.base)) > (best.line, len(best.base)):
            best = obj
    return best


def _contains(base: str, node: str) -> bool:
    if not base or not node:
        return True
    return node == base or node.startswith((f"{base}.", f"{base}["))


def _label(obj: CheckedObject) -> str:
    name = f" {obj.name}" if obj.name else ""
    inside = f" in {obj.base}" if obj.base else ""
    return f"{obj.kind}{name}{inside}"
