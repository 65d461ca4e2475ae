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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from checker.inputs.roots import Tree as WorkTree
from checker.inputs.sources import (
    STDIN,
    YAML_SUFFIXES,
    Collected,
    Exclude,
    Source,
    display_path,
    mentions_k0s,
)

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


def _walk(tree: Tree, skip: Callable[[str], bool]) -> Iterator[Blob]:
    """The YAML blobs below a tree, in exactly the order ``sources`` walks a directory.

    Skips ignored directories without descending into them, symlinks and submodules.
    """
    from git import Blob, Tree

    stack = [tree]
    while stack:
        current = stack.pop()
        entries: list[Blob | Tree] = [*current.trees, *current.blobs]
        for item in sorted(entries, key=lambda entry: entry.name, reverse=True):
            if isinstance(item, Tree):
                if not skip(str(item.path)):
                    stack.append(item)
            elif (
                isinstance(item, Blob)
                and item.mode != _SYMLINK_MODE
                and item.name.lower().endswith(YAML_SUFFIXES)
            ):
                yield item


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression for a ``glob.glob(..., recursive=True)`` pattern over "/" paths.

    ``*`` and ``?`` stay within one path component, ``**`` spans any number of them, and a
    wildcard at the start of a component does not match a leading dot (glob skips hidden files).
    """
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(r"(?:[^/.][^/]*(?:/[^/.][^/]*)*)?" if last else r"(?:[^/.][^/]*/)*")
            continue
        piece = r"(?!\.)" if part[:1] in ("*", "?", "[") else ""
        i = 0
        while i < len(part):
            char = part[i]
            if char == "*":
                piece += "[^/]*"
            elif char == "?":
                piece += "[^/]"
            elif char == "[":
                piece, i = _char_class(part, i, piece)
            else:
                piece += re.escape(char)
            i += 1
        out.append(piece if last else piece + "/")
    return re.compile("".join(out))


def _char_class(part: str, i: int, piece: str) -> tuple[str, int]:
    """``[abc]`` / ``[!abc]`` starting at ``part[i]``; a ``[`` without its ``]`` is a plain character."""
    j = i + 1
    if part[j : j + 1] == "!":
        j += 1
    if part[j : j + 1] == "]":
        j += 1
    end = part.find("]", j)
    if end < 0:
        return piece + re.escape("["), i
    body = part[i + 1 : end].replace("\\", "\\\\")
    if body.startswith("!"):
        body = "^" + body[1:]
    elif body.startswith("^"):
        body = "\\" + body
    return piece + "[" + body + "]", end


def _all_paths(tree: Tree) -> Iterator[tuple[str, bool]]:
    """Every (path, is_directory) below a tree; submodules and symlinks left out.

    As in ``sources.collect``, a pattern is a walk: it never reads a file through a link.
    """
    stack = [tree]
    while stack:
        current = stack.pop()
        for sub in current.trees:
            yield str(sub.path), True
            stack.append(sub)
        for blob in current.blobs:
            if blob.mode != _SYMLINK_MODE:
                yield str(blob.path), False


def _literal_prefix(pattern: str) -> str:
    """The directories of a pattern before its first wildcard: where to start looking."""
    literal: list[str] = []
    for part in pattern.split("/")[:-1]:
        if any(ch in part for ch in "*?["):
            break
        literal.append(part)
    return "/".join(literal)


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
    from git import Blob, Tree

    cwd = cwd or Path.cwd()
    here = revision.relative(cwd)
    collected = Collected(tree=WorkTree(str(revision.root), os.path.realpath(cwd), True))
    seen: set[str] = set()
    patterns = [e for e in (Exclude(here, tuple(ignore), anywhere=True), *excludes) if e.patterns]

    def shown(rel: str) -> str:
        return display_path(cwd / posixpath.relpath(rel, here or "."), cwd)

    def excluded(rel: str) -> bool:
        return any(e.matches(rel, shown(rel)) for e in patterns)

    def add(blob: Blob, rel: str, explicit: bool, key: str | None = None) -> None:
        # as in sources.collect: a named file counts once however it is reached (links included)
        key = key or rel
        if key in seen:
            return
        seen.add(key)
        display = shown(rel)
        if not explicit and excluded(rel):
            return
        collected.files_seen += 1
        raw = blob.data_stream.read()
        if not explicit and not mentions_k0s(raw):
            collected.files_prefiltered += 1
            return
        collected.sources.append(Source(display, raw, explicit))

    def add_tree(tree: Tree) -> None:
        for blob in _walk(tree, excluded):
            add(blob, str(blob.path), explicit=False)

    for argument in arguments:
        if argument == STDIN:
            raise GitSourceError("stdin (-) has no base revision to compare with")
        if any(ch in argument for ch in "*?["):
            if os.path.isabs(argument):
                pattern = os.path.relpath(argument, revision.root).replace(os.sep, "/")
            else:
                pattern = posixpath.normpath(posixpath.join(here, argument))
            regex = glob_pattern(pattern)
            start = revision.entry(_literal_prefix(pattern))
            if not isinstance(start, Tree):
                continue
            matches = sorted(
                (p for p in _all_paths(start) if regex.fullmatch(p[0])), key=lambda p: p[0].split("/")
            )
            for rel, is_directory in matches:
                _, item = revision.resolve(rel)
                if is_directory and isinstance(item, Tree):
                    add_tree(item)
                elif isinstance(item, Blob) and rel.lower().endswith(YAML_SUFFIXES):
                    add(item, rel, explicit=False)
            continue
        rel = revision.relative(cwd, argument)
        target, item = revision.resolve(rel)
        if isinstance(item, Tree):
            add_tree(item)
        elif isinstance(item, Blob):
            add(item, rel, explicit=True, key=target)
    return collected


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
