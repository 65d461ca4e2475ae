"""`check`'s use of the result cache (checker.workflows.cache): when it applies, what of the command
line and `.k0s-policy.yaml` goes into the key, and the report input to and from a cache entry.

It is off for runs whose findings depend on something the key cannot cover: stdin (findings move to
the origin files named inside the stream), registries (their answers change on the server), Rego
policies (their sources, data and engine), and PR mode (the base revision; checker.cli.check never
asks the cache there).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from checker.cli import common
from checker.inputs.sources import STDIN
from checker.records import astuple

if TYPE_CHECKING:
    from checker.config import Config
    from checker.inputs.roots import Tree
    from checker.inputs.sources import Collected
    from checker.report.model import ReportInput
    from checker.rules import Options
    from checker.workflows.cache import Entry, ResultCache


# Flags that change how a report is shown, not what it finds: outside the key.
_PRESENTATION = frozenset(
    {
        "format",
        "output",
        "color",
        "quiet",
        "verbose",
        "statistics",
        "show_suppressed",
        "fail_on",
        "cache_dir",
        "no_cache",
        "jobs",
        "func",
        "command",
    }
)


def _open_cache(args: argparse.Namespace, config: Config) -> ResultCache | None:
    """The cache of this run, or None when it is off for it."""
    from checker.workflows.cache import ResultCache, default_dir, disabled_by_env

    if args.no_cache or disabled_by_env() or STDIN in args.paths:
        return None
    # Rego flags (and their misuse, a usage error) and registries take the run past the key.
    if args.policy or args.data or args.namespace or args.all_namespaces or args.combine:
        return None
    if common.registry_settings(args, config) is not None:
        return None
    return ResultCache(Path(args.cache_dir) if args.cache_dir else default_dir())


def names_airgap(args: argparse.Namespace, config: Config) -> bool:
    """The run reads image lists or bundles: their images go into the key (loaded, not hashed raw)."""
    return bool(args.airgap_images or args.airgap_bundle or config.airgap_images)


class CachedRun:
    """One `check` of the working tree with the cache: its key, the walk a snapshot can replace
    (checker.workflows.treestate; a run over the whole repository only), the lookup and the store."""

    def __init__(self, cache: ResultCache, settings: str, whole_tree: str | None) -> None:
        self.cache = cache
        self.settings = settings
        self.whole_tree = whole_tree  # the repository root when the run walks exactly that
        self.walked_since: int | None = None  # when the walk of this run began (no snapshot used)
        self.key: str | None = None

    @classmethod
    def start(
        cls, args: argparse.Namespace, cwd: Path, config: Config, tree: Tree, rule_options: Options | None
    ) -> CachedRun | None:
        """None when the cache is off for this run, or an input of the key cannot be read."""
        cache = _open_cache(args, config)
        if cache is None:
            return None
        import datetime as dt
        import hashlib

        from checker.k0s.userdata import DataDirError, release_dirs
        from checker.workflows.cache import settings_key

        try:
            user_dirs = release_dirs(args.data_dir)
            config_digest = (
                hashlib.sha256((cwd / config.path).read_bytes()).hexdigest() if config.path else None
            )
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
            "airgap": airgap,  # the content of the image list the flags or the config name
            # every flag as given (paths, --select, --k0s-version, ...): a flag added later misses the
            # cache until someone judges it only presentation
            "flags": {k: repr(v) for k, v in sorted(vars(args).items()) if k not in _PRESENTATION},
        }
        whole = len(args.paths) == 1 and os.path.realpath(cwd / args.paths[0]) == tree.root
        return cls(cache, settings_key(settings, user_dirs), tree.root if whole else None)

    def collect(self, cwd: Path, tree: Tree, walk: Callable[[], Collected]) -> Collected:
        """What the walk would collect: from the snapshot when nothing in the tree changed since."""
        if self.whole_tree is not None:
            collected = self._from_snapshot(cwd, tree)
            if collected is not None:
                return collected
        self.walked_since = time.time_ns()
        return walk()

    def lookup(self, collected: Collected) -> ReportInput | None:
        from checker.workflows.cache import run_key

        self.key = run_key(self.settings, collected)
        hit = self.cache.get(self.key)
        report = report_of(hit) if hit is not None else None
        if report is not None and self.whole_tree is not None and self.walked_since is not None:
            self._record(collected, self.walked_since)  # the second run records, the third skips the walk
        return report

    def store(self, report: ReportInput) -> None:
        if self.key is not None and not report.input_errors:
            self.cache.put(self.key, entry_of(report))

    def _record(self, collected: Collected, since_ns: int) -> None:
        from checker.workflows.treestate import snapshot

        assert self.whole_tree is not None
        tree = snapshot(self.whole_tree, since_ns)
        if tree is None:
            return
        self.cache.put_tree(
            self.settings,
            {
                "tree": tree,
                "sources": [[s.path, s.explicit, s.context] for s in collected.sources],
                "counts": [collected.files_seen, collected.files_prefiltered, collected.context_files],
                "errors": [[e.path, e.message] for e in collected.errors],
            },
        )

    def _from_snapshot(self, cwd: Path, tree: Tree) -> Collected | None:
        from checker.inputs.sources import Collected, Source, SourceError
        from checker.workflows.treestate import unchanged

        state = self.cache.get_tree(self.settings)
        try:
            if state is None or not unchanged(state["tree"]):
                return None
            files_seen, prefiltered, context_files = state["counts"]
            collected = Collected(
                errors=[SourceError(str(path), str(message)) for path, message in state["errors"]],
                files_seen=int(files_seen),
                files_prefiltered=int(prefiltered),
                tree=tree,
                context_files=int(context_files),
            )
            for path, explicit, context in state["sources"]:
                raw = (cwd / path).read_bytes()  # sources are always read: their bytes are in the key
                collected.sources.append(Source(str(path), raw, bool(explicit), bool(context)))
        except (OSError, KeyError, TypeError, ValueError):
            return None
        return collected


def entry_of(report: ReportInput) -> Entry:
    """What a run's report needs, as a cache entry."""
    from checker.workflows.cache import Entry

    return Entry(
        list(report.findings),
        {
            "files_read": report.files_read,
            "documents": report.documents,
            "objects": report.objects,
            "clusters": [list(astuple(c)) for c in report.clusters],
            "skipped": list(report.skipped),
            "input_errors": list(report.input_errors),
            "checked": [list(astuple(c)) for c in report.checked],
            "rules_run": {path: sorted(ids) for path, ids in report.rules_run.items()},
            "notes": list(report.notes),
            "cluster_rules": {name: sorted(ids) for name, ids in report.cluster_rules.items()},
        },
    )


def report_of(entry: Entry) -> ReportInput | None:
    """The report input a cache entry holds, as the run that wrote it built it; None when the
    entry's facts do not have the shape entry_of gives them."""
    from checker import __version__
    from checker.report.model import CheckedObject, ClusterLine, ReportInput

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
