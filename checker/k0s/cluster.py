"""The cluster model: the k0s objects that describe one cluster, joined; its target k0s release,
whether it is air-gapped and whether it runs with dynamic config.

Grouping: every k0sctl Cluster is a cluster, with its embedded config and the ClusterConfig
documents of the same file (k0sctl merges them). Every other object belongs to the nearest
directory at or above it that holds a k0sctl file or a ClusterConfig; objects with no such
directory form a cluster of their own directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from checker.config import Config
from checker.inputs.roots import Tree
from checker.k0s.documents import K0sObject, Kind
from checker.k0s.releases import Catalog, Patch, Resolved, UnknownRelease, parse_version
from checker.records import dataclass, field

AIRGAP_IMAGE_DIR = "/var/lib/k0s/images"
WORKER_ROLES = frozenset({"worker", "controller+worker", "single"})


@dataclass(frozen=True)
class VersionSource:
    """One place that declares which k0s version a cluster runs."""

    origin: str
    version: str
    obj: K0sObject | None = None
    node: tuple[str | int, ...] = ()

    @property
    def where(self) -> str:
        if self.obj is None:
            return self.origin
        mark = self.obj.value_mark(self.node)
        return f"{self.origin} ({self.obj.path}:{mark.line})"


@dataclass
class Cluster:
    name: str
    root: str  # canonical: relative to the repository root ("" is the root itself)
    objects: list[K0sObject] = field(default_factory=list)
    k0sctl: K0sObject | None = None
    version_sources: list[VersionSource] = field(default_factory=list)
    target: Resolved | None = None
    target_source: VersionSource | None = None
    target_error: str = ""
    #: Why the target release is unknown without being wrong (a version from an unset variable).
    target_unknown: str = ""
    assumed_newest: bool = False
    airgapped: bool = False
    airgap_reason: str = ""
    registries: tuple[str, ...] = ()

    @property
    def configs(self) -> list[K0sObject]:
        return [o for o in self.objects if o.kind is Kind.CLUSTER_CONFIG]

    @property
    def plans(self) -> list[K0sObject]:
        return [o for o in self.objects if o.kind is Kind.PLAN]

    @property
    def patch(self) -> Patch | None:
        return self.target.patch if self.target else None

    @property
    def dynamic_config(self) -> bool:
        if self.k0sctl is not None:
            if self.k0sctl.get("spec", "k0s", "dynamicConfig") is True:
                return True
            if any("--enable-dynamic-config" in flags for flags in host_install_flags(self.k0sctl)):
                return True
        return any(config.is_cluster_object for config in self.configs)


def host_install_flags(k0sctl: K0sObject) -> list[str]:
    """Each host's install flags as one string; k0sctl installs a ``single`` host with ``--single``."""
    hosts = k0sctl.get("spec", "hosts")
    flags: list[str] = []
    for host in hosts if isinstance(hosts, list) else []:
        if not isinstance(host, dict):
            continue
        written = host.get("installFlags")
        words = [str(f) for f in written] if isinstance(written, list) else []
        if host.get("role") == "single" and "--single" not in words:
            words.append("--single")
        if words:
            flags.append(" ".join(words))
    return flags


def is_windows_host(host: Any) -> bool:
    """k0sctl treats a host it reaches over WinRM as Windows (workers only, k0s 1.34+)."""
    return isinstance(host, dict) and isinstance(host.get("winRM"), dict)


def has_windows_workers(k0sctl: K0sObject | None) -> bool:
    hosts = k0sctl.get("spec", "hosts") if k0sctl is not None else None
    return isinstance(hosts, list) and any(is_windows_host(host) for host in hosts)


def uploads_image_bundle(k0sctl: K0sObject) -> bool:
    """True when a host that runs workloads uploads files into k0s's image bundle directory.

    Only workers import bundles; an upload to a controller-only host brings no image to a node.
    """
    hosts = k0sctl.get("spec", "hosts")
    for host in hosts if isinstance(hosts, list) else []:
        if (
            not isinstance(host, dict)
            or not isinstance(host.get("role"), str)
            or host["role"] not in WORKER_ROLES
        ):
            continue
        files = host.get("files")
        for upload in files if isinstance(files, list) else []:
            if not isinstance(upload, dict):
                continue
            data_dir = host.get("dataDir") if isinstance(host.get("dataDir"), str) else "/var/lib/k0s"
            targets = [str(upload.get("dstDir") or ""), str(upload.get("dst") or "")]
            image_dirs = (AIRGAP_IMAGE_DIR, posixpath.join(data_dir, "images"))
            if any(t.rstrip("/").startswith(image_dirs) for t in targets if t):
                return True
    return False


def group(objects: Sequence[K0sObject], tree: Tree | None = None) -> list[Cluster]:
    """``tree`` turns the objects' shown paths into canonical ones (without it they are taken as such)."""
    clusters: list[Cluster] = []
    by_file: dict[str, Cluster] = {}
    canonical = tree.canonical if tree is not None else _same
    canonical_dir = tree.canonical_dir if tree is not None else posixpath.dirname
    for obj in objects:
        if obj.kind is Kind.K0SCTL_CLUSTER:
            label = obj.name or "k0sctl cluster"
            cluster = Cluster(
                name=f"{label} ({canonical(obj.path)})", root=canonical_dir(obj.path), k0sctl=obj
            )
            cluster.objects.append(obj)
            clusters.append(cluster)
            by_file.setdefault(obj.path, cluster)
    roots: dict[str, Cluster] = {}
    for cluster in clusters:
        roots.setdefault(cluster.root, cluster)
    for obj in objects:
        if obj.kind is Kind.K0SCTL_CLUSTER:
            continue
        if obj.owner is not None and obj.owner.path in by_file:
            _owner_cluster(clusters, obj.owner).objects.append(obj)
            continue
        if obj.kind is Kind.CLUSTER_CONFIG and obj.path in by_file:
            by_file[obj.path].objects.append(obj)  # k0sctl merges these into spec.k0s.config
            continue
        directory = canonical_dir(obj.path)
        if obj.kind is Kind.CLUSTER_CONFIG and _nearest_root(roots, directory) is None:
            roots[directory] = Cluster(name=directory or ".", root=directory)
            clusters.append(roots[directory])
    for obj in objects:
        if obj.kind is Kind.K0SCTL_CLUSTER or obj.owner is not None:
            continue
        if obj.kind is Kind.CLUSTER_CONFIG and obj.path in by_file:
            continue
        directory = canonical_dir(obj.path)
        root = _nearest_root(roots, directory)
        if root is None:
            roots[directory] = root = Cluster(name=directory or ".", root=directory)
            clusters.append(root)
        root.objects.append(obj)
    return clusters


def _same(path: str) -> str:
    return path


def _owner_cluster(clusters: list[Cluster], owner: K0sObject) -> Cluster:
    return next(c for c in clusters if c.k0sctl is owner)


def _nearest_root(roots: dict[str, Cluster], directory: str) -> Cluster | None:
    while True:
        if directory in roots:
            return roots[directory]
        parent = posixpath.dirname(directory)
        if parent == directory:  # "" for relative paths, "/" for absolute ones
            return None
        directory = parent


def declared_versions(cluster: Cluster, config: Config, cli_version: str | None) -> list[VersionSource]:
    """Every declared version of the cluster, in the order that decides the target."""
    sources: list[VersionSource] = []
    if cli_version:
        sources.append(VersionSource("--k0s-version", cli_version))
    settings = config.for_cluster(cluster.root)
    if settings is not None and settings.k0s_version:
        sources.append(VersionSource(f"{config.path} (clusters: {settings.pattern})", settings.k0s_version))
    elif config.k0s_version:
        sources.append(VersionSource(str(config.path), config.k0s_version))
    if cluster.k0sctl is not None:
        sources.extend(declared_by(cluster.k0sctl))
    for plan in cluster.plans:
        sources.extend(declared_by(plan))
    return sources


def declared_by(obj: K0sObject) -> list[VersionSource]:
    """The versions one object declares: a k0sctl Cluster's spec.k0s.version (unless it comes from an
    unset variable), a Plan's update commands; none for other kinds."""
    sources: list[VersionSource] = []
    if obj.kind is Kind.K0SCTL_CLUSTER:
        version = obj.get("spec", "k0s", "version")
        if obj.unknown_at(("spec", "k0s", "version")):
            pass  # from an unset variable: resolve_target says so
        elif isinstance(version, str) and version:
            sources.append(VersionSource("k0sctl spec.k0s.version", version, obj, ("spec", "k0s", "version")))
    elif obj.kind is Kind.PLAN:
        for index, command in enumerate(_list(obj.get("spec", "commands"))):
            for command_kind in ("k0supdate", "airgapupdate"):
                body = command.get(command_kind) if isinstance(command, dict) else None
                version = body.get("version") if isinstance(body, dict) else None
                if isinstance(version, str) and version:
                    node = ("spec", "commands", index, command_kind, "version")
                    sources.append(VersionSource(f"Plan {command_kind}.version", version, obj, node))
    return sources


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def resolve_target(cluster: Cluster, catalog: Catalog, config: Config, cli_version: str | None) -> None:
    cluster.version_sources = declared_versions(cluster, config, cli_version)
    source = cluster.version_sources[0] if cluster.version_sources else None
    variables = cluster.k0sctl.unknown_at(("spec", "k0s", "version")) if cluster.k0sctl else ()
    if source is None and variables:
        names = ", ".join(f"${{{name}}}" for name in variables)
        cluster.target_unknown = f"spec.k0s.version comes from {names}, which is not set where the check runs"
        return
    if source is None:
        cluster.assumed_newest = True
        newest = catalog.newest()
        cluster.target = Resolved(newest, newest.version, None)
        return
    cluster.target_source = source
    try:
        cluster.target = catalog.resolve(source.version)
    except UnknownRelease as err:
        cluster.target_error = str(err)
    except ValueError as err:
        cluster.target_error = f"{source.version!r} is not a k0s version: {err}"


def resolve_airgap(cluster: Cluster, config: Config) -> None:
    settings = config.for_cluster(cluster.root)
    if settings is not None and settings.airgapped is not None:
        cluster.airgapped = settings.airgapped
        cluster.airgap_reason = f"{config.path} (clusters: {settings.pattern})"
    elif config.airgapped:
        cluster.airgapped = True
        cluster.airgap_reason = str(config.path)
    elif cluster.k0sctl is not None and uploads_image_bundle(cluster.k0sctl):
        cluster.airgapped = True
        cluster.airgap_reason = f"hosts upload an image bundle to {AIRGAP_IMAGE_DIR} ({cluster.k0sctl.path})"
    cluster.registries = (*config.registries, *(settings.registries if settings else ()))


def versions_differ(a: str, b: str) -> bool:
    try:
        return parse_version(a) != parse_version(b)
    except ValueError:
        return a.strip() != b.strip()
