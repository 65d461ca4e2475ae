"""A cluster's context comes along: when the named paths are part of a repository, the rest of each
named file's cluster is read too, so the file is judged as a whole-repository run judges it.

A cluster is grouped by folder (``checker.k0s.cluster``): a document belongs to the nearest folder
at or above it that holds a k0sctl file, else the nearest that holds a ClusterConfig, and the
cluster is everything below that folder. So for every named file (and every named directory) the
folders above it, up to the repository root, are looked at; the cluster's folder found there is
read in full (with the same excludes and `.gitignore`), and the files it adds are context: their
documents take part in grouping, the target version, the air gap, dynamic config and registries,
but findings in them are not reported. The pre-commit hook on one staged ClusterConfig therefore
sees the k0sctl file and the Plans beside it, and reports what CI reports for that file.

A stream on stdin has no place in the tree and gets no context (its configuration still applies).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from checker.inputs.roots import Tree
from checker.inputs.sources import (
    STDIN,
    YAML_SUFFIXES,
    Collected,
    Exclude,
    collect,
    display_path,
    mentions_k0s,
)
from checker.inputs.walk import glob_matches
from checker.inputs.yamldoc import parse_bytes
from checker.k0s.documents import K0sObject, Kind, classify
from checker.records import dataclass, replace

_MAX_SCAN_BYTES = 4 * 1024 * 1024  # a folder's own files, read to find k0sctl files and ClusterConfigs


@dataclass(frozen=True)
class _Folder:
    k0sctl: bool
    cluster_config: bool


FolderReader = Callable[[str], Iterable[tuple[str, bytes]]]
RootReader = Callable[[list[str]], Collected]


def add_context(
    collected: Collected,
    arguments: Sequence[str],
    *,
    cwd: Path,
    tree: Tree,
    ignore: Sequence[str] = (),
    excludes: Sequence[Exclude] = (),
    gitignore: bool = True,
    read_folder: FolderReader | None = None,
    read_roots: RootReader | None = None,
) -> int:
    """Adds the rest of each named path's cluster to ``collected`` as context sources (marked
    ``context``); returns how many files were added.

    ``read_folder`` (an absolute folder -> its YAML files' names and bytes) and ``read_roots``
    (shown folders -> what they hold) read something other than the working tree: PR mode passes
    readers of the base revision, so both sides of a comparison get the same context."""
    walked: list[str] = []  # directories read in full already
    starts: list[str] = []  # folders to look upwards from
    for argument in arguments:
        if argument == STDIN:
            continue
        if any(ch in argument for ch in "*?["):
            matches = [path for path, _, _ in glob_matches(argument, cwd)[1]]  # never through a link
        else:
            matches = [os.path.join(cwd, argument)]
        for match in matches:
            absolute = os.path.normpath(match)
            if os.path.isdir(absolute) and not os.path.islink(absolute):
                walked.append(absolute)
                starts.append(os.path.dirname(absolute))
            elif os.path.exists(absolute):
                starts.append(os.path.dirname(absolute))
    scanner = _Scanner(tree, read_folder or _folder_files)
    roots = sorted({root for start in dict.fromkeys(starts) if (root := scanner.cluster_root(start))})
    roots = [r for r in roots if not any(_within(r, w) for w in walked)]
    if not roots:
        return 0
    shown = [display_path(Path(root), cwd) for root in roots]
    if read_roots is not None:
        extra = read_roots(shown)
    else:
        extra = collect(shown, ignore=ignore, cwd=cwd, tree=tree, excludes=excludes, gitignore=gitignore)
    have = {source.path for source in collected.sources}
    added = 0
    for source in extra.sources:
        if source.path in have:
            continue
        have.add(source.path)
        collected.sources.append(replace(source, context=True))
        added += 1
    collected.context_files += added
    return added


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class _Scanner:
    """Looks at the files directly in the folders above the named paths, each folder once."""

    def __init__(self, tree: Tree, read_folder: FolderReader) -> None:
        self.tree = tree
        self.read_folder = read_folder
        self.folders: dict[str, _Folder] = {}

    def cluster_root(self, start: str) -> str | None:
        """The folder that holds the cluster of files in ``start``: the nearest at or above it (up to
        the repository root) with a k0sctl file, else the nearest with a ClusterConfig."""
        nearest_config = None
        directory = os.path.normpath(start)
        while _within(directory, self.tree.root):
            folder = self._folder(directory)
            if folder.k0sctl:
                return directory
            if folder.cluster_config and nearest_config is None:
                nearest_config = directory
            if directory == self.tree.root:
                break
            directory = os.path.dirname(directory)
        return nearest_config

    def _folder(self, directory: str) -> _Folder:
        if directory not in self.folders:
            self.folders[directory] = self._scan(directory)
        return self.folders[directory]

    def _scan(self, directory: str) -> _Folder:
        k0sctl = cluster_config = False
        for name, raw in self.read_folder(directory):
            if not mentions_k0s(raw):
                continue
            for obj in _objects(os.path.join(directory, name), raw):
                if obj.kind is Kind.K0SCTL_CLUSTER:
                    k0sctl = True
                elif obj.kind is Kind.CLUSTER_CONFIG and obj.owner is None:
                    cluster_config = True
        return _Folder(k0sctl, cluster_config)


def _folder_files(directory: str) -> Iterator[tuple[str, bytes]]:
    """The YAML files directly in a folder of the working tree (links and large files left out)."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if not entry.name.lower().endswith(YAML_SUFFIXES) or entry.is_symlink() or not entry.is_file():
            continue
        try:
            if entry.stat().st_size > _MAX_SCAN_BYTES:
                continue
            with open(entry.path, "rb") as handle:
                yield entry.name, handle.read()
        except OSError:
            continue


def _objects(path: str, raw: bytes) -> list[K0sObject]:
    parsed = parse_bytes(path, raw)
    return [
        item for document in parsed.documents for item in classify(document) if isinstance(item, K0sObject)
    ]
