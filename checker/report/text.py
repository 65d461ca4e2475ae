"""Human-readable report: `path:line:col: severity RULE message`, grouped by file, then a summary.

Each finding is one line, then an indented `fix:` line; with ``--verbose`` its detail (the why for
this cluster) follows, wrapped and indented, so the default output stays one screen-readable line
per problem. ``--quiet`` leaves only the findings, ``--statistics`` prints one line per rule in
their place, and colour (checker.report.style) marks severities and rule ids on a terminal.
"""

from __future__ import annotations

import textwrap
from itertools import groupby
from typing import TextIO

from checker.findings import Finding
from checker.report.escape import report_text
from checker.report.model import ReportInput
from checker.report.style import Style, write_statistics


def write(report: ReportInput, out: TextIO) -> None:
    report = report_text(report)  # no text from the repository may start a line or steer the terminal
    options = report.text
    style = Style.of(options, out)
    if not options.quiet:
        _header(report, out)
    shown = report.findings if report.show_suppressed else report.active
    if options.statistics:
        write_statistics(shown, out, style)
        if shown and not options.quiet:
            out.write("\n")
    else:
        for _, group in groupby(shown, key=lambda f: f.path):
            for finding in group:
                out.write(finding_line(finding, style))
                if finding.suppressed_by:
                    out.write(f"    suppressed: {finding.suppressed_by}\n")
                elif finding.fix and finding.fix not in finding.message:
                    out.write(f"    {style.dim('fix:')} {finding.fix}\n")
                if report.verbose and finding.detail:
                    out.write(wrap_detail(finding.detail))
            if not options.quiet:
                out.write("\n")
    if options.quiet:
        return
    _comparison_sections(report, out)
    for error in report.input_errors:
        out.write(f"input error: {error}\n")
    for skipped in report.skipped:
        out.write(f"skipped: {skipped}\n")
    out.write(report.summary_line() + "\n")


def finding_line(finding: Finding, style: Style, where: str = "", indent: str = "") -> str:
    """`path:line:col: severity RULE message`, the one line a finding is in every text report
    (``where`` in place of path:line:col)."""
    where = where or f"{finding.path}:{finding.line}:{finding.column}"
    return (
        f"{indent}{style.path(where)}: {style.severity(finding.severity)} {style.rule(finding.rule)} "
        f"{finding.message}\n"
    )


def _header(report: ReportInput, out: TextIO) -> None:
    """The clusters the run found, with their target releases, and the run's notes."""
    for cluster in report.clusters:
        traits = [
            t
            for t, on in (("air-gapped", cluster.airgapped), ("dynamic config", cluster.dynamic_config))
            if on
        ]
        extra = f"; {', '.join(traits)}" if traits else ""
        out.write(f"cluster {cluster.name}: target k0s {cluster.target} ({cluster.source}{extra})\n")
    if report.clusters:
        out.write("\n")
    for note in report.notes:
        out.write(f"note: {note}\n")
    if report.notes:
        out.write("\n")


DETAIL_WIDTH = 100
DETAIL_INDENT = "      "


def wrap_detail(text: str) -> str:
    """The detail under its finding, wrapped at DETAIL_WIDTH; commands and image names stay whole."""
    lines = textwrap.wrap(
        " ".join(text.split()),
        width=DETAIL_WIDTH,
        initial_indent=DETAIL_INDENT,
        subsequent_indent=DETAIL_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "".join(f"{line}\n" for line in lines)


def _comparison_sections(report: ReportInput, out: TextIO) -> None:
    """PR mode: the suppressions the change adds, and (--show-fixed) the findings it removes."""
    if report.added_suppressions:
        out.write("suppressions added by this change (review them):\n")
        for finding in report.added_suppressions:
            out.write(
                f"  {finding.path}:{finding.line}:{finding.column}: {finding.rule} silenced by the "
                f"{finding.suppressed_by}\n"
            )
        out.write("\n")
    if report.fixed is not None:
        out.write(f"fixed by this change (where they were at the base revision): {len(report.fixed)}\n")
        for finding in report.fixed:
            out.write(
                f"  {finding.path}:{finding.line}:{finding.column}: fixed {finding.severity} {finding.rule} "
                f"{finding.message}\n"
            )
        out.write("\n")
