"""JUnit XML for CI dashboards (GitLab, Jenkins, Azure DevOps).

One ``<testsuite>`` per file, named by its path. Every k0s object checked is at least one
``<testcase>``: a passing one when nothing was found in it, otherwise one test case per finding,
named by object, rule and YAML node. A finding at or above ``--fail-on`` is a ``<failure>`` (so the
dashboard and the exit code agree); one below it passes and carries the finding in ``<system-out>``;
a suppressed one is ``<skipped>`` with the reason. Inputs that could not be read are ``<error>``
cases of a last suite named ``k0s-policy``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from checker.findings import Finding, Severity
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
    path: str
    line: int
    outcome: str = ""  # "", "failure", "skipped" or "error"
    message: str = ""
    kind: str = ""
    body: str = ""
    output: list[str] = field(default_factory=list)


def build(report: ReportInput) -> ET.Element:
    threshold = None if report.fail_on == "never" else Severity.parse(report.fail_on)
    by_path: dict[str, list[_Case]] = {}
    objects_by_path: dict[str, list[CheckedObject]] = {}
    for obj in report.checked:
        objects_by_path.setdefault(obj.path, []).append(obj)
        by_path.setdefault(obj.path, [])
    found_in: set[CheckedObject] = set()
    for finding in report.findings:
        owner = _owner(finding, objects_by_path.get(finding.path, ()))
        if owner is not None:
            found_in.add(owner)
        by_path.setdefault(finding.path, []).append(_finding_case(finding, owner, threshold))
    for obj in report.checked:
        if obj not in found_in:
            case = _Case(_label(obj), obj.path, obj.path, obj.line)
            case.output.append(f"{obj.path}:{obj.line}: checked, no findings")
            by_path[obj.path].append(case)

    root = ET.Element("testsuites", name="k0s-policy")
    for path in sorted(by_path):
        cases = sorted(by_path[path], key=lambda case: (case.line, case.name))
        _suite(root, path, cases)
    if report.input_errors:
        cases = [
            _Case(f"input {number}", "k0s-policy", "", 0, "error", error, "input-error", error)
            for number, error in enumerate(report.input_errors, start=1)
        ]
        _suite(root, "k0s-policy", cases)
    for total in _TOTALS:
        root.set(total, str(sum(int(suite.get(total, "0")) for suite in root)))
    return root


def _suite(root: ET.Element, name: str, cases: Sequence[_Case]) -> None:
    suite = ET.SubElement(root, "testsuite", name=clean(name))
    counts = dict.fromkeys(_TOTALS, 0)
    counts["tests"] = len(cases)
    for case in cases:
        element = ET.SubElement(suite, "testcase", name=clean(case.name), classname=clean(case.classname))
        if case.path:
            element.set("file", clean(case.path))
            element.set("line", str(case.line))
        if case.outcome:
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[case.outcome]] += 1
            detail = ET.SubElement(element, case.outcome, message=clean(case.message))
            if case.kind:
                detail.set("type", clean(case.kind))
            if case.body:
                detail.text = clean(case.body)
        if case.output:
            ET.SubElement(element, "system-out").text = clean("\n".join(case.output))
    for total, value in counts.items():
        suite.set(total, str(value))


def _finding_case(finding: Finding, owner: CheckedObject | None, threshold: Severity | None) -> _Case:
    where = finding.node or f"line {finding.line}"
    label = _label(owner) if owner is not None else "file"
    line = (
        f"{finding.path}:{finding.line}:{finding.column}: {finding.severity} {finding.rule} {finding.message}"
    )
    if finding.fix and finding.fix not in finding.message:
        line += f"\nfix: {finding.fix}"
    case = _Case(f"{label}: {finding.rule} {where}", finding.path, finding.path, finding.line)
    if finding.suppressed_by:
        case.outcome, case.message = "skipped", f"suppressed: {finding.suppressed_by}"
        case.output.append(line)
    elif threshold is not None and finding.severity >= threshold:
        case.outcome, case.message, case.kind, case.body = (
            "failure",
            _headline(finding),
            str(finding.severity),
            line,
        )
    else:
        case.output.append(line)
    return case


def _headline(finding: Finding) -> str:
    """The finding's first sentence with its rule: what dashboards show before the details."""
    sentence = re.split(r"(?<=\.)\s", finding.message, maxsplit=1)[0]
    if len(sentence) > 300:
        sentence = sentence[:299].rstrip() + "…"
    return f"{finding.rule}: {sentence}"


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
    return f"{obj.kind}{name}{inside} (line {obj.line})"
