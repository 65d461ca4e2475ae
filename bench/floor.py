"""The floor under a whole-repository check: a process that only walks, reads, pre-filters and composes.

    python bench/floor.py [DIR]

Walks DIR (default: the current directory) the way `k0s-policy check` does (sorted, .git and symlinks
skipped, files ending in .yaml, .yml or .json), reads each file with one os.read of the size the
directory entry reports, tests it once for "k0s" in any case, and composes every document of the files
that pass with libyaml (yaml.compose_all, CSafeLoader): the node trees a checker needs before it can
look at anything. Nothing is checked. Prints "<files> files, <passed> passed, <documents> documents".
The benchmark (bench/bench_check.py) reports the whole check's time as a multiple of this one's.
"""

from __future__ import annotations

import os
import sys

import yaml

SUFFIXES = (".yaml", ".yml", ".json")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def walk(root: str) -> list[str]:
    """The YAML files below ``root`` in sorted order, as the checker's walk finds them."""
    found: list[str] = []
    stack = [root]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name, reverse=True)
        for entry in entries:
            if entry.name == ".git" or entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.name.lower().endswith(SUFFIXES):
                found.append(entry.path)
    return found


def read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, os.fstat(fd).st_size + 1)
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    files = walk(argv[0] if argv else ".")
    passed = documents = 0
    for path in files:
        raw = read(path)
        if b"k0s" not in raw.lower():
            continue
        passed += 1
        documents += sum(1 for node in yaml.compose_all(raw, Loader=_Loader) if node is not None)
    print(f"{len(files)} files, {passed} passed, {documents} documents")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
