"""Baselines: --write-baseline records today's findings, --baseline reports only new ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.findings import Finding, Severity
from checker.workflows.baseline import Known, unmatched
from conftest import CLEAN, OTHER_TYPO, TYPO, write

BROKEN_YAML = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec: [unclosed
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


CHECK = ["check", "clusters", "--k0s-version", "1.30"]


def test_write_then_check_against_the_baseline(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "clusters/a/k0s.yaml", TYPO)
    write(tmp_path, "clusters/b/k0s.yaml", OTHER_TYPO)
    code, out, err = run([*CHECK, "--write-baseline", "baseline.json"], capsys)
    assert (code, out) == (0, "")
    assert "wrote 2 findings to the baseline baseline.json" in err
    document = json.loads((tmp_path / "baseline.json").read_text())
    assert document["version"] == 1 and document["tool"]["name"] == "k0s-policy"
    assert [(e["rule"], e["path"], e["line"]) for e in document["findings"]] == [
        ("K0S002", "clusters/a/k0s.yaml", 4),
        ("K0S002", "clusters/b/k0s.yaml", 4),
    ]
    assert all(len(e["fingerprint"]) == 24 and "unknown field" in e["message"] for e in document["findings"])

    code, out, _ = run([*CHECK, "--baseline", "baseline.json"], capsys)
    assert code == 0
    assert "note: baseline baseline.json: 2 known findings not shown" in out
    assert "K0S002" not in out

    # an unrelated edit moves a known finding; a new problem appears elsewhere
    write(tmp_path, "clusters/a/k0s.yaml", "# moved down\n\n" + TYPO)
    write(tmp_path, "clusters/c/k0s.yaml", TYPO)
    code, out, _ = run([*CHECK, "--baseline", "baseline.json", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("clusters/c/k0s.yaml", 4)]
    assert report["notes"] == ["baseline baseline.json: 2 known findings not shown"]

    # fixing a known finding leaves a stale entry, which the note points out
    write(tmp_path, "clusters/b/k0s.yaml", CLEAN)
    code, out, _ = run([*CHECK, "--baseline", "baseline.json"], capsys)
    assert "1 known findings not shown; 1 of its entries no longer occur" in out
    assert "--write-baseline" in out


def test_suppressed_findings_are_not_written(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "clusters/a/k0s.yaml", TYPO.replace("{}", "{}  # k0s-policy: ignore[K0S002] vendor key"))
    write(tmp_path, "clusters/b/k0s.yaml", OTHER_TYPO)
    assert run([*CHECK, "--write-baseline", "b.json"], capsys)[0] == 0
    entries = json.loads((tmp_path / "b.json").read_text())["findings"]
    assert [e["path"] for e in entries] == ["clusters/b/k0s.yaml"]
    # removing the suppression brings the finding back as new
    write(tmp_path, "clusters/a/k0s.yaml", TYPO)
    code, out, _ = run([*CHECK, "--baseline", "b.json"], capsys)
    assert code == 1 and "clusters/a/k0s.yaml:4:3: error K0S002" in out


def test_findings_without_a_node_match_by_rule_path_and_message(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "clusters/a/k0s.yaml", BROKEN_YAML)
    assert run([*CHECK, "--write-baseline", "b.json"], capsys)[0] == 0
    (entry,) = json.loads((tmp_path / "b.json").read_text())["findings"]
    assert entry["rule"] == "K0S001"
    write(tmp_path, "clusters/a/k0s.yaml", "# a comment above\n" + BROKEN_YAML)
    code, out, _ = run([*CHECK, "--baseline", "b.json"], capsys)
    assert code == 0 and "1 known findings not shown" in out


def test_unusable_baselines_are_usage_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "clusters/a/k0s.yaml", TYPO)
    code, _, err = run([*CHECK, "--baseline", "missing.json"], capsys)
    assert code == 2 and "missing.json: cannot read the baseline" in err
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = run([*CHECK, "--baseline", "bad.json"], capsys)
    assert code == 2 and "bad.json: not a k0s-policy baseline (invalid JSON" in err
    (tmp_path / "future.json").write_text('{"version": 9, "findings": []}')
    code, _, err = run([*CHECK, "--baseline", "future.json"], capsys)
    assert code == 2 and "baseline format version 9 is not supported" in err
    (tmp_path / "noprint.json").write_text('{"version": 1, "findings": [{"rule": "K0S002"}]}')
    code, _, err = run([*CHECK, "--baseline", "noprint.json"], capsys)
    assert code == 2 and "entry 0 has no fingerprint" in err
    code, _, err = run([*CHECK, "--baseline", "future.json", "--write-baseline", "x.json"], capsys)
    assert code == 2 and "use it alone" in err
    code, _, err = run([*CHECK, "--write-baseline", "no/such/dir/b.json"], capsys)
    assert code == 2 and "cannot write the baseline no/such/dir/b.json" in err


def test_input_errors_write_no_baseline(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["check", "missing", "--write-baseline", "b.json"], capsys)
    assert code == 2 and "no such file or directory" in err
    assert not (tmp_path / "b.json").exists()


def _finding(rule: str, path: str, node: str, line: int = 1, message: str = "m") -> Finding:
    return Finding(rule, Severity.ERROR, message, path, line, 1, node=node)


def test_unmatched_uses_each_known_entry_once() -> None:
    a1, a2 = _finding("K0S101", "a.yaml", "spec.x"), _finding("K0S101", "a.yaml", "spec.x", line=9)
    b = _finding("K0S102", "b.yaml", "spec.y")
    assert unmatched([a1, a2, b], [Known.of(a1)], Known.of) == [a2, b]
    # the second pass: same rule, path and message, another fingerprint
    moved = _finding("K0S001", "c.yaml", "", line=3)
    known = Known.of(_finding("K0S001", "c.yaml", "", line=1))
    assert moved.fingerprint != known.fingerprint
    assert unmatched([moved], [known], Known.of) == []
    assert unmatched([moved, moved], [known], Known.of) == [moved]
