"""Shared helpers: write real YAML files into a temporary repository and check them."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

from checker.config import Config
from checker.engine import Result, Selection, run_check
from checker.findings import Finding
from checker.releases import Catalog
from checker.rules import Options
from checker.sources import collect

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


def write(root: Path, relative: str, text: str) -> Path:
    """Write a dedented YAML file below root and return its path."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def check_paths(
    paths: Iterable[Path | str],
    *,
    cwd: Path,
    k0s_version: str | None = None,
    config: Config | None = None,
    options: Options | None = None,
    select: Iterable[str] = (),
) -> Result:
    collected = collect([str(p) for p in paths], cwd=cwd)
    return run_check(
        collected,
        Catalog.load(),
        config or Config(),
        cli_version=k0s_version,
        options=options,
        selection=Selection(select=frozenset(select)),
    )


def rules_of(findings: Iterable[Finding], include_suppressed: bool = False) -> list[str]:
    return [f.rule for f in findings if include_suppressed or not f.suppressed_by]


def only(findings: Iterable[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule and not f.suppressed_by]
