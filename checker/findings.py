"""The result model: Finding and Severity; inline suppressions; the order findings are reported in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from checker.records import dataclass, field, replace


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


@dataclass(frozen=True)
class Finding:
    """One problem at one place. ``node`` is the YAML path of the node it points at.

    ``message`` is one short sentence with the facts at this node, ``fix`` one line of what to do, and
    ``detail`` the longer why for this cluster (shown on demand: ``--verbose``, JSON, SARIF).
    """

    rule: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    cluster: str = ""
    node: str = ""
    fix: str = ""
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    suppressed_by: str = ""
    # The file relative to the repository root (``path`` is relative to the current directory):
    # what fingerprints and baselines use, so they are the same wherever the tool runs.
    repo_path: str = ""
    # The offending value as written (the pinned image reference, the version): part of the
    # fingerprint, so a change from one wrong value to another is a new finding.
    value: str = ""

    @property
    def file(self) -> str:
        """The file's canonical, repository-relative name (``path`` until the engine sets it)."""
        return self.repo_path or self.path

    @property
    def fingerprint(self) -> str:
        """Stable across unrelated edits: it names the rule, file, cluster, node and offending value,
        never a line."""
        anchor = self.node or f"line:{self.line}"
        subject = str(self.data.get("subject", ""))
        key = "\x1f".join((self.rule, self.file, self.cluster, anchor, subject, self.value))
        import hashlib  # only reports that print fingerprints pay for it

        return hashlib.sha256(key.encode()).hexdigest()[:24]

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


# "# k0s-policy: ignore[K0S103,K0S101] the reason" on the finding's line or the line above it, or on
# the line of the mapping key that owns the finding's node or the line above that.
_SUPPRESSION = re.compile(r"#\s*k0s-policy:\s*ignore\[([A-Za-z0-9_,\s:.-]*)\]\s*(.*)$")
MISSING_REASON_RULE = "K0S009"


@dataclass(frozen=True)
class Suppression:
    line: int
    column: int
    rules: frozenset[str]
    reason: str
    alone: bool = False  # the comment is all there is on its line (not at the end of a node's line)


def parse_suppressions(text: str) -> dict[int, Suppression]:
    """Suppression comments of one file by line number."""
    result: dict[int, Suppression] = {}
    if "k0s-policy:" not in text:
        return result
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUPPRESSION.search(line)
        if match:
            rules = frozenset(r.strip().upper() for r in match.group(1).split(",") if r.strip())
            alone = not line[: match.start()].strip()
            result[number] = Suppression(number, match.start() + 1, rules, match.group(2).strip(), alone)
    return result


def suppression_lines(finding: Finding, owner_line: int | None) -> list[tuple[int, bool]]:
    """Where a comment suppresses this finding, and whether it must stand on a line of its own: its
    line, the line above, the line of the mapping key that owns its node, and the line above that
    key when the comment is alone there (a comment on or above `coredns:` covers the `image:` and
    `version:` below it; a comment ending the line above `coredns:` belongs to that line's node)."""
    lines = [(finding.line, False), (finding.line - 1, False)]
    if owner_line is not None:
        for line, alone in ((owner_line, False), (owner_line - 1, True)):
            if all(line != seen for seen, _ in lines):
                lines.append((line, alone))
    return lines


def apply_suppressions(
    findings: Iterable[Finding],
    suppressions_by_path: Mapping[str, Mapping[int, Suppression]],
    owner_line: Callable[[Finding], int | None] | None = None,
) -> list[Finding]:
    """Marks findings suppressed by an inline comment; a comment without a reason suppresses nothing
    and is reported itself. ``owner_line`` gives the line of the mapping key that owns a finding's
    node, from the parsed document (the engine knows the positions; this module does not parse)."""
    out: list[Finding] = []
    reasonless: dict[tuple[str, int], Suppression] = {}
    for finding in findings:
        comments = suppressions_by_path.get(finding.path, {})
        owner = owner_line(finding) if comments and owner_line is not None else None
        for line, alone in suppression_lines(finding, owner):
            comment = comments.get(line)
            if comment is None or finding.rule.upper() not in comment.rules or (alone and not comment.alone):
                continue
            if not comment.reason:
                reasonless[(finding.path, comment.line)] = comment
                continue
            finding = replace(
                finding, suppressed_by=f"inline comment at line {comment.line}: {comment.reason}"
            )
            break
        out.append(finding)
    for (path, _), comment in sorted(reasonless.items()):
        rules = ", ".join(sorted(comment.rules))
        out.append(
            Finding(
                MISSING_REASON_RULE,
                Severity.WARNING,
                f"the suppression of {rules} gives no reason, so it suppresses nothing",
                path,
                comment.line,
                comment.column,
                fix=f"write why after the bracket: # k0s-policy: ignore[{rules}] <reason>",
                detail="A suppression must say why the finding does not apply, so that a reviewer can "
                "judge it later; without a reason the finding stays active.",
            )
        )
    return out


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    result = {str(s): 0 for s in sorted(Severity, reverse=True)}
    for finding in findings:
        if not finding.suppressed_by:
            result[str(finding.severity)] += 1
    result["suppressed"] = sum(1 for f in findings if f.suppressed_by)
    return result


# --- the one summary style of every sub-command ------------------------------------------------------

# (count, noun) or (count, singular, plural) for nouns that do not take an s
Count = tuple[int, str] | tuple[int, str, str]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 file`, `2 files`; ``many`` where the plural is not noun + s (`2 info`, `2 checks skipped`)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def summary_line(scope: Sequence[Count], outcome: Sequence[Count], *, nothing: str = "no findings") -> str:
    """`2 files, 3 documents, 1 cluster: 1 error, 1 warning`: what was looked at (every count, zeros
    too), then what came of it (only the counts that are not zero; ``nothing`` when all are)."""
    head = ", ".join(plural(*count) for count in scope)
    tail = ", ".join(plural(*count) for count in outcome if count[0]) or nothing
    return f"{head}: {tail}" if head else tail


def finding_counts(findings: Sequence[Finding]) -> list[Count]:
    """The outcome part of a summary: active findings by severity, then the suppressed ones."""
    tally = counts(findings)
    return [
        (tally["error"], "error"),
        (tally["warning"], "warning"),
        (tally["info"], "info", "info"),
        (tally["suppressed"], "suppressed", "suppressed"),
    ]
