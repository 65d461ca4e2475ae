"""Who wrote a pin: git blame of a finding's line (GitPython), and opening the revision an audit reads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.workflows.audit.model import LIVE_PREFIX, AuditError, Commit

if TYPE_CHECKING:
    from checker.inputs.gitsource import Revision

# --- who wrote a pin -----------------------------------------------------------------------------------


class Blame:
    """The commit that last wrote a line, from git blame over the work tree or one revision.

    One blame per file, read with GitPython (imported only here). Lines that are not committed yet
    have no commit. Outside a git repository nothing is named, and a note says so.
    """

    def __init__(self, cwd: Path, rev: str | None = None) -> None:
        self.cwd = cwd
        self.rev = rev
        self.notes: list[str] = []
        self._lines: dict[str, list[Commit | None]] = {}
        self._root: Path | None = None
        self._repo: Any = None
        self._opened = False

    def _open(self) -> Any:
        if self._opened:
            return self._repo
        self._opened = True
        try:
            import git
        except ImportError:
            self.notes.append("GitPython or git is not available: the commits of stale pins are not named")
            return None
        try:
            self._repo = git.Repo(self.cwd, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            self.notes.append(
                f"{self.cwd} is not in a git repository: the commits of stale pins are not named"
            )
            return None
        if self._repo.working_tree_dir is None:
            self._repo = None
            return None
        self._root = Path(os.path.realpath(self._repo.working_tree_dir))
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def commit_of(self, path: str, line: int) -> Commit | None:
        if path.startswith(LIVE_PREFIX) or line < 1:
            return None
        if path not in self._lines:
            self._lines[path] = self._blame(path)
        lines = self._lines[path]
        return lines[line - 1] if line <= len(lines) else None

    def _blame(self, path: str) -> list[Commit | None]:
        repo = self._open()
        if repo is None or self._root is None:
            return []
        from git.exc import GitCommandError

        absolute = Path(os.path.realpath(self.cwd / path))
        try:
            relative = absolute.relative_to(self._root).as_posix()
        except ValueError:
            return []
        try:
            blamed = repo.blame(self.rev, relative, w=True)
        except (GitCommandError, ValueError) as err:
            self.notes.append(f"git blame {relative}: {str(err).strip().splitlines()[0]}")
            return []
        lines: list[Commit | None] = []
        zero = "0" * 40
        for entry in blamed or []:
            commit, text = entry[0], entry[1]
            if commit.hexsha == zero:
                found = None
            else:
                found = Commit(
                    commit.hexsha,
                    commit.authored_datetime.isoformat(),
                    str(commit.author.name or ""),
                    str(commit.author.email or ""),
                    str(commit.summary),
                )
            lines += [found] * len(text)
        return lines


def open_ref(cwd: Path, ref: str) -> Revision:
    """The revision ``ref`` names, exactly (not a merge base), for ``checker.inputs.gitsource`` to read."""
    from checker.inputs.gitsource import GitSourceError, Revision

    if not ref or ref.startswith("-"):
        raise AuditError(f"--ref {ref!r}: not a git revision")
    import git
    from git.exc import BadName, BadObject, GitCommandError

    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise AuditError(f"--ref needs a git repository, and {cwd} is not inside one") from None
    if repo.working_tree_dir is None:
        repo.close()
        raise AuditError("--ref needs a repository with a work tree, not a bare one")
    try:
        commit = repo.commit(ref)
        commit.tree  # noqa: B018 - reading the tree proves the commit's objects are present
    except (BadName, BadObject, GitCommandError, ValueError, IndexError, GitSourceError) as err:
        repo.close()
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise AuditError(f"--ref {ref}: unknown revision ({first})") from None
    root = Path(os.path.realpath(repo.working_tree_dir))
    return Revision(repo, root, ref, commit, f"{ref} itself")


def head_commit(cwd: Path) -> str:
    """The sha of HEAD of the repository holding ``cwd``, or "" outside one."""
    try:
        import git
    except ImportError:
        return ""
    try:
        with git.Repo(cwd, search_parent_directories=True) as repo:
            return str(repo.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return ""
