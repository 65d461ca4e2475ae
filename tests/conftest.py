"""Shared helpers: write real YAML files into a temporary repository and check them."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from fuzz.generate import SIBLING_TEXT

from checker.config import Config
from checker.findings import Finding
from checker.inputs.sources import collect
from checker.k0s.releases import Catalog
from checker.rules import Options
from checker.rules.base import MESSAGE_LIMIT
from checker.workflows.check import Result, Selection, run_check

# The result cache would answer a test's second identical run from disk; tests/test_cache.py turns it on.
os.environ["K0S_POLICY_NO_CACHE"] = "1"

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT.parent / "shared" / "reference"


# Small ClusterConfigs shared by the PR-mode and baseline tests: two with a typo key, one clean.
TYPO = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  imagez: {}
"""

OTHER_TYPO = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  netwrk: {}
"""

CLEAN = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    default_pull_policy: IfNotPresent
"""


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
    result = run_check(
        collected,
        Catalog.load(),
        config or Config(),
        cli_version=k0s_version,
        options=options,
        selection=Selection(select=frozenset(select)),
    )
    for finding in result.findings:  # every rule test holds its hits to the short shape
        if finding.data.get("engine") != "rego":  # custom policies write their own messages
            assert_short(finding)
    return result


def assert_short(finding: Finding) -> None:
    """The shape every finding of ours has: a one-line message of at most MESSAGE_LIMIT characters
    that does not carry its fix ("Fix: ..."), a one-line fix; the why belongs in the detail."""
    assert len(finding.message) <= MESSAGE_LIMIT, (len(finding.message), finding.message)
    assert "\n" not in finding.message and "\n" not in finding.fix, finding
    assert "fix:" not in finding.message.lower(), finding.message
    assert not finding.fix or finding.fix not in finding.message, finding


def rules_of(findings: Iterable[Finding], include_suppressed: bool = False) -> list[str]:
    return [f.rule for f in findings if include_suppressed or not f.suppressed_by]


def only(findings: Iterable[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule and not f.suppressed_by]


def git(repo: Path, *args: str, author: str = "", date: str = "") -> str:
    """Run git in a test repository, isolated from the machine's git configuration."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_COMMITTER_NAME": "CI Robot",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
        "GIT_AUTHOR_NAME": "CI Robot",
        "GIT_AUTHOR_EMAIL": "ci@example.com",
    }
    if author:
        name, email = author.rsplit(" ", 1)
        env |= {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.strip("<>")}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


# A stale pin every hostile-input test puts beside its hostile file: its finding must survive whatever
# the hostile file does to the run: checked with ``--k0s-version 1.30`` it is a K0S102 (coredns pinned to a
# 1.29 default) at ``sibling/k0s.yaml:9`` when written there. The fuzzer puts the same file beside
# every input, so it is defined once, there.
SIBLING_STALE_PIN = SIBLING_TEXT


def run_cli(
    *args: str, cwd: Path, stdin: str | bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (``python -m checker``), as CI and pre-commit do."""
    import sys

    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "checker", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        timeout=timeout,
        stdin=None if data is not None else subprocess.DEVNULL,
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def assert_survived(
    done: subprocess.CompletedProcess[str], *, exit_code: int, names: Iterable[str] = (), sibling: str = ""
) -> None:
    """What every hostile case asserts: the exit code, no traceback anywhere, each text of ``names``
    (a file, ``file:line``, a rule id) in the report, and the sibling file's finding still reported."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == exit_code, (done.returncode, output)
    for name in names:
        assert name in output, (name, output)
    if sibling:
        assert sibling in done.stdout and "K0S102" in done.stdout, done.stdout


@pytest.fixture(autouse=True)
def _no_colour_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports compare plain text: a CI that exports FORCE_COLOR or NO_COLOR must not change them
    (tests/test_cli_text.py sets them where it means to)."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
