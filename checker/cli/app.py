"""The `k0s-policy` command: the top-level parser and the dispatch to one module per sub-command."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from checker.cli import audit, check, fix, images, merge, releases, rules, schema, upgrade, verify
from checker.cli.options import EXIT_OK, EXIT_USAGE, add_version_flag

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
    parser = argparse.ArgumentParser(
        prog="k0s-policy",
        description="Check k0s, k0sctl and autopilot configuration in a GitOps repository.",
        epilog="`k0s-policy COMMAND --help` shows a command's flags, examples and exit codes.",
    )
    add_version_flag(parser)
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
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
