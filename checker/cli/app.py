"""Command line: argument parsing and sub-commands only; the checking lives in checker.workflows.check."""

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


def _add_repository_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a repository shares (check, audit, fix)."""
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="use this .k0s-policy.yaml instead of the nearest one"
    )
    parser.add_argument("--no-config", action="store_true", help="ignore any .k0s-policy.yaml")


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
    _add_repository_options(check)
    check.add_argument("--select", action="append", metavar="IDS", help="only these rules (ids or prefixes)")
    check.add_argument("--ignore", action="append", metavar="IDS", help="skip these rules (ids or prefixes)")
    check.add_argument(
        "--airgap-images",
        metavar="FILE",
        help="image list the air-gapped nodes hold (k0s airgap list-images)",
    )
    check.add_argument(
        "--airgap-bundle",
        action="append",
        metavar="FILE",
        help="image bundle tarball the nodes import (OCI layout or docker save, may be gzipped; repeatable)",
    )
    check.add_argument("--data-dir", metavar="DIR", help="user release files (see `k0s-policy releases`)")
    check.add_argument("--show-suppressed", action="store_true", help="list suppressed findings too (text)")
    _add_policy_arguments(check)
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

    sub.add_parser("rules", help="list every rule")
    explain = sub.add_parser("explain", help="print the documentation of a rule")
    explain.add_argument("rule", help="rule id, e.g. K0S102")
    _add_audit_parser(sub)
    _add_fix_parser(sub)
    _add_releases_parser(sub)
    _add_verify_parser(sub)
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
        if args.command == "audit":
            return _audit(args)
        if args.command == "fix":
            return _fix(args)
        if args.command == "releases":
            return _releases(args)
        if args.command == "verify":
            return _verify(args)
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
    from checker.inputs.sources import display_path

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
    from checker.k0s.releases import Catalog, UnknownRelease
    from checker.k0s.userdata import DataDirError, release_dirs

    try:
        catalog = Catalog.load(extra_dirs=release_dirs(getattr(args, "data_dir", None)))
    except DataDirError as err:
        raise UsageError(str(err)) from None
    except ValueError as err:
        raise UsageError(f"release data: {err}") from None
    if args.k0s_version:
        try:
            catalog.resolve(args.k0s_version)
        except (UnknownRelease, ValueError) as err:
            raise UsageError(f"--k0s-version {args.k0s_version}: {err}") from None
    return catalog


def _options(args: argparse.Namespace, config: Any) -> Any:
    from checker.inputs.airgap import AirgapError, load_image_list
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
    bundles = getattr(args, "airgap_bundle", None) or []
    if bundles:
        from checker.inputs.bundle import BundleError, load_bundle

        held = set(options.airgap_images or ())
        for bundle in bundles:
            try:
                held |= load_bundle(Path(bundle), bundle)
            except BundleError as err:
                raise UsageError(str(err)) from None
        options.airgap_images = frozenset(held)
        sources = [options.airgap_images_source, *(f"{b} (image bundle)" for b in bundles)]
        options.airgap_images_source = " + ".join(s for s in sources if s)
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


def _run_working_tree(args: argparse.Namespace, cwd: Path, catalog: Any, selection: Any) -> tuple[Any, Any]:
    """One check of the files as they are on disk: the result and the report input built from it."""
    from checker.inputs.sources import collect
    from checker.workflows.check import run_check

    config = _load_config(args, cwd)
    options = _options(args, config)
    collected = collect(
        args.paths, ignore=(*config.exclude, *args.exclude), cwd=cwd, prefilter_named=args.skip_unrelated
    )
    policies = _policies(args)
    result = run_check(
        collected,
        catalog,
        config,
        cli_version=args.k0s_version,
        options=options,
        selection=selection,
        policies=policies,
    )
    report = _report_input(result)
    report.policy_successes = policies.successes if policies is not None else {}
    return result, report


def _check(args: argparse.Namespace) -> int:
    from checker.workflows.check import Selection

    cwd = Path.cwd()
    if args.diff_base or args.baseline or args.write_baseline or args.show_fixed:
        return _check_compared(args, cwd)
    try:
        catalog = _load_catalog(args)
        selection = Selection(select=_csv(args.select), ignore=_csv(args.ignore))
        result, report = _run_working_tree(args, cwd, catalog, selection)
        report.show_suppressed = args.show_suppressed
        report.fail_on = args.fail_on
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


def _check_compared(args: argparse.Namespace, cwd: Path) -> int:
    """PR mode (checker.workflows.prmode) and baselines (checker.workflows.baseline): report only what is not known."""
    from checker import __version__
    from checker.workflows.baseline import BaselineError, load_baseline, write_baseline
    from checker.workflows.check import Selection

    try:
        if args.write_baseline and (args.baseline or args.diff_base):
            raise UsageError("--write-baseline records every current finding: use it alone")
        if args.show_fixed and not args.diff_base:
            raise UsageError("--show-fixed needs --diff-base")
        catalog = _load_catalog(args)
        selection = Selection(select=_csv(args.select), ignore=_csv(args.ignore))
        if args.diff_base:
            from checker.workflows.prmode import PRModeError, run_pr_check

            try:
                comparison = run_pr_check(
                    args.paths,
                    args.diff_base,
                    cwd=cwd,
                    catalog=catalog,
                    make_options=lambda config: _options(args, config),
                    selection=selection,
                    cli_version=args.k0s_version,
                    exclude=args.exclude,
                    config_file=args.config,
                    no_config=args.no_config,
                    make_policies=lambda dirs: _policies(args, dirs),
                    policy_dirs=args.policy or (),
                )
            except PRModeError as err:
                raise UsageError(str(err)) from None
            result = comparison.head
            report = _report_input(result)
            report.findings = comparison.reported
            report.notes = comparison.notes
            report.added_suppressions = comparison.added_suppressions
            report.fixed = comparison.fixed if args.show_fixed else None
            policies = comparison.policies
            report.policy_successes = policies.successes if policies is not None else {}
        else:
            result, report = _run_working_tree(args, cwd, catalog, selection)
        if args.write_baseline and not result.input_errors:
            count = write_baseline(
                Path(args.write_baseline), args.write_baseline, result.findings, __version__
            )
            sys.stderr.write(f"k0s-policy: wrote {count} findings to the baseline {args.write_baseline}\n")
            return EXIT_OK
        if args.baseline:
            baseline = load_baseline(Path(args.baseline), args.baseline)
            report.findings, known, gone = baseline.filter(report.findings)
            stale = (
                f"; {gone} of its entries no longer occur (refresh it with --write-baseline)" if gone else ""
            )
            report.notes.append(f"baseline {args.baseline}: {known} known findings not shown{stale}")
        report.show_suppressed = args.show_suppressed
        report.fail_on = args.fail_on
        if not args.write_baseline:
            _write_reports(args, report)
    except (UsageError, BaselineError) as err:
        return _error(str(err))
    for error in result.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if result.input_errors:
        return EXIT_USAGE
    return _exit_code(report.active, args.fail_on)


def _report_input(result: Any) -> Any:
    from checker import __version__
    from checker.report.model import CheckedObject, ClusterLine, ReportInput

    clusters = []
    checked = [
        CheckedObject(obj.path, obj.start.line, str(obj.kind), obj.name, cluster.name, obj.describe(()))
        for cluster in result.clusters
        for obj in cluster.objects
    ]
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
        checked=checked,
    )


def _add_audit_parser(sub: Any) -> None:
    audit = sub.add_parser(
        "audit", help="scheduled drift audit: the repository against the newest releases and the live cluster"
    )
    audit.add_argument(
        "paths", nargs="*", default=["."], help="files, directories or globs of the repository"
    )
    audit.add_argument("--ref", metavar="REF", help="audit this git revision instead of the work tree")
    audit.add_argument(
        "--live", action="append", default=[], metavar="FILE", help="exported live objects (kubectl -o yaml)"
    )
    audit.add_argument(
        "--kubeconfig", metavar="FILE", help="read the live state from this kubeconfig's cluster"
    )
    audit.add_argument("--context", metavar="NAME", help="read the live state from this kubeconfig context")
    audit.add_argument(
        "--in-cluster", action="store_true", help="read the live state as the pod's service account"
    )
    audit.add_argument("--markdown", metavar="FILE", help="write a Markdown report (- for stdout)")
    audit.add_argument("--json", metavar="FILE", help="write the JSON report (- for stdout)")
    audit.add_argument(
        "--remediate", action="store_true", help="print the kubectl patch that removes persisted defaults"
    )
    audit.add_argument(
        "--fail-on", choices=FAIL_ON, default="error", help="lowest severity that needs action"
    )
    _add_repository_options(audit)
    audit.add_argument("--airgap-images", metavar="FILE", help="image list the air-gapped nodes hold")
    audit.set_defaults(k0s_version=None)


def _audit(args: argparse.Namespace) -> int:
    from checker.inputs.gitsource import GitSourceError, collect_from_git
    from checker.inputs.live import LiveError, load_files, read_cluster
    from checker.inputs.sources import collect
    from checker.report.audit import write_reports
    from checker.workflows.audit.blame import Blame, head_commit, open_ref
    from checker.workflows.audit.flow import run_audit
    from checker.workflows.audit.model import AuditError

    if args.live and (args.kubeconfig or args.context or args.in_cluster):
        return _error("--live reads exported files; use it without --kubeconfig, --context or --in-cluster")
    cwd = Path.cwd()
    revision = None
    try:
        config = _load_config(args, cwd)
        catalog = _load_catalog(args)
        options = _options(args, config)
        ignore = (*config.exclude, *args.exclude)
        if args.ref:
            revision = open_ref(cwd, args.ref)
            collected = collect_from_git(revision, args.paths, ignore=ignore, cwd=cwd)
            commit = revision.commit.hexsha
        else:
            collected = collect(args.paths, ignore=ignore, cwd=cwd)
            commit = head_commit(cwd)
        live = None
        if args.live:
            live = load_files(args.live, cwd)
        elif args.kubeconfig or args.context or args.in_cluster:
            live = read_cluster(args.kubeconfig, args.context, args.in_cluster)
        blame = Blame(cwd, commit if args.ref else None)
        try:
            audit = run_audit(
                collected,
                catalog,
                config,
                paths=args.paths,
                options=options,
                live=live,
                ref=args.ref,
                commit=commit,
                blame=blame,
                fail_on=args.fail_on,
            )
        finally:
            blame.close()
        write_reports(
            audit, sys.stdout, markdown=args.markdown, json_file=args.json, remediate=args.remediate
        )
    except (UsageError, AuditError, LiveError, GitSourceError) as err:
        return _error(str(err))
    finally:
        if revision is not None:
            revision.close()
    for error in audit.repository.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if audit.repository.input_errors:
        return EXIT_USAGE
    return EXIT_FINDINGS if audit.needs_action else EXIT_OK


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


# --- fix and releases --------------------------------------------------------------------------------------


def _add_fix_parser(sub: Any) -> None:
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
    _add_repository_options(fix)
    fix.add_argument("--data-dir", metavar="DIR", help="user release files (see `k0s-policy releases`)")


def _add_releases_parser(sub: Any) -> None:
    from checker.k0s.userdata import default_data_dir

    releases = sub.add_parser("releases", help="list the known k0s releases, or import a new one")
    releases.set_defaults(k0s_version=None, releases_command=None)
    actions = releases.add_subparsers(dest="releases_command", metavar="ACTION")
    data_help = f"user release files (default: {default_data_dir()})"
    listing = actions.add_parser("list", help="one line per known k0s minor")
    listing.add_argument("--data-dir", metavar="DIR", help=data_help)
    importing = actions.add_parser(
        "import", help="add a release from `k0s airgap list-images --all` (and `k0s config create`) output"
    )
    importing.add_argument("--version", required=True, metavar="TAG", help="the k0s tag, e.g. v1.37.0+k0s.0")
    importing.add_argument(
        "--images",
        required=True,
        metavar="FILE",
        help="`k0s airgap list-images --all` output of that release",
    )
    importing.add_argument(
        "--config", metavar="FILE", help="`k0s config create --include-images` output of that release"
    )
    importing.add_argument("--data-dir", metavar="DIR", help=data_help)
    _add_export_parser(actions, data_help)


def _fix(args: argparse.Namespace) -> int:
    from checker.inputs.sources import collect
    from checker.workflows import fix
    from checker.workflows.check import Selection, run_check

    cwd = Path.cwd()
    if "-" in args.paths:
        return _error("fix rewrites files in place; it cannot read from stdin")
    try:
        config = _load_config(args, cwd)
        catalog = _load_catalog(args)
        collected = collect(args.paths, ignore=(*config.exclude, *args.exclude), cwd=cwd)
    except UsageError as err:
        return _error(str(err))
    if collected.errors:
        for error in collected.errors:
            sys.stderr.write(f"k0s-policy: {error.path}: {error.message}\n")
        return EXIT_USAGE
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
        return EXIT_FINDINGS
    return EXIT_OK


def _releases(args: argparse.Namespace) -> int:
    from checker.k0s.release_import import ReleaseImportError, import_release, release_table
    from checker.k0s.releases import Catalog
    from checker.k0s.userdata import DataDirError, default_data_dir, release_dirs

    if args.releases_command is None:
        return _error("`k0s-policy releases` needs an action: list, import or export-data")
    if args.releases_command == "export-data":
        return _export_data(args)
    try:
        if args.releases_command == "list":
            catalog = _load_catalog(args)
            sys.stdout.write(release_table(catalog, release_dirs(args.data_dir)))
            return EXIT_OK
        data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
        try:
            catalog = Catalog.load(extra_dirs=[data_dir] if data_dir.is_dir() else [])
        except ValueError as err:
            raise UsageError(f"release data: {err}") from None
        images_text = _read_text(args.images)
        config_text = _read_text(args.config) if args.config else None
        outcome = import_release(
            args.version, images_text, args.images, catalog, data_dir, config_text, args.config or ""
        )
    except (UsageError, DataDirError, ReleaseImportError) as err:
        return _error(str(err))
    sys.stdout.write(f"imported k0s {args.version} into {outcome.path}\n")
    for note in outcome.notes:
        sys.stdout.write(f"  {note}\n")
    return EXIT_OK


def _read_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {name}: {getattr(err, 'strerror', None) or err}") from None


# --- Rego policies (checker.rego.policies): check --policy, verify, releases export-data -------------------


def _add_policy_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--policy", action="append", metavar="DIR", help="conftest-style Rego policies (repeatable)"
    )
    check.add_argument(
        "--data", action="append", metavar="FILE", help="YAML/JSON data documents for the policies"
    )
    check.add_argument(
        "--namespace", action="append", metavar="NS", help="policy packages to run (default: main)"
    )
    check.add_argument("--all-namespaces", action="store_true", help="run every policy package")
    check.add_argument(
        "--combine", action="store_true", help="give the policies all documents of a cluster as one input"
    )


def _policies(args: argparse.Namespace, dirs: Sequence[str] | None = None) -> Any:
    """The Rego policies of a check, or None without --policy (``dirs`` replaces --policy's
    directories, as PR mode does with the base revision's copies)."""
    if not args.policy:
        if args.data or args.namespace or args.all_namespaces or args.combine:
            raise UsageError("--data, --namespace, --all-namespaces and --combine need --policy")
        return None
    if args.namespace and args.all_namespaces:
        raise UsageError("use --namespace or --all-namespaces, not both")
    from checker.rego.policies import DEFAULT_NAMESPACE, PolicyError, RegoPolicies, load_policy_set

    namespaces = None if args.all_namespaces else (args.namespace or [DEFAULT_NAMESPACE])
    try:
        return RegoPolicies(load_policy_set(dirs or args.policy, args.data or ()), namespaces, args.combine)
    except PolicyError as err:
        raise UsageError(str(err)) from None


def _add_verify_parser(sub: Any) -> None:
    verify = sub.add_parser("verify", help="run the test_ rules of Rego policies (like conftest verify)")
    verify.add_argument("--policy", action="append", required=True, metavar="DIR", help="policies and tests")
    verify.add_argument("--data", action="append", metavar="FILE", help="YAML/JSON data documents")
    verify.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _verify(args: argparse.Namespace) -> int:
    from checker.rego.policies import PolicyError, load_policy_set
    from checker.rego.verify import verify, write_json, write_text

    try:
        result = verify(load_policy_set(args.policy, args.data or (), tests=True))
    except PolicyError as err:
        return _error(str(err))
    if result.problems:
        for problem in result.problems:
            sys.stderr.write(f"k0s-policy: {problem}\n")
        return EXIT_USAGE
    (write_json if args.format == "json" else write_text)(result, sys.stdout)
    return EXIT_FINDINGS if result.failures else EXIT_OK


def _add_export_parser(actions: Any, data_help: str) -> None:
    export = actions.add_parser(
        "export-data", help="write the release data as JSON for the Rego policies (--data, conftest)"
    )
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument(
        "--k0s-version", dest="target_version", metavar="VERSION", help="target of clusters without k0sctl"
    )
    export.add_argument("--airgapped", action="store_true", help="the checked clusters are air-gapped")
    export.add_argument(
        "--registry", action="append", default=[], metavar="HOST", help="a registry air-gapped nodes reach"
    )
    export.add_argument("--data-dir", metavar="DIR", help=data_help)


def _export_data(args: argparse.Namespace) -> int:
    import json

    from checker.k0s.releases import UnknownRelease
    from checker.rego.data import export

    try:
        catalog = _load_catalog(args)
        data = export(
            catalog, target=args.target_version or "", airgapped=args.airgapped, registries=args.registry
        )
    except UsageError as err:
        return _error(str(err))
    except (UnknownRelease, ValueError) as err:
        return _error(f"--k0s-version {args.target_version}: {err}")
    text = json.dumps(data, separators=(",", ":")) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        return _error(f"cannot write {args.output}: {err.strerror or err}")
    return EXIT_OK
