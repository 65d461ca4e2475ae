"""`k0s-policy upgrade --to VERSION`: before a controller is replaced, whether the upgrade will work
and what to do first, in order."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy upgrade --to v1.30.5+k0s.0 clusters/edge-prod --live clusterconfig.yaml --live nodes.yaml",
    "k0s-policy upgrade --to 1.31 clusters/edge-prod --context edge-prod --registry mirror.internal:5000",
    "k0s-policy upgrade --to v1.30.5+k0s.0 clusters/edge-prod --from v1.29.4+k0s.0 --format markdown",
    "k0s-policy upgrade --to v1.30.5+k0s.0 . --method autopilot --plan-dir plans/",
)
UPGRADE_EXIT_CODES = """exit codes:
  0  every step of every cluster is ready
  1  something blocks: a finding at or above --fail-on, a missing image, a downgrade
  2  the preflight could not run (usage, unreadable input, the current release cannot be told)"""


def add_parser(sub: Any) -> None:
    from checker.report.upgrade import WRITERS
    from checker.workflows.upgrade.remediation import METHODS

    upgrade = options.sub_parser(
        sub,
        "upgrade",
        "upgrade preflight: is the upgrade to --to safe for each cluster, and what to do first, in order",
        EXAMPLES,
        UPGRADE_EXIT_CODES,
    )
    upgrade.add_argument(
        "paths", nargs="*", default=["."], help="files, directories or globs of the repository"
    )
    upgrade.add_argument("--to", required=True, metavar="VERSION", help="the k0s release to upgrade to")
    upgrade.add_argument(
        "--from",
        dest="from_version",
        metavar="VERSION",
        help="the release the cluster runs now (else: nodes, repository)",
    )
    options.add_format_options(upgrade, list(WRITERS))
    options.add_fail_on(upgrade, "blocks a step")
    options.add_rule_selection(upgrade)
    options.add_repository_options(upgrade)
    options.add_release_options(upgrade, target=False)
    options.add_airgap_options(upgrade)
    upgrade.add_argument(
        "--live", action="append", default=[], metavar="FILE", help="exported live objects (kubectl -o yaml)"
    )
    upgrade.add_argument(
        "--kubeconfig", metavar="FILE", help="read the live state from this kubeconfig's cluster"
    )
    upgrade.add_argument("--context", metavar="NAME", help="read the live state from this kubeconfig context")
    upgrade.add_argument(
        "--in-cluster", action="store_true", help="read the live state as the pod's service account"
    )
    options.add_registry_options(upgrade)
    options.add_text_options(upgrade)
    upgrade.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="how the version changes: k0sctl (when the cluster has a k0sctl file) or an autopilot Plan",
    )
    upgrade.add_argument(
        "--url-template",
        metavar="URL",
        help="download URL of the k0s binary in generated Plans; fields {version}, {os}, {arch}, {platform}",
    )
    upgrade.add_argument(
        "--plan-dir", metavar="DIR", help="also write each generated autopilot Plan into DIR"
    )


def _live_flags(args: argparse.Namespace) -> str:
    words: list[str] = []
    for file in args.live:
        words += ["--live", file]
    for flag, value in (("--kubeconfig", args.kubeconfig), ("--context", args.context)):
        if value:
            words += [flag, value]
    if args.in_cluster:
        words.append("--in-cluster")
    return (" " + shlex.join(words)) if words else ""


def run(args: argparse.Namespace) -> int:
    from checker.inputs.live import LiveError
    from checker.inputs.registry import RegistrySetupError, parse_platform
    from checker.report.upgrade import WRITERS, write_text
    from checker.workflows.upgrade.autopilot import DEFAULT_URL_TEMPLATE, TemplateError, check_template
    from checker.workflows.upgrade.flow import run_upgrade
    from checker.workflows.upgrade.model import UpgradeError

    if args.live and (args.kubeconfig or args.context or args.in_cluster):
        return common.error(
            "--live reads exported files; use it without --kubeconfig, --context or --in-cluster"
        )
    args.k0s_version = None  # the targets are the steps' releases (--to), never one forced version
    cwd = Path.cwd()
    try:
        platforms = tuple(dict.fromkeys(parse_platform(p) for p in args.platform)) or ("linux/amd64",)
        template = args.url_template or DEFAULT_URL_TEMPLATE
        check_template(template)
        selection = common.selection(args)
        config, tree = common.load_repository(args, cwd)
        catalog = common.load_catalog(args)
        if not (args.registry or config.registry_urls):
            args.platform = []  # --platform chose the Plans' platforms; no registry is asked
        rule_options = common.rule_options(args, config)
        collected = common.collect_work_tree(args, cwd, tree, config)
        live = common.load_live(args, cwd)
        upgrade = run_upgrade(
            collected,
            catalog,
            config,
            to=args.to,
            paths=args.paths,
            options=rule_options,
            selection=selection,
            live=live,
            from_version=args.from_version,
            method=args.method,
            url_template=template,
            platforms=platforms,
            live_flags=_live_flags(args),
            fail_on=args.fail_on,
        )
        if args.plan_dir:
            _write_plans(upgrade, Path(args.plan_dir))
        text = options.text_options(args)
        common.write_outputs(
            args,
            lambda name, out: (
                write_text(upgrade, out, verbose=args.verbose, text=text)
                if name == "text"
                else WRITERS[name](upgrade, out)
            ),
        )
    except (common.UsageError, UpgradeError, LiveError, TemplateError, RegistrySetupError) as err:
        return common.error(str(err))
    for error in upgrade.input_errors:
        sys.stderr.write(f"k0s-policy: {error}\n")
    for entry in upgrade.clusters:
        if entry.error:
            sys.stderr.write(f"k0s-policy: cluster {entry.name}: {entry.error}\n")
    return upgrade.exit_code


def _write_plans(upgrade: Any, directory: Path) -> None:
    written = 0
    for entry in upgrade.clusters:
        for step in entry.steps:
            for action in step.actions:
                for name, content in action.files.items():
                    prefix = "" if len(upgrade.clusters) == 1 else f"{_slug(entry.name)}-"
                    try:
                        directory.mkdir(parents=True, exist_ok=True)
                        (directory / f"{prefix}{name}").write_text(content, encoding="utf-8")
                    except OSError as err:
                        raise common.UsageError(
                            f"cannot write {directory / name}: {err.strerror or err}"
                        ) from None
                    written += 1
    if not written:
        sys.stderr.write(
            "k0s-policy: no autopilot Plan to write (the version changes with k0sctl; see --method)\n"
        )


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "cluster"
