"""Finding and reading the files of the working tree: walks, globs, named paths and links.

Every file is read at most once, under its real path, with one ``os.read`` (``checker.inputs.reading``)
and one pre-filter pass (``checker.inputs.prefilter``). Links are followed, never silently dropped:

- a link (to a file with a YAML name, or to a folder) whose target lies inside the tree (the
  repository root, or a folder named to be checked) is followed after the walk that found it, and
  what it leads to is checked under its real path, even when that path is excluded: the link is the
  name by which kustomize and Flux read it, and excludes apply to that name;
- a link that leaves the tree, or leads nowhere, is reported (a K0S001 finding) and not followed;
- a folder is walked once however many links lead into it, so a loop ends.

Walks and globs never descend into a linked folder themselves; only the link step does, once.
"""

from __future__ import annotations

import operator
import os
import posixpath
import stat
from collections.abc import Callable
from pathlib import Path

from checker.inputs.globs import glob_pattern, has_wildcard
from checker.inputs.reading import (
    Unreadable,
    link_broken,
    link_out_of_tree,
    may_name_a_folder_or_yaml,
    not_regular,
    read_regular,
)
from checker.inputs.roots import Tree
from checker.inputs.sources import YAML_SUFFIXES, Collected, Recorder, SourceError, display_path
from checker.records import dataclass

Match = tuple[str, str, os.DirEntry[str]]  # (path, real path, entry)
Skip = Callable[[str, str, bool, bool], bool]  # (absolute, shown, is_dir, parents_checked) -> skip it?

_entry_name = operator.attrgetter("name")


def _join(shown: str, name: str) -> str:
    return name if shown in ("", ".") else f"{shown}/{name}"


def _yaml_named(name: str) -> bool:
    return name.lower().endswith(YAML_SUFFIXES)


@dataclass(frozen=True)
class _Link:
    """A link found by a walk or a glob: where it is (real and shown) and the name it was reached by."""

    real: str  # the link itself, in a real folder
    shown: str
    reach: str  # the path it was reached by (through other links), which excludes apply to
    reach_shown: str
    parents_checked: bool


class Collector(Recorder):
    """Fills one ``Collected`` from the arguments of a run."""

    def __init__(
        self, collected: Collected, tree: Tree, cwd: Path, skip: Skip, prefilter_named: bool
    ) -> None:
        super().__init__(collected, prefilter_named)
        self.tree = tree
        self.cwd = cwd
        self.skip = skip
        self.walked: set[str] = set()  # real paths of the folders walked from the top
        self.bounds: list[str] = [tree.root]  # where a link may lead
        self.links: list[_Link] = []

    # --- arguments ---------------------------------------------------------------------------------

    def named(self, argument: str) -> None:
        """A path named on the command line: a folder is walked, a file read whatever it holds."""
        path = str(self.cwd / argument)
        shown = display_path(Path(path), self.cwd)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                self.unread(path, shown, str(link_broken()))
            else:
                self.collected.errors.append(SourceError(argument, "no such file or directory"))
            return
        except OSError as err:
            self.collected.errors.append(SourceError(shown, f"cannot read file: {err.strerror or err}"))
            return
        if stat.S_ISDIR(info.st_mode):
            self.walk(path, shown)
            return
        real = os.path.realpath(path)
        if os.path.islink(path) and not self._inside(real, os.path.realpath(os.path.dirname(path))):
            self.unread(real, shown, str(link_out_of_tree(_link_text(path))))
            return
        self._file(real, shown, path, shown, explicit=True, mode=info.st_mode)

    def walk(self, directory: str, shown: str, real: str | None = None) -> None:
        """A folder named or matched, and everything its links lead to inside the tree."""
        real = real or os.path.realpath(directory)
        self.bounds.append(real)
        self._walk(real, shown, directory, shown)
        self._follow_links()

    def glob(self, argument: str) -> None:
        """A pattern: the paths it matches, found without going through any link."""
        real_start, matches = glob_matches(argument, self.cwd)
        self.bounds.append(real_start)  # the folder a pattern names is part of what is checked
        if not matches:
            self.collected.errors.append(SourceError(argument, "no file matches this pattern"))
        for path, real, entry in matches:
            shown = display_path(Path(path), self.cwd)
            if entry.is_symlink():
                self.links.append(_Link(real, shown, path, shown, parents_checked=False))
            elif entry.is_dir(follow_symlinks=False):
                if not self.skip(path, shown, True, False):
                    self.walk(path, shown, real)
            elif _yaml_named(entry.name):
                self._file(real, shown, path, shown, parents_checked=False, mode=_mode(entry))
        self._follow_links()

    # --- walking -----------------------------------------------------------------------------------

    def _walk(self, real_root: str, shown_root: str, reach_root: str, reach_shown_root: str) -> None:
        """The YAML files below a real folder, in sorted order; links are kept for later.

        ``reach`` is the path by which the folder was reached (through a link, possibly): ignore
        rules apply to it. Paths are built as strings: this runs for every file of a large repository.
        """
        if real_root in self.walked:
            return
        self.walked.add(real_root)
        reach_root = real_root if reach_root == real_root else reach_root  # the same object: see below
        stack = [(real_root, shown_root, reach_root, reach_shown_root)]
        while stack:
            directory, shown_dir, reach_dir, reach_shown_dir = stack.pop()
            for entry in _entries(directory):
                name = entry.name
                if name == ".git":
                    continue
                shown = _join(shown_dir, name)
                if reach_dir is directory:  # not below a followed link: one path serves for both
                    reach, reach_shown = entry.path, shown
                else:
                    reach, reach_shown = reach_dir + os.sep + name, _join(reach_shown_dir, name)
                if entry.is_symlink():
                    self.links.append(_Link(entry.path, shown, reach, reach_shown, parents_checked=True))
                elif entry.is_dir(follow_symlinks=False):
                    if not self.skip(reach, reach_shown, True, True):
                        path = entry.path
                        stack.append((path, shown, path if reach is path else reach, reach_shown))
                elif _yaml_named(name):
                    mode = stat.S_IFREG if entry.is_file(follow_symlinks=False) else _mode(entry)
                    self._file(entry.path, shown, reach, reach_shown, parents_checked=True, mode=mode)

    def _follow_links(self) -> None:
        while self.links:
            self._follow(self.links.pop(0))

    def _follow(self, link: _Link) -> None:
        try:
            target: str | None = os.path.realpath(link.real, strict=True)
        except OSError:
            target = None
        if target is None or not self._inside(target):
            # what it leads to cannot be looked at: judged by its name, as PR mode must judge it too
            if may_name_a_folder_or_yaml(link.real.rsplit(os.sep, 1)[-1], YAML_SUFFIXES) and not self.skip(
                link.reach, link.reach_shown, False, link.parents_checked
            ):
                outside = target is not None or not self._inside(os.path.realpath(link.real))
                problem = link_out_of_tree(_link_text(link.real)) if outside else link_broken()
                self.unread(link.real, link.shown, str(problem))
            return
        is_dir = os.path.isdir(target)
        if not is_dir and not _yaml_named(link.real):
            return  # a link to a file by another name: the file is read under its own name, if at all
        if self.skip(link.reach, link.reach_shown, is_dir, link.parents_checked):
            return
        if is_dir:
            self._walk(target, self._shown_real(target), link.reach, link.reach_shown)
        else:
            self._file(target, self._shown_real(target), link.reach, link.reach_shown, parents_checked=True)

    # --- one file ----------------------------------------------------------------------------------

    def _file(
        self,
        real: str,
        shown: str,
        reach: str,
        reach_shown: str,
        *,
        explicit: bool = False,
        parents_checked: bool = False,
        mode: int | None = None,
    ) -> None:
        """Read one file (``mode``, when known, from its directory entry) unless it was read already."""
        if real in self.seen:
            return
        if not explicit and self.skip(reach, reach_shown, False, parents_checked):
            return
        if mode is not None and not stat.S_ISREG(mode):
            self.unread(real, shown, str(not_regular(mode)))
            return
        self.seen.add(real)
        collected = self.collected
        collected.files_seen += 1
        try:
            raw = read_regular(real)
        except Unreadable as err:
            collected.unread.append(SourceError(shown, str(err)))
            return
        except OSError as err:
            collected.errors.append(SourceError(shown, f"cannot read file: {err.strerror or err}"))
            return
        self.keep(raw, shown, explicit, *((reach_shown,) if reach_shown is shown else (reach_shown, shown)))

    # --- where things are ----------------------------------------------------------------------------

    def _inside(self, real: str, *more: str) -> bool:
        return any(
            real == bound or real.startswith(bound.rstrip(os.sep) + os.sep) for bound in (*self.bounds, *more)
        )

    def _shown_real(self, real: str) -> str:
        """How a real path is shown: relative to the current directory when below it."""
        return display_path(Path(real), Path(self.tree.cwd))


def glob_matches(argument: str, cwd: Path) -> tuple[str, list[Match]]:
    """The real path of the folder a pattern starts from, and (path, real path, entry) of what it
    matches there, sorted; found without going through a link, and a matched folder is not entered."""
    pattern = argument if os.path.isabs(argument) else posixpath.normpath(argument)
    regex = glob_pattern(pattern)
    parts = pattern.split("/")
    literal = 0  # how many leading parts are plain folder names
    while literal < len(parts) - 1 and not has_wildcard(parts[literal]):
        literal += 1
    prefix = "/".join(parts[:literal])
    rest = parts[literal:]
    depth = None if "**" in rest else len(rest)
    hidden = any(part.startswith(".") for part in rest)
    start = os.path.join(cwd, prefix or "/") if literal else str(cwd)
    real_start = os.path.realpath(start)
    found: list[Match] = []
    stack = [(start, real_start, prefix, 0)]
    while stack:
        directory, real_dir, rel, level = stack.pop()
        for entry in _entries(directory):
            name = entry.name
            if name == ".git":
                continue
            path = f"{rel}/{name}" if rel or literal else name
            real = real_dir + os.sep + name
            if regex.fullmatch(path):
                found.append((entry.path, real, entry))
            elif (
                entry.is_dir(follow_symlinks=False)
                and not entry.is_symlink()
                and (depth is None or level + 1 < depth)
                and (hidden or not name.startswith("."))
            ):
                stack.append((entry.path, real, path, level + 1))
    found.sort(key=lambda match: match[0].split(os.sep))
    return real_start, found


def _entries(directory: str) -> list[os.DirEntry[str]]:
    """A folder's entries by name, last first: a walk pops them in order."""
    try:
        return sorted(os.scandir(directory), key=_entry_name, reverse=True)
    except OSError:
        return []


def _mode(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return 0


def _link_text(link: str) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"
