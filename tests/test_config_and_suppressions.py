from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from checker.config import ConfigError, find_config, parse_config
from checker.findings import Severity
from conftest import check_paths, only, write

PINNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    coredns:
      image: registry.example.com/coredns
      version: 9.9.9{comment}
"""


def test_inline_suppression_needs_a_reason(tmp_path: Path) -> None:
    write(tmp_path, "a/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103] our patched build"))
    write(tmp_path, "b/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103]"))
    result = check_paths(["a", "b"], cwd=tmp_path, k0s_version="1.30")
    a = [f for f in result.findings if f.path == "a/k0s.yaml" and f.rule == "K0S103"]
    assert a[0].suppressed_by.endswith("our patched build")
    assert [f.rule for f in only(result.findings, "K0S103")] == ["K0S103"]  # b is not suppressed
    (reasonless,) = only(result.findings, "K0S009")
    assert (reasonless.path, reasonless.line) == ("b/k0s.yaml", 7)


def test_suppression_on_the_line_above(tmp_path: Path) -> None:
    text = PINNED.format(comment="").replace(
        "      version:", "      # k0s-policy: ignore[K0S103] vendor fork\n      version:"
    )
    write(tmp_path, "a/k0s.yaml", text)
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30")
    assert not only(result.findings, "K0S103")
    assert len([f for f in result.findings if f.suppressed_by]) == 1


def test_config_severity_override_ignore_and_expiry(tmp_path: Path) -> None:
    write(tmp_path, "legacy/k0s.yaml", PINNED.format(comment=""))
    write(tmp_path, "prod/k0s.yaml", PINNED.format(comment=""))
    config = parse_config(
        b"""\
rules:
  K0S103: {severity: info}
ignore:
  - rule: K0S103
    paths: ["legacy/**"]
    reason: retired next quarter
    expires: 2030-01-01
  - rule: K0S005
    reason: expired on purpose
    expires: 2020-01-01
""",
        ".k0s-policy.yaml",
        today=dt.date(2026, 11, 25),
    )
    assert [e.rule for e in config.expired] == ["K0S005"]
    result = check_paths(["legacy", "prod"], cwd=tmp_path, k0s_version="1.30", config=config)
    (prod,) = only(result.findings, "K0S103")
    assert prod.path == "prod/k0s.yaml" and prod.severity is Severity.INFO
    legacy = [f for f in result.findings if f.path == "legacy/k0s.yaml" and f.rule == "K0S103"]
    assert "retired next quarter" in legacy[0].suppressed_by


def test_rule_can_be_switched_off(tmp_path: Path) -> None:
    write(tmp_path, "a/k0s.yaml", PINNED.format(comment=""))
    config = parse_config(b"rules: {K0S103: off}\n", ".k0s-policy.yaml")
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30", config=config)
    assert not [f for f in result.findings if f.rule == "K0S103"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (b"k0s_version: 1.30\n", 1, "as a string"),
        (b"airgapped: yes please\n", 1, "true or false"),
        (b"\nunknown: 1\n", 2, "unknown setting"),
        (b"ignore:\n  - rule: K0S101\n", 2, "needs a reason"),
        (b"ignore:\n  - rule: K0S101\n    reason: x\n    expires: soon\n", 4, "expires must be a date"),
        (b"rules:\n  K0S101: {severity: loud}\n", 2, "unknown severity"),
        (b"a: [\n", 2, "YAML syntax error"),
    ],
)
def test_config_errors_name_the_file_and_line(text: bytes, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "repo/.k0s-policy.yaml")
    assert caught.value.path == "repo/.k0s-policy.yaml"
    assert caught.value.line == line
    assert words in str(caught.value)


def test_find_config_stops_at_the_git_root(tmp_path: Path) -> None:
    write(tmp_path, ".k0s-policy.yaml", "airgapped: true\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "clusters").mkdir()
    assert find_config(tmp_path / "repo" / "clusters") is None
    write(tmp_path, "repo/.k0s-policy.yaml", "airgapped: true\n")
    assert find_config(tmp_path / "repo" / "clusters") == (tmp_path / "repo" / ".k0s-policy.yaml").resolve()


def test_reasonless_suppression_finding_can_be_switched_off(tmp_path: Path) -> None:
    write(tmp_path, "b/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103]"))
    config = parse_config(b"rules: {K0S009: off}\n", ".k0s-policy.yaml")
    result = check_paths(["b"], cwd=tmp_path, k0s_version="1.30", config=config)
    assert not only(result.findings, "K0S009")
    result = check_paths(["b"], cwd=tmp_path, k0s_version="1.30", select=["K0S103"])
    assert not only(result.findings, "K0S009")
