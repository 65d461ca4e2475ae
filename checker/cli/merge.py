"""`k0s-policy merge-reports`: the JSON reports of sharded checks joined into one report, in any format."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy merge-reports shard-*.json --format sarif --output k0s-policy.sarif",
    "k0s-policy merge-reports shard-0.json shard-1.json shard-2.json --format text --format json --output all.json",
    "k0s-policy merge-reports shard-*.json --statistics   # findings per rule across every shard",
)
MERGE_EXIT_CODES = """exit codes:
  0  nothing at or above --fail-on in the merged report
  1  findings at or above --fail-on
  2  a report cannot be read, is no check report, a shard is missing or doubled, or a shard had input errors"""


def add_parser(sub: Any) -> None:
    from checker.report import FORMATS

    merge = options.sub_parser(
        sub,
        "merge-reports",
        "join the JSON reports of sharded checks into one report",
        EXAMPLES,
        MERGE_EXIT_CODES,
    )
    merge.add_argument("reports", nargs="+", metavar="FILE", help="reports of `check --format json`")
    options.add_format_options(merge, list(FORMATS))
    options.add_fail_on(merge)
    options.add_text_options(merge)


def run(args: argparse.Namespace) -> int:
    from checker.report.merge import MergeError, merge_files

    try:
        report = merge_files(args.reports)
        report.fail_on = args.fail_on
        report.verbose = args.verbose
        report.text = options.text_options(args)
        common.write_reports(args, report)
    except (MergeError, common.UsageError) as err:
        return common.error(str(err))
    for error in report.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if report.input_errors:
        return options.EXIT_USAGE
    return common.exit_code(report.active, args.fail_on)
