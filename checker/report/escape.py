"""Text from the checked repository, made safe for each kind of output; every writer uses these.

The repository is untrusted (in a pull request its author is the adversary), and its keys, values,
file and cluster names reach reports through findings, notes and cluster lines:

- ``text``: terminals and CI logs. Control characters are shown as escapes (``\\n``, ``\\x1b``), so a
  value cannot start a new log line (a GitHub ``::error ...::`` workflow command), move the cursor
  or recolour the terminal. Unicode line separators and bidirectional overrides are escaped too.
- ``markdown`` and ``code``: job summaries, issues, pull-request descriptions. HTML is shown as
  text, Markdown syntax (links, images, emphasis, headings, autolinks, table pipes) is escaped.
- ``command_data`` and ``command_property``: the parts of a GitHub workflow command, escaped the
  way the runner decodes them (``@actions/core``'s ``escapeData`` and ``escapeProperty``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TextIO

from checker.records import replace

if TYPE_CHECKING:
    from checker.findings import Finding
    from checker.report.model import ReportInput

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional embeddings, overrides and
# isolates (they reorder what a reader sees), and the byte-order mark.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Punctuation that is markup anywhere in a line for CommonMark, GitHub Flavored Markdown (tables,
# strike-through, mentions) or GitHub's math; each is escaped with a backslash. Version strings keep
# their dots and dashes: those are markup only where _AUTOLINK or _LINE_START finds them.
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~!$@])")
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)")  # "https://..." and "www...." become links
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")  # a list item, setext underline or numbered item
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _show(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def text(value: object, *, keep_breaks: bool = False) -> str:
    """A value for a line of text output: control characters shown as escapes. ``keep_breaks``
    leaves line breaks to a writer that encodes them itself (a workflow command's ``%0A``)."""
    if keep_breaks:
        return _CONTROL.sub(lambda m: m.group() if m.group() in "\r\n" else _show(m), str(value))
    return _CONTROL.sub(_show, str(value))


def markdown(value: object, *, breaks: str | None = None) -> str:
    """A value inside Markdown (a paragraph, list item or table cell): literal text, no markup.

    Control characters are shown as escapes, as in text output; with ``breaks`` line breaks become
    that instead (``"<br>"`` keeps the lines of a message in a table cell).
    """
    if breaks is None:
        return _markdown_line(str(value))
    lines = str(value).replace("\r\n", "\n").split("\n")
    return breaks.join(_markdown_line(line) for line in lines)


def _markdown_line(line: str) -> str:
    escaped = _MARKDOWN.sub(r"\\\1", text(line))
    escaped = "".join(_HTML.get(char, char) for char in escaped)
    escaped = _AUTOLINK.sub(lambda m: "\\" + m.group(), escaped)
    return _LINE_START.sub(_escape_start, escaped)


def _escape_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    return f"{indent}\\{marker}" if not marker.isdigit() else f"{indent}{marker}\\"


def code(value: object, *, table: bool = False) -> str:
    """A value as an inline code span: shown as written, on one line, whatever backticks it holds.

    In a table cell (``table``) a pipe still ends the cell inside a code span, so it is escaped.
    """
    shown = " ".join(text(part) for part in str(value).replace("\r\n", "\n").split("\n"))
    if not shown:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    if shown.startswith("`") or shown.endswith("`"):
        shown = f" {shown} "
    if table:
        shown = shown.replace("|", "\\|")
    return f"{fence}{shown}{fence}"


def code_block(value: str, info: str = "") -> str:
    """Lines shown as written in a fenced code block, whose fence no backtick run inside can close."""
    lines = [text(line) for line in value.replace("\r\n", "\n").rstrip("\n").split("\n")]
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n" + "\n".join(lines) + f"\n{fence}\n"


def command_data(value: str) -> str:
    """The message part of a GitHub workflow command (after the second ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(value: str) -> str:
    """A ``key=value`` property of a GitHub workflow command: also no ``:`` or ``,``."""
    return command_data(value).replace(":", "%3A").replace(",", "%2C")


class LineStream:
    """A text stream for diagnostics (stderr): each write is one line, whatever it quotes. Its text
    is escaped as ``text`` does, all but a final line break, which stays."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, data: str) -> int:
        body, end = (data[:-1], "\n") if data.endswith("\n") else (data, "")
        self.stream.write(text(body) + end)
        return len(data)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding: the stream's own
        return getattr(self.stream, name)


def finding_text(finding: Finding) -> Finding:
    """The finding with every text a report prints escaped for text output."""
    return replace(
        finding,
        message=text(finding.message),
        path=text(finding.path),
        cluster=text(finding.cluster),
        node=text(finding.node),
        fix=text(finding.fix),
        detail=text(finding.detail),
        suppressed_by=text(finding.suppressed_by),
    )


def report_text(report: ReportInput) -> ReportInput:
    """The report with every text from the repository escaped for text output (a copy)."""
    return replace(
        report,
        findings=[finding_text(f) for f in report.findings],
        clusters=[
            replace(c, name=text(c.name), target=text(c.target), source=text(c.source))
            for c in report.clusters
        ],
        skipped=[text(s) for s in report.skipped],
        input_errors=[text(e) for e in report.input_errors],
        notes=[text(n) for n in report.notes],
        fixed=[finding_text(f) for f in report.fixed] if report.fixed is not None else None,
        added_suppressions=[finding_text(f) for f in report.added_suppressions]
        if report.added_suppressions is not None
        else None,
    )
