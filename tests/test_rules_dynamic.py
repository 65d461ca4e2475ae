"""K0S4xx on real files: persisted defaults, node-local keys in the object, k0sctl drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.findings import Severity
from conftest import check_paths, only, write


def k0sctl(version: str, spec: str, *, dynamic: bool = True, install_flags: str = "") -> str:
    """A k0sctl file whose embedded config's spec is ``spec`` (indented by 8 in the result)."""
    flags = f"\n      installFlags: [{install_flags}]" if install_flags else ""
    body = "\n".join("        " + line if line else "" for line in spec.splitlines())
    return f"""\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge-prod
spec:
  hosts:
    - role: controller+worker
      ssh: {{address: 10.20.0.11}}{flags}
  k0s:
    version: {version}
    dynamicConfig: {"true" if dynamic else "false"}
    config:
      apiVersion: k0s.k0sproject.io/v1beta1
      kind: ClusterConfig
      metadata:
        name: k0s
      spec:
{body}
"""


STORY_SPEC = """\
images:
  default_pull_policy: Never
network:
  provider: kuberouter
  nodeLocalLoadBalancing:
    enabled: true
    type: EnvoyProxy
"""

REPOSITORY_SPEC = """\
images:
  repository: registry.example.com/lcm
"""

EXPORTED_OBJECT = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
  namespace: kube-system
  resourceVersion: "412"
spec:
  api:
    address: 10.20.0.11
  storage:
    type: etcd
  install:
    users:
      etcdUser: etcd
  network:
    serviceCIDR: 10.96.0.0/12
    clusterDomain: cluster.local
    podCIDR: 10.244.0.0/16
    dualStack:
      enabled: true
    provider: kuberouter
"""


# --- K0S401 --------------------------------------------------------------------------------------------


def test_story_config_on_1_30_is_k0s401_for_images_and_network(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.30.5+k0s.0", STORY_SPEC))
    result = check_paths(["edge"], cwd=tmp_path)
    images, network = only(result.findings, "K0S401")

    assert (images.path, images.line, images.column) == ("edge/k0sctl.yaml", 19, 32)
    assert images.severity is Severity.ERROR
    assert images.node == "spec.k0s.config.spec.images.default_pull_policy"
    assert images.message == (
        "default_pull_policy: Never makes k0s v1.30.5+k0s.0 store all 11 default images in the "
        "dynamic-config object"
    )
    assert "k0s config edit" in images.fix
    assert "default_pull_policy: Never makes it differ" in images.detail
    assert "quay.io/k0sproject/kube-proxy:v1.30.5" in images.detail
    assert "inherit these as deliberate pins" in images.detail
    assert "cannot start" in images.detail
    assert "v1.32.1+k0s.0" in images.detail  # no 1.30 or 1.31 patch strips defaults
    assert "no 1.30 patch" in images.detail

    assert (network.line, network.column) == (23, 22)
    assert network.node == "spec.k0s.config.spec.network.nodeLocalLoadBalancing.enabled"
    assert "store the default envoy image" in network.message
    assert "quay.io/k0sproject/envoy-distroless:v1.30.5" in network.detail
    assert "envoyProxy.image" in network.detail


def test_story_config_on_1_32_5_persists_nothing(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.32.5+k0s.0", STORY_SPEC))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S401") == []


def test_repository_on_1_32_5_is_k0s401_at_the_repository(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.32.5+k0s.0", REPOSITORY_SPEC))
    result = check_paths(["edge"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S401")
    assert (finding.line, finding.column) == (19, 23)
    assert finding.node == "spec.k0s.config.spec.images.repository"
    assert finding.message.startswith("with spec.images.repository set, k0s v1.32.5+k0s.0 stores")
    assert "#7708" in finding.detail
    assert "registry.example.com/lcm/k0sproject/kube-proxy:v1.32.5" in finding.detail
    assert "v1.33.13+k0s.0" in finding.detail  # no 1.32 patch compares rewritten defaults
    assert "keeping only the repository" in finding.detail


def test_repository_on_1_33_9_names_the_fixed_patch_of_the_same_minor(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.9+k0s.0", REPOSITORY_SPEC))
    result = check_paths(["edge"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S401")
    assert "v1.33.13+k0s.0, the first 1.33 patch" in finding.detail


def test_repository_on_1_33_13_persists_nothing(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.13+k0s.0", REPOSITORY_SPEC))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S401") == []


def test_without_dynamic_config_nothing_is_persisted(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.30.5+k0s.0", STORY_SPEC, dynamic=False))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S401") == []


def test_install_flag_turns_dynamic_config_on(tmp_path: Path) -> None:
    text = k0sctl("v1.30.5+k0s.0", STORY_SPEC, dynamic=False, install_flags="--enable-dynamic-config")
    write(tmp_path, "edge/k0sctl.yaml", text)
    result = check_paths(["edge"], cwd=tmp_path)
    assert len(only(result.findings, "K0S401")) == 2


def test_default_network_settings_do_not_persist_the_envoy_image(tmp_path: Path) -> None:
    spec = "network:\n  provider: kuberouter\n  podCIDR: 10.244.0.0/16\n"
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.30.5+k0s.0", spec))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S401") == []


def test_exported_object_is_left_to_k0s104(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/clusterconfig.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        metadata:
          name: k0s
          namespace: kube-system
        spec:
          images:
            default_pull_policy: Never
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0")
    assert only(result.findings, "K0S401") == []


def test_standalone_k0s_yaml_beside_the_object_is_the_bootstrap_config(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
        """,
    )
    write(tmp_path, "c/object.yaml", EXPORTED_OBJECT)
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.29.4+k0s.0")
    (finding,) = only(result.findings, "K0S401")
    assert (finding.path, finding.line, finding.column) == ("c/k0s.yaml", 5, 26)
    assert finding.severity is Severity.INFO  # the object exists: only a new bootstrap would write it
    assert "The repository also holds the cluster's object (c/object.yaml)" in finding.detail
    assert "no longer writes the object" in finding.detail


def test_pull_policy_alone_persists_nothing_where_k0s_ignores_it(tmp_path: Path) -> None:
    # k0s 1.22-1.25 forces IfNotPresent, so the images block still equals its defaults.
    spec = "images:\n  default_pull_policy: Never\n"
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.25.2+k0s.0", spec))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S401") == []


# --- K0S402 --------------------------------------------------------------------------------------------


def test_node_local_keys_in_the_exported_object_are_k0s402(tmp_path: Path) -> None:
    write(tmp_path, "c/object.yaml", EXPORTED_OBJECT)
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0")
    findings = only(result.findings, "K0S402")
    assert [(f.node, f.line, f.column) for f in findings] == [
        ("spec.api", 8, 3),
        ("spec.storage", 10, 3),
        ("spec.install", 12, 3),
    ]  # dualStack is cluster-wide: k0s keeps it in the object
    api = findings[0]
    assert api.severity is Severity.WARNING
    assert api.message == "spec.api is node-local: k0s ignores it in the dynamic-config object"
    assert api.fix == "move spec.api to the controllers' k0s.yaml and remove it here"
    assert "exported ClusterConfig object" in api.detail
    assert "changes nothing" in api.detail


def test_non_default_service_cidr_in_the_object_is_k0s402(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c/object.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        metadata:
          name: k0s
          namespace: kube-system
        spec:
          network:
            serviceCIDR: 10.100.0.0/16
            podCIDR: 10.200.0.0/16
        """,
    )
    result = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0")
    (finding,) = only(result.findings, "K0S402")
    assert (finding.node, finding.line, finding.column) == ("spec.network.serviceCIDR", 8, 5)


def test_clusterconfig_beside_a_dynamic_k0sctl_file_is_the_object(tmp_path: Path) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.13+k0s.0", "network:\n  provider: calico\n"))
    write(
        tmp_path,
        "edge/manifests/clusterconfig.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        metadata:
          name: k0s
        spec:
          api:
            port: 6443
        """,
    )
    result = check_paths(["edge"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S402")
    assert (finding.path, finding.line, finding.column) == ("edge/manifests/clusterconfig.yaml", 6, 3)
    assert "beside a k0sctl file with dynamic config" in finding.detail


@pytest.mark.parametrize("dynamic", [True, False])
def test_node_local_keys_in_node_configs_are_fine(tmp_path: Path, dynamic: bool) -> None:
    spec = "api:\n  address: 10.20.0.11\nstorage:\n  type: etcd\n"
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.13+k0s.0", spec, dynamic=dynamic))
    write(
        tmp_path,
        "plain/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          api:
            address: 10.0.0.1
          network:
            serviceCIDR: 10.100.0.0/16
        """,
    )
    result = check_paths(["edge", "plain"], cwd=tmp_path)
    assert only(result.findings, "K0S402") == []


# --- K0S403 --------------------------------------------------------------------------------------------


def test_cluster_wide_settings_in_a_dynamic_k0sctl_file_are_k0s403(tmp_path: Path) -> None:
    spec = (
        "api:\n  address: 10.20.0.11\n"
        "images:\n  default_pull_policy: Never\n"
        "network:\n  provider: kuberouter\n"
        "extensions:\n  helm:\n    concurrencyLevel: 5\n"
    )
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.13+k0s.0", spec))
    result = check_paths(["edge"], cwd=tmp_path)
    findings = only(result.findings, "K0S403")
    assert [(f.node, f.line, f.column) for f in findings] == [
        ("spec.k0s.config.spec.images", 20, 9),
        ("spec.k0s.config.spec.extensions", 24, 9),
    ]
    images = findings[0]
    assert images.severity is Severity.WARNING
    assert images.message == (
        "with dynamic config, k0sctl applies spec.k0s.config.spec.images only at the first bootstrap"
    )
    assert "k0s config edit" in images.fix
    assert "Because spec.k0s.dynamicConfig is true" in images.detail
    assert "base revision" in images.detail


def test_merged_clusterconfig_document_counts_as_the_k0sctl_config(tmp_path: Path) -> None:
    text = k0sctl("v1.33.13+k0s.0", "network:\n  provider: kuberouter\n")
    text += "---\napiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  telemetry:\n    enabled: false\n"
    write(tmp_path, "edge/k0sctl.yaml", text)
    result = check_paths(["edge"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S403")
    assert (finding.node, finding.line, finding.column) == ("spec.telemetry", 24, 3)
    assert only(result.findings, "K0S402") == []


def test_install_flag_dynamic_config_is_k0s403_too(tmp_path: Path) -> None:
    spec = "images:\n  default_pull_policy: Never\n"
    text = k0sctl("v1.33.13+k0s.0", spec, dynamic=False, install_flags="--enable-dynamic-config")
    write(tmp_path, "edge/k0sctl.yaml", text)
    result = check_paths(["edge"], cwd=tmp_path)
    (finding,) = only(result.findings, "K0S403")
    assert "--enable-dynamic-config" in finding.detail


@pytest.mark.parametrize(
    ("spec", "dynamic"),
    [
        ("images:\n  default_pull_policy: Never\n", False),
        ("api:\n  address: 10.20.0.11\nnetwork:\n  provider: calico\nstorage:\n  type: etcd\n", True),
    ],
)
def test_k0s403_clean(tmp_path: Path, spec: str, dynamic: bool) -> None:
    write(tmp_path, "edge/k0sctl.yaml", k0sctl("v1.33.13+k0s.0", spec, dynamic=dynamic))
    result = check_paths(["edge"], cwd=tmp_path)
    assert only(result.findings, "K0S403") == []
