"""GitHub Actions: workflow-command annotations on stdout and a Markdown job summary.

Annotations. Each active finding becomes ``::error``, ``::warning`` or ``::notice`` (for info) with
``file``, ``line``, ``col`` and ``title`` (the rule id), so it shows on the line in the pull
request's "Files changed" view. GitHub keeps only 10 annotations of each level per step (and 50 per
job) and silently drops the rest, in the order they were printed. So errors come first, and when a
level has more findings than the cap, the last slot of that level says how many were left out and
where to find them. ``K0S_POLICY_ANNOTATION_LIMIT`` changes the cap (``0``: no cap), for runners with
other limits.

Everything that comes from the repository under check (paths, messages) is escaped the way the
runner decodes it, so no file name or YAML key can end a command early or start another one. The
complete list is printed after the annotations inside a ``::stop-commands::`` block with a random
token, in which the runner interprets nothing.

Job summary. When ``GITHUB_STEP_SUMMARY`` names a file, a Markdown report is appended to it: the
counts, the clusters with their target release, and a table of the findings (at most
``SUMMARY_ROWS``, linked to the lines when the run's repository and commit are known), each with its
fix and, folded under "why", its detail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import TextIO
from urllib.parse import quote

from checker.findings import Finding, Severity
from checker.report.escape import command_data, command_property, finding_text, markdown
from checker.report.escape import text as escape_text
from checker.report.model import ReportInput

COMMANDS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}
ANNOTATIONS_PER_LEVEL = 10  # GitHub's per-step cap for each of error, warning and notice
LIMIT_VARIABLE = "K0S_POLICY_ANNOTATION_LIMIT"
SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
SUMMARY_ROWS = 200  # a step summary may hold 1 MiB; long messages times this stays well below


def annotation(finding: Finding) -> str:
    properties = []
    if not _is_stream(finding.path):
        # GitHub resolves annotation files from the repository root, whatever folder the check ran in
        properties.append(f"file={command_property(finding.file)}")
    properties += [f"line={finding.line}", f"col={finding.column}", f"title={command_property(finding.rule)}"]
    return f"::{COMMANDS[finding.severity]} {','.join(properties)}::{command_data(_message(finding))}"


def write(report: ReportInput, out: TextIO) -> None:
    limit = _limit(os.environ)
    ordered = sorted(report.active, key=lambda f: (-f.severity, *f.sort_key()))
    for severity in sorted(Severity, reverse=True):
        of_level = [f for f in ordered if f.severity == severity]
        shown = of_level if limit == 0 or len(of_level) <= limit else of_level[: limit - 1]
        for finding in shown:
            out.write(annotation(finding) + "\n")
        left = len(of_level) - len(shown)
        if left:
            word = {"error": "errors", "warning": "warnings", "notice": "notices"}[COMMANDS[severity]]
            out.write(
                f"::{COMMANDS[severity]} title=k0s-policy::{left} more {word} are not annotated (GitHub shows "
                f"{limit} of each level per step); see the job summary or the list in this step's log\n"
            )
    listed = report.findings if report.show_suppressed else report.active
    if listed:
        token = secrets.token_hex(16)
        out.write(f"::group::k0s-policy: {len(listed)} findings\n::stop-commands::{token}\n")
        for finding in listed:
            out.write(_plain(finding) + "\n")
        out.write(f"::{token}::\n::endgroup::\n")
    out.write(f"k0s-policy: {_totals(report)}\n")
    summary_file = os.environ.get(SUMMARY_VARIABLE)
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(step_summary(report, os.environ))
        except OSError as err:
            out.write(
                f"::warning title=k0s-policy::cannot write the job summary: {command_data(escape_text(str(err)))}\n"
            )


def step_summary(report: ReportInput, env: Mapping[str, str]) -> str:
    """The Markdown job summary of one run."""
    lines = ["## k0s-policy", "", f"**{_totals(report)}**. {_verdict(report)}", ""]
    lines += [f"- {_cell(note)}" for note in report.notes] + ([""] if report.notes else [])
    if report.clusters:
        lines += [
            "| cluster | target k0s | declared | air-gapped | dynamic config |",
            "|---|---|---|---|---|",
        ]
        for cluster in report.clusters:
            cells = (
                cluster.name,
                cluster.target,
                cluster.source,
                "yes" if cluster.airgapped else "no",
                "yes" if cluster.dynamic_config else "no",
            )
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    listed = report.findings if report.show_suppressed else report.active
    ordered = sorted(listed, key=lambda f: (-f.severity, *f.sort_key()))
    if ordered:
        lines += ["| severity | rule | where | finding |", "|---|---|---|---|"]
        for finding in ordered[:SUMMARY_ROWS]:
            severity = f"{finding.severity} (suppressed)" if finding.suppressed_by else str(finding.severity)
            where = _link(finding, env)
            lines.append(f"| {severity} | {_cell(finding.rule)} | {where} | {_summary_cell(finding)} |")
        if len(ordered) > SUMMARY_ROWS:
            lines.append("")
            lines.append(
                f"{len(ordered) - SUMMARY_ROWS} more findings are not shown here; write "
                "`--format json --output FILE` or SARIF for the complete list."
            )
        lines.append("")
    if report.added_suppressions:  # PR mode: what the change silences deserves a reviewer's look
        lines += ["**Suppressions added by this change**", ""]
        lines += [
            f"- {_cell(f'{f.path}:{f.line}:{f.column}')} {f.rule}: {_cell(f.suppressed_by)}"
            for f in report.added_suppressions
        ]
        lines.append("")
    if report.fixed:
        lines += [f"This change fixes {len(report.fixed)} finding{'s' * (len(report.fixed) != 1)}.", ""]
    for title, items in (("Inputs that could not be read", report.input_errors), ("Skipped", report.skipped)):
        if items:
            lines += [f"**{title}**", ""] + [f"- {_cell(item)}" for item in items] + [""]
    return "\n".join(lines) + "\n"


def _limit(env: Mapping[str, str]) -> int:
    try:
        return max(int(env.get(LIMIT_VARIABLE, ANNOTATIONS_PER_LEVEL)), 0)
    except ValueError:
        return ANNOTATIONS_PER_LEVEL


def _message(finding: Finding) -> str:
    # no escape sequence reaches the log; line breaks are encoded by command_data
    message, fix = escape_text(finding.message, keep_breaks=True), escape_text(finding.fix, keep_breaks=True)
    if fix and fix not in message:
        return f"{message}\nFix: {fix}"
    return message


def _summary_cell(finding: Finding) -> str:
    """The message and fix, and the detail folded under a "why" toggle (the markup is ours; every
    text in it is escaped by _cell)."""
    cell = _cell(_message(finding))
    if finding.detail:
        cell += f"<details><summary>why</summary>{_cell(finding.detail)}</details>"
    return cell


def _plain(finding: Finding) -> str:
    finding = finding_text(finding)  # the line breaks left are the listing's own
    text = f"{finding.path}:{finding.line}:{finding.column}: {finding.severity} {finding.rule} {_message(finding)}"
    if finding.suppressed_by:
        text += f"\nsuppressed: {finding.suppressed_by}"
    return "\n    ".join(text.replace("\r", "").split("\n"))


def _totals(report: ReportInput) -> str:
    return report.summary_line()


def _verdict(report: ReportInput) -> str:
    if report.input_errors:
        return "Some inputs could not be read, so the check fails."
    if report.fail_on == "never":
        return "Findings do not fail this run (`--fail-on never`)."
    threshold = Severity.parse(report.fail_on)
    failing = sum(1 for f in report.active if f.severity >= threshold)
    if failing:
        return f"The check fails: {failing} at or above `{report.fail_on}`."
    return f"The check passes: nothing at or above `{report.fail_on}`."


def _link(finding: Finding, env: Mapping[str, str]) -> str:
    where = f"{finding.path}:{finding.line}:{finding.column}"
    server, repository, sha = (
        env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")
    )
    if not (server and repository and sha) or _is_stream(finding.path) or finding.file.startswith("/"):
        return _cell(where)
    url = f"{server}/{repository}/blob/{sha}/{quote(finding.file)}#L{finding.line}"
    return f"[{_cell(where)}]({url})"


def _cell(value: str) -> str:
    """Text inside a Markdown table cell: its line breaks kept as ``<br>``, no markup of its own."""
    return markdown(value, breaks="<br>")


def _is_stream(path: str) -> bool:
    return path.startswith("<") and path.endswith(">")
