"""Known findings: matching one run's findings against another's, and baseline files.

A baseline records the findings a repository already has, so that a run reports only what is new:
for repositories without the git history PR mode needs, or to adopt the tool without fixing
everything first. The file is JSON, versioned, sorted and free of timestamps, so it can be kept
in the repository and reviewed like any other file::

    {"version": 1, "tool": {"name": "k0s-policy", "version": "0.1.0"},
     "findings": [{"fingerprint": "...", "rule": "K0S102", "path": "clusters/a/k0s.yaml",
                   "line": 37, "message": "..."}]}

Only ``fingerprint`` decides a match; rule, path and message are for the humans reading the file
(and the second chance below). Fingerprints name the rule, file, cluster and YAML node, never the
line, so unrelated edits do not turn known findings into new ones. Paths are relative to the
repository root (``Finding.file``), so a baseline written from the root matches from any folder.
A finding that points at no node (a YAML syntax error, a suppression comment) is fingerprinted by
its line; when that line moves it still matches by rule, path and message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from checker.findings import Finding
from checker.records import dataclass

BASELINE_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read or written: a usage error."""


@dataclass(frozen=True)
class Known:
    """What identifies a finding across runs."""

    fingerprint: str
    rule: str
    path: str
    message: str

    @classmethod
    def of(cls, finding: Finding) -> Known:
        return cls(finding.fingerprint, finding.rule, finding.file, finding.message)

    @property
    def loose(self) -> tuple[str, str, str]:
        return (self.rule, self.path, self.message)


T = TypeVar("T")


def unmatched(current: Sequence[T], known: Iterable[Known], key: Callable[[T], Known]) -> list[T]:
    """The items of ``current`` that ``known`` does not account for, each known entry used once.

    Fingerprints are matched first; what is left on both sides is matched by rule, path and message.
    """
    keys = [key(item) for item in current]
    known = list(known)
    left = Counter(k.fingerprint for k in known)
    loose: Counter[tuple[str, str, str]] = Counter()
    remaining: list[int] = []
    for index, k in enumerate(keys):
        if left[k.fingerprint] > 0:
            left[k.fingerprint] -= 1
        else:
            remaining.append(index)
    for k in known:
        if left[k.fingerprint] > 0:
            left[k.fingerprint] -= 1
            loose[k.loose] += 1
    out: list[T] = []
    for index in remaining:
        k = keys[index]
        if loose[k.loose] > 0:
            loose[k.loose] -= 1
        else:
            out.append(current[index])
    return out


def _same(known: Known) -> Known:
    return known


@dataclass
class Baseline:
    path: str
    entries: list[Known]

    def filter(self, findings: Sequence[Finding]) -> tuple[list[Finding], int, int]:
        """(findings to report, how many the baseline knew, how many of its entries no longer occur).

        Suppressed findings pass through: they are already silenced and only counted.
        """
        active = [f for f in findings if not f.suppressed_by]
        new = unmatched(active, self.entries, Known.of)
        gone = unmatched(self.entries, [Known.of(f) for f in active], _same)
        kept = {id(f) for f in new}
        reported = [f for f in findings if f.suppressed_by or id(f) in kept]
        return reported, len(active) - len(new), len(gone)


def load_baseline(path: Path, shown: str) -> Baseline:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BaselineError(f"{shown}: cannot read the baseline: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BaselineError(f"{shown}: not a k0s-policy baseline (invalid JSON: {err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise BaselineError(f"{shown}: not a k0s-policy baseline (no findings list)")
    version = document.get("version")
    if version != BASELINE_VERSION:
        raise BaselineError(
            f"{shown}: baseline format version {version!r} is not supported (this k0s-policy writes "
            f"version {BASELINE_VERSION}); write a new one with --write-baseline"
        )
    entries: list[Known] = []
    for index, item in enumerate(document["findings"]):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise BaselineError(f"{shown}: entry {index} has no fingerprint")
        entries.append(
            Known(
                item["fingerprint"],
                str(item.get("rule", "")),
                str(item.get("path", "")),
                str(item.get("message", "")),
            )
        )
    return Baseline(shown, entries)


def baseline_document(findings: Iterable[Finding], tool_version: str = "") -> dict[str, Any]:
    active = sorted((f for f in findings if not f.suppressed_by), key=Finding.sort_key)
    return {
        "version": BASELINE_VERSION,
        "tool": {"name": "k0s-policy", "version": tool_version},
        "findings": [
            {
                "fingerprint": f.fingerprint,
                "rule": f.rule,
                "path": f.file,
                "line": f.line,
                "message": f.message,
            }
            for f in active
        ],
    }


def write_baseline(path: Path, shown: str, findings: Iterable[Finding], tool_version: str = "") -> int:
    """Writes the unsuppressed findings; returns how many."""
    document = baseline_document(findings, tool_version)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    except OSError as err:
        raise BaselineError(f"cannot write the baseline {shown}: {err.strerror or err}") from None
    return len(document["findings"])
