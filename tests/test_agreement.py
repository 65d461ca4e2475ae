"""Decoding and recognition like k0s and k0sctl: nulls, case-insensitive keys, ignored fields, empty
image parts, documents without apiVersion/kind, files named like k0s configs, k0sctl's envsubst."""

from __future__ import annotations

from pathlib import Path

from checker.rules import Options
from checker.workflows.check import Result
from tests.conftest import check_paths, only, rules_of, write

SEED = """\
spec:
  network:
    nodeLocalLoadBalancer:
      enabled: true
  images:
    default_pull_policy: Never
"""


def check(tmp_path: Path, name: str, text: str, version: str | None = None, **kwargs: object) -> Result:
    write(tmp_path, name, text)
    return check_paths([name.split("/")[0]], cwd=tmp_path, k0s_version=version, **kwargs)  # type: ignore[arg-type]


def test_seed_snippet_without_apiversion_gives_the_typo_at_its_line(tmp_path: Path) -> None:
    # A directory walk: the file never mentions k0s, its name makes it one to read.
    result = check(tmp_path, "cluster/k0s.yaml", SEED)
    (typo,) = only(result.findings, "K0S002")
    assert (typo.path, typo.line, typo.column) == ("cluster/k0s.yaml", 3, 5)
    assert "did you mean" in typo.message and "nodeLocalLoadBalancing" in typo.message
    (note,) = only(result.findings, "K0S016")
    assert "no apiVersion/kind" in note.message


def test_nulls_are_not_set(tmp_path: Path) -> None:
    text = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  creationTimestamp: null
  name: k0s
spec:
  api: null
  network:
    calico: null
    kuberouter:
    kubeProxy: {mode: null}
  extensions:
    helm: {charts: null, repositories: null}
    storage: null
  storage:
    etcd: {externalCluster: null}
"""
    for version in ("1.22.17", "1.30.14", "1.36.3"):
        result = check(tmp_path, "c/k0s.yaml", text, version)
        assert [f for f in result.findings if f.severity >= 2] == [], version
        assert not [r for r in rules_of(result.findings) if r.startswith("K0S4")], version


def test_case_insensitive_key_is_read_as_the_field(tmp_path: Path) -> None:
    text = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  Network:\n    kubeRouter:\n      mtux: 1\n"
    result = check(tmp_path, "c/k0s.yaml", text, "1.30.14")
    folded = only(result.findings, "K0S015")
    assert [(f.line, f.node) for f in folded] == [(4, "spec.Network"), (5, "spec.Network.kubeRouter")]
    assert "`kuberouter`" in folded[1].message
    # The schema checks the folded field: the typo below it is found, at its written line.
    (typo,) = only(result.findings, "K0S002")
    assert typo.line == 6 and "mtux" in typo.message and typo.node == "spec.Network.kubeRouter.mtux"


def test_podsecuritypolicy_has_no_effect_from_1_25_and_interval_is_forgiven(tmp_path: Path) -> None:
    text = (
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n"
        "  podSecurityPolicy:\n    defaultPolicy: 00-k0s-privileged\n  telemetry:\n    interval: 10m\n"
    )
    old = check(tmp_path, "c/k0s.yaml", text, "1.24.17")
    assert only(old.findings, "K0S002") == []
    assert [f.node for f in only(old.findings, "K0S018")] == ["spec.telemetry.interval"]
    new = check(tmp_path, "c/k0s.yaml", text, "1.25.16")
    assert only(new.findings, "K0S002") == []
    psp = [f for f in only(new.findings, "K0S018") if f.node == "spec.podSecurityPolicy"]
    assert psp and psp[0].severity == 2 and "since k0s 1.25" in psp[0].message


def test_empty_image_parts_are_defaults(tmp_path: Path) -> None:
    text = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    coredns: {image: "", version: ""}
    kubeproxy: {image: quay.io/k0sproject/kube-proxy}
  network:
    nodeLocalLoadBalancing:
      enabled: true
      envoyProxy:
        image: {image: quay.io/k0sproject/envoy-distroless, version: ""}
"""
    for version in ("1.26.15", "1.31.14", "1.36.3"):
        result = check(tmp_path, "c/k0s.yaml", text, version)
        assert only(result.findings, "K0S002") == [], version


def test_file_named_like_k0s_config_that_is_none(tmp_path: Path) -> None:
    result = check(tmp_path, "c/k0sctl.yaml", "config:\n  network: {}\n")
    (finding,) = only(result.findings, "K0S017")
    assert finding.path == "c/k0sctl.yaml"
    # Other names are not our business; an empty k0s.yaml is k0s's default configuration.
    assert only(check(tmp_path, "d/values.yaml", "config: {k0s: 1}\n").findings, "K0S017") == []
    assert only(check(tmp_path, "e/k0s.yaml", "# nothing yet\n").findings, "K0S017") == []


K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge
spec:
  hosts:
    - role: ${ROLE:-single}
      ssh:
        address: $HOST_ADDRESS
  k0s:
    version: ${K0S_VERSION}
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: clusterconfig
spec:
  network:
    provider: calico
"""


def test_k0sctl_environment_substitution(tmp_path: Path) -> None:
    env = {"HOST_ADDRESS": "10.0.0.5", "K0S_VERSION": "v1.30.14+k0s.0"}
    result = check(tmp_path, "c/k0sctl.yaml", K0SCTL, options=Options(environ=env))
    assert only(result.findings, "K0S019") == []
    (cluster,) = result.clusters
    assert cluster.patch is not None and cluster.patch.version == "v1.30.14+k0s.0"
    assert cluster.k0sctl is not None and cluster.k0sctl.get("spec", "hosts", 0, "role") == "single"
    # The lower-case clusterconfig document is merged by k0sctl: it is part of the cluster.
    assert len(cluster.configs) == 1
    assert [f.rule for f in result.findings if f.severity >= 2] == []


def test_unset_variable_leaves_the_value_unknown(tmp_path: Path) -> None:
    result = check(tmp_path, "c/k0sctl.yaml", K0SCTL, options=Options(environ={}))
    unset = only(result.findings, "K0S019")
    assert sorted(f.node for f in unset) == ["spec.hosts[0].ssh.address", "spec.k0s.version"]
    version = next(f for f in unset if f.node == "spec.k0s.version")
    assert version.line == 11 and "${K0S_VERSION}" in version.message
    assert only(result.findings, "K0S003") == []
    assert only(result.findings, "K0S002") == []
    assert any("K0S_VERSION" in s for s in result.skipped)


def test_unset_variable_in_an_embedded_config_is_not_judged(tmp_path: Path) -> None:
    text = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  hosts:
    - role: single
      localhost: {enabled: true}
  k0s:
    version: v1.30.14+k0s.0
    config:
      spec:
        api:
          address: ${CONTROLLER_IP}
          sans: [$LB_NAME]
"""
    result = check(tmp_path, "c/k0sctl.yaml", text, options=Options(environ={}))
    assert sorted(f.line for f in only(result.findings, "K0S019")) == [12, 13]
    assert [f for f in result.findings if f.severity >= 2] == []
    set_env = check(
        tmp_path,
        "c/k0sctl.yaml",
        text,
        options=Options(environ={"CONTROLLER_IP": "node", "LB_NAME": "lb.example.com"}),
    )
    assert [f.line for f in only(set_env.findings, "K0S020")] == [12]


def test_legacy_kind_cluster_in_a_k0sctl_file_is_not_merged(tmp_path: Path) -> None:
    text = K0SCTL.replace("kind: clusterconfig", "kind: Cluster")
    env = {"HOST_ADDRESS": "10.0.0.5", "K0S_VERSION": "v1.30.14+k0s.0"}
    result = check(tmp_path, "c/k0sctl.yaml", text, options=Options(environ=env))
    assert [f.line for f in only(result.findings, "K0S004")] == [13]
