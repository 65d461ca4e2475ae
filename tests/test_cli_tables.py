"""The grammar is shown once, generated from the parsers: the README's table of shared flags and
docs/cli.md's table per sub-command are what tools/gen_cli_tables.py renders now, and every flag a
table names exists on every sub-command it is marked for."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from types import ModuleType

from checker.cli.app import build_parser
from conftest import REPO_ROOT

GENERATOR = REPO_ROOT / "tools" / "gen_cli_tables.py"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_tables", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = load_tool()


def between(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->\n", 1)[1].split(f"\n<!-- {name}:end -->", 1)[0]


def options_of(command: str) -> set[str]:
    parsers = dict(TOOL.commands(build_parser()))
    return {option for action in parsers[command]._actions for option in action.option_strings}


def spellings(cell: str) -> list[str]:
    return [code.split()[0] for code in re.findall(r"`([^`]+)`", cell)]


def test_the_tables_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr + "\nrun: python tools/gen_cli_tables.py"


def test_the_tables_are_what_the_parsers_say() -> None:
    root = build_parser()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    cli_doc = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert between(readme, "grammar") == TOOL.render_grammar(root)
    assert between(cli_doc, "flags") == TOOL.render_flags(root)


def test_every_flag_in_the_readme_exists_where_it_is_marked() -> None:
    table = between((REPO_ROOT / "README.md").read_text(encoding="utf-8"), "grammar").splitlines()
    columns = [cell.strip().strip("`") for cell in table[0].strip("|").split("|")][1:-1]
    assert {"check", "audit", "upgrade", "fix", "merge-reports", "verify"} <= set(columns)
    rows = 0
    for row in table[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        flags, marks = spellings(cells[0]), cells[1:-1]
        for command, mark in zip(columns, marks, strict=True):
            present = set(flags) <= options_of(command)
            assert present == (mark == "✓"), (command, flags, mark)
        rows += 1
    assert rows >= 20  # the shared grammar: formats, rule selection, configuration, releases, air gap


def test_every_flag_in_the_reference_exists() -> None:
    text = between((REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), "flags")
    sections = re.split(r"(?m)^### `k0s-policy ", text)[1:]
    assert len(sections) >= 12
    for section in sections:
        heading, _, body = section.partition("\n")
        words = heading.rstrip("`").split()
        command = " ".join(w for w in words if not w.isupper())
        listed = [
            flag
            for line in body.splitlines()
            if line.startswith("| `")
            for flag in spellings(line.split(" | ")[0])
        ]
        assert listed and set(listed) <= options_of(command), command
        assert set(listed) == options_of(command) - {"-h", "--help"}, command  # every flag, none left out
