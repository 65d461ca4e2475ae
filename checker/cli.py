"""Command line: argument parsing and sub-commands only; the checking lives in checker.engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
FAIL_ON = ("error", "warning", "info", "never")


class _FormatAction(argparse.Action):
    """`--format X [--output FILE]`, repeatable: each --output belongs to the --format before it."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: str | None = None
    ) -> None:
        outputs: list[list[str | None]] = getattr(ns, "outputs", None) or []
        if self.dest == "format":
            outputs.append([value, None])
        else:
            if not outputs:
                outputs.append(["text", None])
            if outputs[-1][1] is not None:
                parser.error("each --output follows the --format it belongs to")
            outputs[-1][1] = value
        ns.outputs = outputs


def _csv(values: Sequence[str] | None) -> frozenset[str]:
    return frozenset(v.strip().upper() for value in values or () for v in value.split(",") if v.strip())


def build_parser() -> argparse.ArgumentParser:
    from checker import __version__
    from checker.report import FORMATS

    parser = argparse.ArgumentParser(
        prog="k0s-policy",
        description="Check k0s, k0sctl and autopilot configuration in a GitOps repository.",
    )
    parser.add_argument("--version", action="version", version=f"k0s-policy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="check files, directories, globs or - (stdin)")
    check.add_argument("paths", nargs="*", default=["."], help="files, directories, globs; - reads stdin")
    check.add_argument(
        "--k0s-version", help="target k0s version for every cluster (e.g. v1.30.14+k0s.0 or 1.30)"
    )
    check.add_argument(
        "--format", choices=sorted(FORMATS), action=_FormatAction, help="report format (repeatable)"
    )
    check.add_argument(
        "--output", action=_FormatAction, metavar="FILE", help="write the preceding --format here"
    )
    check.add_argument(
        "--fail-on", choices=FAIL_ON, default="error", help="lowest severity that fails the run"
    )
    check.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB"
    )
    check.add_argument(
        "--config", metavar="FILE", help="use this .k0s-policy.yaml instead of the nearest one"
    )
    check.add_argument("--no-config", action="store_true", help="ignore any .k0s-policy.yaml")
    check.add_argument("--select", action="append", metavar="IDS", help="only these rules (ids or prefixes)")
    check.add_argument("--ignore", action="append", metavar="IDS", help="skip these rules (ids or prefixes)")
    check.add_argument(
        "--airgap-images",
        metavar="FILE",
        help="image list the air-gapped nodes hold (k0s airgap list-images)",
    )
    check.add_argument("--show-suppressed", action="store_true", help="list suppressed findings too (text)")

    sub.add_parser("rules", help="list every rule")
    explain = sub.add_parser("explain", help="print the documentation of a rule")
    explain.add_argument("rule", help="rule id, e.g. K0S102")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "rules":
            return _rules()
        if args.command == "explain":
            return _explain(args.rule)
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


def _error(message: str) -> int:
    sys.stderr.write(f"k0s-policy: error: {message}\n")
    return EXIT_USAGE


class UsageError(Exception):
    """A problem with the command line or the tool's own inputs: exit code 2."""


def _load_config(args: argparse.Namespace, cwd: Path) -> Any:
    from checker.config import Config, ConfigError, find_config, load_config
    from checker.sources import display_path

    try:
        if args.config:
            return load_config(Path(args.config), args.config)
        if not args.no_config:
            first = Path(args.paths[0]) if args.paths and args.paths[0] != "-" else cwd
            found = find_config(first if first.is_dir() else first.parent)
            if found is not None:
                return load_config(found, display_path(found, cwd))
    except ConfigError as err:
        raise UsageError(str(err)) from None
    return Config()


def _load_catalog(args: argparse.Namespace) -> Any:
    from checker.releases import Catalog, UnknownRelease

    try:
        catalog = Catalog.load()
    except ValueError as err:
        raise UsageError(f"release data: {err}") from None
    if args.k0s_version:
        try:
            catalog.resolve(args.k0s_version)
        except (UnknownRelease, ValueError) as err:
            raise UsageError(f"--k0s-version {args.k0s_version}: {err}") from None
    return catalog


def _options(args: argparse.Namespace, config: Any) -> Any:
    from checker.airgap import AirgapError, load_image_list
    from checker.rules import Options

    options = Options()
    images_file = args.airgap_images
    if images_file is None and config.airgap_images:
        # relative to the configuration file that names it
        base = Path(config.path).parent if config.path else Path()
        images_file = str(base / config.airgap_images)
    if images_file:
        try:
            options.airgap_images = load_image_list(Path(images_file), images_file)
        except AirgapError as err:
            raise UsageError(str(err)) from None
        options.airgap_images_source = images_file
    return options


def _write_reports(args: argparse.Namespace, report: Any) -> None:
    from checker.report import writer

    outputs = getattr(args, "outputs", None) or [["text", None]]
    for format_name, output in outputs:
        write = writer(format_name)
        if not output:
            write(report, sys.stdout)
            continue
        try:
            with open(output, "w", encoding="utf-8") as handle:
                write(report, handle)
        except OSError as err:
            raise UsageError(f"cannot write {output}: {err.strerror or err}") from None


def _check(args: argparse.Namespace) -> int:
    from checker.engine import Selection, run_check
    from checker.sources import collect

    cwd = Path.cwd()
    try:
        config = _load_config(args, cwd)
        catalog = _load_catalog(args)
        options = _options(args, config)
        collected = collect(args.paths, ignore=(*config.exclude, *args.exclude), cwd=cwd)
        selection = Selection(select=_csv(args.select), ignore=_csv(args.ignore))
        result = run_check(
            collected, catalog, config, cli_version=args.k0s_version, options=options, selection=selection
        )
        report = _report_input(result)
        report.show_suppressed = args.show_suppressed
        _write_reports(args, report)
    except UsageError as err:
        return _error(str(err))
    for error in result.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if result.input_errors:
        return EXIT_USAGE
    return _exit_code(result.active, args.fail_on)


def _exit_code(findings: Sequence[Any], fail_on: str) -> int:
    from checker.findings import Severity

    if fail_on == "never":
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else EXIT_OK


def _report_input(result: Any) -> Any:
    from checker import __version__
    from checker.report.model import ClusterLine, ReportInput

    clusters = []
    for cluster in result.clusters:
        if cluster.patch is not None:
            target = cluster.patch.version
        else:
            target = f"unknown ({cluster.target_source.version if cluster.target_source else '?'})"
        if cluster.assumed_newest:
            source = "assumed: no version declared"
        elif cluster.target_source is not None:
            source = f"from {cluster.target_source.where}"
        else:
            source = ""
        clusters.append(ClusterLine(cluster.name, target, source, cluster.airgapped, cluster.dynamic_config))
    return ReportInput(
        findings=result.findings,
        files_read=result.files_read,
        documents=result.documents,
        objects=result.objects,
        clusters=clusters,
        skipped=result.skipped,
        input_errors=result.input_errors,
        tool_version=__version__,
    )


def _rules() -> int:
    from checker.rules import ALL_RULES

    for rule in ALL_RULES:
        sys.stdout.write(f"{rule.id}  {rule.severity!s:7}  {rule.name:32}  {rule.summary}\n")
    return EXIT_OK


def _explain(rule_id: str) -> int:
    from importlib.resources import files

    from checker.rules import RULES_BY_ID

    rule = RULES_BY_ID.get(rule_id.upper())
    if rule is None:
        return _error(f"unknown rule {rule_id!r}; `k0s-policy rules` lists them")
    page = files("checker.ruledocs") / f"{rule.id}.md"
    if page.is_file():
        sys.stdout.write(page.read_text(encoding="utf-8"))
    else:
        sys.stdout.write(f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.summary}\n")
    return EXIT_OK
