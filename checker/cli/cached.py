"""`check`'s use of the result cache (checker.workflows.cache): when it applies, what of the command
line and `.k0s-policy.yaml` goes into the key, and the report input to and from a cache entry.

It is off for runs whose findings depend on something the key cannot cover: stdin (findings move to
the origin files named inside the stream), registries (their answers change on the server), Rego
policies (their sources, data and engine), and PR mode (the base revision; checker.cli.check never
asks the cache there).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from checker.cli import options
from checker.inputs.sources import STDIN
from checker.report.model import CheckedObject, ClusterLine, ReportInput

if TYPE_CHECKING:
    from checker.config import Config
    from checker.inputs.roots import Tree
    from checker.inputs.sources import Collected
    from checker.rules import Options
    from checker.workflows.cache import Entry, ResultCache


def open_cache(args: argparse.Namespace, config: Config) -> ResultCache | None:
    """The cache of this run, or None when it is off for it."""
    from checker.workflows.cache import ResultCache, default_dir, disabled_by_env

    if args.no_cache or disabled_by_env():
        return None
    if STDIN in args.paths or args.policy or args.registry or config.registry_urls:
        return None
    return ResultCache(Path(args.cache_dir) if args.cache_dir else default_dir())


def names_airgap(args: argparse.Namespace, config: Config) -> bool:
    """The run reads image lists or bundles: their images go into the key (loaded, not hashed raw)."""
    return bool(args.airgap_images or args.airgap_bundle or config.airgap_images)


def run_key(
    args: argparse.Namespace,
    cwd: Path,
    config: Config,
    tree: Tree,
    collected: Collected,
    rule_options: Options | None,
) -> str | None:
    """The key of this run, or None when an input cannot be read for it (the run goes uncached)."""
    from checker.k0s.userdata import DataDirError, release_dirs
    from checker.workflows.cache import run_key as key_of

    try:
        user_dirs = release_dirs(args.data_dir)
        config_digest = hashlib.sha256((cwd / config.path).read_bytes()).hexdigest() if config.path else None
    except (OSError, DataDirError):
        return None
    airgap = None
    if rule_options is not None and rule_options.airgap_images is not None:
        airgap = [sorted(rule_options.airgap_images), rule_options.airgap_images_source]
    settings = {
        "cwd": str(cwd),
        "tree": [tree.root, tree.cwd, tree.git],
        "today": dt.date.today().isoformat(),
        "config": [config.path, config.base, config_digest],
        "paths": list(args.paths),
        "select": sorted(options.rule_ids(args.select)),
        "ignore": sorted(options.rule_ids(args.ignore)),
        "k0s_version": args.k0s_version,
        "data_dir": args.data_dir,
        "airgap": airgap,
        "airgap_files": [args.airgap_images, args.airgap_bundle],
        "collect": [args.exclude, args.no_gitignore, args.no_context, args.skip_unrelated],
        "shard": args.shard,
    }
    return key_of(settings, collected, user_dirs)


def entry_of(report: ReportInput) -> Entry:
    """What a run's report needs, as a cache entry."""
    from checker.workflows.cache import Entry

    return Entry(
        list(report.findings),
        {
            "files_read": report.files_read,
            "documents": report.documents,
            "objects": report.objects,
            "clusters": [list(dataclasses.astuple(c)) for c in report.clusters],
            "skipped": list(report.skipped),
            "input_errors": list(report.input_errors),
            "checked": [list(dataclasses.astuple(c)) for c in report.checked],
            "rules_run": {path: sorted(ids) for path, ids in report.rules_run.items()},
            "notes": list(report.notes),
            "cluster_rules": {name: sorted(ids) for name, ids in report.cluster_rules.items()},
        },
    )


def report_of(entry: Entry) -> ReportInput | None:
    """The report input a cache entry holds, as the run that wrote it built it; None when the
    entry's facts do not have the shape entry_of gives them."""
    from checker import __version__

    facts = entry.facts
    try:
        return ReportInput(
            findings=entry.findings,
            files_read=int(facts["files_read"]),
            documents=int(facts["documents"]),
            objects=int(facts["objects"]),
            clusters=[ClusterLine(*row) for row in facts["clusters"]],
            skipped=[str(s) for s in facts["skipped"]],
            input_errors=[str(e) for e in facts["input_errors"]],
            tool_version=__version__,
            checked=[CheckedObject(*row) for row in facts["checked"]],
            rules_run={str(path): set(ids) for path, ids in facts["rules_run"].items()},
            notes=[str(n) for n in facts["notes"]],
            cluster_rules={str(name): set(ids) for name, ids in facts["cluster_rules"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
