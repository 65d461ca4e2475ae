"""Where the bytes come from: paths, directories, globs, stdin; ignore rules; the cheap pre-filter."""

from __future__ import annotations

import fnmatch
import glob
import operator
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from checker.inputs.roots import STDIN_LABEL, Tree, under

YAML_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One input: a display path (relative to the current directory where possible) and its bytes."""

    path: str
    raw: bytes
    explicit: bool = False
    context: bool = False  # read only for its cluster's sake (checker.workflows.context): not reported on


@dataclass(frozen=True)
class SourceError:
    path: str
    message: str


@dataclass
class Collected:
    sources: list[Source] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    files_seen: int = 0
    files_prefiltered: int = 0
    tree: Tree | None = None  # where the run stands: canonical names of the sources come from it
    context_files: int = 0  # sources read as context of the named ones (not counted in files_seen)


def mentions_k0s(raw: bytes) -> bool:
    """The pre-filter: every k0s, k0sctl and autopilot document names its apiVersion with "k0s" in it;
    a file without those three letters cannot be one of ours (or a near-miss of one), so it is not
    parsed at all. This is what keeps a repository of ten thousand ordinary manifests cheap."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 text: the bytes of "k0s" are interleaved with zeros, so parse it
    # Four memchr-fast substring tests beat one regex: durations like "30s" make "0s" common.
    return b"k0s" in raw or b"K0s" in raw or b"k0S" in raw or b"K0S" in raw


#: File names people give k0s and k0sctl configurations. Such a file is read even when it never
#: mentions k0s (``k0s --config`` needs neither apiVersion nor kind), and one that holds no k0s
#: document is reported instead of silently skipped.
K0S_CONFIG_STEMS = frozenset({"k0s", "k0sctl", "k0s-config", "k0sctl-config", "k0s.config"})


def named_like_k0s(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and f".{suffix}" in YAML_SUFFIXES and stem in K0S_CONFIG_STEMS


def display_path(path: Path, cwd: Path) -> str:
    """Relative to the current directory when the file lies below it, else absolute."""
    absolute = path if path.is_absolute() else cwd / path
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return absolute.as_posix()


def is_ignored(relative: str, patterns: Sequence[str]) -> bool:
    """A path is ignored when a pattern matches it or one of its parent directories."""
    if not patterns:
        return False
    parts = relative.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pattern) or fnmatch.fnmatchcase(candidate, f"**/{pattern}"):
                return True
            if "/" not in pattern and fnmatch.fnmatchcase(candidate.rsplit("/", 1)[-1], pattern):
                return True
    return False


@dataclass(frozen=True)
class Exclude:
    """Exclude patterns written relative to one folder of the repository (``base``, its canonical
    name; "" is the root): `.k0s-policy.yaml` patterns are relative to the folder that holds it,
    ``--exclude`` to the current directory. They apply only below that folder."""

    base: str
    patterns: tuple[str, ...]
    anywhere: bool = False  # --exclude: a path outside the current directory is matched as shown

    def matches(self, canonical: str, shown: str = "") -> bool:
        relative = under(canonical, self.base)
        if relative is None and self.anywhere and shown:
            relative = shown
        return relative is not None and relative != "" and is_ignored(relative, self.patterns)


def _skipper(
    tree: Tree, excludes: Sequence[Exclude], gitignore: bool
) -> Callable[[str, str, bool, bool], bool]:
    """The one test every found path passes: (absolute, shown, is_dir, parents_checked) -> skip it?

    A walk prunes directories, so it asks only about each entry's own name (``parents_checked``);
    a glob's match is asked about in full."""
    excludes = [e for e in excludes if e.patterns]
    matcher = None
    if gitignore and tree.git:
        from checker.inputs.gitignore import GitIgnore

        matcher = GitIgnore(tree.root)

    def skip(absolute: str, shown: str, is_dir: bool, parents_checked: bool) -> bool:
        if excludes:
            canonical = tree.canonical(shown)
            if any(e.matches(canonical, shown) for e in excludes):
                return True
        if matcher is None:
            return False
        real = os.path.realpath(absolute) if not parents_checked else os.path.abspath(absolute)
        if not parents_checked:
            return matcher.ignored(real, is_dir)
        return matcher.directory_ignored(real) if is_dir else matcher.file_ignored(real)

    return skip


_entry_name = operator.attrgetter("name")


def _join(shown: str, name: str) -> str:
    return name if shown in ("", ".") else f"{shown}/{name}"


def _walk(
    root: str, shown_root: str, skip: Callable[[str, str, bool, bool], bool]
) -> Iterator[tuple[str, str]]:
    """(absolute path, display path) of the YAML files below root, in sorted order.

    Skips .git, ignored directories (without descending into them) and every symlink: links out of
    the tree are never followed, and links inside it point at files the walk reads at their real
    path anyway. Paths are built as strings: this runs for every file of a large repository.
    """
    stack = [(root, shown_root)]
    while stack:
        directory, shown_dir = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=_entry_name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name == ".git" or entry.is_symlink():
                continue
            shown = _join(shown_dir, name)
            if entry.is_dir(follow_symlinks=False):
                if not skip(entry.path, shown, True, True):
                    stack.append((entry.path, shown))
            elif name.lower().endswith(YAML_SUFFIXES):
                yield entry.path, shown


def _expand(argument: str, cwd: Path) -> list[Path] | None:
    if any(ch in argument for ch in "*?["):
        return sorted(cwd / p for p in glob.glob(argument, root_dir=cwd, recursive=True))
    return None


def _read(path: str) -> bytes:
    # os-level reads: no buffered file object per file, which shows on ten thousand files.
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        chunks = [os.read(fd, max(size, 1) + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def collect(
    arguments: Iterable[str],
    ignore: Sequence[str] = (),
    cwd: Path | None = None,
    stdin: bytes | None = None,
    prefilter_named: bool = False,
    *,
    tree: Tree | None = None,
    excludes: Sequence[Exclude] = (),
    gitignore: bool = True,
) -> Collected:
    """Read every input named on the command line. Unreadable inputs become errors, not exceptions.

    Named files are read even when they never mention k0s, unless ``prefilter_named``: then they pass
    the same pre-filter as walked files (pre-commit names every staged YAML file, Helm templates too).
    ``ignore`` holds patterns relative to the current directory (``--exclude``), ``excludes`` those
    written elsewhere (`.k0s-policy.yaml`). Found files (walks and globs) that match one, or that git
    ignores (``gitignore``), are not read; a file named on the command line always is.
    """
    cwd = cwd or Path.cwd()
    arguments = list(arguments)
    tree = tree or Tree.find(start_of(arguments, cwd), cwd)
    collected = Collected(tree=tree)
    seen: set[str] = set()
    here = tree.here
    skip = _skipper(tree, [Exclude(here, tuple(ignore), anywhere=True), *excludes], gitignore)

    def add(path: str, shown: str, explicit: bool, walked: bool = False) -> None:
        # Walks never follow links, so the absolute path identifies a file; only arguments may be links.
        key = os.path.realpath(path) if explicit else os.path.abspath(path)
        if key in seen:
            return
        seen.add(key)
        if not explicit and skip(path, shown, False, walked):
            return
        collected.files_seen += 1
        try:
            raw = _read(path)
        except OSError as err:
            collected.errors.append(SourceError(shown, f"cannot read file: {err.strerror or err}"))
            return
        if not mentions_k0s(raw) and not named_like_k0s(shown):
            if explicit and prefilter_named:
                collected.files_seen -= 1  # a named file outside our concern is not counted as read
                return
            if not explicit:
                collected.files_prefiltered += 1
                return
        collected.sources.append(Source(shown, raw, explicit))

    def add_tree(directory: Path) -> None:
        shown_root = display_path(directory, cwd)
        for path, shown in _walk(str(directory), shown_root, skip):
            add(path, shown, explicit=False, walked=True)

    for argument in arguments:
        if argument == STDIN:
            data = stdin if stdin is not None else sys.stdin.buffer.read()
            collected.files_seen += 1
            collected.sources.append(Source(STDIN_LABEL, data, True))
            continue
        expanded = _expand(argument, cwd)
        if expanded is not None:
            if not expanded:
                collected.errors.append(SourceError(argument, "no file matches this pattern"))
            for path in expanded:
                if path.is_symlink():
                    continue  # a pattern is a walk: links are not followed (name the file to read it)
                if path.is_dir():
                    if not skip(str(path), display_path(path, cwd), True, False):
                        add_tree(path)
                elif path.suffix.lower() in YAML_SUFFIXES:
                    add(str(path), display_path(path, cwd), explicit=False)
            continue
        path = cwd / argument
        if path.is_dir():
            add_tree(path)
        elif path.exists() or path.is_symlink():
            add(str(path), display_path(path, cwd), explicit=True)
        else:
            collected.errors.append(SourceError(argument, "no such file or directory"))
    return collected


def start_of(arguments: Sequence[str], cwd: Path) -> str:
    """Where the repository (and `.k0s-policy.yaml`) is looked up from: the folder of the first path
    named, relative to ``cwd`` (stdin: the current directory)."""
    for argument in arguments:
        if argument == STDIN:
            return "."
        if any(ch in argument for ch in "*?["):
            # the literal directories before the first wildcard
            literal = []
            for part in argument.split("/")[:-1]:
                if any(ch in part for ch in "*?["):
                    break
                literal.append(part)
            return "/".join(literal) or "."
        return argument if (cwd / argument).is_dir() else (os.path.dirname(argument) or ".")
    return "."
