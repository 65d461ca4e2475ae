"""Output injection: text from the checked repository (keys, values, file and cluster names) cannot
start a GitHub workflow command, steer the terminal, or put markup into a Markdown report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.report import escape
from conftest import SIBLING_STALE_PIN, git, run_cli, write

# A key with a line break, an escape sequence, a workflow command and markup; YAML escapes spell them.
HOSTILE_KEY_YAML = r'"x\n::error file=README.md,line=1::owned\e[2J <script>alert(1)</script> [x](https://e.example) ![](https://t.example/p.png) `tick` a|b"'
HOSTILE_CONFIG = f"""\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: hostile
spec:
  {HOSTILE_KEY_YAML}: 1
  images:
    coredns:
      image: quay.io/k0sproject/coredns
      version: 1.11.1
"""
# a k0sctl file whose cluster name carries a line break and a workflow command
HOSTILE_K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: "edge\\n::error file=README.md,line=1::owned"
spec:
  hosts:
    - role: controller
      ssh: {address: 10.0.0.1}
  k0s:
    version: v1.30.5+k0s.0
"""


def no_command_lines(output: str, allowed: tuple[str, ...] = ()) -> None:
    """No line of ``output`` starts a workflow command other than the ``allowed`` ones."""
    for line in output.splitlines():
        if line.lstrip().startswith("::"):
            assert line.startswith(allowed), line
    assert "\x1b" not in output


def no_markup(markdown: str) -> None:
    assert "<script>" not in markdown and "](https://e.example)" not in markdown
    assert "![](" not in markdown and "\x1b" not in markdown


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "clusters/edge/k0s.yaml", HOSTILE_CONFIG)
    write(tmp_path, "clusters/edge/k0sctl.yaml", HOSTILE_K0SCTL)
    # a file name with a line break and a workflow command
    write(
        tmp_path, "named/x\n::error file=README.md,line=1::y.yaml", HOSTILE_CONFIG.replace("hostile", "named")
    )
    return tmp_path


def test_text_output_shows_control_characters_escaped(repo: Path) -> None:
    done = run_cli("check", ".", "--format", "text", "-v", cwd=repo)
    assert done.returncode == 1, done.stderr
    no_command_lines(done.stdout + done.stderr)
    assert "unknown field `x\\n::error file=README.md,line=1::owned\\x1b[2J <script>" in done.stdout
    assert "named/x\\n::error file=README.md,line=1::y.yaml:" in done.stdout  # the file name
    assert "cluster edge\\n::error file=README.md,line=1::owned" in done.stdout  # the cluster name
    assert "K0S102" in done.stdout  # the real finding is still there


def test_github_format_keeps_commands_its_own(repo: Path) -> None:
    done = run_cli("check", ".", "--format", "github", cwd=repo)
    assert done.returncode == 1, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("::")]
    for line in commands:
        # annotations, the group and the stop-commands block; never a file= the repository chose
        assert re.match(
            r"::(error|warning|notice) |::(group|endgroup|stop-commands)::|::[0-9a-f]{32}::", line
        )
        head = line.split("::", 2)[1].partition(" ")[2]
        properties = dict(item.split("=", 1) for item in head.split(",")) if head else {}
        assert set(properties) <= {"file", "line", "col", "title"}, line
        assert properties.get("file") != "README.md", line
    assert any("file=named/x%0A%3A%3Aerror" in line for line in commands)


@pytest.mark.parametrize("report", ["github", "junit"])
def test_machine_reports_printed_in_a_log_carry_no_escape_nor_command(repo: Path, report: str) -> None:
    # found by make fuzz: an annotation's message and the JUnit failure text (multi-line by design)
    # carried values raw, so `\x1b[2J` reached the log and a value's line break started `::error`
    done = run_cli("check", ".", "--format", report, "-v", cwd=repo)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout
    for line in done.stdout.splitlines():
        assert not line.lstrip().startswith("::error file=README.md"), line


def test_github_summary_has_no_markup_from_the_repository(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))  # the child inherits it
    done = run_cli("check", ".", "--format", "github", cwd=repo)
    assert done.returncode == 1, done.stderr
    text = summary.read_text(encoding="utf-8")
    no_markup(text)
    assert "&lt;script&gt;" in text and "\\[x\\](https\\://e.example)" in text


def test_audit_text_and_markdown_reports(repo: Path) -> None:
    report = repo / "audit.md"
    done = run_cli("audit", ".", "--markdown", str(report), cwd=repo)
    assert "Traceback" not in done.stderr, done.stderr
    no_command_lines(done.stdout + done.stderr)
    markdown = report.read_text(encoding="utf-8")
    no_markup(markdown)
    assert "K0S102" in markdown
    for line in markdown.splitlines():  # a table row keeps its cells: no pipe from the repository
        if line.startswith("| ") and "README" in line:
            assert line.count(" | ") == line.replace("\\|", "").count(" | ")


def test_upgrade_markdown(repo: Path) -> None:
    done = run_cli("upgrade", "clusters", "--to", "1.31", "--format", "markdown", cwd=repo)
    assert "Traceback" not in done.stderr, done.stderr
    no_markup(done.stdout)
    no_command_lines(done.stdout + done.stderr)
    assert "edge\\\\n::error" in done.stdout  # the cluster name, escaped and shown


def test_escaper() -> None:
    assert escape.text("a\nb\r\x1b[0m\u202e\x85") == "a\\nb\\r\\x1b[0m\\u202e\\x85"
    assert (
        escape.markdown("<b>|[x](y)![i](z)`c`", breaks="<br>") == "&lt;b&gt;\\|\\[x\\](y)\\!\\[i\\](z)\\`c\\`"
    )
    assert escape.markdown("one\ntwo", breaks="<br>") == "one<br>two"
    assert escape.markdown("- item https://x www.y a@b") == "\\- item https\\://x www\\.y a\\@b"
    assert escape.code("a`b|c", table=True) == "``a`b\\|c``"
    assert escape.code_block("```\nx", "sh") == "````sh\n```\nx\n````\n"
    assert escape.command_data("100%\r\n") == "100%25%0D%0A"
    assert escape.command_property("a:b,c") == "a%3Ab%2Cc"


FLAG_NAMED = "--ignore=K0S.yaml"


@pytest.mark.parametrize(
    "command",
    [
        ["check", "--k0s-version", "1.30"],
        ["audit", "--k0s-version", "1.30"],
        ["fix", "--dry-run", "--k0s-version", "1.30"],
        ["images", "--k0s-version", "1.30"],
        ["upgrade", "--to", "1.31"],
    ],
)
def test_every_command_reads_names_after_double_dash_as_paths(tmp_path: Path, command: list[str]) -> None:
    write(tmp_path, FLAG_NAMED, SIBLING_STALE_PIN)
    done = run_cli(*command, "--", FLAG_NAMED, cwd=tmp_path)
    assert "unrecognized arguments" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "no such file" not in done.stdout + done.stderr
    if command[0] in ("check", "audit", "fix"):
        assert FLAG_NAMED in done.stdout + done.stderr, done.stdout
    if command[0] == "images":
        assert "quay.io/k0sproject/coredns:1.11.1" in done.stdout


def test_merge_reports_reads_names_after_double_dash(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)
    shard = run_cli(
        "check", ".", "--k0s-version", "1.30", "--format", "json", "--output=-shard.json", cwd=tmp_path
    )
    assert shard.returncode == 1, shard.stderr
    done = run_cli("merge-reports", "--", "-shard.json", cwd=tmp_path)
    assert done.returncode == 1 and "K0S102" in done.stdout, done.stderr


# --- fingerprints: a new offending value is a new finding ------------------------------------------


def test_stale_pin_changed_into_another_stale_pin_is_new_in_pr_mode(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)  # coredns 1.11.1: a 1.29 default
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN.replace("1.11.1", "1.10.1"))  # a 1.27 default
    git(tmp_path, "commit", "-q", "-am", "another stale pin")
    done = run_cli("check", "--k0s-version", "1.30", "--diff-base", "HEAD~1", ".", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "k0s.yaml:9:16: error K0S102 coredns pinned to 1.10.1" in done.stdout
    # an unrelated edit keeps the finding known
    write(tmp_path, "k0s.yaml", "# owner: team-a\n" + SIBLING_STALE_PIN.replace("1.11.1", "1.10.1"))
    git(tmp_path, "commit", "-q", "-am", "a comment")
    done = run_cli("check", "--k0s-version", "1.30", "--diff-base", "HEAD~1", ".", cwd=tmp_path)
    assert done.returncode == 0 and "K0S102" not in done.stdout, done.stdout


def test_fingerprint_names_the_value(tmp_path: Path) -> None:
    prints = []
    for version in ("1.11.1", "1.10.1"):
        write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN.replace("1.11.1", version))
        done = run_cli("check", "--k0s-version", "1.30", "--format", "json", ".", cwd=tmp_path)
        (stale,) = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "K0S102"]
        prints.append(stale["fingerprint"])
    assert prints[0] != prints[1]


def test_baseline_of_older_fingerprints_still_matches(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)
    done = run_cli("check", "--k0s-version", "1.30", "--write-baseline", "base.json", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    baseline = json.loads((tmp_path / "base.json").read_text())
    for entry in baseline["findings"]:
        entry["fingerprint"] = "0" * 24  # as written by a release that hashed fewer fields
    (tmp_path / "base.json").write_text(json.dumps(baseline))
    done = run_cli("check", "--k0s-version", "1.30", "--baseline", "base.json", ".", cwd=tmp_path)
    assert done.returncode == 0 and "K0S102" not in done.stdout, done.stdout


# --- fail closed: an exception no step expected is a K0S008 finding and exit code 2 -----------------


def boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected \x1b[31mfailure\n::error::x")


def test_a_crash_outside_every_step_is_a_k0s008_report_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("checker.workflows.check.group", boom)  # clustering: no step catches it
    code = main(
        ["check", "--jobs", "1", "--format", "json", "--format", "sarif", "--output", "out.sarif", "."]
    )
    out, err = capsys.readouterr()
    assert code == 2
    (finding,) = json.loads(out)["findings"]
    assert finding["rule"] == "K0S008" and "RuntimeError" in finding["message"]
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["K0S008"]
    assert "internal error: RuntimeError: injected \\x1b[31mfailure\\n::error::x" in err
    assert "Traceback" not in out + err


def test_a_crash_in_the_audit_still_writes_its_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("checker.workflows.audit.flow.run_audit", boom)
    assert main(["audit", ".", "--markdown", "audit.md"]) == 2
    markdown = (tmp_path / "audit.md").read_text()
    assert "K0S008" in markdown and "RuntimeError" in markdown
    assert "K0S008" in capsys.readouterr().out  # and the text report on stdout


def test_a_file_the_reader_fails_on_costs_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from checker.workflows import check

    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    write(tmp_path, "hostile/k0s.yaml", SIBLING_STALE_PIN.replace("sibling", "hostile"))
    parse = check.parse_bytes

    def failing(path: str, raw: bytes) -> object:
        return boom() if path.startswith("hostile") else parse(path, raw)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(check, "parse_bytes", failing)
    code = main(["check", "--jobs", "1", "--k0s-version", "1.30", "--fail-on", "never", "."])
    out, err = capsys.readouterr()
    assert code == 2  # fail closed, whatever --fail-on says
    assert "hostile/k0s.yaml:1:1: error K0S008 reading this file failed (RuntimeError)" in out
    assert "sibling/k0s.yaml:9:16: error K0S102" in out
    assert "K0S008" in err and "Traceback" not in out + err


def test_a_failing_step_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "k0s.yaml", SIBLING_STALE_PIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("checker.workflows.check.resolve_airgap", boom)  # inside the per-step catch
    code = main(["check", "--jobs", "1", "--k0s-version", "1.30", "--format", "json", "."])
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 2 and {"K0S008", "K0S102"} <= rules


def test_diagnostics_on_stderr_stay_one_line(tmp_path: Path) -> None:
    name = "x\n::error file=README.md,line=1::owned.yaml"
    done = run_cli("check", "--", name, cwd=tmp_path)
    assert done.returncode == 2
    no_command_lines(done.stdout + done.stderr)
    assert (
        "k0s-policy: x\\n::error file=README.md,line=1::owned.yaml: no such file or directory" in done.stderr
    )
