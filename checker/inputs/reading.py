"""Reading one file of the checked tree, bounded: only regular files, never more than the limit.

The file is opened without blocking (a named pipe would otherwise wait for a writer forever) and
judged by ``fstat`` on the opened descriptor, so what is judged is what is read. Its size comes from
that ``fstat``; one ``os.read`` of size + 1 bytes reads it whole, and a file over the limit is not
read at all.
"""

from __future__ import annotations

import os
import stat

from checker.inputs.yamldoc import MAX_FILE_BYTES

_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
)
_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class Unreadable(Exception):
    """A file that is not read, for a reason the report states (a K0S001 finding at line 1)."""


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def not_regular(mode: int) -> Unreadable:
    return Unreadable(f"not a regular file ({kind_of(mode)}); it was not read")


def too_big(size: int) -> Unreadable:
    mib = 1024 * 1024
    return Unreadable(
        f"file is {size // mib} MiB, over the {MAX_FILE_BYTES // mib} MiB limit; it was not checked"
    )


def read_regular(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; Unreadable otherwise, OSError when
    it cannot be opened."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise not_regular(info.st_mode)
        if info.st_size > limit:
            raise too_big(info.st_size)
        data = os.read(fd, info.st_size + 1)
        if len(data) > info.st_size:  # it grew since fstat: read on, up to one byte over the limit
            chunks = [data]
            total = len(data)
            while total <= limit and (chunk := os.read(fd, limit + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
            if total > limit:
                raise too_big(total)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def link_out_of_tree(target: str) -> Unreadable:
    return Unreadable(f"symlink leads out of the repository (to {target}); it was not followed")


def link_broken() -> Unreadable:
    return Unreadable("symlink leads nowhere (broken, or a loop); it was not read")


def may_name_a_folder_or_yaml(name: str, yaml_suffixes: tuple[str, ...]) -> bool:
    """Whether a link's name is one a walk cares about when its target cannot be looked at (it is
    broken, or lies outside the tree): a YAML file's name, or a name without a suffix (a folder's)."""
    lowered = name.lower()
    return lowered.endswith(yaml_suffixes) or "." not in lowered.lstrip(".")
