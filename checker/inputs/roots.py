"""Where a run stands: the repository root, and the two names every input has.

A file has one canonical name, its path relative to the repository root (the git top level; outside
git, the folder of the `.k0s-policy.yaml` in use, else the current directory), and one shown name,
relative to the current directory when it lies below it (else absolute). Everything that must give
the same answer wherever the tool is started from works on canonical names: cluster roots and
names, `.k0s-policy.yaml` patterns, fingerprints and baselines. Only reports show the other one.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from checker.records import dataclass, field

STDIN_LABEL = "<stdin>"


def git_root(start: Path | str) -> Path | None:
    """The top directory of the git work tree that holds ``start`` (a `.git` directory or file)."""
    directory = Path(os.path.realpath(start))
    for candidate in (directory, *directory.parents):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return None


def under(path: str, base: str) -> str | None:
    """``path`` relative to ``base`` (both canonical, "" is the root), or None when it is not below it."""
    if not base:
        return None if path.startswith("/") else path
    if path == base:
        return ""
    if path.startswith(base + "/"):
        return path[len(base) + 1 :]
    return None


@dataclass(frozen=True)
class Tree:
    """The repository root and the current directory of one run (absolute, symlinks resolved)."""

    root: str
    cwd: str
    git: bool = False
    # shown name -> canonical name: every finding, object and cluster of a run asks again
    _canonical: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def find(cls, start: Path | str, cwd: Path | str, fallback: Path | str | None = None) -> Tree:
        """The tree ``start`` lies in: its git top level, else ``fallback``, else the current directory."""
        here = os.path.realpath(cwd)
        found = git_root(os.path.join(here, start))
        if found is not None:
            return cls(str(found), here, True)
        return cls(os.path.realpath(os.path.join(here, fallback)) if fallback else here, here, False)

    @classmethod
    def at(cls, cwd: Path | str) -> Tree:
        """A tree rooted at the current directory (no repository): canonical and shown names agree."""
        here = os.path.realpath(cwd)
        return cls(here, here, False)

    def canonical(self, shown: str) -> str:
        """The repository-relative name of a path as shown (or as given, relative to the current
        directory); absolute when it lies outside the repository. ``<stdin>`` keeps its name."""
        if shown == STDIN_LABEL:
            return shown
        known = self._canonical.get(shown)
        if known is None:
            known = self._canonical[shown] = self._relative(os.path.normpath(os.path.join(self.cwd, shown)))
        return known

    def canonical_dir(self, shown: str) -> str:
        """The canonical folder of a shown file: for stdin, the current directory (a rendered stream
        is the directory it was rendered from)."""
        if shown == STDIN_LABEL:
            return self.here
        return posixpath.dirname(self.canonical(shown))

    @property
    def here(self) -> str:
        """The current directory's canonical name ("" at the root)."""
        return self._relative(self.cwd)

    def absolute(self, canonical: str) -> str:
        return canonical if os.path.isabs(canonical) else os.path.join(self.root, *canonical.split("/"))

    def shown(self, canonical: str) -> str:
        """How a canonical path is shown: relative to the current directory when below it."""
        if canonical == STDIN_LABEL:
            return canonical
        absolute = self.absolute(canonical)
        rel = os.path.relpath(absolute, self.cwd)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return Path(absolute).as_posix()
        return Path(rel).as_posix()

    def prefix(self, directory: Path | str) -> str | None:
        """The canonical name of a directory, or None when it lies outside the repository."""
        name = self._relative(os.path.realpath(os.path.join(self.cwd, directory)))
        return None if os.path.isabs(name) else name

    def _relative(self, absolute: str) -> str:
        rel = os.path.relpath(absolute, self.root)
        if rel == os.curdir:
            return ""
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return Path(absolute).as_posix()
        return Path(rel).as_posix()
