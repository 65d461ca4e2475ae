"""PR mode: check the base revision and the working tree, report what the change introduces.

``k0s-policy check PATHS --diff-base REF`` runs the same check twice: on the base revision, read
from git's object database (``checker.inputs.gitsource``), and on the working tree. Findings are matched
by fingerprint (``checker.workflows.baseline.unmatched``); only the ones the change adds are reported, and
``--show-fixed`` lists the ones it removes.

Decisions, also in docs/pr-mode.md:

- The base revision is the merge base of REF and HEAD (what a pull request is compared with),
  or REF itself when they have none.
- The tool's own configuration (``.k0s-policy.yaml``, or the file ``--config`` names when it lies
  in the repository) is read from the base revision: a pull request cannot switch off the checks
  that judge it. When the working tree's configuration differs, the report says so; the change
  to it applies once it is merged. ``--config`` outside the repository and every other
  command-line option (Rego ``--policy`` directories included) are trusted as given. The files
  the configuration points at (the air-gap image list) describe the clusters, not the checks,
  and are read from the working tree. A version set in the configuration is the base's too.
- Version skew: each cluster's target version at the base revision fills ``Options.base_versions``
  for the working tree's run, so K0S302 (skipped minors) and K0S303 (downgrade) judge the change.
  ``--k0s-version`` overrides both sides and so leaves nothing to compare.
- Inline suppression comments the change adds still apply (the check cannot judge a reason, and a
  review can); every finding that one silences and that was not silenced at the base is listed
  as a suppression added by the change, so reviewers see it.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from checker.config import CONFIG_NAME, Config, ConfigError, find_config, parse_config, unknown_rules
from checker.findings import Finding
from checker.inputs.gitsource import (
    GitSourceError,
    Revision,
    collect_from_git,
    export_directory,
    open_revision,
)
from checker.inputs.sources import STDIN, collect, display_path
from checker.k0s.releases import Catalog
from checker.records import dataclass, field, replace
from checker.rules import Options
from checker.workflows.baseline import Known, unmatched
from checker.workflows.check import Policies, Result, Selection, run_check
from checker.workflows.context import add_context

# How checker.findings.apply_suppressions marks a finding silenced by a comment in the file.
_INLINE = "inline comment"


class PRModeError(Exception):
    """PR mode cannot run (not a repository, unknown revision, broken base configuration)."""


@dataclass
class Comparison:
    head: Result
    base: Result
    base_label: str  # "origin/main (merge base ... ) at 1a2b3c4d5e6f"
    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    added_suppressions: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    policies: Policies | None = None  # the working tree run's, for reports that count their results

    @property
    def reported(self) -> list[Finding]:
        """What the report lists: new findings, and the new ones a new suppression silences."""
        return sorted([*self.new, *self.added_suppressions], key=Finding.sort_key)


@dataclass(frozen=True)
class _ConfigChoice:
    config: Config
    raw: bytes | None  # the base revision's bytes (None: no configuration)
    rel: str | None  # its path in the repository, when it is in the repository
    shown: str


def _load_base_config(
    revision: Revision, arguments: Sequence[str], cwd: Path, config_file: str | None, today: dt.date
) -> _ConfigChoice:
    """The configuration as the base revision has it (see the module doc)."""
    if config_file:
        try:
            rel: str | None = revision.relative(cwd, config_file)
        except GitSourceError:
            rel = None
        if rel is None:  # outside the repository: part of the trusted command line
            path = Path(config_file)
            try:
                raw = path.read_bytes()
            except OSError as err:
                raise PRModeError(f"{config_file}: cannot read the configuration: {err.strerror}") from None
            return _ConfigChoice(_parse(raw, config_file, today, ""), raw, None, config_file)
        candidates = [rel]
    else:
        first = arguments[0] if arguments else "."
        start = revision.relative(cwd, first)
        if not revision.is_directory(start):
            start = posixpath.dirname(start)
        candidates = []
        while True:
            candidates.append(posixpath.join(start, CONFIG_NAME) if start else CONFIG_NAME)
            if not start:
                break
            start = posixpath.dirname(start)
    for rel in candidates:
        found = revision.read(rel)
        if found is not None:
            shown = display_path(revision.root / rel, cwd.resolve())
            return _ConfigChoice(_parse(found, shown, today, posixpath.dirname(rel)), found, rel, shown)
    shown = config_file or CONFIG_NAME
    return _ConfigChoice(Config(), None, candidates[0] if config_file else None, shown)


def _parse(raw: bytes, shown: str, today: dt.date, base: str) -> Config:
    """``base``: the canonical folder its patterns are relative to (outside the repository: the root)."""
    try:
        return parse_config(raw, shown, today, base)
    except ConfigError as err:
        raise PRModeError(f"{err} (the configuration at the base revision)") from None


def _head_config_bytes(
    arguments: Sequence[str], cwd: Path, config_file: str | None
) -> tuple[bytes | None, str]:
    """The working tree's configuration, found the way a normal run finds it, as bytes."""
    if config_file:
        path = cwd / config_file
    else:
        first = cwd / (arguments[0] if arguments else ".")
        found = find_config(first if first.is_dir() else first.parent)
        if found is None:
            return None, CONFIG_NAME
        path = found
    try:
        return path.read_bytes(), display_path(path, cwd)
    except OSError:
        return None, display_path(path, cwd)


def _config_note(choice: _ConfigChoice, head: tuple[bytes | None, str], short: str) -> str:
    head_raw, head_shown = head
    if choice.rel is None and choice.raw is not None:
        return ""  # --config outside the repository: the same file for both runs
    if head_raw == choice.raw:
        return ""
    if choice.raw is None:
        what = f"adds {head_shown}"
    elif head_raw is None:
        what = f"removes {choice.shown}"
    elif head_shown != choice.shown:
        what = f"adds {head_shown}, nearer to the checked files than {choice.shown}"
    else:
        what = f"changes {choice.shown}"
    used = f"{choice.shown} as of {short}" if choice.raw is not None else "no configuration"
    return (
        f"this change {what}; PR mode uses the base revision's configuration ({used}), so a pull "
        "request cannot relax its own checks. The new configuration applies once it is merged."
    )


def run_pr_check(
    arguments: Sequence[str],
    diff_base: str,
    *,
    cwd: Path,
    catalog: Catalog,
    make_options: Callable[[Config], Options],
    selection: Selection | None = None,
    cli_version: str | None = None,
    exclude: Sequence[str] = (),
    config_file: str | None = None,
    no_config: bool = False,
    make_policies: Callable[[Sequence[str]], Policies | None] | None = None,
    policy_dirs: Sequence[str] = (),
    today: dt.date | None = None,
    gitignore: bool = True,
    unknown_rule: Callable[[str], str | None] | None = None,
    context: bool = True,
) -> Comparison:
    """``make_policies`` builds the Rego policies of one run from policy directories; it is called
    once per revision, so each run counts its own results. Directories inside the repository are
    read from the base revision for both runs, so a change cannot weaken its own policies."""
    if STDIN in arguments:
        raise PRModeError("--diff-base compares files of a git repository; stdin (-) has no base revision")
    today = today or dt.date.today()
    try:
        revision = open_revision(cwd, diff_base)
    except GitSourceError as err:
        raise PRModeError(str(err)) from None
    scratch = tempfile.TemporaryDirectory(prefix="k0s-policy-base-policies-")
    try:
        dirs, policy_note = _base_policy_dirs(revision, policy_dirs, cwd, Path(scratch.name))
        build = make_policies or _no_policies
        comparison = _compare(
            revision,
            arguments,
            cwd=cwd,
            catalog=catalog,
            make_options=make_options,
            selection=selection or Selection(),
            cli_version=cli_version,
            exclude=exclude,
            config_file=config_file,
            no_config=no_config,
            make_policies=lambda: build(dirs),
            today=today,
            gitignore=gitignore,
            unknown_rule=unknown_rule,
            context=context,
        )
        if policy_note:
            comparison.notes.append(policy_note)
        return comparison
    except GitSourceError as err:
        raise PRModeError(str(err)) from None
    finally:
        revision.close()
        scratch.cleanup()


def _base_policy_dirs(
    revision: Revision, policy_dirs: Sequence[str], cwd: Path, scratch: Path
) -> tuple[list[str], str]:
    """Policy directories to use: the base revision's copy of those inside the repository."""
    dirs: list[str] = []
    from_base: list[str] = []
    for index, directory in enumerate(policy_dirs):
        try:
            rel = revision.relative(cwd, directory)
        except GitSourceError:
            dirs.append(directory)  # outside the repository: the change cannot touch it
            continue
        if not revision.is_directory(rel):
            raise PRModeError(
                f"--policy {directory}: no such directory at the base revision {revision.short}"
            )
        target = scratch / str(index)
        export_directory(revision, rel, target)
        dirs.append(str(target))
        from_base.append(directory)
    note = ""
    if from_base:
        note = (
            f"policies in {', '.join(from_base)} were read from the base revision {revision.short}: "
            "a change to them takes effect once it is merged"
        )
    return dirs, note


def _compare(
    revision: Revision,
    arguments: Sequence[str],
    *,
    cwd: Path,
    catalog: Catalog,
    make_options: Callable[[Config], Options],
    selection: Selection,
    cli_version: str | None,
    exclude: Sequence[str],
    config_file: str | None,
    no_config: bool,
    make_policies: Callable[[], Policies | None],
    today: dt.date,
    gitignore: bool = True,
    unknown_rule: Callable[[str], str | None] | None = None,
    context: bool = True,
) -> Comparison:
    arguments = list(arguments) or ["."]
    notes: list[str] = []
    if no_config:
        config = Config()
    else:
        choice = _load_base_config(revision, arguments, cwd, config_file, today)
        config = choice.config
        problems = unknown_rules(config, unknown_rule) if unknown_rule is not None else []
        if problems:
            raise PRModeError("; ".join(problems) + " (the configuration at the base revision)")
        note = _config_note(choice, _head_config_bytes(arguments, cwd, config_file), revision.short)
        if note:
            notes.append(note)
    options = make_options(config)

    base_sources = collect_from_git(revision, arguments, ignore=exclude, cwd=cwd, excludes=[config.exclusion])
    if context:
        assert base_sources.tree is not None
        add_context(
            base_sources,
            arguments,
            cwd=cwd,
            tree=base_sources.tree,
            read_folder=revision.folder_files,
            read_roots=lambda shown: collect_from_git(
                revision, shown, ignore=exclude, cwd=cwd, excludes=[config.exclusion]
            ),
        )
    base = run_check(
        base_sources,
        catalog,
        config,
        cli_version=cli_version,
        options=replace(options, base_versions={}),
        selection=selection,
        today=today,
        policies=make_policies(),
    )
    base_versions = {
        cluster.name: cluster.target_source.version
        for cluster in base.clusters
        if cluster.target_source is not None
    }
    head_sources = collect(
        arguments,
        ignore=exclude,
        cwd=cwd,
        tree=base_sources.tree,
        excludes=[config.exclusion],
        gitignore=gitignore,
    )
    if context and head_sources.tree is not None:
        add_context(
            head_sources,
            arguments,
            cwd=cwd,
            tree=head_sources.tree,
            ignore=exclude,
            excludes=[config.exclusion],
            gitignore=gitignore,
        )
    head_policies = make_policies()
    head = run_check(
        head_sources,
        catalog,
        config,
        cli_version=cli_version,
        options=replace(options, base_versions=base_versions),
        selection=selection,
        today=today,
        policies=head_policies,
    )

    label = f"{revision.ref} at {revision.short} ({revision.how})"
    comparison = Comparison(head, base, label, notes=notes, policies=head_policies)
    head_active = [f for f in head.findings if not f.suppressed_by]
    base_active = [f for f in base.findings if not f.suppressed_by]
    comparison.new = unmatched(head_active, [Known.of(f) for f in base_active], Known.of)
    comparison.fixed = sorted(
        unmatched(base_active, [Known.of(f) for f in head.findings], Known.of), key=Finding.sort_key
    )
    head_inline = [f for f in head.findings if f.suppressed_by.startswith(_INLINE)]
    base_inline = [Known.of(f) for f in base.findings if f.suppressed_by.startswith(_INLINE)]
    comparison.added_suppressions = unmatched(head_inline, base_inline, Known.of)

    known = len(head_active) - len(comparison.new)
    notes.insert(
        0,
        f"PR mode: compared with {label}; reporting what this change introduces "
        f"({known} finding{'' if known == 1 else 's'} already at the base not shown, "
        f"{len(comparison.fixed)} fixed by the change)",
    )
    if comparison.added_suppressions:
        count = len(comparison.added_suppressions)
        notes.append(
            f"this change silences {count} finding{'' if count == 1 else 's'} with inline suppression "
            "comments; they are listed below for review"
        )
    return comparison


def _no_policies() -> Policies | None:
    return None
