"""`k0s-policy fix`: remove image pins that equal a release default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy fix --dry-run clusters/     # the diff, nothing changed",
    "k0s-policy fix clusters/ --select K0S102",
)
FIX_EXIT_CODES = """exit codes:
  0  nothing left to fix (or everything fixed)
  1  a pin could not be fixed, or with --dry-run: something would change
  2  usage error, a broken .k0s-policy.yaml, or an input that cannot be read"""


def add_parser(sub: Any) -> None:
    fix = options.sub_parser(
        sub,
        "fix",
        "remove image pins that equal a release default (K0S101, K0S102, K0S104)",
        EXAMPLES,
        FIX_EXIT_CODES,
    )
    fix.add_argument("paths", nargs="*", default=["."], help="files, directories, globs")
    fix.add_argument(
        "--dry-run",
        action="store_true",
        help="print a unified diff and change nothing; exit 1 when something would change",
    )
    options.add_rule_selection(fix)
    options.add_repository_options(fix)
    options.add_release_options(fix)


def run(args: argparse.Namespace) -> int:
    from checker.workflows import fix
    from checker.workflows.check import Selection, run_check

    cwd = Path.cwd()
    if "-" in args.paths:
        return common.error("fix rewrites files in place; it cannot read from stdin")
    try:
        chosen = common.selection(args)
        config, tree = common.load_repository(args, cwd)
        catalog = common.load_catalog(args)
        collected = common.collect_work_tree(args, cwd, tree, config)
    except common.UsageError as err:
        return common.error(str(err))
    if collected.errors:
        for error in collected.errors:
            sys.stderr.write(f"k0s-policy: {error.path}: {error.message}\n")
        return options.EXIT_USAGE
    rules = frozenset(rule for rule in fix.FIX_RULES if chosen.wants(rule))
    if not rules:
        return common.error(
            f"fix removes pins for {', '.join(sorted(fix.FIX_RULES))}; --select/--ignore left none"
        )
    result = run_check(
        collected, catalog, config, cli_version=args.k0s_version, selection=Selection(select=rules)
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
