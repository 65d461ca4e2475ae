"""Which k0s release a cluster runs before the upgrade, and which source said so.

In order: ``--from``; the live nodes (the oldest control plane, else the oldest node: a cluster is only
as far as its oldest controller), by their k0s version label or, without one, their kubelet version;
the repository (k0sctl ``spec.k0s.version``, ``.k0s-policy.yaml``, a Plan's version).
"""

from __future__ import annotations

from checker.config import Config
from checker.inputs.live import LiveNode, LiveState
from checker.k0s.cluster import Cluster, declared_versions, versions_differ
from checker.k0s.releases import Catalog, Patch, UnknownRelease
from checker.workflows.upgrade.model import Current


class NoCurrent(Exception):
    """The current release cannot be told (exit code 2), or is not in the release data (blocked)."""

    def __init__(self, message: str, *, unknown_release: bool = False) -> None:
        super().__init__(message)
        self.unknown_release = unknown_release


def _resolve(catalog: Catalog, version: str, source: str) -> tuple[Patch, str]:
    try:
        resolved = catalog.resolve(version)
    except UnknownRelease as err:
        raise NoCurrent(f"{source} says k0s {version}: {err}", unknown_release=True) from None
    except ValueError as err:
        raise NoCurrent(f"{source} says {version!r}, which is not a k0s version: {err}") from None
    return resolved.patch, resolved.note or ""


def _node_version(node: LiveNode) -> str:
    if node.k0s_version:
        return node.k0s_version
    assert node.kubelet is not None
    return "v{}.{}.{}".format(*node.kubelet.release)


def from_nodes(live: LiveState, catalog: Catalog) -> tuple[Current | None, list[str]]:
    """The oldest control plane's release (else the oldest node's), with notes on mixed versions."""
    nodes = [n for n in live.nodes if n.version is not None]
    planes = [n for n in nodes if n.control_plane]
    chosen = planes or nodes
    if not chosen:
        return None, []
    oldest = min(chosen, key=lambda n: n.version.release if n.version else (0, 0, 0))
    notes: list[str] = []
    if not planes:
        notes.append(
            "no control-plane node is visible (controllers without --enable-worker run no kubelet): "
            "the current release is taken from the oldest worker"
        )
    versions = sorted({_node_version(n) for n in chosen})
    if len(versions) > 1:
        notes.append(
            "the nodes run different releases (" + ", ".join(versions) + f"); the oldest, {oldest.name}, "
            "decides where the upgrade starts"
        )
    text = _node_version(oldest)
    how = f"{oldest.k0s_version_key} label" if oldest.k0s_version else "kubelet version"
    source = f"live node {oldest.name} ({how})"
    patch, note = _resolve(catalog, text, source)
    if not oldest.k0s_version:
        notes.append(
            f"{oldest.name} reports Kubernetes {oldest.kubelet_text or text}; taken as {patch.version}, the "
            "newest k0s build of it"
        )
    elif note:
        notes.append(note)
    return Current(oldest.k0s_version or oldest.kubelet_text or text, patch, source), notes


def current_release(
    cluster: Cluster | None,
    config: Config,
    catalog: Catalog,
    live: LiveState | None,
    from_version: str | None,
    target: Patch,
) -> tuple[Current, list[str]]:
    """The current release and notes; NoCurrent when no source says it, or says something unusable."""
    if from_version:
        patch, note = _resolve(catalog, from_version, "--from")
        return Current(from_version, patch, "--from"), [note] if note else []
    if live is not None:
        current, notes = from_nodes(live, catalog)
        if current is not None:
            return current, notes
    sources = declared_versions(cluster, config, None) if cluster is not None else []
    if not sources:
        raise NoCurrent(
            "nothing says which k0s release the cluster runs now: pass --from VERSION, or the nodes with "
            "--live nodes.yaml (kubectl get nodes -o yaml) or --kubeconfig/--context"
        )
    source = sources[0]
    if not versions_differ(source.version, target.version) and live is None:
        raise NoCurrent(
            f"the repository already declares the target {source.version} ({source.where}), so it cannot say "
            "which release the cluster runs now: pass --from VERSION, or the nodes with --live or --kubeconfig"
        )
    patch, note = _resolve(catalog, source.version, source.where)
    notes = [note] if note else []
    if live is not None:
        notes.append("the live state holds no node with a version: the repository's version is used")
    return Current(source.version, patch, source.where), notes
