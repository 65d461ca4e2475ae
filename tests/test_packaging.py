"""The wheel carries the schemas, the release data and the rule pages, and works installed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        cwd=build,
        capture_output=True,
    )
    (found,) = out.glob("k0s_policy-*.whl")
    return found


def test_wheel_ships_data_and_entry_points(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "checker/jsonschemas/1.30/clusterconfig.schema.json" in names
    assert "checker/jsonschemas/1.36/k0sctl-cluster.schema.json" in names
    assert {f"checker/policies/releases/1.{m}.yaml" for m in range(21, 37)} <= names
    assert "checker/policies/releases/catalog.json" in names  # what a run reads
    assert "checker/ruledocs/K0S102.md" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "k0s-policy = checker.cli.app:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_checks_the_story(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "checker",
            "check",
            str(REPO_ROOT / "examples" / "airgap-upgrade"),
            "--format",
            "json",
        ],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert '"rule": "K0S104"' in done.stdout
    explained = subprocess.run(
        [sys.executable, "-m", "checker", "explain", "K0S102"],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert explained.stdout.startswith("# K0S102: stale-image-pin")


def test_core_installs_without_extras_and_rego_says_how_to_get_it(wheel: Path, tmp_path: Path) -> None:
    """A fresh virtualenv with only the core dependencies: check works, --policy and verify exit 2
    with the install line (regopy is the optional extra `rego`)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True)
    assert "regopy" not in listed.stdout.lower()
    example = str(REPO_ROOT / "examples" / "airgap-upgrade")
    k0s_policy = str(venv / "bin" / "k0s-policy")
    checked = subprocess.run(
        [k0s_policy, "check", example, "--format", "json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert checked.returncode == 1, checked.stderr
    assert '"rule": "K0S104"' in checked.stdout
    policy_dir = str(REPO_ROOT / "policies" / "rego")
    for command in (["check", example, "--policy", policy_dir], ["verify", "--policy", policy_dir]):
        done = subprocess.run([k0s_policy, *command], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "pip install 'k0s-policy[rego]'" in done.stderr
        assert "Traceback" not in done.stderr
