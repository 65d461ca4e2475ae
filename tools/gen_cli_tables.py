#!/usr/bin/env python3
"""Regenerate the flag tables of the command-line grammar from the argparse parsers themselves.

Two tables, each between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers:

- ``README.md`` (``grammar``): the flags that two or more reporting sub-commands share, one column
  per sub-command, so the grammar is shown once;
- ``docs/cli.md`` (``flags``): every flag of every sub-command, one table per sub-command.

Usage: ``python tools/gen_cli_tables.py [--check]``. With ``--check`` nothing is written and the
exit code says whether both tables are current (0), stale (1) or cannot be updated (2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
CLI_DOC = REPO_ROOT / "docs" / "cli.md"
# the README's columns: the sub-commands that read a repository or print a report
REPORTING = ("check", "audit", "upgrade", "fix", "images", "merge-reports", "verify", "rules")
HIDDEN = {"-h", "--help"}

EXIT_OK = 0
EXIT_STALE = 1
EXIT_ERROR = 2

if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO_ROOT))

from checker.cli.app import build_parser  # noqa: E402


def commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every sub-command's parser by its full name (`releases import`), in the order of --help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                yield full, sub
                yield from commands(sub, f"{full} ")


def flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if action.option_strings and not set(action.option_strings) & HIDDEN
    ]


def flag_cell(action: argparse.Action) -> str:
    """`-q`, `--quiet`; `--output FILE`: the spellings and what the flag takes."""
    value = ""
    if action.nargs != 0:
        if action.metavar:
            value = f" {action.metavar}"
        elif action.choices and len(action.choices) <= 4:
            value = " " + "|".join(map(str, action.choices))
        else:
            value = f" {action.dest.upper()}"
    value = value.replace("|", "\\|")  # GitHub tables split cells on | even inside code
    return ", ".join(f"`{option}{value}`" for option in action.option_strings)


def meaning(action: argparse.Action, *, choices: bool = True) -> str:
    from checker.k0s.userdata import default_data_dir

    # the same table on every machine: the user's data directory as the XDG spec names it
    text = " ".join(str(action.help or "").split()).replace("|", "\\|")
    text = text.replace(str(default_data_dir()), "`$XDG_DATA_HOME/k0s-policy/releases`")
    if choices and action.choices and not action.metavar and len(action.choices) > 4:
        text += ": " + ", ".join(f"`{choice}`" for choice in action.choices)
    return text


def render_grammar(root: argparse.ArgumentParser) -> str:
    """The README's matrix: each flag two or more reporting sub-commands share, and where it is."""
    parsers = dict(commands(root))
    rows: dict[str, tuple[argparse.Action, set[str]]] = {}
    for name in REPORTING:
        for action in flags(parsers[name]):
            key = action.option_strings[-1]
            first, where = rows.setdefault(key, (action, set()))
            where.add(name)
    header = "| flag | " + " | ".join(f"`{name}`" for name in REPORTING) + " | meaning |"
    lines = [header, "|---|" + ":-:|" * len(REPORTING) + "---|"]
    for first, where in rows.values():
        if len(where) < 2:
            continue
        marks = " | ".join("✓" if name in where else "" for name in REPORTING)
        # each sub-command has its own formats: docs/cli.md lists them
        lines.append(f"| {flag_cell(first)} | {marks} | {meaning(first, choices=False)} |")
    return "\n".join(lines)


def render_flags(root: argparse.ArgumentParser) -> str:
    """docs/cli.md: one table per sub-command, every flag with its meaning."""
    parts = []
    for name, parser in commands(root):
        own = flags(parser)
        if not own:
            continue
        positionals = [
            a for a in parser._actions if not a.option_strings and a.help and a.nargs != argparse.PARSER
        ]
        args = " ".join(str(a.metavar or a.dest).upper() for a in positionals)
        lines = [
            f"### `k0s-policy {name}{' ' + args if args else ''}`",
            "",
            str(parser.description or ""),
            "",
        ]
        lines += ["| flag | meaning |", "|---|---|"]
        lines += [f"| {flag_cell(action)} | {meaning(action)} |" for action in own]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def update(text: str, name: str, body: str) -> str:
    """``text`` with the part between the ``name`` markers replaced; ValueError without them."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    at, until = text.find(start), text.find(end)
    if at < 0 or until < at:
        raise ValueError(f"markers {start} and {end} not found in this order")
    return f"{text[: at + len(start)]}\n{body}\n{text[until:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a table is stale")
    args = parser.parse_args(argv)
    root = build_parser()
    stale = []
    for path, name, body in (
        (README, "grammar", render_grammar(root)),
        (CLI_DOC, "flags", render_flags(root)),
    ):
        try:
            current = path.read_text(encoding="utf-8")
            wanted = update(current, name, body)
        except (OSError, ValueError) as error:
            print(f"gen_cli_tables: {path}: {error}", file=sys.stderr)
            return EXIT_ERROR
        if wanted == current:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(wanted, encoding="utf-8")
            print(f"gen_cli_tables: wrote {path.relative_to(REPO_ROOT)}")
    if stale and args.check:
        names = ", ".join(str(p.relative_to(REPO_ROOT)) for p in stale)
        print(f"gen_cli_tables: {names} stale; run `python tools/gen_cli_tables.py`", file=sys.stderr)
        return EXIT_STALE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
