"""The `k0s-policy` command: the top-level parser and the dispatch to one module per sub-command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from checker.cli import audit, check, fix, images, merge, releases, rules, schema, upgrade, verify
from checker.cli.options import EXIT_OK, EXIT_USAGE

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": check.run,
    "rules": rules.run_rules,
    "explain": rules.run_explain,
    "audit": audit.run,
    "fix": fix.run,
    "releases": releases.run,
    "verify": verify.run,
    "merge-reports": merge.run,
    "schema": schema.run,
    "images": images.run,
    "upgrade": upgrade.run,
}


def build_parser() -> argparse.ArgumentParser:
    from checker import __version__

    parser = argparse.ArgumentParser(
        prog="k0s-policy",
        description="Check k0s, k0sctl and autopilot configuration in a GitOps repository.",
    )
    parser.add_argument("--version", action="version", version=f"k0s-policy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check.add_parser(sub)
    rules.add_parsers(sub)
    audit.add_parser(sub)
    fix.add_parser(sub)
    releases.add_parser(sub)
    verify.add_parser(sub)
    merge.add_parser(sub)
    schema.add_parser(sub)
    images.add_parser(sub)
    upgrade.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from checker.report.escape import LineStream

    stderr, sys.stderr = sys.stderr, LineStream(sys.stderr)  # no diagnostic can start a line of its own
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # fail closed: a bug is a K0S008 finding and exit 2, never a lost report
        from checker.cli.failure import report_crash

        return report_crash(args, err)
    finally:
        sys.stderr = stderr
