"""The `k0s-policy` command: the top-level parser and the dispatch to one module per sub-command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from checker.cli.options import EXIT_OK, EXIT_USAGE, HelpFormatter, add_version_flag

# command -> (module in checker.cli, its function adding the sub-parser(s), its run function). Only the
# module of the command given is imported: a pre-commit `check` does not pay for the audit's reports.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("check", "add_parser", "run"),
    "rules": ("rules", "add_parsers", "run_rules"),
    "explain": ("rules", "add_parsers", "run_explain"),
    "audit": ("audit", "add_parser", "run"),
    "fix": ("fix", "add_parser", "run"),
    "releases": ("releases", "add_parser", "run"),
    "verify": ("verify", "add_parser", "run"),
    "merge-reports": ("merge", "add_parser", "run"),
    "schema": ("schema", "add_parser", "run"),
    "images": ("images", "add_parser", "run"),
    "upgrade": ("upgrade", "add_parser", "run"),
}


def _module(command: str) -> object:
    return importlib.import_module(f"checker.cli.{COMMANDS[command][0]}")


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: the first word, as the top level has no option taking a value."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or (``only``) of the one given, in the same order and form."""
    parser = argparse.ArgumentParser(
        prog="k0s-policy",
        description="Check k0s, k0sctl and autopilot configuration in a GitOps repository.",
        epilog="`k0s-policy COMMAND --help` shows a command's flags, examples and exit codes.",
        formatter_class=HelpFormatter,
    )
    add_version_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    added: set[tuple[str, str]] = set()
    for command, (module, add, _) in COMMANDS.items():
        if (only is not None and command != only) or (module, add) in added:
            continue
        added.add((module, add))
        getattr(_module(command), add)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(words))
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = getattr(_module(args.command), COMMANDS[args.command][2])
    from checker.report.escape import LineStream

    stderr, sys.stderr = sys.stderr, LineStream(sys.stderr)  # no diagnostic can start a line of its own
    try:
        return run(args)
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # fail closed: a bug is a K0S008 finding and exit 2, never a lost report
        from checker.cli.failure import report_crash

        return report_crash(args, err)
    finally:
        sys.stderr = stderr
