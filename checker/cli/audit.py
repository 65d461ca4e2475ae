"""`k0s-policy audit`: the repository against the newest releases and the live cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy audit clusters/edge-prod --context edge-prod --format markdown --output audit.md",
    "k0s-policy audit clusters/edge-prod --live clusterconfig.yaml --live nodes.yaml --remediate",
    "k0s-policy audit clusters/ --format sarif --output audit.sarif --format text",
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
    audit.add_argument(
        "-v", "--verbose", action="store_true", help="text: print each finding's detail (the why) under it"
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
    audit.add_argument(
        "--remediate", action="store_true", help="print the kubectl patch that removes persisted defaults"
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


def run(args: argparse.Namespace) -> int:
    from checker.inputs.gitsource import GitSourceError, collect_from_git
    from checker.inputs.live import LiveError, load_files, read_cluster
    from checker.inputs.sources import collect
    from checker.report.audit import write_format
    from checker.workflows.audit.blame import Blame, head_commit, open_ref
    from checker.workflows.audit.flow import run_audit
    from checker.workflows.audit.model import AuditError
    from checker.workflows.check import Selection

    if args.live and (args.kubeconfig or args.context or args.in_cluster):
        return common.error(
            "--live reads exported files; use it without --kubeconfig, --context or --in-cluster"
        )
    _deprecated_outputs(args)
    cwd = Path.cwd()
    revision = None
    try:
        selection = Selection(select=options.rule_ids(args.select), ignore=options.rule_ids(args.ignore))
        policies = common.policies(args)
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
                cli_version=args.k0s_version,
                selection=selection,
                policies=policies,
            )
        finally:
            blame.close()
        common.write_outputs(
            args,
            lambda name, out: write_format(audit, name, out, remediate=args.remediate, verbose=args.verbose),
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
