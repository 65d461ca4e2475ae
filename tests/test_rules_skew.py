"""K0S3xx on real files: kube-proxy skew, skipped minors, downgrades, disagreeing versions, Plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.findings import Severity
from checker.rules import Options
from checker.rules.skew import tag_minor, version_order
from conftest import check_paths, only, write


def k0sctl(version: str, *, role: str = "controller", install_flags: str = "") -> str:
    flags = f"\n      installFlags: [{install_flags}]" if install_flags else ""
    return f"""\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: prod
spec:
  hosts:
    - role: {role}
      ssh: {{address: 10.0.0.1}}{flags}
    - role: worker
      ssh: {{address: 10.0.0.2}}
  k0s:
    version: {version}
"""


def plan(version: str, *, name: str = "autopilot", command: str = "k0supdate", sha256: bool = True) -> str:
    checksum = (
        "\n            sha256: 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
        if sha256
        else ""
    )
    return f"""\
apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata:
  name: {name}
spec:
  id: upgrade-1
  timestamp: now
  commands:
    - {command}:
        version: {version}
        platforms:
          linux-amd64:
            url: https://files.example.com/k0s-{version}-amd64{checksum}
"""


# --- helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "minor"),
    [
        ("v1.29.4", (1, 29)),
        ("v1.36.3-1", (1, 36)),
        ("v1.36.3-calico-hostprocess", (1, 36)),
        ("1.30.2", (1, 30)),
        ("latest", None),
        (None, None),
    ],
)
def test_tag_minor(tag: str | None, minor: tuple[int, int] | None) -> None:
    assert tag_minor(tag) == minor


@pytest.mark.parametrize(
    ("older", "newer", "order"),
    [
        ("v1.29.4+k0s.0", "v1.31.1+k0s.0", 1),
        ("v1.29.4+k0s.0", "v1.28.15+k0s.0", -1),
        ("v1.29.4+k0s.0", "v1.29.3+k0s.0", -1),
        ("v1.29.4+k0s.1", "v1.29.4+k0s.0", -1),
        ("v1.29.4+k0s.1", "v1.29.4", 0),  # v1.29.4 means the newest +k0s.N of 1.29.4
        ("v1.29.4+k0s.0", "1.29", 0),  # a bare minor says nothing about the patch
        ("v1.29.4+k0s.0", "not a version", None),
    ],
)
def test_version_order(older: str, newer: str, order: int | None) -> None:
    assert version_order(older, newer) == order


# --- K0S301 --------------------------------------------------------------------------------------------


def test_kube_proxy_pin_of_another_minor_is_k0s301_at_the_version(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            kubeproxy:
              image: quay.io/k0sproject/kube-proxy
              version: v1.29.4
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0")
    (finding,) = only(result.findings, "K0S301")
    assert (finding.path, finding.line, finding.column) == ("c/k0s.yaml", 7, 16)
    assert finding.severity is Severity.ERROR
    assert finding.node == "spec.images.kubeproxy.version"
    assert finding.message == (
        "kubeproxy pinned to a Kubernetes 1.29 image, but k0s v1.30.5+k0s.0 runs 1.30.5 kubelets"
    )
    assert finding.fix == "remove spec.images.kubeproxy or pin a v1.30.x image"
    assert "same minor as its kubelet" in finding.detail
    assert "quay.io/k0sproject/kube-proxy:v1.30.5" in finding.detail


def test_windows_kube_proxy_hostprocess_tag_is_parsed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            windows:
              kubeproxy:
                version: v1.33.1-calico-hostprocess
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.34.1+k0s.0")
    (finding,) = only(result.findings, "K0S301")
    assert (finding.line, finding.column) == (7, 18)
    assert "windows.kubeproxy" in finding.message
    assert "Kubernetes 1.33 image" in finding.message


@pytest.mark.parametrize(
    "spec",
    [
        # another patch of the same minor is fine
        "images:\n    kubeproxy:\n      version: v1.30.2\n",
        # kube-proxy is disabled, so the pin is never used
        "images:\n    kubeproxy:\n      version: v1.29.4\n  network:\n    kubeProxy:\n      disabled: true\n",
        # a tag that names no version
        "images:\n    kubeproxy:\n      version: custom-build\n",
    ],
)
def test_kube_proxy_clean(tmp_path: Path, spec: str) -> None:
    text = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  " + spec
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "k0s.yaml").write_text(text)
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0")
    assert only(result.findings, "K0S301") == []


# --- K0S302 --------------------------------------------------------------------------------------------


def test_plan_two_minors_above_k0sctl_is_k0s302(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.31.1+k0s.0"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S302")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 10, 18)
    assert finding.node == "spec.commands[0].k0supdate.version"
    assert finding.message == (
        "this Plan's k0supdate.version moves k0s v1.29.4+k0s.0 to v1.31.1+k0s.0, 2 minor releases at once"
    )
    assert finding.fix == "upgrade through 1.30 first (each on its newest patch), then 1.31"
    assert "at v1.29.4+k0s.0 (declared by k0sctl spec.k0s.version (prod/k0sctl.yaml:12))" in finding.detail
    assert "one minor at a time" in finding.detail
    assert "Install 1.30 (newest patch v1.30." in finding.detail
    assert "then 1.31" in finding.detail
    assert only(result.findings, "K0S303") == []


def test_airgapupdate_three_minors_names_both_intermediate_minors(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.32.5+k0s.0", command="airgapupdate"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S302")
    assert finding.node == "spec.commands[0].airgapupdate.version"
    assert "3 minor releases at once" in finding.message
    assert "through 1.30, 1.31 first" in finding.fix
    assert "1.30 (newest patch" in finding.detail
    assert "then 1.31 (newest patch" in finding.detail
    assert "then 1.32" in finding.detail


def test_one_minor_plan_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0"))
    result = check_paths(["prod"], cwd=tmp_path)
    assert only(result.findings, "K0S302") == []
    assert only(result.findings, "K0S303") == []


def _cluster_name(tmp_path: Path) -> str:
    (cluster,) = check_paths(["prod"], cwd=tmp_path).clusters
    return cluster.name


def test_k0sctl_two_minors_above_the_base_revision_is_k0s302(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.31.1+k0s.0"))
    options = Options(base_versions={_cluster_name(tmp_path): "v1.29.4+k0s.0"})
    result = check_paths(["prod"], cwd=tmp_path, options=options)
    (finding,) = only(result.findings, "K0S302")
    assert (finding.path, finding.line, finding.column) == ("prod/k0sctl.yaml", 12, 14)
    assert "moves k0s v1.29.4+k0s.0 to v1.31.1+k0s.0" in finding.message
    assert "at v1.29.4+k0s.0 (declared by the base revision)" in finding.detail
    assert "Install 1.30" in finding.detail


def test_one_minor_change_against_the_base_revision_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.30.5+k0s.0"))
    options = Options(base_versions={_cluster_name(tmp_path): "v1.29.4+k0s.0"})
    result = check_paths(["prod"], cwd=tmp_path, options=options)
    assert only(result.findings, "K0S302") == []
    assert only(result.findings, "K0S303") == []


# --- K0S303 --------------------------------------------------------------------------------------------


def test_plan_to_an_older_minor_is_k0s303(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.28.15+k0s.0"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S303")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 10, 18)
    assert finding.severity is Severity.ERROR
    assert "back to v1.28.15+k0s.0" in finding.message
    assert "does not support downgrades" in finding.message
    assert "restore a backup" in finding.fix and "k0sctl refuses them" in finding.detail
    assert only(result.findings, "K0S302") == []


def test_k0sctl_below_the_base_revision_is_k0s303(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.30.4+k0s.0"))
    options = Options(base_versions={_cluster_name(tmp_path): "v1.30.5+k0s.0"})
    result = check_paths(["prod"], cwd=tmp_path, options=options)
    (finding,) = only(result.findings, "K0S303")
    assert (finding.line, finding.column) == (12, 14)
    assert "moves k0s v1.30.5+k0s.0 back to v1.30.4+k0s.0" in finding.message
    assert "at v1.30.5+k0s.0 (declared by the base revision)" in finding.detail


def test_same_release_spelled_differently_is_not_a_downgrade(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.29.4"))
    result = check_paths(["prod"], cwd=tmp_path)
    assert only(result.findings, "K0S303") == []


# --- K0S304 --------------------------------------------------------------------------------------------


def test_two_plans_to_different_versions_is_k0s304(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0"))
    write(tmp_path, "prod/later/plan.yaml", plan("v1.30.4+k0s.0"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S304")
    assert (finding.path, finding.line) == ("prod/later/plan.yaml", 10)
    assert finding.message == "cluster declared at two k0s versions: v1.30.5+k0s.0 and v1.30.4+k0s.0"
    assert "the checks use v1.30.5+k0s.0" in finding.detail


def test_one_plan_one_version_is_not_k0s304(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0"))
    result = check_paths(["prod"], cwd=tmp_path)
    assert only(result.findings, "K0S304") == []


# --- K0S305 --------------------------------------------------------------------------------------------


def test_plan_not_named_autopilot_is_k0s305_error(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0", name="upgrade-to-130"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S305")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 4, 9)
    assert finding.severity is Severity.ERROR
    assert "named 'upgrade-to-130'" in finding.message
    assert "never runs" in finding.message
    assert finding.fix == "set metadata.name: autopilot"


def test_platform_without_sha256_is_k0s305_warning(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0", sha256=False))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S305")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 12, 11)
    assert finding.severity is Severity.WARNING
    assert finding.node == "spec.commands[0].k0supdate.platforms.linux-amd64"
    assert finding.message == "k0supdate platform linux-amd64 gives a download url but no sha256"
    assert "without verifying it" in finding.detail


@pytest.mark.parametrize("checksum", ["REPLACE-WITH-SHA256-OF-k0s-v1.30.5+k0s.0-amd64", "0f1e2d3c", "12345"])
def test_malformed_sha256_is_k0s305_error(tmp_path: Path, checksum: str) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    text = plan("v1.30.5+k0s.0", sha256=False) + f"            sha256: {checksum}\n"
    write(tmp_path, "prod/plan.yaml", text)
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S305")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 14, 21)
    assert finding.severity is Severity.ERROR
    assert finding.node == "spec.commands[0].k0supdate.platforms.linux-amd64.sha256"
    detail = getattr(finding, "detail", "") or str(finding.data.get("detail", ""))
    assert "not a SHA-256 checksum" in finding.message and "invalid update hash" in detail
    assert len(finding.message) <= 120


def test_upper_case_hex_sha256_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    text = plan("v1.30.5+k0s.0", sha256=False) + f"            sha256: {'AB' * 32}\n"
    write(tmp_path, "prod/plan.yaml", text)
    assert only(check_paths(["prod"], cwd=tmp_path).findings, "K0S305") == []


@pytest.mark.parametrize(
    ("role", "flags"),
    [("controller+worker", ""), ("single", ""), ("controller", "--enable-worker")],
)
def test_airgapupdate_on_controller_workers_is_k0s305_warning(tmp_path: Path, role: str, flags: str) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0", role=role, install_flags=flags))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0", command="airgapupdate"))
    result = check_paths(["prod"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S305")
    assert (finding.path, finding.line, finding.column) == ("prod/plan.yaml", 9, 7)
    assert finding.severity is Severity.WARNING
    assert "SchedulableWait" in finding.message
    assert "#7303" in finding.fix and "#7304" in finding.detail


def test_good_plan_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "prod/k0sctl.yaml", k0sctl("v1.29.4+k0s.0"))
    write(tmp_path, "prod/plan.yaml", plan("v1.30.5+k0s.0", command="airgapupdate"))
    result = check_paths(["prod"], cwd=tmp_path)
    assert only(result.findings, "K0S305") == []
