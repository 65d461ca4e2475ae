"""What a document is: a k0s ClusterConfig, a k0sctl Cluster, an autopilot Plan or UpdateConfig.

A parsed YAML document may hold several k0s objects (a ``kind: List`` export, a k0sctl file with its
embedded ``spec.k0s.config``). Each becomes a ``K0sObject``: a view on part of the document that
knows its own kind and can point at any of its nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from checker.inputs.yamldoc import Document, Mark, YamlPath, format_path

K0S_API = "k0s.k0sproject.io/v1beta1"
K0SCTL_API = "k0sctl.k0sproject.io/v1beta1"
AUTOPILOT_API = "autopilot.k0sproject.io/v1beta2"


class Kind(StrEnum):
    CLUSTER_CONFIG = "ClusterConfig"
    K0SCTL_CLUSTER = "k0sctl Cluster"
    PLAN = "Plan"
    UPDATE_CONFIG = "UpdateConfig"


_KNOWN: dict[tuple[str, str], Kind] = {
    (K0S_API, "ClusterConfig"): Kind.CLUSTER_CONFIG,
    (K0S_API, "Cluster"): Kind.CLUSTER_CONFIG,  # the legacy kind older k0s docs used
    (K0SCTL_API, "Cluster"): Kind.K0SCTL_CLUSTER,
    (K0SCTL_API, "cluster"): Kind.K0SCTL_CLUSTER,  # k0sctl accepts both spellings
    (AUTOPILOT_API, "Plan"): Kind.PLAN,
    (AUTOPILOT_API, "UpdateConfig"): Kind.UPDATE_CONFIG,
}

# Real k0s objects this tool does not check; they are recognised so they are not near-misses.
_OTHER_K0S_OBJECTS = {
    ("autopilot.k0sproject.io/v1beta2", "ControlNode"),
    ("etcd.k0sproject.io/v1beta1", "EtcdMember"),
    ("helm.k0sproject.io/v1beta1", "Chart"),
}
_K0S_KINDS = {"ClusterConfig", "Plan", "UpdateConfig"}
_KNOWN_API_VERSIONS = sorted({api for api, _ in _KNOWN} | {api for api, _ in _OTHER_K0S_OBJECTS})
# Other projects whose groups mention k0s (k0smotron, Cluster API providers) are not ours.
_FOREIGN_GROUP_SUFFIXES = ("k0smotron.io", "cluster.x-k8s.io")


@dataclass(frozen=True)
class K0sObject:
    """A k0s object inside a document; ``base`` is its path from the document root."""

    kind: Kind
    document: Document
    base: YamlPath
    data: dict[str, Any]
    owner: K0sObject | None = None  # the k0sctl Cluster that embeds this config

    @property
    def path(self) -> str:
        return self.document.path

    @property
    def embedded(self) -> bool:
        return self.owner is not None

    def get(self, *path: str | int) -> Any:
        node: Any = self.data
        for part in path:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                node = node[part]
            else:
                return None
        return node

    def value_mark(self, path: YamlPath) -> Mark:
        return self.document.value_mark((*self.base, *path))

    def key_mark(self, path: YamlPath) -> Mark:
        return self.document.key_mark((*self.base, *path))

    def describe(self, path: YamlPath) -> str:
        return format_path((*self.base, *path))

    @property
    def start(self) -> Mark:
        return self.document.value_mark(self.base)

    @property
    def name(self) -> str:
        metadata = self.data.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            return metadata["name"]
        return ""

    @property
    def is_cluster_object(self) -> bool:
        """True when this ClusterConfig was exported from a cluster (the dynamic-config object)."""
        metadata = self.data.get("metadata")
        if not isinstance(metadata, dict):
            return False
        exported = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation")
        return metadata.get("namespace") == "kube-system" or any(key in metadata for key in exported)


@dataclass(frozen=True)
class NearMiss:
    document: Document
    base: YamlPath
    api_version: str
    kind: str
    suggestion: str

    @property
    def message(self) -> str:
        return f"apiVersion {self.api_version!r} / kind {self.kind!r} is not read by k0s or k0sctl"


Classified = K0sObject | NearMiss


def classify(document: Document) -> Iterator[Classified]:
    """Every k0s object (or near-miss of one) in a document, including List items and embedded configs."""
    yield from _classify(document, (), document.data)


def _classify(document: Document, base: YamlPath, data: Any) -> Iterator[Classified]:
    if not isinstance(data, dict):
        return
    api_version = data.get("apiVersion")
    kind = data.get("kind")
    if kind == "List" and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            yield from _classify(document, (*base, "items", index), item)
        return
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    known = _KNOWN.get((api_version, kind))
    if known is None:
        suggestion = _near_miss_suggestion(api_version, kind)
        if suggestion:
            yield NearMiss(document, base, api_version, kind, suggestion)
        return
    obj = K0sObject(known, document, base, data)
    yield obj
    if known is Kind.K0SCTL_CLUSTER:
        config = obj.get("spec", "k0s", "config")
        if isinstance(config, dict):
            yield K0sObject(
                Kind.CLUSTER_CONFIG, document, (*base, "spec", "k0s", "config"), config, owner=obj
            )


def _near_miss_suggestion(api_version: str, kind: str) -> str | None:
    if (api_version, kind) in _OTHER_K0S_OBJECTS:
        return None
    group = api_version.split("/", 1)[0].lower()
    if group.endswith(_FOREIGN_GROUP_SUFFIXES):
        return None
    looks_k0s = group.endswith("k0sproject.io") or (
        "k0s" in group and (kind in _K0S_KINDS or kind.lower() in {"clusterconfig", "cluster", "plan"})
    )
    import difflib  # only documents that look like a near-miss get here

    close = difflib.get_close_matches(api_version, _KNOWN_API_VERSIONS, n=1, cutoff=0.9)
    if not looks_k0s and not close:
        return None
    return _suggest(api_version, kind, close)


def _suggest(api_version: str, kind: str, close: list[str]) -> str:
    lowered = kind.lower().rstrip("s")
    if lowered in {"plan", "updateconfig"}:
        target_kind = "Plan" if lowered == "plan" else "UpdateConfig"
        return f"apiVersion: {AUTOPILOT_API} / kind: {target_kind}"
    if api_version.startswith("k0sctl") or (close and close[0] == K0SCTL_API):
        return f"apiVersion: {K0SCTL_API} / kind: Cluster"
    if close and close[0] not in (K0S_API, K0SCTL_API, AUTOPILOT_API):
        return f"apiVersion: {close[0]}"
    return f"apiVersion: {K0S_API} / kind: ClusterConfig"
