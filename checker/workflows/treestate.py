"""What a whole-repository walk saw, recorded by ``lstat``, so that a warm run can skip the walk and the
pre-filter of ten thousand files that never mention k0s.

A snapshot names every directory, file and link below the repository root (``.git`` only by its
existence and its ``info/exclude``, which the walk reads) and holds one digest of their inodes, sizes,
modes, modification and change times and links' targets. A directory's times change when an entry is
added, removed or renamed in it, a file's change time whenever its content or mode changes (it cannot
be set back), so while the digest of the same paths still comes out the same, the walk would find the
same files with the same bytes, and the sources the run read are those the snapshot's run read. Their
bytes are still read and hashed into the result key (checker.workflows.cache): only the files the
pre-filter dropped are trusted by stat.

The check is one ``lstat`` a path and nothing else per path: the names are stored as one string split
once, the stat fields go into an array hashed in one call (a warm run of the benchmark repository
checks 15,000 paths; reading them as JSON rows and comparing row by row cost more than the lstat).

A snapshot is refused when anything in it changed since ``RACY_NS`` before its run began: a change
within the file system's clock resolution of the walk could otherwise keep the times it had.
"""

from __future__ import annotations

import os
import stat
from array import array
from collections.abc import Iterator
from typing import Any

RACY_NS = 2_000_000_000  # coarser than any file system's time resolution that matters here (HFS+: 1 s)
FORMAT = 2  # of a snapshot's fields; another one is a miss
_GIT_FILES = (os.path.join(".git", "info", "exclude"),)
_ABSENT = (-1, -1, -1, -1, -1)
_SEP = "\n"  # a path that holds it cannot be recorded (the walk goes on; the snapshot is not made)

Snapshot = dict[str, Any]


def snapshot(root: str, since_ns: int) -> Snapshot | None:
    """The snapshot of the tree below ``root``, or None when an entry changed after
    ``since_ns - RACY_NS`` (racy), a name cannot be recorded or the tree cannot be read."""
    paths: list[str] = []
    git: list[list[Any]] = []
    digest = _Digest()
    try:
        for path, status in _walk(root, git):
            if _SEP in path:
                return None
            if status is not None and max(status.st_mtime_ns, status.st_ctime_ns) >= since_ns - RACY_NS:
                return None
            paths.append(path)
            digest.add(path, status)
    except OSError:
        return None
    return {"format": FORMAT, "paths": _SEP.join(paths), "git": git, "digest": digest.hexdigest()}


def _walk(root: str, git: list[list[Any]]) -> Iterator[tuple[str, os.stat_result | None]]:
    for name in _GIT_FILES:
        path = os.path.join(root, name)
        try:
            yield path, os.lstat(path)
        except OSError:
            yield path, None
    stack = [root]
    while stack:
        directory = stack.pop()
        yield directory, os.lstat(directory)
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            if entry.name == ".git":
                git.append([entry.path, entry.is_dir(follow_symlinks=False)])
                continue
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(status.st_mode):
                stack.append(entry.path)
            else:
                yield entry.path, status


def unchanged(state: Snapshot) -> bool:
    """Every path of a snapshot (as read back from JSON) still has the state it had.

    Raises KeyError, TypeError or ValueError for a snapshot of another shape."""
    if state["format"] != FORMAT:
        return False
    for path, is_dir in state["git"]:
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode) is not is_dir:
                return False
        except OSError:
            return False
    digest = _Digest()
    add = digest.add
    lstat = os.lstat
    for path in state["paths"].split(_SEP):
        try:
            status = lstat(path)
        except OSError:
            add(path, None)
        else:
            add(path, status)
    return digest.hexdigest() == state["digest"]


class _Digest:
    """The digest of a sequence of (path, lstat result or None): the fields in an array of int64s,
    link targets beside it."""

    def __init__(self) -> None:
        self.values = array("q")
        self.links: list[str] = []

    def add(self, path: str, status: os.stat_result | None) -> None:
        if status is None:
            self.values.extend(_ABSENT)
            return
        fields = (status.st_mode, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        size = len(self.values)
        try:
            self.values.extend(fields)
        except OverflowError:  # an inode number or time beyond int64: wrapped, the same way each time
            del self.values[size:]
            self.values.extend(((v + 2**63) % 2**64) - 2**63 for v in fields)
        if stat.S_ISLNK(status.st_mode):
            self.links.append(f"{path}\0{os.readlink(path)}")

    def hexdigest(self) -> str:
        import hashlib

        digest = hashlib.sha256(self.values.tobytes())
        digest.update("\0\0".join(self.links).encode("utf-8", "surrogateescape"))
        return digest.hexdigest()
