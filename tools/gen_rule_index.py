#!/usr/bin/env python3
"""Regenerate the rule index table in ``docs/rules/README.md`` from ``checker.rules.ALL_RULES``.

The table sits between the markers ``<!-- rules:start -->`` and ``<!-- rules:end -->``; everything
outside them is left as written. The registry is the only source: add a rule there and rerun this.

Usage: ``python tools/gen_rule_index.py [--check] [--readme FILE]``. With ``--check`` nothing is
written and the exit code says whether the table is current (0), stale (1) or cannot be updated (2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_README = REPO_ROOT / "docs" / "rules" / "README.md"
START = "<!-- rules:start -->"
END = "<!-- rules:end -->"

EXIT_OK = 0
EXIT_STALE = 1
EXIT_ERROR = 2

if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO_ROOT))

from checker.rules import ALL_RULES, Rule  # noqa: E402


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_table(rules: Iterable[Rule]) -> str:
    """The Markdown table of the given rules, in registry order, without the markers."""
    lines = ["| Rule | Name | Severity | Summary |", "|---|---|---|---|"]
    for rule in rules:
        lines.append(
            f"| [{rule.id}]({rule.id}.md) | `{rule.name}` | {rule.severity} | {_cell(rule.summary)} |"
        )
    return "\n".join(lines)


def update(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``; ValueError without markers."""
    start = text.find(START)
    end = text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"markers {START} and {END} not found in this order")
    return f"{text[: start + len(START)]}\n{table}\n{text[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the table is stale")
    parser.add_argument(
        "--readme", type=Path, default=DEFAULT_README, help="index file (default: docs/rules/README.md)"
    )
    args = parser.parse_args(argv)
    try:
        current = args.readme.read_text(encoding="utf-8")
        wanted = update(current, render_table(ALL_RULES))
    except (OSError, ValueError) as error:
        print(f"gen_rule_index: {args.readme}: {error}", file=sys.stderr)
        return EXIT_ERROR
    if wanted == current:
        print(f"gen_rule_index: {args.readme} is up to date ({len(ALL_RULES)} rules)")
        return EXIT_OK
    if args.check:
        print(
            f"gen_rule_index: {args.readme} is stale; run `python tools/gen_rule_index.py`",
            file=sys.stderr,
        )
        return EXIT_STALE
    args.readme.write_text(wanted, encoding="utf-8")
    print(f"gen_rule_index: wrote {args.readme} ({len(ALL_RULES)} rules)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
