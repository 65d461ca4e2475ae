"""The text reports on a terminal and in CI: colour only where it is read (a terminal, or asked for
with --color/FORCE_COLOR, never with NO_COLOR), -q for the findings alone, -v for their detail,
--statistics for the count per rule, and one summary style with right plurals on every sub-command.
Each case runs the real CLI (a child process; on a pseudo-terminal where a terminal matters)."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from checker.findings import plural, summary_line
from conftest import REPO_ROOT, run_cli

STORY = REPO_ROOT / "examples" / "airgap-upgrade"
FIXED = REPO_ROOT / "examples" / "airgap-upgrade-fixed"
LIVE = REPO_ROOT / "tests" / "fixtures" / "live" / "clusterconfig-k0s.yaml"
VERIFY = REPO_ROOT / "tests" / "fixtures" / "rego" / "verify"
ESCAPE = "\x1b["
RED_ERROR = "\x1b[1;31merror\x1b[0m"
FINDING = re.compile(r"^(\S+:\d+(:\d+)?|live:\S+ \S+): (error|warning|info) [A-Z0-9]+ \S")
STATISTIC = re.compile(r"^\s*(\d+)  (\S+)  (error|warning|info)\s+\S")


def on_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """What the CLI prints when its stdout is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    child_env = {**os.environ, "TERM": "xterm", **(env or {})}
    with subprocess.Popen(
        [sys.executable, "-m", "checker", *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=child_env,
    ) as child:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        child.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


# --- colour ----------------------------------------------------------------------------------------------


def test_colour_on_a_terminal_and_never_in_a_pipe() -> None:
    shown = on_terminal("check", str(STORY))
    assert RED_ERROR in shown and "\x1b[1;36mK0S102\x1b[0m" in shown and "\x1b[1;33mwarning" in shown
    piped = run_cli("check", str(STORY), cwd=REPO_ROOT)
    assert piped.returncode == 1 and "K0S102" in piped.stdout and ESCAPE not in piped.stdout
    # the text is the same, only painted
    assert re.sub(r"\x1b\[[0-9;]*m", "", shown) == piped.stdout


@pytest.mark.parametrize(
    ("flags", "env", "coloured"),
    [
        ((), {"NO_COLOR": "1"}, False),
        ((), {"TERM": "dumb"}, False),
        (("--color", "never"), {"FORCE_COLOR": "1"}, False),
        ((), {"FORCE_COLOR": "0"}, True),  # 0 forces nothing: still a terminal
    ],
)
def test_the_terminal_choice_follows_flags_and_environment(
    flags: tuple[str, ...], env: dict[str, str], coloured: bool
) -> None:
    shown = on_terminal("check", str(STORY), *flags, env=env)
    assert "K0S102" in shown and (ESCAPE in shown) == coloured


@pytest.mark.parametrize(
    ("flags", "env", "coloured"),
    [
        ((), {"FORCE_COLOR": "1"}, True),
        (("--color", "always"), {}, True),
        (("--color", "always"), {"NO_COLOR": "1"}, True),  # the flag is the last word
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins over FORCE_COLOR
    ],
)
def test_a_pipe_is_coloured_only_when_asked(
    flags: tuple[str, ...], env: dict[str, str], coloured: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = run_cli("check", str(STORY), *flags, cwd=REPO_ROOT)
    assert done.returncode == 1 and (RED_ERROR in done.stdout) == coloured


def test_reports_written_to_files_stay_plain_on_a_terminal(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    shown = on_terminal("check", str(STORY), "--format", "text", "--output", str(report), "--format", "json")
    json.loads(re.sub(r"\x1b\[[0-9;]*m", "", shown))  # machine formats are never painted
    assert ESCAPE not in shown
    assert "K0S102" in report.read_text(encoding="utf-8") and ESCAPE not in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", str(STORY)],
        ["upgrade", "--to", "1.31", str(STORY)],
        ["rules"],
        ["verify", "--policy", str(VERIFY / "failing")],
    ],
)
def test_every_text_report_is_coloured_on_a_terminal(argv: list[str]) -> None:
    shown = on_terminal(*argv)
    assert ESCAPE in shown
    assert ESCAPE not in on_terminal(*argv, "--color", "never")


def test_fix_colours_the_diff_on_a_terminal(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(STORY, repo)
    shown = on_terminal("fix", "--dry-run", str(repo))
    assert "\x1b[31m-    calico:\x1b[0m" in shown and "\x1b[36m@@ " in shown
    piped = run_cli("fix", "--dry-run", str(repo), cwd=REPO_ROOT)
    assert piped.returncode == 1 and "\n-    calico:\n" in piped.stdout and ESCAPE not in piped.stdout


# --- quiet, verbose, statistics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["check", str(STORY)],
        ["audit", str(STORY), "--live", str(LIVE)],
        ["upgrade", "--to", "1.31", str(STORY)],
    ],
)
def test_quiet_prints_the_findings_only(argv: list[str]) -> None:
    full = run_cli(*argv, cwd=REPO_ROOT)
    quiet = run_cli(*argv, "-q", cwd=REPO_ROOT)
    assert quiet.returncode == full.returncode == 1
    lines = quiet.stdout.splitlines()
    heads = [line for line in lines if not line.startswith(" ")]
    assert heads and all(FINDING.match(line) or line.startswith("drift") for line in heads), heads
    assert "" not in lines and not re.search(r"(?m)^(cluster|note|audit of|k0s-policy) ", quiet.stdout)

    # every finding of the full report, nothing else (the upgrade's shows some without the column)
    def where_line(line: str) -> str:
        return re.sub(r"^(\S+?:\d+)(:\d+)?: ", r"\1: ", line.strip())

    expected = [where_line(line) for line in full.stdout.splitlines() if FINDING.match(line.strip())]
    assert sorted(map(where_line, heads)) == sorted(expected)


def test_quiet_elsewhere(tmp_path: Path) -> None:
    verify = run_cli("verify", "--policy", str(VERIFY / "failing"), "-q", cwd=REPO_ROOT)
    assert verify.returncode == 1 and verify.stdout.splitlines()
    assert all(line.startswith("FAIL - ") for line in verify.stdout.splitlines())
    images = run_cli("images", str(STORY), "-q", cwd=REPO_ROOT)
    assert images.returncode == 0 and images.stdout and images.stderr == ""
    repo = tmp_path / "repo"
    shutil.copytree(STORY, repo)
    fixed = run_cli("fix", str(repo), "-q", cwd=REPO_ROOT)
    assert (fixed.returncode, fixed.stdout, fixed.stderr) == (0, "", "")
    assert "pins removed" in run_cli("fix", "--dry-run", str(STORY), cwd=REPO_ROOT).stderr  # not quiet


@pytest.mark.parametrize(
    "argv",
    [
        ["check", str(STORY)],
        ["audit", str(STORY)],
        ["upgrade", "--to", "1.31", str(STORY)],
    ],
)
def test_verbose_adds_each_findings_detail(argv: list[str]) -> None:
    plain, verbose = run_cli(*argv, cwd=REPO_ROOT), run_cli(*argv, "-v", cwd=REPO_ROOT)
    findings = json.loads(run_cli(argv[0], *argv[1:], "--format", "json", cwd=REPO_ROOT).stdout)["findings"]
    detail = next(f["detail"] for f in findings if f["rule"] == "K0S102")
    first_words = " ".join(detail.split()[:6])
    assert first_words not in plain.stdout and first_words in " ".join(verbose.stdout.split())


def statistics_of(stdout: str) -> dict[str, int]:
    rows = [STATISTIC.match(line) for line in stdout.splitlines()]
    return {row[2]: int(row[1]) for row in rows if row}


def test_statistics_count_the_findings_per_rule(tmp_path: Path) -> None:
    report = json.loads(run_cli("check", str(STORY), "--format", "json", cwd=REPO_ROOT).stdout)
    expected = Counter(f["rule"] for f in report["findings"])
    done = run_cli("check", str(STORY), "--statistics", cwd=REPO_ROOT)
    assert done.returncode == 1
    assert statistics_of(done.stdout) == expected
    counts = [int(row[1]) for row in map(STATISTIC.match, done.stdout.splitlines()) if row]
    assert counts == sorted(counts, reverse=True)  # the most frequent rule first, as ruff does
    assert "  K0S102  error    An image is pinned to the default of another k0s release" in done.stdout
    assert not any(FINDING.match(line) for line in done.stdout.splitlines())  # in place of the findings
    assert done.stdout.endswith("2 files, 2 documents, 1 cluster: 19 errors, 4 warnings\n")
    # the same table for an audit (repository and live) and for merged shards
    audit = run_cli("audit", str(STORY), "--live", str(LIVE), "--statistics", "-q", cwd=REPO_ROOT)
    audit_json = json.loads(
        run_cli("audit", str(STORY), "--live", str(LIVE), "--format", "json", cwd=REPO_ROOT).stdout
    )
    assert statistics_of(audit.stdout) == Counter(f["rule"] for f in audit_json["findings"])
    shard = tmp_path / "all.json"
    shard.write_text(json.dumps(report), encoding="utf-8")
    merged = run_cli("merge-reports", str(shard), "--statistics", cwd=REPO_ROOT)
    assert statistics_of(merged.stdout) == expected
    upgrade = run_cli("upgrade", "--to", "1.31", str(STORY), "--statistics", cwd=REPO_ROOT)
    assert "findings by rule:" in upgrade.stdout and statistics_of(upgrade.stdout)["K0S102"] == 9


# --- one summary style ------------------------------------------------------------------------------------


def test_summary_plurals() -> None:
    assert plural(1, "file") == "1 file" and plural(2, "file") == "2 files" and plural(0, "file") == "0 files"
    assert plural(2, "info", "info") == "2 info"
    assert summary_line([(2, "file"), (3, "document"), (1, "cluster")], [(1, "error"), (1, "warning")]) == (
        "2 files, 3 documents, 1 cluster: 1 error, 1 warning"
    )
    assert summary_line([(1, "file")], [(0, "error"), (2, "check skipped", "checks skipped")]) == (
        "1 file: 2 checks skipped"
    )
    assert summary_line([(0, "file")], [(0, "error")]) == "0 files: no findings"


def test_one_summary_style_on_every_sub_command(tmp_path: Path) -> None:
    check = run_cli("check", str(STORY), cwd=REPO_ROOT)
    assert check.stdout.endswith("\n2 files, 2 documents, 1 cluster: 19 errors, 4 warnings\n")
    clean = run_cli("check", str(FIXED), cwd=REPO_ROOT)
    assert clean.stdout.endswith("\n2 files, 2 documents, 1 cluster: 1 info\n")
    audit = run_cli("audit", str(STORY), "--live", str(LIVE), cwd=REPO_ROOT)
    assert audit.stdout.endswith(
        "\naction needed: 2 files, 2 documents: 19 errors, 4 warnings; live: 17 errors, 3 warnings, no drift\n"
    )
    upgrade = run_cli("upgrade", "--to", "1.31", str(STORY), cwd=REPO_ROOT)
    assert upgrade.stdout.endswith("\nblocked: 1 cluster, 1 step: 23 errors, 4 warnings, 1 blocked step\n")
    images = run_cli("images", str(STORY), cwd=REPO_ROOT)
    distinct = len(set(images.stdout.split()))
    assert images.stderr.endswith(f"k0s-policy: 1 cluster: {distinct} images\n")
    verify = run_cli("verify", "--policy", str(VERIFY / "failing"), cwd=REPO_ROOT)
    assert verify.stdout.endswith("\n3 tests: 1 passed, 2 failures\n")
    report = tmp_path / "shard.json"
    report.write_text(
        run_cli("check", str(STORY), "--format", "json", cwd=REPO_ROOT).stdout, encoding="utf-8"
    )
    merged = run_cli("merge-reports", str(report), cwd=REPO_ROOT)
    assert merged.stdout.endswith("\n2 files, 2 documents, 1 cluster: 19 errors, 4 warnings\n")
    repo = tmp_path / "repo"
    shutil.copytree(STORY, repo)
    fix = run_cli("fix", str(repo), cwd=REPO_ROOT)
    assert fix.stderr.endswith(
        "\n1 file changed, 12 pins removed (1 persisted default image set among them, K0S104)\n"
    )
    for done in (check, clean, audit, upgrade, images, verify, merged, fix):
        text = done.stdout + done.stderr
        assert not re.search(r"\b(1 (files|documents|clusters|errors|warnings|tests))\b", text)
        assert not re.search(r"\b([02-9]|\d\d+) (file|document|cluster|error|warning|test)\b[^-]", text)
