from __future__ import annotations

from checker.inputs.yamldoc import parse_text
from checker.k0s.documents import K0sObject, Kind, NearMiss, classify


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
    assert len(misses) == 4
    assert all(isinstance(o, NearMiss) for o in found)
    assert "k0s.k0sproject.io/v1beta1 / kind: ClusterConfig" in misses[0].suggestion
    assert "autopilot.k0sproject.io/v1beta2 / kind: Plan" in misses[2].suggestion
    assert "is not read by k0s or k0sctl" in misses[0].message
