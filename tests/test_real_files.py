"""Real files from k0s's documentation and k0sctl's own smoke tests (the source is in each fixture's
first line), checked as a user would: they agree with what k0s and k0sctl do with them."""

from __future__ import annotations

import shutil
from pathlib import Path

from checker.rules import Options
from tests.conftest import REPO_ROOT, check_paths, only

REAL = REPO_ROOT / "tests" / "fixtures" / "real"


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(REAL / name, target)
    first = next((REAL / name).iterdir()).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Source: k0sproject/"), first
    return target


def serious(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{f.rule} {f.line}: {f.message}" for f in findings if f.severity >= 2 and not f.suppressed_by]


def test_reference_config_of_the_k0s_docs_passes(tmp_path: Path) -> None:
    copy(tmp_path, "k0s-docs-configuration")
    for version in ("v1.30.14+k0s.0", "v1.29.15+k0s.0"):
        result = check_paths(["k0s-docs-configuration"], cwd=tmp_path, k0s_version=version)
        assert serious(result.findings) == [], version


def test_dual_stack_example_without_apiversion_is_read_and_passes(tmp_path: Path) -> None:
    copy(tmp_path, "k0s-docs-dual-stack")
    result = check_paths(["k0s-docs-dual-stack"], cwd=tmp_path, k0s_version="v1.36.3+k0s.2")
    assert serious(result.findings) == []
    assert [f.line for f in only(result.findings, "K0S016")] == [2]


def test_cplb_example_still_has_its_placeholders(tmp_path: Path) -> None:
    copy(tmp_path, "k0s-docs-cplb")
    result = check_paths(["k0s-docs-cplb"], cwd=tmp_path, k0s_version="v1.36.3+k0s.2")
    placeholders = only(result.findings, "K0S042")
    assert [(f.line, f.node.rsplit(".", 1)[-1]) for f in placeholders] == [
        (9, "virtualIPs[0]"),
        (12, "ipAddress"),
    ]
    assert "<VIP address>" in placeholders[0].message


def test_k0sctl_smoke_test_file_with_and_without_its_environment(tmp_path: Path) -> None:
    copy(tmp_path, "k0sctl-smoke-test")
    env = {"K0S_VERSION": "v1.33.13+k0s.1", "OS_OVERRIDE": ""}
    result = check_paths(["k0sctl-smoke-test"], cwd=tmp_path, options=Options(environ=env))
    assert serious(result.findings) == []
    assert only(result.findings, "K0S019") == []
    (cluster,) = result.clusters
    assert cluster.patch is not None and cluster.patch.version == "v1.33.13+k0s.1"
    # Without it: the values are unknown, never wrong; release checks say why they were skipped.
    bare = check_paths(["k0sctl-smoke-test"], cwd=tmp_path, options=Options(environ={}))
    assert serious(bare.findings) == []
    assert sorted(f.line for f in only(bare.findings, "K0S019")) == [8, 21, 30]
    assert only(bare.findings, "K0S003") == []
    assert any("K0S_VERSION" in line for line in bare.skipped)
