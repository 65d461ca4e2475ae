"""The images a cluster's nodes will run on a k0s release, in the order `k0s airgap list-images` prints.

Built on what the rest of the model knows: pins (also those a controller persisted into the
dynamic-config object), the release's ``images.repository`` rewrite, the network provider, node-local
load balancing, ``--disable-components`` and ``--single`` in the k0sctl install flags, konnectivity and
metrics-server (see checker.k0s.pins.components_run).
"""

from __future__ import annotations

from collections.abc import Iterable

from checker.inputs.imageref import ImageRef
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import (
    WORKER_ROLES,
    Cluster,
    has_windows_workers,
    host_install_flags,
    is_windows_host,
)
from checker.k0s.documents import K0sObject
from checker.k0s.pins import (
    IMAGES_PATH,
    NLLB_PATH,
    Pin,
    default_index,
    repository_of,
    running_images,
)
from checker.k0s.releases import Catalog, Patch, minor_key
from checker.records import dataclass

# `k0s airgap list-images` order (pkg/airgap/images.go). It changed twice: 1.26 sorted the list by
# field name, 1.36 regrouped it by what enables an image. Pushgateway sits where `--all` adds it.
# Windows workers (1.34+): what `list-images --platform windows/amd64` prints (1.36), after the rest.
_WINDOWS = ("windows.pause", "windows.kubeproxy", "calico.windows.cni", "calico.windows.node")
_ORDER_UNTIL_1_25 = (
    "konnectivity",
    "coredns",
    "kubeproxy",
    "metricsserver",
    "pause",
    "pushgateway",
    "kuberouter.cni",
    "kuberouter.cniInstaller",
    "calico.cni",
    "calico.kubecontrollers",
    "calico.node",
)
_ORDER_1_26_TO_1_35 = (
    "calico.cni",
    "calico.kubecontrollers",
    "calico.node",
    "coredns",
    "konnectivity",
    "kubeproxy",
    "kuberouter.cni",
    "kuberouter.cniInstaller",
    "metricsserver",
    "pause",
    "pushgateway",
    "nllb.envoyProxy",
    *_WINDOWS,
)
_ORDER_FROM_1_36 = (
    "pause",
    "konnectivity",
    "kubeproxy",
    "coredns",
    "metricsserver",
    "pushgateway",
    "kuberouter.cniInstaller",
    "kuberouter.cni",
    "calico.cni",
    "calico.kubecontrollers",
    "calico.node",
    "nllb.envoyProxy",
    "nllb.traefik",
    *_WINDOWS,
)

DEFAULT = "default"
PIN = "pin"
PERSISTED = "persisted"


def list_images_order(minor: str) -> tuple[str, ...]:
    """The component order of `k0s airgap list-images` in this minor."""
    key = minor_key(minor)
    if key < (1, 26):
        return _ORDER_UNTIL_1_25
    if key < (1, 36):
        return _ORDER_1_26_TO_1_35
    return _ORDER_FROM_1_36


@dataclass(frozen=True)
class NeededImage:
    """One image a cluster's nodes run: what, why, and which YAML node makes it needed."""

    component: str
    ref: ImageRef
    source: str  # DEFAULT, PIN or PERSISTED
    obj: K0sObject  # the object the anchor is in (a ClusterConfig, or the k0sctl Cluster for defaults)
    anchor: YamlPath
    hosts: tuple[str, ...]  # the nodes that run it: k0sctl hosts, or ("worker nodes",)
    upstream: ImageRef  # the same image before the repository rewrite (where a mirror copies it from)

    @property
    def image(self) -> str:
        return str(self.ref)


def needed_images(cluster: Cluster, catalog: Catalog, patch: Patch | None = None) -> list[NeededImage]:
    """Every image the cluster runs on ``patch`` (default: its target), deduplicated, in list-images order."""
    patch = patch or cluster.patch
    release = catalog.release(patch.minor) if patch is not None else None
    if patch is None or release is None:
        return []
    k0sctl = cluster.k0sctl
    flags = " ".join(host_install_flags(k0sctl)) if k0sctl is not None else ""
    windows = has_windows_workers(k0sctl)
    sources: list[K0sObject] = list(cluster.configs)
    exported = [obj for obj in sources if obj.is_cluster_object]
    if cluster.dynamic_config and exported:
        sources = exported  # with dynamic config the controllers take images from the cluster object
    if not sources and k0sctl is not None:
        sources = [k0sctl]  # no config written: k0sctl lets k0s write its defaults
    order = {component: index for index, component in enumerate(list_images_order(patch.minor))}
    found: dict[tuple[str, str], NeededImage] = {}
    for obj in sources:
        repository = repository_of(obj)
        for component, (ref, pin) in running_images(obj, release, patch, flags, windows).items():
            key = (component, str(ref))
            if key in found:
                continue
            upstream = (
                pin.ref
                if pin is not None and pin.ref is not None
                else ImageRef.parse(patch.images[component])
            )
            found[key] = NeededImage(
                component,
                ref,
                _source(obj, pin, catalog),
                obj,
                _anchor(obj, component, pin, repository, patch),
                worker_hosts(k0sctl, windows=is_windows_component(component)),
                upstream,
            )
    return sorted(found.values(), key=lambda n: (order.get(n.component, len(order)), n.image))


def _source(obj: K0sObject, pin: Pin | None, catalog: Catalog) -> str:
    if pin is None or pin.ref is None:
        return DEFAULT
    if obj.is_cluster_object and default_index(catalog).owners(pin.ref, repository_of(obj)):
        return PERSISTED  # a release's default written into the dynamic-config object by a controller
    return PIN


def _anchor(obj: K0sObject, component: str, pin: Pin | None, repository: str, patch: Patch) -> YamlPath:
    if pin is not None:
        return pin.anchor
    if repository and component in patch.repository_rewrites:
        return (*IMAGES_PATH, "repository")
    if component.startswith("nllb."):
        return (*NLLB_PATH, "enabled")
    if component.startswith("calico.") and obj.get("spec", "network", "provider") is not None:
        return ("spec", "network", "provider")
    if obj.get("spec", "k0s", "version") is not None:
        return ("spec", "k0s", "version")  # a k0sctl Cluster without config: the version decides
    return ()


def is_windows_component(component: str) -> bool:
    return component.startswith(("windows.", "calico.windows."))


def worker_hosts(k0sctl: K0sObject | None, windows: bool = False) -> tuple[str, ...]:
    """The k0sctl hosts that run workloads (and so pull system images), as ``address (role)``:
    the Windows workers for Windows images, the others for the rest."""
    fallback = ("Windows worker nodes",) if windows else ("worker nodes",)
    if k0sctl is None:
        return fallback
    hosts = k0sctl.get("spec", "hosts")
    labels: list[str] = []
    for index, host in enumerate(hosts if isinstance(hosts, list) else []):
        if not isinstance(host, dict) or host.get("role") not in WORKER_ROLES:
            continue
        if is_windows_host(host) != windows:
            continue
        labels.append(f"{_address(host) or f'hosts[{index}]'} ({host['role']})")
    return tuple(labels) or fallback


def _address(host: dict[str, object]) -> str:
    for connection in ("ssh", "openSSH", "winRM"):
        settings = host.get(connection)
        if isinstance(settings, dict) and isinstance(settings.get("address"), str):
            return str(settings["address"])
    localhost = host.get("localhost")
    if isinstance(localhost, dict) and localhost.get("enabled") is True:
        return "localhost"
    return ""


def added_since(current: Iterable[NeededImage], before: Iterable[NeededImage]) -> list[NeededImage]:
    """The images of ``current`` that ``before`` does not have (what a mirror must gain for an upgrade)."""
    held = {n.image for n in before}
    return [n for n in current if n.image not in held]
