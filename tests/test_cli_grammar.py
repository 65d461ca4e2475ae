"""One command-line grammar: the shared flags mean the same on every sub-command that reports, the
audit writes every format, old spellings still work for one release with a warning, and every
sub-command has -V and its exit codes and examples in --help."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT

STORY = REPO_ROOT / "examples" / "airgap-upgrade"
LIVE = REPO_ROOT / "tests" / "fixtures" / "live"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


SHARED = {
    "check": ["--format", "--output", "--fail-on", "--select", "--ignore", "--config", "--no-config",
              "--exclude", "--k0s-version", "--data-dir", "--airgap-images", "--airgap-bundle", "--policy", "--data"],
    "audit": ["--format", "--output", "--fail-on", "--select", "--ignore", "--config", "--no-config",
              "--exclude", "--k0s-version", "--data-dir", "--airgap-images", "--airgap-bundle", "--policy", "--data"],
    "fix": ["--select", "--ignore", "--config", "--no-config", "--exclude", "--k0s-version", "--data-dir"],
    "upgrade": ["--format", "--output", "--fail-on", "--select", "--ignore", "--config", "--no-config",
                "--exclude", "--data-dir", "--airgap-images", "--airgap-bundle", "--registry", "--platform"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(SHARED))
def test_reporting_commands_share_the_flags(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text([command], capsys)
    missing = [flag for flag in SHARED[command] if not re.search(rf"(?m)^\s+(-\w, )?{flag}\b", text)]
    assert missing == []


EVERY_COMMAND = [
    ["check"], ["audit"], ["fix"], ["rules"], ["explain"], ["releases"], ["verify"], ["upgrade"], ["images"],
    ["merge-reports"], ["schema"], ["schema", "export"], ["releases", "list"], ["releases", "import"],
    ["releases", "export-data"],
]  # fmt: skip
# the text flags, on every sub-command whose text they change
TEXT_FLAGS = {
    "check": ["--color", "--quiet", "--verbose", "--statistics"],
    "audit": ["--color", "--quiet", "--verbose", "--statistics"],
    "upgrade": ["--color", "--quiet", "--verbose", "--statistics"],
    "merge-reports": ["--color", "--quiet", "--verbose", "--statistics"],
    "verify": ["--color", "--quiet"],
    "fix": ["--color", "--quiet"],
    "rules": ["--color"],
    "images": ["--quiet"],
}


@pytest.mark.parametrize("command", sorted(TEXT_FLAGS))
def test_text_flags_where_they_mean_something(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text([command], capsys)
    missing = [flag for flag in TEXT_FLAGS[command] if not re.search(rf"(?m)^\s+(-\w, )?{flag}\b", text)]
    assert missing == []


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=" ".join)
def test_every_command_has_version_examples_and_exit_codes(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(argv, capsys)
    assert "-V" in text and "examples:\n  k0s-policy " in text
    assert re.search(r"exit codes:\n  0  ", text)
    with pytest.raises(SystemExit) as exited:
        main([*argv, "-V"])
    assert exited.value.code == 0
    assert re.fullmatch(r"k0s-policy \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


@pytest.mark.parametrize("format_name", ["text", "json", "markdown", "sarif", "junit", "github", "gitlab"])
def test_audit_writes_every_format(
    format_name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    argv = ["audit", str(STORY), "--live", str(LIVE / "clusterconfig-k0s.yaml"), "--format", format_name]
    code, out, err = run(argv, capsys)
    assert code == 1, err
    assert "K0S102" in out  # the story's stale pins, in every shape
    if format_name in ("json", "sarif", "gitlab"):
        json.loads(out)
    if format_name == "junit":
        ET.fromstring(out)
    if format_name == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert any(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("live:") or True
            for r in results
        )
    # --output binds to the --format before it; the text report goes to stdout beside it
    target = tmp_path / f"audit.{format_name}"
    code, out, err = run([*argv, "--output", str(target), "--format", "text"], capsys)
    assert code == 1 and target.stat().st_size > 0
    assert out.startswith("audit of ") and "K0S102" in target.read_text(encoding="utf-8")


def test_audit_deprecated_report_flags_still_work_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    markdown, report = tmp_path / "a.md", tmp_path / "a.json"
    code, out, err = run(["audit", str(STORY), "--markdown", str(markdown), "--json", str(report)], capsys)
    assert code == 1
    assert "--markdown is deprecated; use --format markdown --output FILE" in err
    assert "--json is deprecated; use --format json --output FILE" in err
    assert out.startswith("audit of ")  # as before: the text report on stdout
    assert markdown.read_text(encoding="utf-8").startswith("#")
    assert json.loads(report.read_text(encoding="utf-8"))["version"] == 1


def test_audit_select_and_k0s_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(["audit", str(STORY), "--format", "json", "--select", "K0S104"], capsys)
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert rules == {"K0S104"} and code == 1
    # the story's pins are the 1.29.4 defaults: against 1.29.4 they are redundant, not stale
    code, out, _ = run(["audit", str(STORY), "--format", "json", "--k0s-version", "v1.29.4+k0s.0"], capsys)
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "K0S102" not in rules and "K0S101" in rules


def test_fix_select_limits_what_is_removed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(STORY, repo)

    def removed(*flags: str) -> set[str]:
        code, diff, err = run(["fix", str(repo), "--dry-run", *flags], capsys)
        assert code == 1, err
        return {line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")}

    everything, stale, redundant = removed(), removed("--select", "K0S102"), removed("--select", "K0S101")
    assert stale and redundant
    assert stale < everything and redundant < everything and not stale & redundant
    code, _, err = run(["fix", str(repo), "--dry-run", "--select", "K0S2"], capsys)
    assert code == 2 and "left none" in err


def test_rules_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "--format", "json"], capsys)
    assert code == 0
    rules = json.loads(out)
    by_id = {r["id"]: r for r in rules}
    assert by_id["K0S102"]["families"] == ["K0S1xx", "images"]
    assert by_id["K0S102"]["docs"] == "docs/rules/K0S102.md"
    assert set(by_id["K0S201"]) == {"id", "name", "severity", "summary", "docs", "families"}
    code, text, _ = run(["rules"], capsys)
    assert [line.split()[0] for line in text.splitlines()] == [r["id"] for r in rules]


def test_releases_import_k0s_config_and_deprecated_spellings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    images = tmp_path / "images.txt"
    images.write_text(
        "quay.io/k0sproject/kube-proxy:v1.37.0\nquay.io/k0sproject/coredns:1.13.0\n", encoding="utf-8"
    )
    config = tmp_path / "k0s.yaml"
    config.write_text(
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images:\n"
        "    kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.37.0}\n",
        encoding="utf-8",
    )
    new = ["releases", "import", "--images", str(images), "--data-dir", str(tmp_path / "new")]
    code, _, err = run([*new, "--k0s-version", "v1.37.0+k0s.0", "--k0s-config", str(config)], capsys)
    assert code == 0, err
    assert "deprecated" not in err
    old = ["releases", "import", "--images", str(images), "--data-dir", str(tmp_path / "old")]
    code, _, err = run([*old, "--version", "v1.37.0+k0s.0", "--config", str(config)], capsys)
    assert code == 0, err
    assert "--version is deprecated; use --k0s-version" in err
    assert "--config is deprecated; use --k0s-config" in err
    assert (tmp_path / "new" / "1.37.yaml").read_text() == (tmp_path / "old" / "1.37.yaml").read_text()
    code, _, err = run(["releases", "import", "--images", str(images)], capsys)
    assert code == 2 and "--k0s-version" in err
