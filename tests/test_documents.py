from __future__ import annotations

from checker.inputs.yamldoc import parse_text
from checker.k0s.documents import K0sObject, Kind, NearMiss, Recognition, classify, classify_file


def objects(text: str) -> list[K0sObject | NearMiss]:
    found: list[K0sObject | NearMiss] = []
    for document in parse_text("f.yaml", text).documents:
        found.extend(classify(document))
    return found


def test_kinds_are_recognised() -> None:
    found = objects(
        """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: Cluster
---
apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
---
apiVersion: autopilot.k0sproject.io/v1beta2
kind: UpdateConfig
---
apiVersion: apps/v1
kind: Deployment
---
apiVersion: helm.k0sproject.io/v1beta1
kind: Chart
"""
    )
    assert [o.kind for o in found if isinstance(o, K0sObject)] == [
        Kind.CLUSTER_CONFIG,
        Kind.CLUSTER_CONFIG,
        Kind.PLAN,
        Kind.UPDATE_CONFIG,
    ]
    assert not [o for o in found if isinstance(o, NearMiss)]


def test_k0sctl_cluster_yields_its_embedded_config_with_positions() -> None:
    found = objects(
        """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  k0s:
    config:
      spec:
        images:
          default_pull_policy: Never
"""
    )
    cluster, config = found
    assert isinstance(cluster, K0sObject) and cluster.kind is Kind.K0SCTL_CLUSTER
    assert isinstance(config, K0sObject) and config.kind is Kind.CLUSTER_CONFIG and config.owner is cluster
    assert config.value_mark(("spec", "images", "default_pull_policy")).line == 8
    assert config.describe(("spec",)) == "spec.k0s.config.spec"


def test_list_export_with_noise_is_a_cluster_object() -> None:
    found = objects(
        """\
apiVersion: v1
kind: List
items:
  - apiVersion: k0s.k0sproject.io/v1beta1
    kind: ClusterConfig
    metadata:
      name: k0s
      namespace: kube-system
      managedFields: [{manager: k0s}]
      resourceVersion: "1"
    spec: {}
    status: {}
"""
    )
    (config,) = found
    assert isinstance(config, K0sObject)
    assert config.is_cluster_object
    assert config.base == ("items", 0)
    assert config.value_mark(("kind",)).line == 5


def test_near_misses_are_reported_with_a_suggestion() -> None:
    found = objects(
        """\
apiVersion: k0s.sh/v1beta1
kind: ClusterConfig
---
apiVersion: k0s.k0sproject.io/v1beta1s
kind: ClusterConfig
---
apiVersion: autopilot.k0sproject.io/v1beta1
kind: Plan
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfigs
---
apiVersion: k0smotron.io/v1beta1
kind: Cluster
"""
    )
    misses = [o for o in found if isinstance(o, NearMiss)]
    assert len(misses) == 3
    assert "k0s.k0sproject.io/v1beta1 / kind: ClusterConfig" in misses[0].suggestion
    assert "autopilot.k0sproject.io/v1beta2 / kind: Plan" in misses[1].suggestion
    assert "is not read by k0s or k0sctl" in misses[0].message
    # k0s --config checks no apiVersion: a standalone `v1beta1s` ClusterConfig is read (k0s's own
    # TestClusterImages_Customized does it), so it is a ClusterConfig recognised loosely.
    (loose,) = [o for o in found if isinstance(o, K0sObject)]
    assert loose.kind is Kind.CLUSTER_CONFIG and loose.recognised is Recognition.LOOSE_API_VERSION


def file_objects(text: str, path: str = "f.yaml") -> list[K0sObject | NearMiss]:
    return classify_file(parse_text(path, text).documents)


def test_a_spec_with_clusterconfig_sections_is_a_clusterconfig_by_content() -> None:
    # The whole document indented, as k0s's TestFeatureGates writes it.
    (config,) = file_objects("    spec:\n      network:\n        provider: calico\n")
    assert isinstance(config, K0sObject) and config.kind is Kind.CLUSTER_CONFIG
    assert config.recognised is Recognition.CONTENT
    assert config.value_mark(("spec", "network", "provider")).line == 3
    # Not every document with a spec: a Deployment-like body without ClusterConfig sections is not.
    assert file_objects("spec:\n  replicas: 3\n") == []
    # An empty spec is the all-default config only in a file named like one.
    assert file_objects("spec:\n") == []
    (default,) = file_objects("spec:\n", "cluster/k0s.yaml")
    assert isinstance(default, K0sObject) and default.recognised is Recognition.CONTENT


def test_other_kinds_of_the_k0s_group_are_not_near_misses() -> None:
    assert file_objects("apiVersion: k0s.k0sproject.io/v1beta1\nkind: RuntimeConfig\nspec: {}\n") == []


def test_k0sctl_files_match_api_version_and_kind_case_insensitively() -> None:
    found = file_objects(
        """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: cluster
spec:
  hosts: [{role: single, localhost: {enabled: true}}]
---
apiVersion: K0s.k0sproject.io/v1beta1
kind: clusterconfig
spec:
  network: {provider: calico}
---
apiVersion: k0s.k0sproject.io/v1beta1s
kind: ClusterConfig
"""
    )
    cluster, config, miss = found
    assert isinstance(cluster, K0sObject) and cluster.kind is Kind.K0SCTL_CLUSTER
    assert isinstance(config, K0sObject) and config.kind is Kind.CLUSTER_CONFIG
    assert config.recognised is Recognition.CASE
    # k0sctl would apply this one as a manifest: here the near-miss is real.
    assert isinstance(miss, NearMiss)


def test_loose_api_version_as_a_cluster_object_is_a_near_miss() -> None:
    (miss,) = file_objects(
        "apiVersion: k0s.k0sproject.io/v1beta1s\nkind: ClusterConfig\nmetadata:\n  resourceVersion: '7'\n"
    )
    assert isinstance(miss, NearMiss)


def test_exported_object_is_told_by_what_the_api_server_fills_in() -> None:
    def exported(metadata: str, path: str = "f.yaml", status: str = "") -> bool:
        text = f"apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata: {metadata}\n{status}"
        (obj,) = file_objects(text, path)
        assert isinstance(obj, K0sObject)
        return obj.is_cluster_object

    # What k0s config create prints is no export: creationTimestamp null (1.21-1.30), status {} (1.22-1.26),
    # namespace kube-system (1.36) in a k0s.yaml.
    assert not exported("{name: k0s, creationTimestamp: null}")
    assert not exported("{name: k0s}", status="status: {}\n")
    assert not exported("{name: k0s, namespace: kube-system}", "k0s.yaml")
    assert exported("{name: k0s, namespace: kube-system}", "manifests/clusterconfig.yaml")
    for key in (
        "resourceVersion: '1'",
        "uid: abc",
        "generation: 2",
        "creationTimestamp: '2024-01-01T00:00:00Z'",
    ):
        assert exported("{name: k0s, " + key + "}", "k0s.yaml")
    assert exported("{name: k0s}", status="status: {conditions: []}\n")
