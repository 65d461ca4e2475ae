"""End-to-end checks of real files: schema findings, target versions, clusters, input errors."""

from __future__ import annotations

from pathlib import Path

from checker.config import parse_config
from conftest import check_paths, only, rules_of, write

K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: lab
spec:
  hosts:
    - role: single
      localhost: {enabled: true}
  k0s:
    version: {version}
    config:
      spec:
        network:
          provider: kuberouter
"""


def test_unknown_key_is_k0s002_at_the_key_with_did_you_mean(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          network:
            nodeLocalLoadBalancer:
              enabled: true
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="1.30")
    (finding,) = only(result.findings, "K0S002")
    assert (finding.path, finding.line, finding.column) == ("c/k0s.yaml", 5, 5)
    assert "unknown field `nodeLocalLoadBalancer`" in finding.message
    assert "did you mean `nodeLocalLoadBalancing`?" in finding.message
    assert finding.node == "spec.network.nodeLocalLoadBalancer"


def test_enum_and_type_violations_point_at_the_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Sometimes
          api:
            port: "six"
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.14+k0s.0")
    found = {(f.line, f.column): f.message for f in only(result.findings, "K0S002")}
    fixes = {(f.line, f.column): f.fix for f in only(result.findings, "K0S002")}
    assert "'Sometimes' is none of Always, IfNotPresent, Never" in found[(5, 26)]
    assert fixes[(5, 26)] == "use one of Always, IfNotPresent, Never"
    assert "expected integer" in found[(7, 11)]
    # the same file is valid for 1.23, where k0s accepted any pull-policy string
    older = check_paths(["c"], cwd=tmp_path, k0s_version="1.23")
    assert [f.line for f in only(older.findings, "K0S002")] == [7]


def test_embedded_k0sctl_config_is_validated_at_its_own_lines(tmp_path: Path) -> None:
    text = K0SCTL.replace("{version}", "v1.30.14+k0s.0").replace("provider: kuberouter", "provider: flannel")
    write(tmp_path, "lab/k0sctl.yaml", text)
    result = check_paths(["lab"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S002")
    assert (finding.line, finding.column) == (14, 21)
    assert finding.node == "spec.k0s.config.spec.network.provider"


def test_yaml_error_does_not_hide_the_other_documents(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/all.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec: {images: {default_pull_policy: Sometimes}}
        ---
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec: [broken
        ---
        apiVersion: k0s.sh/v1beta1
        kind: ClusterConfig
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="1.30")
    assert sorted(rules_of(result.findings)) == ["K0S001", "K0S002", "K0S004"]
    assert only(result.findings, "K0S001")[0].line in (7, 8)
    assert only(result.findings, "K0S004")[0].line == 9


def test_target_version_order_and_disagreement(tmp_path: Path) -> None:
    write(tmp_path, "lab/k0sctl.yaml", K0SCTL.replace("{version}", "v1.30.2+k0s.0"))
    config = parse_config(b"k0s_version: v1.31.1+k0s.0\n", ".k0s-policy.yaml")
    result = check_paths(["lab"], cwd=tmp_path, config=config)
    (cluster,) = result.clusters
    assert cluster.patch is not None and cluster.patch.version == "v1.31.1+k0s.0"
    (disagree,) = only(result.findings, "K0S304")
    assert "v1.31.1+k0s.0" in disagree.message and "v1.30.2+k0s.0" in disagree.message
    assert (disagree.path, disagree.line) == ("lab/k0sctl.yaml", 10)
    # the command line wins and is not a disagreement of the repository
    result = check_paths(["lab"], cwd=tmp_path, k0s_version="1.29")
    assert result.clusters[0].patch.minor == "1.29"  # type: ignore[union-attr]
    assert not only(result.findings, "K0S304")


def test_no_version_means_newest_with_an_info_finding(tmp_path: Path, catalog) -> None:
    write(tmp_path, "c/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    result = check_paths(["c"], cwd=tmp_path)
    (note,) = only(result.findings, "K0S005")
    assert note.severity.name == "INFO"
    assert catalog.newest().version in note.message


def test_unknown_minor_is_k0s003_and_release_checks_say_they_were_skipped(tmp_path: Path) -> None:
    write(tmp_path, "lab/k0sctl.yaml", K0SCTL.replace("{version}", "v1.40.0+k0s.0"))
    result = check_paths(["lab"], cwd=tmp_path)
    (unknown,) = only(result.findings, "K0S003")
    assert unknown.line == 10 and "1.40" in unknown.message
    assert any("K0S102" in s for s in result.skipped)
    assert any("schema validation" in s for s in result.skipped)


def test_version_newer_than_data_uses_the_minor_with_a_note(tmp_path: Path) -> None:
    write(tmp_path, "lab/k0sctl.yaml", K0SCTL.replace("{version}", "v1.30.99+k0s.0"))
    result = check_paths(["lab"], cwd=tmp_path)
    assert result.clusters[0].patch.minor == "1.30"  # type: ignore[union-attr]
    (note,) = only(result.findings, "K0S005")
    assert "newer than the release data" in note.message


def test_clusters_are_grouped_by_folder_and_k0sctl_file(tmp_path: Path) -> None:
    write(tmp_path, "clusters/a/k0sctl.yaml", K0SCTL.replace("{version}", "v1.30.2+k0s.0"))
    write(
        tmp_path,
        "clusters/a/extra/clusterconfig.yaml",
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n",
    )
    write(tmp_path, "clusters/b/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    write(
        tmp_path,
        "clusters/b/plans/plan.yaml",
        """\
        apiVersion: autopilot.k0sproject.io/v1beta2
        kind: Plan
        metadata: {name: autopilot}
        spec:
          id: id1
          timestamp: now
          commands:
            - k0supdate:
                version: v1.31.1+k0s.0
                platforms: {linux-amd64: {url: "https://example.invalid/k0s", sha256: abc}}
                targets: {controllers: {discovery: {static: {nodes: [c1]}}}}
        """,
    )
    result = check_paths(["clusters"], cwd=tmp_path)
    groups = {c.name: sorted(o.path for o in c.objects) for c in result.clusters}
    assert groups == {
        "lab (clusters/a/k0sctl.yaml)": [
            "clusters/a/extra/clusterconfig.yaml",
            "clusters/a/k0sctl.yaml",
            "clusters/a/k0sctl.yaml",
        ],
        "clusters/b": ["clusters/b/k0s.yaml", "clusters/b/plans/plan.yaml"],
    }
    b = next(c for c in result.clusters if c.name == "clusters/b")
    assert b.patch.version == "v1.31.1+k0s.0"  # type: ignore[union-attr]


def test_ordinary_manifests_are_not_findings(tmp_path: Path) -> None:
    write(
        tmp_path, "apps/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: k0s-thing}\n"
    )
    result = check_paths(["apps"], cwd=tmp_path)
    assert result.findings == [] and result.objects == 0


def test_absolute_paths_outside_the_current_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "repo/c/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    result = check_paths([str(path.parent)], cwd=tmp_path / "elsewhere", k0s_version="1.30")
    (cluster,) = result.clusters
    assert cluster.name == path.parent.as_posix()


def test_bundle_uploaded_only_to_controllers_does_not_make_a_cluster_air_gapped(tmp_path: Path) -> None:
    text = """\
    apiVersion: k0sctl.k0sproject.io/v1beta1
    kind: Cluster
    metadata: {name: lab}
    spec:
      hosts:
        - role: controller
          ssh: {address: 10.0.0.1}
          files: [{src: bundle.tar, dstDir: /var/lib/k0s/images/}]
        - role: worker
          ssh: {address: 10.0.0.2}
      k0s: {version: v1.30.5+k0s.0}
    """
    write(tmp_path, "lab/k0sctl.yaml", text)
    assert not check_paths(["lab"], cwd=tmp_path).clusters[0].airgapped
    write(tmp_path, "lab/k0sctl.yaml", text.replace("role: controller\n", "role: controller+worker\n"))
    cluster = check_paths(["lab"], cwd=tmp_path).clusters[0]
    assert cluster.airgapped and "/var/lib/k0s/images" in cluster.airgap_reason
