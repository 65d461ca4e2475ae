"""How the text reports read on a terminal: colour (``--color``, ``NO_COLOR``, ``FORCE_COLOR``),
``--quiet`` and ``--statistics``; colour is decided per output stream, so a report
written to a file never carries escape codes unless asked to."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from checker.findings import Finding
from checker.records import dataclass

COLOR_CHOICES = ("auto", "always", "never")
RESET = "\x1b[0m"
SEVERITY_CODES = {"error": "1;31", "warning": "1;33", "info": "1;34"}
RULE_CODE = "1;36"
PATH_CODE = "1"
DIM_CODE = "2"


@dataclass(frozen=True)
class TextOptions:
    """The text report's flags; the defaults are what a report without them looks like."""

    color: str = "auto"
    quiet: bool = False  # findings only: no header, notes or summary
    statistics: bool = False  # one line per rule with its count instead of every finding


def wants_color(choice: str, stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """``always`` and ``never`` decide; ``auto`` follows NO_COLOR (any value: off), then FORCE_COLOR
    (any value but 0: on), then whether the stream is a terminal that is not ``TERM=dumb``."""
    if choice != "auto":
        return choice == "always"
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty()) and env.get("TERM") != "dumb"


@dataclass(frozen=True)
class Style:
    """Paints report parts; with ``on`` false every method returns its text unchanged."""

    on: bool = False

    @classmethod
    def of(cls, options: TextOptions, stream: TextIO) -> Style:
        return cls(wants_color(options.color, stream))

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}{RESET}" if self.on and text else text

    def severity(self, severity: object, width: int = 0) -> str:
        name = str(severity)
        return self.paint(name.ljust(width), SEVERITY_CODES.get(name, PATH_CODE))

    def rule(self, rule_id: str) -> str:
        return self.paint(rule_id, RULE_CODE)

    def path(self, text: str) -> str:
        return self.paint(text, PATH_CODE)

    def dim(self, text: str) -> str:
        return self.paint(text, DIM_CODE)


def statistics(findings: Sequence[Finding]) -> list[tuple[str, int, str, str]]:
    """(rule, count, severity, summary) per rule with active findings, the most frequent first; the
    summary is the rule's own, or a Rego rule's first message."""
    from checker.rules import RULES_BY_ID

    tally: dict[str, list[Finding]] = {}
    for finding in findings:
        if not finding.suppressed_by:
            tally.setdefault(finding.rule, []).append(finding)
    rows = []
    for rule_id, hits in tally.items():
        rule = RULES_BY_ID.get(rule_id)
        summary = rule.summary if rule is not None else hits[0].message
        rows.append((rule_id, len(hits), str(max(f.severity for f in hits)), summary))
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def write_statistics(findings: Sequence[Finding], out: TextIO, style: Style) -> None:
    """As ``ruff --statistics``: the count, the rule id, its severity and what the rule checks."""
    rows = statistics(findings)
    width = max((len(str(count)) for _, count, _, _ in rows), default=1)
    for rule_id, count, severity, summary in rows:
        out.write(f"{count:>{width}}  {style.rule(rule_id)}  {style.severity(severity, 7)}  {summary}\n")
