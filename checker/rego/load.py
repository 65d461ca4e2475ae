"""Reading Rego policies and data documents for a run (compiling is checker.rego.run's job)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from checker.records import dataclass, field
from checker.rego.source import RegoFile, SourceError, check_rule_shapes, parse_file

DATA_SUFFIXES = (".json", ".yaml", ".yml")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PolicyError(Exception):
    """Policies or data that cannot be used: the run stops with exit code 2."""


@dataclass
class PolicySet:
    """The Rego files and data documents of a run, read but not compiled."""

    files: list[RegoFile]
    data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def packages(self) -> list[str]:
        return sorted({f.package for f in self.files})

    def in_package(self, package: str) -> list[RegoFile]:
        return [f for f in self.files if f.package == package]


def _shown(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _rego_files(root: Path, tests: bool) -> list[Path]:
    if root.is_file():
        return [root]
    found = sorted(p for p in root.rglob("*.rego") if p.is_file())
    return [p for p in found if tests or not p.name.endswith("_test.rego")]


_STRING = re.compile(r'"((?:[^"\\\n]|\\.){1,80})"')
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.:/-]*")


def mentioned_ids(policy_paths: Sequence[str], cwd: Path | None = None) -> set[str]:
    """Rule ids the policies may report: every id-like string literal of their source (an ``id`` in
    a result's metadata is one) and the ``rego:`` prefix of results without one. For --select and
    --ignore, which must name some rule of the run; nothing is compiled."""
    cwd = cwd or Path.cwd()
    found = {"REGO:"}
    for given in policy_paths:
        root = cwd / given
        for path in _rego_files(root, tests=False) if root.exists() else []:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            found.update(match.upper() for match in _STRING.findall(text) if _ID.fullmatch(match))
    return found


def load_policy_set(
    policy_paths: Sequence[str],
    data_paths: Sequence[str] = (),
    *,
    tests: bool = False,
    cwd: Path | None = None,
) -> PolicySet:
    """Read every ``.rego`` file below the policy paths (``*_test.rego`` only when ``tests``) and the data."""
    cwd = cwd or Path.cwd()
    files: list[RegoFile] = []
    for given in policy_paths:
        root = cwd / given
        if not root.exists():
            raise PolicyError(f"--policy {given}: no such file or directory")
        paths = _rego_files(root, tests)
        if not paths:
            raise PolicyError(f"--policy {given}: no .rego files found")
        for path in paths:
            try:
                files.append(parse_file(path, _shown(path, cwd)))
            except SourceError as err:
                raise PolicyError(str(err)) from None
    for rego in files:
        try:
            check_rule_shapes(rego)
        except SourceError as err:
            raise PolicyError(str(err)) from None
    return PolicySet(files, [document for given in data_paths for document in _load_data(given, cwd)])


def _load_data(given: str, cwd: Path) -> list[dict[str, Any]]:
    path = cwd / given
    if not path.exists():
        raise PolicyError(f"--data {given}: no such file or directory")
    paths = sorted(p for p in path.rglob("*") if p.suffix in DATA_SUFFIXES) if path.is_dir() else [path]
    documents: list[dict[str, Any]] = []
    for item in paths:
        shown = _shown(item, cwd)
        try:
            text = item.read_text(encoding="utf-8")
            value = json.loads(text) if item.suffix == ".json" else yaml.load(text, Loader=_Loader)
        except (OSError, UnicodeDecodeError) as err:
            raise PolicyError(f"--data {shown}: cannot read it: {err}") from None
        except (ValueError, yaml.YAMLError) as err:
            raise PolicyError(f"--data {shown}: not valid {item.suffix.lstrip('.').upper()}: {err}") from None
        if value is None:
            continue
        if not isinstance(value, dict):
            raise PolicyError(
                f"--data {shown}: the top level must be a mapping (its keys become data.<key>), "
                f"not {type(value).__name__}"
            )
        documents.append(value)
    return documents
