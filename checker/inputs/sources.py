"""Where the bytes come from: paths, directories, globs, stdin; ignore rules; what was read.

The walk itself (links, globs, reading each file once) is ``checker.inputs.walk``."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from checker.inputs.globs import has_wildcard, literal_prefix
from checker.inputs.prefilter import as_utf8, mentions_k0s
from checker.inputs.roots import STDIN_LABEL, Tree, under
from checker.records import dataclass, field

__all__ = ["mentions_k0s"]  # the pre-filter, where its users look for it

YAML_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One input: a display path (relative to the current directory where possible) and its bytes."""

    path: str
    raw: bytes
    explicit: bool = False
    context: bool = False  # read only for its cluster's sake (checker.workflows.context): not reported on
    encoding: str = "utf-8"  # what the file was written in; ``raw`` is always UTF-8 (or undecodable)


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
    unread: list[SourceError] = field(default_factory=list)  # found but not read: K0S001 findings


class Recorder:
    """What both collections (the working tree, ``checker.inputs.walk``, and a git revision,
    ``checker.inputs.gitsource``) do with a file they found: report it unread, or pass it through
    the pre-filter and keep its bytes. ``seen`` holds the real paths recorded, each once."""

    def __init__(self, collected: Collected, prefilter_named: bool = False) -> None:
        self.collected = collected
        self.prefilter_named = prefilter_named
        self.seen: set[str] = set()

    def unread(self, key: str, shown: str, message: str) -> None:
        if key in self.seen:
            return
        self.seen.add(key)
        self.collected.files_seen += 1
        self.collected.unread.append(SourceError(shown, message))

    def keep(self, raw: bytes, shown: str, explicit: bool, *names: str) -> None:
        """A file read (and counted): kept when it could be ours, by content or by one of ``names``."""
        collected = self.collected
        if not mentions_k0s(raw) and not any(map(named_like_k0s, names)):
            if explicit and self.prefilter_named:
                collected.files_seen -= 1  # a named file outside our concern is not counted as read
                return
            if not explicit:
                collected.files_prefiltered += 1
                return
        raw, encoding = as_utf8(raw)
        collected.sources.append(Source(shown, raw, explicit, encoding=encoding))


#: File names people give k0s and k0sctl configurations. Such a file is read even when it never
#: mentions k0s (``k0s --config`` needs neither apiVersion nor kind), and one that holds no k0s
#: document is reported instead of silently skipped.
K0S_CONFIG_STEMS = frozenset({"k0s", "k0sctl", "k0s-config", "k0sctl-config", "k0s.config"})


def named_like_k0s(path: str) -> bool:
    name = path[path.rfind("/") + 1 :].lower()
    if "k0s" not in name:  # every name in K0S_CONFIG_STEMS has it; asked for every file of a walk
        return False
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
    ignores (``gitignore``), are not read; a file named on the command line always is. Files that are
    found but not read (not regular files, over the size limit, links out of the tree) are listed in
    ``unread``, to be reported.
    """
    from checker.inputs.walk import Collector  # the walk builds on this module's types

    cwd = cwd or Path.cwd()
    arguments = list(arguments)
    tree = tree or Tree.find(start_of(arguments, cwd), cwd)
    collected = Collected(tree=tree)
    skip = _skipper(tree, [Exclude(tree.here, tuple(ignore), anywhere=True), *excludes], gitignore)
    collector = Collector(collected, tree, cwd, skip, prefilter_named)
    for argument in arguments:
        if argument == STDIN:
            data = stdin if stdin is not None else sys.stdin.buffer.read()
            collected.files_seen += 1
            collected.sources.append(Source(STDIN_LABEL, data, True))
        elif has_wildcard(argument):
            collector.glob(argument)
        else:
            collector.named(argument)
    return collected


def start_of(arguments: Sequence[str], cwd: Path) -> str:
    """Where the repository (and `.k0s-policy.yaml`) is looked up from: the folder of the first path
    named, relative to ``cwd`` (stdin: the current directory)."""
    for argument in arguments:
        if argument == STDIN:
            return "."
        if has_wildcard(argument):
            return literal_prefix(argument) or "."
        return argument if (cwd / argument).is_dir() else (os.path.dirname(argument) or ".")
    return "."
