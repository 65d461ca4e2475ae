"""`k0s-policy check`: the working tree, PR mode (--diff-base) and baselines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.cli import cached, common, options

if TYPE_CHECKING:
    from checker.report.model import ReportInput
    from checker.workflows.shard import Shard

EXAMPLES = (
    "k0s-policy check                                  # the current directory, recursively",
    "k0s-policy check clusters/ --k0s-version 1.30 --format json",
    "kustomize build overlays/prod | k0s-policy check -",
    "k0s-policy check clusters/ --diff-base origin/main  # a pull request: only what it introduces",
)


def add_parser(sub: Any) -> None:
    from checker.report import FORMATS

    check = options.sub_parser(sub, "check", "check files, directories, globs or - (stdin)", EXAMPLES)
    check.add_argument("paths", nargs="*", default=["."], help="files, directories, globs; - reads stdin")
    options.add_format_options(check, FORMATS)
    options.add_fail_on(check)
    options.add_rule_selection(check)
    options.add_repository_options(check)
    options.add_release_options(check)
    options.add_airgap_options(check)
    options.add_policy_options(check)
    options.add_scale_options(check)
    check.add_argument("--show-suppressed", action="store_true", help="list suppressed findings too (text)")
    options.add_registry_options(check)
    options.add_cache_options(check)
    options.add_text_options(check)
    check.add_argument(
        "--diff-base", metavar="REF", help="PR mode: report only what the change against REF introduces"
    )
    check.add_argument(
        "--show-fixed", action="store_true", help="with --diff-base: also list what the change fixes"
    )
    check.add_argument("--baseline", metavar="FILE", help="report only findings this baseline does not hold")
    check.add_argument(
        "--write-baseline", metavar="FILE", help="write the current findings to FILE as a baseline; exit 0"
    )
    check.add_argument(
        "--skip-unrelated",
        action="store_true",
        help="skip named files that do not mention k0s instead of parsing them (pre-commit passes every YAML file)",
    )


def run(args: argparse.Namespace) -> int:
    problem = options.check_outputs(args)
    if problem:
        return common.error(problem)
    cwd = Path.cwd()
    if args.diff_base or args.baseline or args.write_baseline or args.show_fixed:
        if args.shard:
            return common.error("--shard splits a plain check; PR mode and baselines compare whole runs")
        return _check_compared(args, cwd)
    try:
        report = _run_working_tree(args, cwd)
        _present(report, args)
        common.write_reports(args, report)
    except common.UsageError as err:
        return common.error(str(err))
    for error in report.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if report.input_errors:
        return options.EXIT_USAGE
    return common.exit_code(report.active, args.fail_on)


def _check_compared(args: argparse.Namespace, cwd: Path) -> int:
    """PR mode (checker.workflows.prmode) and baselines (checker.workflows.baseline): report only what is not known."""
    from checker import __version__
    from checker.workflows.baseline import BaselineError, load_baseline, write_baseline

    try:
        if args.write_baseline and (args.baseline or args.diff_base):
            raise common.UsageError("--write-baseline records every current finding: use it alone")
        if args.show_fixed and not args.diff_base:
            raise common.UsageError("--show-fixed needs --diff-base")
        if args.diff_base:
            from checker.workflows.prmode import PRModeError, run_pr_check

            catalog = common.load_catalog(args)
            selection = common.selection(args)
            try:
                comparison = run_pr_check(
                    args.paths,
                    args.diff_base,
                    cwd=cwd,
                    catalog=catalog,
                    make_options=lambda config: common.rule_options(args, config),
                    selection=selection,
                    cli_version=args.k0s_version,
                    exclude=args.exclude,
                    config_file=args.config,
                    no_config=args.no_config,
                    gitignore=not args.no_gitignore,
                    unknown_rule=common.rule_checker(args),
                    context=not args.no_context,
                    make_policies=lambda dirs: common.policies(args, dirs),
                    policy_dirs=args.policy or (),
                )
            except PRModeError as err:
                raise common.UsageError(str(err)) from None
            from checker.report.model import report_input

            result = comparison.head
            report = report_input(result)
            report.findings = comparison.reported
            report.notes = comparison.notes
            report.added_suppressions = comparison.added_suppressions
            report.fixed = comparison.fixed if args.show_fixed else None
            policies = comparison.policies
            report.policy_successes = policies.successes if policies is not None else {}
        else:
            report = _run_working_tree(args, cwd)
        if args.write_baseline and not report.input_errors:
            count = write_baseline(
                Path(args.write_baseline), args.write_baseline, report.findings, __version__
            )
            sys.stderr.write(f"k0s-policy: wrote {count} findings to the baseline {args.write_baseline}\n")
            return options.EXIT_OK
        if args.baseline:
            baseline = load_baseline(Path(args.baseline), args.baseline)
            report.findings, known, gone = baseline.filter(report.findings)
            stale = (
                f"; {gone} of its entries no longer occur (refresh it with --write-baseline)" if gone else ""
            )
            report.notes.append(f"baseline {args.baseline}: {known} known findings not shown{stale}")
        _present(report, args)
        if not args.write_baseline:
            common.write_reports(args, report)
    except (common.UsageError, BaselineError) as err:
        return common.error(str(err))
    for error in report.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if report.input_errors:
        return options.EXIT_USAGE
    return common.exit_code(report.active, args.fail_on)


def _present(report: ReportInput, args: argparse.Namespace) -> None:
    """What the report shows and how: --show-suppressed, -v, -q, --color, --statistics, --fail-on."""
    report.show_suppressed = args.show_suppressed
    report.verbose = args.verbose
    report.text = options.text_options(args)
    report.fail_on = args.fail_on


def _run_working_tree(args: argparse.Namespace, cwd: Path) -> ReportInput:
    """One check of the files as they are on disk, or its report from the result cache when no
    input changed (checker.cli.cached): the catalogue and the rules load only on a miss."""
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise common.UsageError(f"--jobs {args.jobs}: give 1 or more processes")
    config, tree = common.load_repository(args, cwd)
    rule_options = common.rule_options(args, config) if cached.names_airgap(args, config) else None
    run = cached.CachedRun.start(args, cwd, config, tree, rule_options)

    def walk() -> Any:
        return common.collect_work_tree(args, cwd, tree, config, prefilter_named=args.skip_unrelated)

    collected = run.collect(cwd, tree, walk) if run is not None else walk()
    report = run.lookup(collected) if run is not None else None
    if report is None:
        report = _run_uncached(args, cwd, config, collected, rule_options)
        if run is not None:
            run.store(report)
    report.shard = _shard_numbers(args)
    return report


def _run_uncached(
    args: argparse.Namespace, cwd: Path, config: Any, collected: Any, rule_options: Any
) -> ReportInput:
    from checker.report.model import report_input
    from checker.workflows.pool import available_cpus, run_pooled

    catalog = common.load_catalog(args)
    selection = common.selection(args)
    if rule_options is None:
        rule_options = common.rule_options(args, config)
    policies = common.policies(args)
    shard = _shard(args)
    result = run_pooled(
        collected,
        catalog,
        config,
        cli_version=args.k0s_version,
        options=rule_options,
        selection=selection,
        policies=policies,
        shard=shard,
        jobs=1 if shard is not None else (getattr(args, "jobs", None) or available_cpus()),
        stream=True,  # only the report reads the result: a big run may check one cluster at a time
    )
    report = report_input(result)
    report.policy_successes = policies.successes if policies is not None else {}
    return report


def _shard_numbers(args: argparse.Namespace) -> tuple[int, int] | None:
    shard = _shard(args)
    return (shard.index, shard.count) if shard is not None else None


def _shard(args: argparse.Namespace) -> Shard | None:
    if not getattr(args, "shard", None):
        return None
    from checker.workflows.shard import Shard

    try:
        return Shard.parse(args.shard)
    except ValueError as err:
        raise common.UsageError(str(err)) from None
