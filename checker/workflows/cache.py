"""`check`'s result cache: a run whose every input is unchanged reads its findings from disk.

One entry per run, named by the hash of everything the run's findings depend on (``run_key``): the
tool (its version, its own files, Python and the libraries that parse and validate), the release data
(built-in and user directories, by content), the settings the command line and `.k0s-policy.yaml`
give (passed in by the caller), the day (ignore entries expire), the environment variables the files
could name (k0sctl substitutes them), and every source the run read, by path and content. A hit is
therefore the answer a fresh run would give.

The cache is keyed per run and not per cluster: which files form a cluster is only known after every
file is parsed and grouped, and parsing is most of a run; a per-cluster entry could only save the
checks of an unchanged cluster, while a warm run must skip the parsing too.

Entries are JSON (never pickle: a planted file must not run code). A file that cannot be read, does
not parse, holds another key or has the wrong shape is a miss and is overwritten. Writes go to a
temporary file renamed into place. A directory that cannot be created or written turns the cache off
for the run, silently: caching is an optimisation, never a reason to fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.findings import Finding, Severity

if TYPE_CHECKING:
    from checker.inputs.sources import Collected
from checker.records import dataclass, fields

APP_NAME = "k0s-policy"
NO_CACHE_ENV = "K0S_POLICY_NO_CACHE"
FORMAT = 1
MAX_ENTRIES = 256  # older entries are removed beyond this many
_MAGIC = "k0s-policy result cache"
_TAG = b"Signature: 8a477f597d28d172789f06886806bc55\n# k0s-policy's result cache (--no-cache, --cache-dir)\n"
_INTERNAL_ERROR = "K0S008"  # checker.rules.core.INTERNAL_ERROR, not imported: a hit must not load the rules
_FIELDS = tuple(f.name for f in fields(Finding))
_INT_FIELDS = frozenset({"line", "column"})
# $VAR and ${VAR...}: the names a k0sctl file can take from the environment (checker.k0s.envsubst)
_ESCAPED_DOLLAR = re.compile(rb"\\(?:x24|u0024|U00000024)")
_VARIABLE = re.compile(rb"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_LIBRARIES = frozenset(
    {"pyyaml", "jsonschema", "jsonschema-specifications", "referencing", "packaging", "pathspec"}
)


def default_dir(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> Path:
    """$XDG_CACHE_HOME/k0s-policy (an absolute one), else the platform's user cache folder."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "win32":
        base = env.get("LOCALAPPDATA", "")
        return (Path(base) if base else home / "AppData" / "Local") / APP_NAME / "cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / APP_NAME
    base = env.get("XDG_CACHE_HOME", "")
    return (Path(base) if base and Path(base).is_absolute() else home / ".cache") / APP_NAME


def disabled_by_env(environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(NO_CACHE_ENV, "")
    return value.strip().lower() not in ("", "0", "false", "no")


@dataclass
class Entry:
    """What a run produced: its findings and the facts of the run its reports print (JSON values)."""

    findings: list[Finding]
    facts: dict[str, Any]


def settings_key(settings: Mapping[str, Any], release_dirs: Sequence[Path] = ()) -> str:
    """The hash of every input of a run but its sources: the tool, the release data and
    ``settings``, what the caller's flags and configuration decide (JSON values; the caller names
    every one that changes findings)."""
    version = sys.modules["checker"].__version__  # read now: tool_fingerprint is kept per process
    return _hash(
        {"format": FORMAT, "version": version, "tool": tool_fingerprint()},
        {"releases": release_fingerprint(release_dirs)},
        dict(settings),
    ).hexdigest()


def run_key(settings: str, collected: Collected, environ: Mapping[str, str] | None = None) -> str:
    """The hash of every input of one run: its ``settings_key`` and every source by path and
    content, with the environment variables the sources could name."""
    digest = _hash(
        settings,
        [collected.files_seen, collected.files_prefiltered, collected.context_files],
        [[error.path, error.message] for error in collected.errors],
    )
    names: set[bytes] = set()
    escaped = False
    for source in collected.sources:
        digest.update(_line([source.path, source.explicit, source.context, len(source.raw)]))
        digest.update(source.raw)
        if b"$" in source.raw:
            names.update(_VARIABLE.findall(source.raw))
        if _ESCAPED_DOLLAR.search(source.raw):  # "\x24{NAME}" decodes to a reference the search cannot see
            escaped = True
    env = os.environ if environ is None else environ
    if escaped:
        names.update(name.encode() for name in env)
    digest.update(_line({name.decode(): env.get(name.decode()) for name in sorted(names)}))
    return digest.hexdigest()


def _line(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _hash(*values: Any) -> Any:
    import hashlib  # a run with the cache off never loads OpenSSL's hashes

    digest = hashlib.sha256()
    for value in values:
        digest.update(_line(value))
    return digest


@cache
def tool_fingerprint() -> list[Any]:
    """The tool's files as installed (an edited checkout is another tool), Python's version and the
    installed versions of the libraries whose answers are part of the findings."""
    import importlib.util

    folders = list(sys.modules["checker"].__path__)
    for package in ("checker.policies", "checker.jsonschemas", "checker.ruledocs"):
        spec = importlib.util.find_spec(package)
        folders.extend((spec.submodule_search_locations or ()) if spec is not None else ())
    files = []
    for folder in dict.fromkeys(folders):
        for directory, subdirs, names in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(directory, name)
                with contextlib.suppress(OSError):
                    status = os.stat(path)
                    files.append([path, status.st_size, status.st_mtime_ns])
    return [sys.version, _library_versions(), files]


def _library_versions() -> list[str]:
    """The libraries' dist-info folders, named with their versions (importlib.metadata costs more
    to import than a whole cache hit)."""
    found = []
    for folder in dict.fromkeys(sys.path):
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in sorted(names):
            project = name.split("-", 1)[0].lower().replace("_", "-")
            if name.endswith(".dist-info") and project in _LIBRARIES:
                found.append(f"{folder}/{name}")
    return found


def release_fingerprint(user_dirs: Sequence[Path]) -> list[list[str]]:
    """The release files by content: the built-in ones and those of the user directories."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("checker.policies")
    folders = [Path(p) / "releases" for p in (spec.submodule_search_locations or ())] if spec else []
    found = []
    for folder in (*folders, *user_dirs):
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            found.append([str(folder), "absent"])
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file():
                    found.append([entry.path, hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()])
    return found


class ResultCache:
    """The entries in one directory. ``hits``, ``misses`` and ``writes`` count this run's lookups."""

    def __init__(self, directory: Path) -> None:
        self.root = directory
        self.directory = directory / f"v{FORMAT}"
        self.enabled = True
        self.hits = self.misses = self.writes = 0

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        entry = self._read(key) if self.enabled else None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        with contextlib.suppress(OSError):
            os.utime(self.path(key))  # recently used: pruned last
        return entry

    def put(self, key: str, entry: Entry) -> bool:
        """Stores the entry; False (and nothing written) when the cache is off, the run had an
        internal error (K0S008: a fixed tool must not meet it again), or the entry would not read
        back equal to what the run produced."""
        if not self.enabled or any(f.rule == _INTERNAL_ERROR for f in entry.findings):
            return False
        text = _encode(key, entry)
        if _decode(key, text) != entry:
            return False
        try:
            self._store(self.path(key), text)
        except OSError:
            self.enabled = False
            return False
        self.writes += 1
        return True

    def get_tree(self, key: str) -> dict[str, Any] | None:
        """The tree snapshot stored under ``key`` (checker.workflows.treestate), or None."""
        try:
            text = (self.directory / f"tree-{key}.json").read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(document, dict) or document.get("format") != _MAGIC or document.get("key") != key:
            return None
        return document

    def put_tree(self, key: str, snapshot: Mapping[str, Any]) -> None:
        document = {**snapshot, "format": _MAGIC, "version": FORMAT, "key": key}
        if self.enabled:
            try:
                self._store(self.directory / f"tree-{key}.json", json.dumps(document, separators=(",", ":")))
            except OSError:
                self.enabled = False

    def _store(self, path: Path, text: str) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            _write(self.root / "CACHEDIR.TAG", _TAG)
            _write(
                self.root / ".gitignore", b"*\n"
            )  # a cache inside a repository is not checked or committed
        _write(path, text.encode())
        self._prune()

    def _read(self, key: str) -> Entry | None:
        try:
            text = self.path(key).read_text(encoding="utf-8")
            return _decode(key, text)
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None

    def _prune(self) -> None:
        try:
            entries = [e for e in os.scandir(self.directory) if e.name.endswith(".json")]
            if len(entries) <= MAX_ENTRIES:
                return
            entries.sort(key=lambda e: e.stat().st_mtime_ns)
            for old in entries[: len(entries) - MAX_ENTRIES]:
                os.unlink(old.path)
        except OSError:
            return


def _write(path: Path, data: bytes) -> None:
    from checker.k0s.userdata import write_atomically

    write_atomically(path, data)


def _encode(key: str, entry: Entry) -> str:
    findings = [
        {name: int(f.severity) if name == "severity" else getattr(f, name) for name in _FIELDS}
        for f in entry.findings
    ]
    document = {"format": _MAGIC, "version": FORMAT, "key": key, "findings": findings, "facts": entry.facts}
    return json.dumps(document, separators=(",", ":"), default=_not_json)


def _not_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _decode(key: str, text: str) -> Entry | None:
    """The entry, or None when the text is not an entry of this key (foreign, stale or damaged)."""
    document = json.loads(text)
    if (
        not isinstance(document, dict)
        or document.get("format") != _MAGIC
        or document.get("version") != FORMAT
        or document.get("key") != key
        or not isinstance(document.get("findings"), list)
        or not isinstance(document.get("facts"), dict)
    ):
        return None
    findings = []
    for item in document["findings"]:
        if not isinstance(item, dict) or set(item) != set(_FIELDS):
            return None
        for name in _FIELDS:
            wanted = dict if name == "data" else int if name in _INT_FIELDS or name == "severity" else str
            if type(item[name]) is not wanted:
                return None
        findings.append(Finding(**{**item, "severity": Severity(item["severity"])}))
    return Entry(findings, document["facts"])
