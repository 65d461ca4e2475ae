"""`k0s-policy audit`: the repository against the newest releases and the live cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.cli import common, options

if TYPE_CHECKING:
    from checker.workflows.audit.model import Audit

EXAMPLES = (
    "k0s-policy audit clusters/edge-prod --context edge-prod --format markdown --output audit.md",
    "k0s-policy audit clusters/edge-prod --live clusterconfig.yaml --live nodes.yaml --remediate",
    "k0s-policy audit clusters/ --format sarif --output audit.sarif --format text",
    "k0s-policy audit clusters/edge-prod --in-cluster --publish-report   # a PolicyReport for Policy Reporter",
)
AUDIT_EXIT_CODES = """exit codes:
  0  nothing needs action
  1  a finding at or above --fail-on, or drift that needs action
  2  the audit could not run (usage, unreadable input, the cluster cannot be read)"""


def add_parser(sub: Any) -> None:
    from checker.report.audit import AUDIT_FORMATS

    audit = options.sub_parser(
        sub,
        "audit",
        "scheduled drift audit: the repository against the newest releases and the live cluster",
        EXAMPLES,
        AUDIT_EXIT_CODES,
    )
    audit.add_argument(
        "paths", nargs="*", default=["."], help="files, directories or globs of the repository"
    )
    options.add_format_options(audit, AUDIT_FORMATS)
    options.add_fail_on(audit, "needs action")
    options.add_rule_selection(audit)
    options.add_repository_options(audit)
    options.add_release_options(audit)
    options.add_airgap_options(audit)
    options.add_policy_options(audit)
    options.add_text_options(audit)
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
    audit.add_argument(
        "--remediate", action="store_true", help="print the kubectl patch that removes persisted defaults"
    )
    audit.add_argument(
        "--publish-report",
        action="store_true",
        help="apply the audit as a wgpolicyk8s.io PolicyReport to the cluster (server-side apply)",
    )
    audit.add_argument(
        "--report-name", default="k0s-policy-audit", metavar="NAME", help="the PolicyReport's name"
    )
    audit.add_argument(
        "--report-namespace",
        metavar="NS",
        help="the PolicyReport's namespace (default: the pod's own with --in-cluster, else k0s-policy)",
    )
    # deprecated spellings of --format markdown/json --output FILE, kept for one release
    audit.add_argument("--markdown", metavar="FILE", help="deprecated: --format markdown --output FILE")
    audit.add_argument("--json", metavar="FILE", help="deprecated: --format json --output FILE")


def _deprecated_outputs(args: argparse.Namespace) -> None:
    outputs: list[list[str | None]] = getattr(args, "outputs", None) or []
    for flag, format_name in (("markdown", "markdown"), ("json", "json")):
        target = getattr(args, flag)
        if not target:
            continue
        sys.stderr.write(
            f"k0s-policy: warning: --{flag} is deprecated; use --format {format_name} --output FILE\n"
        )
        if not outputs and target != "-":
            outputs.append(["text", None])  # as before: the text report still went to stdout
        outputs.append([format_name, None if target == "-" else target])
    args.outputs = outputs or None


def _publish(args: argparse.Namespace, audit: Audit) -> None:
    """--publish-report: one PolicyReport, created or replaced by server-side apply."""
    from checker.report.policyreport import audit_report
    from checker.report.publish import default_namespace, publish

    namespace = args.report_namespace or default_namespace(args.in_cluster)
    report = audit_report(audit, name=args.report_name, namespace=namespace)
    written = publish(report, kubeconfig=args.kubeconfig, context=args.context, in_cluster=args.in_cluster)
    summary = report["summary"]
    sys.stderr.write(
        f"k0s-policy: published PolicyReport {written}: {summary['fail']} fail, {summary['warn']} warn, "
        f"{summary['pass']} pass, {summary['skip']} skip, {summary['error']} error\n"
    )


def run(args: argparse.Namespace) -> int:
    from checker.inputs.gitsource import GitSourceError, collect_from_git
    from checker.inputs.live import LiveError
    from checker.report.audit import write_format
    from checker.workflows.audit.blame import Blame, head_commit, open_ref
    from checker.workflows.audit.flow import run_audit
    from checker.workflows.audit.model import AuditError

    if args.live and (args.kubeconfig or args.context or args.in_cluster):
        return common.error(
            "--live reads exported files; use it without --kubeconfig, --context or --in-cluster"
        )
    if args.publish_report and not (args.kubeconfig or args.context or args.in_cluster):
        return common.error(
            "--publish-report writes to a cluster: use it with --kubeconfig, --context or --in-cluster"
        )
    _deprecated_outputs(args)
    problem = options.check_outputs(args)
    if problem:
        return common.error(problem)
    cwd = Path.cwd()
    revision = None
    try:
        selection = common.selection(args)
        policies = common.policies(args)
        config, tree = common.load_repository(args, cwd)
        catalog = common.load_catalog(args)
        rule_options = common.rule_options(args, config)
        excludes = [config.exclusion]
        if args.ref:
            revision = open_ref(cwd, args.ref)
            collected = collect_from_git(
                revision, args.paths, ignore=args.exclude, cwd=cwd, excludes=excludes
            )
            if not args.no_context and collected.tree is not None:
                from checker.workflows.context import add_context

                at = revision
                add_context(
                    collected,
                    args.paths,
                    cwd=cwd,
                    tree=collected.tree,
                    read_folder=at.folder_files,
                    read_roots=lambda shown: collect_from_git(
                        at, shown, ignore=args.exclude, cwd=cwd, excludes=excludes
                    ),
                )
            commit = revision.commit.hexsha
        else:
            collected = common.collect_work_tree(args, cwd, tree, config)
            commit = head_commit(cwd)
        live = common.load_live(args, cwd)
        blame = Blame(cwd, commit if args.ref else None)
        try:
            audit = run_audit(
                collected,
                catalog,
                config,
                paths=args.paths,
                options=rule_options,
                live=live,
                ref=args.ref,
                commit=commit,
                blame=blame,
                fail_on=args.fail_on,
                cli_version=args.k0s_version,
                selection=selection,
                policies=policies,
            )
        finally:
            blame.close()
        text = options.text_options(args)
        common.write_outputs(
            args,
            lambda name, out: write_format(
                audit, name, out, remediate=args.remediate, verbose=args.verbose, text=text
            ),
        )
        if args.publish_report and not audit.repository.input_errors:
            _publish(args, audit)
    except (common.UsageError, AuditError, LiveError, GitSourceError) as err:
        return common.error(str(err))
    finally:
        if revision is not None:
            revision.close()
    for error in audit.repository.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    if audit.repository.input_errors:
        return options.EXIT_USAGE
    return options.EXIT_FINDINGS if audit.needs_action else options.EXIT_OK
