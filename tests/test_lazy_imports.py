"""The pre-commit path imports what a check needs and no more: the parser of the sub-command given, no
audit reports, no registry client; `--help` and a mistyped command still see every sub-command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_cli, write

CONFIG = """
    apiVersion: k0s.k0sproject.io/v1beta1
    kind: ClusterConfig
    metadata: {name: k0s}
    spec: {}
"""
NOT_IMPORTED = ("checker.report.audit", "checker.cli.audit", "checker.inputs.registry", "importlib.resources")


def test_a_single_file_check_imports_neither_audit_nor_registry_code(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", CONFIG)
    probe = (
        "import sys\n"
        "from checker.cli.app import main\n"
        "code = main(['check', 'k0s.yaml', '--k0s-version', '1.30', '--fail-on', 'never'])\n"
        f"print('LOADED', [m for m in {NOT_IMPORTED!r} if m in sys.modules], code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "LOADED [] 0"


def test_help_and_a_mistyped_command_still_list_every_sub_command(tmp_path: Path) -> None:
    listing = run_cli("--help", cwd=tmp_path)
    assert listing.returncode == 0
    for command in ("check", "rules", "explain", "audit", "fix", "releases", "verify", "merge-reports"):
        assert command in listing.stdout
    wrong = run_cli("chek", ".", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "invalid choice: 'chek'" in wrong.stderr and "upgrade" in wrong.stderr


def test_a_sub_command_help_is_its_own(tmp_path: Path) -> None:
    done = run_cli("audit", "--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("usage: k0s-policy audit")
