"""`k0s-policy audit`: the repository against the newest releases and the live cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options


def add_parser(sub: Any) -> None:
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
        "--fail-on", choices=options.FAIL_ON, default="error", help="lowest severity that needs action"
    )
    options.add_repository_options(audit)
    audit.add_argument("--airgap-images", metavar="FILE", help="image list the air-gapped nodes hold")
    audit.set_defaults(k0s_version=None)


def run(args: argparse.Namespace) -> int:
    from checker.inputs.gitsource import GitSourceError, collect_from_git
    from checker.inputs.live import LiveError, load_files, read_cluster
    from checker.inputs.sources import collect
    from checker.report.audit import write_reports
    from checker.workflows.audit.blame import Blame, head_commit, open_ref
    from checker.workflows.audit.flow import run_audit
    from checker.workflows.audit.model import AuditError

    if args.live and (args.kubeconfig or args.context or args.in_cluster):
        return common.error(
            "--live reads exported files; use it without --kubeconfig, --context or --in-cluster"
        )
    cwd = Path.cwd()
    revision = None
    try:
        config = common.load_config(args, cwd)
        catalog = common.load_catalog(args)
        rule_options = common.rule_options(args, config)
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
                options=rule_options,
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
