"""What a document is: a k0s ClusterConfig, a k0sctl Cluster, an autopilot Plan or UpdateConfig.

A parsed YAML document may hold several k0s objects (a ``kind: List`` export, a k0sctl file with its
embedded ``spec.k0s.config``). Each becomes a ``K0sObject``: a view on part of the document that
knows its own kind and can point at any of its nodes.

Recognition follows the programs that read the files (docs/design-notes.md, "Agreeing with k0s"):
``k0s --config`` checks neither apiVersion nor kind, so a document that is a ClusterConfig by its
content is one; k0sctl matches apiVersion and kind case-insensitively inside its own files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any

from checker.inputs.sources import named_like_k0s
from checker.inputs.yamldoc import Document, Mark, YamlPath, format_path
from checker.records import dataclass, field

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
    (K0S_API, "RuntimeConfig"),  # what a running k0s writes about itself (pkg/config/runtime.go)
    ("autopilot.k0sproject.io/v1beta2", "ControlNode"),
    ("etcd.k0sproject.io/v1beta1", "EtcdMember"),
    ("helm.k0sproject.io/v1beta1", "Chart"),
}
_K0S_KINDS = {"ClusterConfig", "Plan", "UpdateConfig"}
_KNOWN_API_VERSIONS = sorted({api for api, _ in _KNOWN} | {api for api, _ in _OTHER_K0S_OBJECTS})
# Other projects whose groups mention k0s (k0smotron, Cluster API providers) are not ours.
_FOREIGN_GROUP_SUFFIXES = ("k0smotron.io", "cluster.x-k8s.io")
K0S_GROUP = K0S_API.split("/", 1)[0]

#: Top-level sections of a ClusterConfig ``spec`` in any release; a document without apiVersion and
#: kind whose ``spec`` has one of them is read by ``k0s --config`` as a ClusterConfig.
CLUSTERCONFIG_SECTIONS = frozenset(
    {
        "api",
        "controllerManager",
        "extensions",
        "featureGates",
        "images",
        "installConfig",
        "konnectivity",
        "metricsServer",
        "network",
        "podSecurityPolicy",
        "scheduler",
        "storage",
        "telemetry",
        "workerProfiles",
    }
)
#: Metadata keys that only an object read back from the API server carries with a value.
_EXPORTED_METADATA = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation")


class Recognition(StrEnum):
    """How a document was recognised, when it was not by its exact apiVersion and kind."""

    EXACT = ""
    CONTENT = "content"  # no apiVersion/kind; a ClusterConfig by its spec
    CASE = "case"  # apiVersion/kind differ in case only (k0sctl files)
    LOOSE_API_VERSION = "loose-api-version"  # another version of k0s's group, which k0s does not check


@dataclass(frozen=True)
class K0sObject:
    """A k0s object inside a document; ``base`` is its path from the document root."""

    kind: Kind
    document: Document
    base: YamlPath
    data: dict[str, Any]
    owner: K0sObject | None = None  # the k0sctl Cluster that embeds this config
    recognised: Recognition = Recognition.EXACT
    #: Decoded path -> path as written, where decoding renamed a key (k0s matches keys case-insensitively).
    aliases: Mapping[YamlPath, YamlPath] = field(default_factory=dict)
    #: Paths whose value is unknown to the check (an unset environment variable), with the variable names.
    unknown: Mapping[YamlPath, tuple[str, ...]] = field(default_factory=dict)

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

    def written(self, path: YamlPath) -> YamlPath:
        """The path as it is written in the file (decoding may have renamed keys on the way)."""
        if not self.aliases:
            return path
        for end in range(len(path), 0, -1):
            alias = self.aliases.get(path[:end])
            if alias is not None:
                return (*alias, *path[end:])
        return path

    def value_mark(self, path: YamlPath) -> Mark:
        return self.document.value_mark((*self.base, *self.written(path)))

    def key_mark(self, path: YamlPath) -> Mark:
        return self.document.key_mark((*self.base, *self.written(path)))

    def describe(self, path: YamlPath) -> str:
        return format_path((*self.base, *self.written(path)))

    def unknown_at(self, path: YamlPath) -> tuple[str, ...]:
        """The unset variables that make the value at ``path`` (or inside it) unknown."""
        if not self.unknown:
            return ()
        names: list[str] = []
        for where, variables in self.unknown.items():
            if where[: len(path)] == path or path[: len(where)] == where:
                names.extend(v for v in variables if v not in names)
        return tuple(names)

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
        """True when this ClusterConfig is the cluster's dynamic-config object (kube-system/k0s).

        Only the API server fills ``resourceVersion``, ``uid``, ``generation``, ``managedFields``, a
        ``creationTimestamp`` or a ``status``; ``k0s config create`` prints ``creationTimestamp: null``
        (1.21-1.30) and ``status: {}`` (1.22-1.26), which are no such sign. A manifest of the object
        kept for GitOps says ``namespace: kube-system``; ``k0s config create`` 1.36 prints that too, so
        the namespace counts only outside files named like a k0s config (``k0s.yaml``).
        """
        if self.owner is not None:
            return False
        metadata = self.data.get("metadata")
        if isinstance(metadata, dict):
            if any(metadata.get(key) not in (None, "", [], {}) for key in _EXPORTED_METADATA):
                return True
            if metadata.get("namespace") == "kube-system" and not named_like_k0s(self.path):
                return True
        status = self.data.get("status")
        return isinstance(status, dict) and bool(status)

    def light(self, owner: K0sObject | None = None, marks: Iterable[YamlPath] = ()) -> K0sObject:
        """This object without its document's data and positions, for runs that check one cluster
        at a time (checker.workflows.check): what grouping and the report read of it stays the same
        (kind, path, name, start, ``is_cluster_object``, a k0sctl Cluster's dynamic-config settings),
        and so do the marks of the paths ``marks`` (relative to the object, as ``value_mark`` takes
        them). ``owner`` is the light form of the owner."""
        start = self.start
        values = {self.base: start}
        for path in marks:
            values[(*self.base, *path)] = self.value_mark(path)
        document = Document(self.path, self.document.index, None, self.document.start, values)
        return K0sObject(
            self.kind,
            document,
            self.base,
            _light_data(self.data),
            owner=owner,
            recognised=self.recognised,
            unknown=self.unknown,
        )


def _light_data(data: dict[str, Any]) -> dict[str, Any]:
    """The part of an object's data that its light form keeps (see ``K0sObject.light``)."""
    kept = {key: data[key] for key in ("apiVersion", "kind", "status") if key in data}
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        names = ("name", "namespace", *_EXPORTED_METADATA)
        kept["metadata"] = {key: metadata[key] for key in names if key in metadata}
    elif "metadata" in data:
        kept["metadata"] = metadata
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return kept
    light_spec: dict[str, Any] = {}
    k0s = spec.get("k0s")
    if isinstance(k0s, dict) and "dynamicConfig" in k0s:
        light_spec["k0s"] = {"dynamicConfig": k0s["dynamicConfig"]}
    hosts = spec.get("hosts")
    if isinstance(hosts, list):  # Cluster.dynamic_config reads each host's role and install flags
        light_spec["hosts"] = [
            {key: host[key] for key in ("role", "installFlags") if key in host}
            if isinstance(host, dict)
            else None
            for host in hosts
        ]
    kept["spec"] = light_spec
    return kept


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


def classify(
    document: Document,
    *,
    in_k0sctl_file: bool = False,
    unknown: Mapping[YamlPath, tuple[str, ...]] | None = None,
) -> Iterator[Classified]:
    """Every k0s object (or near-miss of one) in a document, including List items and embedded configs.

    ``in_k0sctl_file``: the document shares its file with a k0sctl Cluster, which reads the file's
    ClusterConfig documents (matched case-insensitively) into its ``spec.k0s.config``.
    ``unknown``: paths of the document whose value is unknown (unset environment variables).
    """
    yield from _classify(document, (), document.data, in_k0sctl_file, unknown or {})


def classify_file(
    documents: Sequence[Document], unknown: Mapping[int, Mapping[YamlPath, tuple[str, ...]]] | None = None
) -> list[Classified]:
    """The k0s objects of all documents of one file, read the way k0s and k0sctl read that file.

    ``unknown`` maps ``id(document)`` to its paths with unknown values."""
    in_k0sctl_file = is_k0sctl_file(documents)
    found: list[Classified] = []
    for document in documents:
        paths = (unknown or {}).get(id(document))
        found.extend(classify(document, in_k0sctl_file=in_k0sctl_file, unknown=paths))
    return found


def is_k0sctl_file(documents: Sequence[Document]) -> bool:
    return any(_is_k0sctl_cluster(document.data) for document in documents)


def _relative(unknown: Mapping[YamlPath, tuple[str, ...]], base: YamlPath) -> dict[YamlPath, tuple[str, ...]]:
    size = len(base)
    return {path[size:]: names for path, names in unknown.items() if path[:size] == base}


def _is_k0sctl_cluster(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    api_version, kind = data.get("apiVersion"), data.get("kind")
    return (
        isinstance(api_version, str)
        and isinstance(kind, str)
        and api_version.lower() == K0SCTL_API
        and kind.lower() == "cluster"
    )


def looks_like_clusterconfig(data: Any, named_like_k0s_config: bool = False) -> bool:
    """A mapping without apiVersion/kind that k0s reads as a ClusterConfig: only metadata and spec at
    the top, and a spec with at least one ClusterConfig section. In a file named like a k0s config
    (``k0s.yaml``) an empty ``spec:`` is enough: k0s reads it as the default configuration."""
    if not isinstance(data, dict) or "spec" not in data:
        return False
    if data.get("apiVersion") is not None or data.get("kind") is not None:
        return False
    if not set(data) <= {"apiVersion", "kind", "metadata", "spec"}:
        return False
    spec = data["spec"]
    if named_like_k0s_config and (spec is None or spec == {}):
        return True
    return isinstance(spec, dict) and any(key in CLUSTERCONFIG_SECTIONS for key in spec)


def _classify(
    document: Document,
    base: YamlPath,
    data: Any,
    in_k0sctl_file: bool,
    unknown: Mapping[YamlPath, tuple[str, ...]],
) -> Iterator[Classified]:
    if not isinstance(data, dict):
        return
    api_version = data.get("apiVersion")
    kind = data.get("kind")
    if kind == "List" and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            yield from _classify(document, (*base, "items", index), item, in_k0sctl_file, unknown)
        return
    if not base and not in_k0sctl_file and looks_like_clusterconfig(data, named_like_k0s(document.path)):
        yield K0sObject(Kind.CLUSTER_CONFIG, document, base, data, recognised=Recognition.CONTENT)
        return
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    known, recognised = _recognise(api_version, kind, in_k0sctl_file)
    if known is None:
        suggestion = _near_miss_suggestion(api_version, kind)
        if suggestion:
            yield NearMiss(document, base, api_version, kind, suggestion)
        return
    obj = K0sObject(known, document, base, data, recognised=recognised, unknown=_relative(unknown, base))
    if recognised is Recognition.LOOSE_API_VERSION and obj.is_cluster_object:
        # The API server serves only the exact group/version: as a cluster object this is not k0s's.
        yield NearMiss(document, base, api_version, kind, f"apiVersion: {K0S_API} / kind: ClusterConfig")
        return
    yield obj
    if known is Kind.K0SCTL_CLUSTER:
        config = obj.get("spec", "k0s", "config")
        if isinstance(config, dict):
            config_base = (*base, "spec", "k0s", "config")
            yield K0sObject(
                Kind.CLUSTER_CONFIG,
                document,
                config_base,
                config,
                owner=obj,
                unknown=_relative(unknown, config_base),
            )


def _recognise(api_version: str, kind: str, in_k0sctl_file: bool) -> tuple[Kind | None, Recognition]:
    known = _KNOWN.get((api_version, kind))
    folded_api, folded_kind = api_version.lower(), kind.lower()
    if known is Kind.CLUSTER_CONFIG and in_k0sctl_file and folded_kind != "clusterconfig":
        return None, Recognition.EXACT  # k0sctl applies a legacy `kind: Cluster` as a manifest
    if known is not None:
        return known, Recognition.EXACT
    if folded_api == K0SCTL_API and folded_kind == "cluster":
        # k0sctl finds its Cluster case-insensitively; its own validation then names the spelling.
        return Kind.K0SCTL_CLUSTER, Recognition.CASE
    if folded_kind not in ("clusterconfig", "cluster"):
        return None, Recognition.EXACT
    if in_k0sctl_file:
        # k0sctl merges documents that match its ClusterConfig case-insensitively; others it applies
        # as manifests, so a near-miss there really is ignored.
        if folded_api == K0S_API and folded_kind == "clusterconfig":
            return Kind.CLUSTER_CONFIG, Recognition.CASE
        return None, Recognition.EXACT
    group, _, version = api_version.partition("/")
    if group.lower() == K0S_GROUP and version:
        # `k0s --config` checks neither apiVersion nor kind (k0s's own tests read "v1beta1s").
        exact_api = api_version == K0S_API
        exact_kind = kind in ("ClusterConfig", "Cluster")
        if exact_api and not exact_kind:
            return Kind.CLUSTER_CONFIG, Recognition.CASE
        return Kind.CLUSTER_CONFIG, Recognition.LOOSE_API_VERSION
    return None, Recognition.EXACT


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
