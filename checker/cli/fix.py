"""`k0s-policy fix`: remove image pins that equal a release default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.cli import common, options

if TYPE_CHECKING:
    from checker.report.style import TextOptions
    from checker.workflows.fix import FixPlan

EXAMPLES = (
    "k0s-policy fix --dry-run clusters/     # the diff, nothing changed",
    "k0s-policy fix clusters/ --select K0S102",
    "k0s-policy fix --dry-run clusters/ --color always | less -R",
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
    options.add_text_options(fix, verbose=False, statistics=False)


DIFF_CODES = (("+++", "1"), ("---", "1"), ("@@", "36"), ("+", "32"), ("-", "31"))


def _write_diff(fix_plan: FixPlan, text: TextOptions) -> None:
    """The unified diff on stdout; on a terminal (or --color always) added lines green, removed red."""
    import io

    from checker.report.style import Style
    from checker.workflows import fix

    style = Style.of(text, sys.stdout)
    if not style.on:
        fix.write_diff(fix_plan, sys.stdout)
        return
    buffer = io.StringIO()
    fix.write_diff(fix_plan, buffer)
    for line in buffer.getvalue().splitlines(keepends=True):
        code = next((code for prefix, code in DIFF_CODES if line.startswith(prefix)), "")
        body = line.rstrip("\n")
        sys.stdout.write((style.paint(body, code) if code else body) + line[len(body) :])


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
        _write_diff(fix_plan, options.text_options(args))
    else:
        fix.apply(fix_plan, cwd)
    fix.write_summary(fix_plan, args.dry_run, sys.stderr, quiet=args.quiet)
    if fix_plan.problems or (args.dry_run and fix_plan.changed):
        return options.EXIT_FINDINGS
    return options.EXIT_OK
