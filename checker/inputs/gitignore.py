"""`.gitignore` for directory walks, with git's own semantics (the `pathspec` library).

Every `.gitignore` from the repository root down to a file's folder applies to the paths below its
own folder; the deepest one with a matching pattern decides (a `!pattern` re-includes), and
`.git/info/exclude` counts as the root's lowest-priority file. A file below an ignored directory
stays ignored, as in git. `*` does not cross `/`, `**` does. Only work trees of a git repository
are filtered: outside git, a `.gitignore` means nothing to anyone.
"""

from __future__ import annotations

import os

import pathspec

_MAX_GITIGNORE_BYTES = 1024 * 1024


class GitIgnore:
    """Answers "would git ignore this path?" for the work tree at ``root`` (absolute, resolved)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._directories: dict[str, bool] = {}

    def ignored(self, absolute: str, is_dir: bool = False) -> bool:
        """True when git would ignore the file or directory (or a directory above it)."""
        rel = os.path.relpath(absolute, self.root)
        if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return False
        parts = rel.replace(os.sep, "/").split("/")
        for depth in range(1, len(parts)):
            if self._directory_ignored(parts[:depth]):
                return True
        return self._decide(parts, is_dir)

    def directory_ignored(self, absolute: str) -> bool:
        """For walks that prune: the parents of ``absolute`` were already found not ignored."""
        rel = os.path.relpath(absolute, self.root)
        if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return False
        return self._directory_ignored(rel.replace(os.sep, "/").split("/"))

    def file_ignored(self, absolute: str) -> bool:
        """For walks that prune: only the file's own name is left to decide."""
        rel = os.path.relpath(absolute, self.root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return False
        return self._decide(rel.replace(os.sep, "/").split("/"), False)

    def _directory_ignored(self, parts: list[str]) -> bool:
        key = "/".join(parts)
        if key not in self._directories:
            self._directories[key] = self._decide(parts, True)
        return self._directories[key]

    def _decide(self, parts: list[str], is_dir: bool) -> bool:
        # The deepest .gitignore with a pattern that matches decides; its last matching pattern wins.
        for depth in range(len(parts) - 1, -1, -1):
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            result = spec.check_file("/".join(parts[depth:]) + ("/" if is_dir else ""))
            if result.include is not None:
                return bool(result.include)
        return False

    def _spec(self, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
        if rel_dir not in self._specs:
            directory = os.path.join(self.root, *rel_dir.split("/")) if rel_dir else self.root
            lines = _lines(os.path.join(directory, ".gitignore"))
            if not rel_dir:
                lines = [*_lines(os.path.join(self.root, ".git", "info", "exclude")), *lines]
            self._specs[rel_dir] = _compile(lines) if lines else None
        return self._specs[rel_dir]


def _compile(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """git skips a line it cannot read as a pattern (a lone `!` or `\\`); so does this."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # pathspec's pattern errors have no common public base across versions
        usable = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:
                continue
            usable.append(line)
        return pathspec.GitIgnoreSpec.from_lines(usable)


def _lines(path: str) -> list[str]:
    try:
        if os.path.getsize(path) > _MAX_GITIGNORE_BYTES:
            return []
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:  # no such file (the common case), or .git is a file (a worktree): nothing to add
        return []
