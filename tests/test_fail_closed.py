"""Fail closed: a mistake on the command line or in `.k0s-policy.yaml` is a usage error (exit 2), never
a run that quietly checks less and passes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT, TYPO, write

PINNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    coredns:
      image: registry.example.com/coredns
      version: 9.9.9
"""


def run(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(cwd)
    return main(["check", *args])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--select", "K0S999"], ["--select K0S999", "unknown rule", "nearest: ", "K0S009"]),
        (["--ignore", "K0S1,K0S7"], ["--ignore K0S7", "unknown rule"]),
        (["--select", "KOS102"], ["--select KOS102", "nearest: K0S102"]),  # letter O for zero
    ],
)
def test_unknown_rule_on_the_command_line_is_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    words: list[str],
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    assert run(tmp_path, monkeypatch, *args, "--k0s-version", "1.30") == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no report: nothing was checked
    for word in words:
        assert word in captured.err


def test_known_ids_and_prefixes_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    assert run(tmp_path, monkeypatch, "--select", "k0s0", "--ignore", "K0S005", "--k0s-version", "1.30") == 1
    assert "error K0S002" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("config", "line", "name"),
    [
        ("rules:\n  K0S103: off\n  K0S130: {severity: info}\n", 3, "K0S130"),
        ("ignore:\n  - rule: K0S10x\n    reason: typo\n", 2, "K0S10X"),
    ],
)
def test_unknown_rule_in_the_configuration_is_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: str,
    line: int,
    name: str,
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    write(tmp_path, ".k0s-policy.yaml", config)
    assert run(tmp_path, monkeypatch, "--k0s-version", "1.30") == 2
    err = capsys.readouterr().err
    assert f".k0s-policy.yaml:{line}: unknown rule {name!r}" in err


def test_rego_ids_the_policies_mention_can_be_selected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    write(
        tmp_path,
        "policy/main.rego",
        """\
        package main

        deny contains {"msg": "no typo keys", "id": "ORG001"} if {
          input.spec.imagez
        }
        """,
    )
    assert run(tmp_path, monkeypatch, "--policy", "policy", "--select", "ORG001", "--format", "json") == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["rule"] for f in findings] == ["ORG001"]
    assert run(tmp_path, monkeypatch, "--policy", "policy", "--select", "ORG002") == 2
    assert "--select ORG002: unknown rule" in capsys.readouterr().err


def test_empty_stdin_is_an_error() -> None:
    for stream in (b"", b"\n# the render printed nothing\n", b"---\n"):
        done = subprocess.run(
            [sys.executable, "-m", "checker", "check", "-"],
            input=stream,
            capture_output=True,
            cwd=REPO_ROOT / "examples",
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, stream
        assert b"no documents on stdin (did the render fail?)" in done.stderr
        assert b"K0S001" not in done.stdout  # the error replaces the "empty file" note


def test_a_failed_render_in_a_pipe_fails_the_pipe(tmp_path: Path) -> None:
    # `kustomize build ... | k0s-policy check -` where the render fails and prints nothing
    done = subprocess.run(
        ["sh", "-c", f'false | "{sys.executable}" -m checker check -'],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "did the render fail?" in done.stderr


@pytest.mark.parametrize("name", ["json", "sarif", "text"])
def test_output_that_is_a_format_name_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--output", name])
    assert exit_info.value.code == 2
    assert f"use --format {name}" in capsys.readouterr().err
    assert not (tmp_path / name).exists()
    # a file of that name is still possible, spelled as a path
    assert main(["check", "--format", "json", "--output", f"./{name}", "--k0s-version", "1.30"]) == 1
    assert json.loads((tmp_path / name).read_text())["findings"]


def test_at_most_one_report_goes_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", TYPO)
    assert run(tmp_path, monkeypatch, "--format", "json", "--format", "sarif") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--format json and --format sarif would all write to stdout" in captured.err
    args = ["--format", "json", "--format", "sarif", "--output", "r.sarif", "--k0s-version", "1.30"]
    assert run(tmp_path, monkeypatch, *args) == 1
    assert json.loads(capsys.readouterr().out)["findings"]  # one document on stdout
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_expired_ignore_entry_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", PINNED)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    write(
        tmp_path,
        ".k0s-policy.yaml",
        f"""\
        ignore:
          - rule: K0S103
            reason: patched build until the upstream fix
            expires: {yesterday.isoformat()}
        """,
    )
    assert run(tmp_path, monkeypatch, "--k0s-version", "1.30", "--fail-on", "info") == 1
    out = capsys.readouterr().out
    assert f".k0s-policy.yaml:2:5: info K0S010 the ignore entry for K0S103 expired on {yesterday}" in out
    assert "k0s.yaml:7:16: warning K0S103 coredns pinned to" in out  # the finding is back
    # switched off like any rule
    write(
        tmp_path, ".k0s-policy.yaml", (tmp_path / ".k0s-policy.yaml").read_text() + "rules: {K0S010: off}\n"
    )
    run(tmp_path, monkeypatch, "--k0s-version", "1.30", "--fail-on", "info")
    assert "K0S010" not in capsys.readouterr().out


def test_unknown_minor_on_the_command_line_and_in_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the README's "Clusters" paragraph says: on the command line an unknown minor is a usage
    error; declared in a file it is K0S003 and the release checks are listed as skipped."""
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "`--k0s-version` with an unknown minor is a usage error (exit code 2)" in readme
    assert "Declared in a file, an unknown minor is K0S003" in readme

    write(tmp_path, "k0s.yaml", PINNED)
    assert run(tmp_path, monkeypatch, "--k0s-version", "1.99") == 2
    assert "--k0s-version 1.99: k0s 1.99 is not in the release data" in capsys.readouterr().err

    write(tmp_path, ".k0s-policy.yaml", 'k0s_version: "1.99"\n')
    assert run(tmp_path, monkeypatch) == 1
    out = capsys.readouterr().out
    assert "error K0S003" in out
    assert "skipped: K0S103 for cluster .: the target release is unknown" in out
