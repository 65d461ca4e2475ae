"""Every rule in the registry is documented: one page per rule in docs/rules/ with the agreed shape, an
index that lists them all (kept current by tools/gen_rule_index.py), and the CLI that prints them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.rules import ALL_RULES, Rule

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs" / "rules"
INDEX = DOCS / "README.md"
GENERATOR = REPO_ROOT / "tools" / "gen_rule_index.py"
SECTIONS = ["What it does", "Why it matters", "Example", "How to fix"]

RULES = pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)


def page_path(rule: Rule) -> Path:
    return DOCS / f"{rule.id}.md"


def read_page(rule: Rule) -> str:
    path = page_path(rule)
    if not path.is_file():
        pytest.fail(f"{rule.id} has no page: write {path.relative_to(REPO_ROOT)}")
    return path.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, list[str]]:
    """Lines of the page by `##` heading (`""` holds what precedes the first); fenced code is skipped
    when looking for headings, so a `## ` line inside a code block is never taken for one."""
    result: dict[str, list[str]] = {"": []}
    current = ""
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            current = line[3:].strip()
            if current in result:
                pytest.fail(f"section {current!r} appears twice")
            result[current] = []
            continue
        result[current].append(line)
    return result


def yaml_blocks(lines: list[str]) -> list[tuple[int, str]]:
    """(line index of the opening fence, content) of every ```yaml block."""
    blocks: list[tuple[int, str]] = []
    start: int | None = None
    body: list[str] = []
    for index, line in enumerate(lines):
        if start is None and line.strip() == "```yaml":
            start, body = index, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(body)))
            start = None
        elif start is not None:
            body.append(line)
    return blocks


# --- the pages --------------------------------------------------------------------------------------


@RULES
def test_page_exists(rule: Rule) -> None:
    assert page_path(rule).is_file(), f"missing {page_path(rule).relative_to(REPO_ROOT)}"
    assert rule.docs == f"docs/rules/{rule.id}.md"


@RULES
def test_page_title_and_severity(rule: Rule) -> None:
    text = read_page(rule)
    assert text.splitlines()[0] == f"# {rule.id}: {rule.name}"
    preamble = [line.strip() for line in sections(text)[""]]
    assert f"Severity: {rule.severity}" in preamble, f"{rule.id} page must state `Severity: {rule.severity}`"


@RULES
def test_page_sections_in_order(rule: Rule) -> None:
    found = [name for name in sections(read_page(rule)) if name]
    assert found == SECTIONS


@RULES
def test_example_shows_failing_and_fixed_yaml(rule: Rule) -> None:
    example = sections(read_page(rule)).get("Example", [])
    stripped = [line.strip() for line in example]
    assert "Use instead:" in stripped, f"{rule.id}: the Example needs a line `Use instead:`"
    use_instead = stripped.index("Use instead:")
    blocks = yaml_blocks(example)
    before = [body for start, body in blocks if start < use_instead]
    after = [body for start, body in blocks if start > use_instead]
    assert before and before[0].strip(), f"{rule.id}: a ```yaml block must show the failing case"
    assert after and after[0].strip(), f"{rule.id}: a ```yaml block must follow `Use instead:`"


@RULES
def test_page_sections_are_not_empty(rule: Rule) -> None:
    found = sections(read_page(rule))
    for name in SECTIONS:
        assert any(line.strip() for line in found.get(name, [])), f"{rule.id}: section {name!r} is empty"


# --- the index --------------------------------------------------------------------------------------


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args], capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )


def test_index_is_current() -> None:
    result = run_generator("--check")
    assert result.returncode == 0, result.stderr + "\nrun: python tools/gen_rule_index.py"


@RULES
def test_index_lists_rule(rule: Rule) -> None:
    text = INDEX.read_text(encoding="utf-8")
    assert f"| [{rule.id}]({rule.id}.md) | `{rule.name}` | {rule.severity} |" in text


def test_index_check_detects_a_stale_table(tmp_path: Path) -> None:
    current = INDEX.read_text(encoding="utf-8")
    stale = tmp_path / "README.md"
    stale.write_text(
        "\n".join(line for line in current.splitlines() if not line.startswith("| [K0S102]")) + "\n"
    )
    before = stale.read_text()

    result = run_generator("--check", "--readme", str(stale))
    assert result.returncode == 1
    assert "stale" in result.stderr
    assert stale.read_text() == before, "--check must not write"

    assert run_generator("--readme", str(stale)).returncode == 0
    assert stale.read_text() == current


def test_index_without_markers_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "README.md"
    shutil.copy(INDEX, broken)
    broken.write_text(broken.read_text().replace("<!-- rules:end -->", ""))
    result = run_generator("--check", "--readme", str(broken))
    assert result.returncode == 2
    assert "markers" in result.stderr


# --- the command line -------------------------------------------------------------------------------


def test_explain_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "K0S102"]) == 0
    page = (DOCS / "K0S102.md").read_text(encoding="utf-8")
    online = "https://github.com/k0s-policy/k0s-policy/blob/main/docs/rules/K0S102.md"
    assert capsys.readouterr().out == f"{page}\nOnline: {online}\n"


def test_explain_accepts_lower_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "k0s102"]) == 0
    assert capsys.readouterr().out.startswith("# K0S102: stale-image-pin\n")


def test_explain_unknown_rule_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "K9999"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "K9999" in captured.err


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert listed == [rule.id for rule in ALL_RULES]
