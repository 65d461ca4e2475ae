"""`k0s-policy fix`: remove image pins that equal a release default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options


def add_parser(sub: Any) -> None:
    fix = sub.add_parser(
        "fix", help="remove image pins that equal a release default (K0S101, K0S102, K0S104)"
    )
    fix.add_argument("paths", nargs="*", default=["."], help="files, directories, globs")
    fix.add_argument(
        "--dry-run",
        action="store_true",
        help="print a unified diff and change nothing; exit 1 when something would change",
    )
    fix.add_argument("--k0s-version", help="target k0s version for every cluster, as for check")
    options.add_repository_options(fix)
    fix.add_argument("--data-dir", metavar="DIR", help="user release files (see `k0s-policy releases`)")


def run(args: argparse.Namespace) -> int:
    from checker.inputs.sources import collect
    from checker.workflows import fix
    from checker.workflows.check import Selection, run_check

    cwd = Path.cwd()
    if "-" in args.paths:
        return common.error("fix rewrites files in place; it cannot read from stdin")
    try:
        config = common.load_config(args, cwd)
        catalog = common.load_catalog(args)
        collected = collect(args.paths, ignore=(*config.exclude, *args.exclude), cwd=cwd)
    except common.UsageError as err:
        return common.error(str(err))
    if collected.errors:
        for error in collected.errors:
            sys.stderr.write(f"k0s-policy: {error.path}: {error.message}\n")
        return options.EXIT_USAGE
    result = run_check(
        collected, catalog, config, cli_version=args.k0s_version, selection=Selection(select=fix.FIX_RULES)
    )
    fix_plan = fix.plan(result, collected, catalog)
    if args.dry_run:
        fix.write_diff(fix_plan, sys.stdout)
    else:
        fix.apply(fix_plan, cwd)
    fix.write_summary(fix_plan, args.dry_run, sys.stderr)
    if fix_plan.problems or (args.dry_run and fix_plan.changed):
        return options.EXIT_FINDINGS
    return options.EXIT_OK
