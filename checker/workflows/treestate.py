"""What a whole-repository walk saw, recorded by ``lstat``, so that a warm run can skip the walk and the
pre-filter of ten thousand files that never mention k0s.

A snapshot lists every directory, file and link below the repository root (``.git`` only by its
existence and its ``info/exclude``, which the walk reads), with inode, size, mode, modification and
change times and a link's target. A directory's times change when an entry is added, removed or
renamed in it, a file's change time whenever its content or mode changes (it cannot be set back), so
while every row still matches, the walk would find the same files with the same bytes, and the
sources the run read are those the snapshot's run read. Their bytes are still read and hashed into
the result key (checker.workflows.cache): only the files the pre-filter dropped are trusted by stat.

A snapshot is refused when anything in it changed since ``RACY_NS`` before its run began: a change
within the file system's clock resolution of the walk could otherwise keep the times it had.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Any

RACY_NS = 2_000_000_000  # coarser than any file system's time resolution that matters here (HFS+: 1 s)
_GIT_FILES = (os.path.join(".git", "info", "exclude"),)

Row = list[Any]


def _row(path: str, status: os.stat_result) -> Row:
    link = os.readlink(path) if stat.S_ISLNK(status.st_mode) else ""
    return [path, status.st_mode, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns, link]


def _state(path: str) -> Row:
    try:
        return _row(path, os.lstat(path))
    except OSError:
        return [path, None]


def snapshot(root: str, since_ns: int) -> list[Row] | None:
    """The rows below ``root``, or None when one changed after ``since_ns - RACY_NS`` (racy) or the
    tree cannot be read."""
    rows: list[Row] = []
    try:
        for row in _walk(root):
            if row[1] is not None and max(row[4], row[5]) >= since_ns - RACY_NS:
                return None
            rows.append(row)
    except OSError:
        return None
    return rows


def _walk(root: str) -> Iterator[Row]:
    yield from (_state(os.path.join(root, name)) for name in _GIT_FILES)
    stack = [root]
    while stack:
        directory = stack.pop()
        yield _row(directory, os.lstat(directory))
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            if entry.name == ".git":
                yield [entry.path, "git", entry.is_dir(follow_symlinks=False)]
                continue
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(status.st_mode):
                stack.append(entry.path)
            else:
                yield _row(entry.path, status)


def unchanged(rows: list[Row]) -> bool:
    """Every row of a snapshot still holds (for a JSON-read snapshot: lists, as written)."""
    for row in rows:
        path = row[0]
        if len(row) == 3 and row[1] == "git":
            try:
                if stat.S_ISDIR(os.lstat(path).st_mode) is not row[2]:
                    return False
            except OSError:
                return False
        elif _state(path) != row:
            return False
    return True
