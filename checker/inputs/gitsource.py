"""Inputs read from a git revision instead of the working tree, for PR mode.

Everything is read from git's object database through GitPython (imported only here, so only PR
mode pays for it): no checkout, no temporary work tree, no change to the index or the files. The
paths, globs, ignore patterns and the k0s pre-filter mean exactly what they mean for the working
tree (``checker.inputs.sources``), and files get the same display paths, so findings of both revisions
can be matched by fingerprint.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from checker.inputs.globs import glob_pattern, has_wildcard, literal_prefix
from checker.inputs.reading import link_broken, link_out_of_tree, may_name_a_folder_or_yaml, too_big
from checker.inputs.roots import Tree as WorkTree
from checker.inputs.sources import (
    STDIN,
    YAML_SUFFIXES,
    Collected,
    Exclude,
    Recorder,
    SourceError,
    display_path,
)
from checker.inputs.yamldoc import MAX_FILE_BYTES
from checker.records import dataclass

if TYPE_CHECKING:
    from git import Blob, Commit, Repo, Tree

_SYMLINK_MODE = 0o120000
_MAX_LINK_HOPS = 8


class GitSourceError(Exception):
    """The base revision cannot be read (not a repository, unknown ref, missing history)."""


@dataclass
class Revision:
    """One commit of the repository that holds the current directory, read in memory."""

    repo: Repo
    root: Path  # the work tree's top directory, symlinks resolved
    ref: str  # as given on the command line
    commit: Commit
    how: str  # how the commit was chosen, for the report

    @property
    def short(self) -> str:
        return self.commit.hexsha[:12]

    def close(self) -> None:
        self.repo.close()

    def relative(self, cwd: Path, argument: str = ".") -> str:
        """``argument`` (relative to cwd) as a path relative to the repository root ("" is the root)."""
        absolute = os.path.normpath(os.path.join(os.path.realpath(cwd), argument))
        rel = os.path.relpath(absolute, self.root)
        if rel == os.curdir:
            return ""
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise GitSourceError(f"{argument}: lies outside the git repository at {self.root}")
        return rel.replace(os.sep, "/")

    def entry(self, rel: str) -> Blob | Tree | None:
        """The blob or tree at a repository path, following symlinks inside the repository."""
        return self.resolve(rel)[1]

    def resolve(self, rel: str) -> tuple[str, Blob | Tree | None]:
        """The path a repository path leads to once symlinks are followed, and what is there.

        A link out of the repository, a submodule or a missing path leads to nothing.
        """
        from git import Blob, Tree

        tree = self.commit.tree
        for _ in range(_MAX_LINK_HOPS):
            if rel == "":
                return rel, tree
            try:
                item = tree / rel
            except KeyError:
                return rel, None
            if isinstance(item, Tree):
                return rel, item
            if not isinstance(item, Blob):
                return rel, None  # a submodule
            if item.mode != _SYMLINK_MODE:
                return rel, item
            target = item.data_stream.read().decode("utf-8", errors="replace")
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            if target.startswith("/") or rel == ".." or rel.startswith("../"):
                return rel, None  # never follow a link out of the repository
            rel = "" if rel == "." else rel
        return rel, None

    def is_directory(self, rel: str) -> bool:
        from git import Tree

        return isinstance(self.entry(rel), Tree)

    def folder_files(self, directory: str) -> Iterator[tuple[str, bytes]]:
        """The YAML files directly in a folder (an absolute path in the work tree) at this revision."""
        from git import Blob, Tree

        rel = os.path.relpath(directory, self.root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return
        tree = self.entry("" if rel == os.curdir else rel.replace(os.sep, "/"))
        if not isinstance(tree, Tree):
            return
        for blob in sorted(tree.blobs, key=lambda item: item.name):
            if (
                isinstance(blob, Blob)
                and blob.mode != _SYMLINK_MODE
                and blob.name.lower().endswith(YAML_SUFFIXES)
            ):
                yield blob.name, blob.data_stream.read()

    def read(self, rel: str) -> bytes | None:
        """The bytes of a file at this revision, or None when there is no such file."""
        from git import Blob

        item = self.entry(rel)
        return item.data_stream.read() if isinstance(item, Blob) else None


def open_revision(cwd: Path, ref: str) -> Revision:
    """The commit to compare with: the merge base of ``ref`` and HEAD, or ``ref`` itself.

    Like ``git diff REF...HEAD``, the merge base keeps commits made on the base branch after the
    change branched off from counting as part of the change. Without a merge base (unrelated
    histories, or a shallow clone that has ``ref`` but not their common ancestor) ``ref`` itself
    is the base, and the report says so.
    """
    if not ref or ref.startswith("-"):
        raise GitSourceError(f"--diff-base {ref!r}: not a git revision")
    import git
    from git.exc import BadName, BadObject, GitCommandError

    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitSourceError(
            f"--diff-base needs a git repository, and {cwd} is not inside one "
            "(use --baseline FILE to compare with a saved set of findings instead)"
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        repo.close()
        raise GitSourceError("--diff-base needs a repository with a work tree, not a bare one")
    shallow = os.path.exists(os.path.join(repo.common_dir, "shallow"))
    hint = (
        " This is a shallow clone: fetch the base branch and enough history, e.g. "
        "`git fetch --deepen=1000 origin main` (or fetch-depth: 0 in actions/checkout)."
        if shallow
        else ""
    )
    try:
        base = repo.commit(ref)
        base.tree  # noqa: B018 - reading the tree proves the commit's objects are present
    except (BadName, BadObject, GitCommandError, ValueError, IndexError) as err:
        repo.close()
        raise GitSourceError(f"--diff-base {ref}: unknown revision ({_first_line(err)}).{hint}") from None
    try:
        bases = repo.merge_base(base, "HEAD")
    except (GitCommandError, BadName, ValueError):
        bases = []
    if not bases:
        how = f"{ref} itself: it has no merge base with HEAD{' in this shallow clone' if shallow else ''}"
    elif bases[0].hexsha == base.hexsha:
        how = f"{ref}, an ancestor of HEAD"
    else:
        base = bases[0]
        how = f"the merge base of {ref} and HEAD"
    root = Path(os.path.realpath(repo.working_tree_dir))
    return Revision(repo, root, ref, base, how)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def collect_from_git(
    revision: Revision,
    arguments: Iterable[str],
    ignore: Sequence[str] = (),
    cwd: Path | None = None,
    excludes: Sequence[Exclude] = (),
) -> Collected:
    """What ``sources.collect`` would read for these arguments, from the revision's tree.

    ``ignore`` is relative to the current directory, ``excludes`` as in ``sources.collect``; a
    revision holds what git tracks, so there is no `.gitignore` to apply. A path that does not
    exist at the revision is no error: the change under review adds it.
    """
    cwd = cwd or Path.cwd()
    here = revision.relative(cwd)
    collected = Collected(tree=WorkTree(str(revision.root), os.path.realpath(cwd), True))
    collector = _GitCollector(revision, collected, cwd, here, ignore, excludes)
    for argument in arguments:
        if argument == STDIN:
            raise GitSourceError("stdin (-) has no base revision to compare with")
        if has_wildcard(argument):
            collector.glob(argument)
        else:
            collector.named(argument)
    return collected


class _GitCollector(Recorder):
    """``checker.inputs.walk.Collector`` over a revision's trees: the same order, the same links
    followed (inside the repository, once, under their real path), the same ones reported."""

    def __init__(
        self,
        revision: Revision,
        collected: Collected,
        cwd: Path,
        here: str,
        ignore: Sequence[str],
        excludes: Sequence[Exclude],
    ) -> None:
        super().__init__(collected)
        self.revision = revision
        self.cwd = cwd
        self.here = here
        self.patterns = [e for e in (Exclude(here, tuple(ignore), anywhere=True), *excludes) if e.patterns]
        self.walked: set[str] = set()
        self.links: list[tuple[Blob, str]] = []  # (the link, the path it was reached by)

    def shown(self, rel: str) -> str:
        return display_path(self.cwd / posixpath.relpath(rel, self.here or "."), self.cwd)

    def excluded(self, rel: str) -> bool:
        return any(e.matches(rel, self.shown(rel)) for e in self.patterns)

    def named(self, argument: str) -> None:
        from git import Blob, Tree

        rel = self.revision.relative(self.cwd, argument)
        target, item = self.revision.resolve(rel)
        if isinstance(item, Tree):
            self.walk(item, rel, rel)
        elif isinstance(item, Blob):
            self._file(item, target, rel, explicit=True, shown_as=rel)
        elif isinstance(link := self._link_at(rel), Blob):
            self.unread(rel, self.shown(rel), _link_problem(target, link))

    def walk(self, tree: Tree, reach_root: str, shown_root: str) -> None:
        self._walk(tree, reach_root, shown_root)
        self._follow_links()

    def glob(self, argument: str) -> None:
        from git import Blob, Tree

        if os.path.isabs(argument):
            pattern = os.path.relpath(argument, self.revision.root).replace(os.sep, "/")
        else:
            pattern = posixpath.normpath(posixpath.join(self.here, argument))
        regex = glob_pattern(pattern)
        start = self.revision.entry(literal_prefix(pattern))
        if not isinstance(start, Tree):
            return
        for rel, item in sorted(_matches(start, regex), key=lambda match: match[0].split("/")):
            if isinstance(item, Tree):
                if not self.excluded(rel):
                    self.walk(item, rel, rel)
            elif item.mode == _SYMLINK_MODE:
                self.links.append((item, rel))
            elif isinstance(item, Blob) and rel.lower().endswith(YAML_SUFFIXES):
                self._file(item, rel, rel, shown_as=rel)
        self._follow_links()

    def _walk(self, tree: Tree, reach_root: str, shown_root: str) -> None:
        """The YAML blobs below a tree, in exactly the order ``walk.Collector`` walks a folder."""
        from git import Blob, Tree

        if str(tree.path) in self.walked:
            return
        self.walked.add(str(tree.path))
        stack = [(tree, reach_root, shown_root)]
        while stack:
            current, reach_dir, shown_dir = stack.pop()
            entries: list[Blob | Tree] = [*current.trees, *current.blobs]
            for item in sorted(entries, key=lambda entry: entry.name, reverse=True):
                reach = _join(reach_dir, item.name)
                shown = _join(shown_dir, item.name)
                if isinstance(item, Tree):
                    if not self.excluded(reach):
                        stack.append((item, reach, shown))
                elif not isinstance(item, Blob):
                    continue
                elif item.mode == _SYMLINK_MODE:
                    self.links.append((item, reach))
                elif item.name.lower().endswith(YAML_SUFFIXES):
                    self._file(item, str(item.path), reach, shown_as=shown)

    def _follow_links(self) -> None:
        from git import Tree

        while self.links:
            link, reach = self.links.pop(0)
            target, item = self.revision.resolve(str(link.path))
            if item is None:
                if may_name_a_folder_or_yaml(link.name, YAML_SUFFIXES) and not self.excluded(reach):
                    self.unread(str(link.path), self.shown(str(link.path)), _link_problem(target, link))
                continue
            if isinstance(item, Tree):
                if not self.excluded(reach):
                    self._walk(item, reach, target)
            elif link.name.lower().endswith(YAML_SUFFIXES) and not self.excluded(reach):
                self._file(item, target, reach)

    def _link_at(self, rel: str) -> Blob | None:
        """The symlink at ``rel`` itself (its folders' links followed), if that is what is there."""
        from git import Blob

        item = self.revision.entry(posixpath.dirname(rel))
        try:
            entry = item / posixpath.basename(rel) if item is not None else None
        except (KeyError, TypeError):
            return None
        return entry if isinstance(entry, Blob) and entry.mode == _SYMLINK_MODE else None

    def _file(self, blob: Blob, real: str, reach: str, *, explicit: bool = False, shown_as: str = "") -> None:
        """Read one blob (``real`` is its path, ``shown_as`` the path to show it by: the real one
        unless it was named or walked from a named folder) unless it was read already."""
        if real in self.seen:
            return
        if not explicit and self.excluded(reach):
            return
        self.seen.add(real)
        display = self.shown(shown_as or real)
        collected = self.collected
        collected.files_seen += 1
        if blob.size > MAX_FILE_BYTES:
            collected.unread.append(SourceError(display, str(too_big(blob.size))))
            return
        self.keep(blob.data_stream.read(), display, explicit, reach, real)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _link_problem(target: str, link: Blob) -> str:
    if target.startswith("/") or target == ".." or target.startswith("../"):
        text = link.data_stream.read().decode("utf-8", errors="replace")
        return str(link_out_of_tree(text))
    return str(link_broken())


def _matches(tree: Tree, regex: re.Pattern[str]) -> Iterator[tuple[str, Blob | Tree]]:
    """What a pattern matches below a tree, never through a link; a matched folder is not entered."""
    stack = [tree]
    while stack:
        current = stack.pop()
        for sub in current.trees:
            if regex.fullmatch(str(sub.path)):
                yield str(sub.path), sub
            else:
                stack.append(sub)
        for blob in current.blobs:
            if regex.fullmatch(str(blob.path)):
                yield str(blob.path), blob


def export_directory(revision: Revision, rel: str, destination: Path) -> int:
    """Write the files of one directory at the revision below ``destination`` (never the work tree).

    Used for policy directories in PR mode: they must come from the base, not from the change.
    Returns the number of files written; links and submodules are left out.
    """
    from git import Tree

    tree = revision.entry(rel)
    if not isinstance(tree, Tree):
        return 0
    written = 0
    for blob in tree.traverse():
        if blob.type != "blob" or blob.mode == _SYMLINK_MODE:
            continue
        inner = posixpath.relpath(str(blob.path), rel) if rel else str(blob.path)
        target = destination.joinpath(*inner.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.data_stream.read())
        written += 1
    return written
