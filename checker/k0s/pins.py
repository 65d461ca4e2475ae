"""What a ClusterConfig says about images: the pins it writes, the registry and pull policy it sets,
and the images the cluster will therefore run on a given k0s release."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from checker.inputs.imageref import ImageRef, split_image_and_version
from checker.inputs.yamldoc import YamlPath
from checker.k0s.documents import K0sObject
from checker.k0s.releases import PULL_POLICIES, Catalog, Patch, Release
from checker.k0s.repository import rewrite_repository
from checker.records import dataclass

NLLB_PATH: YamlPath = ("spec", "network", "nodeLocalLoadBalancing")
IMAGES_PATH: YamlPath = ("spec", "images")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Pin:
    """An image a ClusterConfig sets explicitly, as k0s will read it (default name or tag filled in)."""

    component: str
    obj: K0sObject
    node: YamlPath
    written: str  # what the file says, e.g. "quay.io/k0sproject/kube-proxy:v1.29.4"
    ref: ImageRef | None
    error: str = ""

    @property
    def anchor(self) -> YamlPath:
        """The scalar a finding should point at: the version when written, else the image name."""
        data = self.obj.get(*self.node)
        if isinstance(data, dict):
            for key in ("version", "image"):
                if key in data:
                    return (*self.node, key)
        return self.node

    @property
    def label(self) -> str:
        return component_label(self.component)


def component_label(component: str) -> str:
    labels = {
        "nllb.envoyProxy": "NLLB envoy",
        "nllb.traefik": "NLLB traefik",
    }
    return labels.get(component, component)


@cache
def _split(path: str) -> YamlPath:
    return tuple(path.split("."))


def image_paths(release: Release) -> dict[str, YamlPath]:
    return {component: _split(path) for component, path in release.image_paths.items() if path}


def repository_of(obj: K0sObject) -> str:
    value = obj.get(*IMAGES_PATH, "repository")
    return value if isinstance(value, str) else ""


def pull_policy_of(obj: K0sObject) -> str | None:
    value = obj.get(*IMAGES_PATH, "default_pull_policy")
    return value if isinstance(value, str) else None


def effective_pull_policy(obj: K0sObject, release: Release, patch: Patch) -> str:
    """The pull policy k0s really applies to its images: the written one where the release honours
    it (1.26 on), else the release's own (IfNotPresent)."""
    written = pull_policy_of(obj)
    if patch.pull_policy_honoured and written in PULL_POLICIES:
        return str(written)
    return release.default_pull_policy


def nllb_settings(obj: K0sObject) -> dict[str, Any]:
    value = obj.get(*NLLB_PATH)
    return value if isinstance(value, dict) else {}


def nllb_enabled(obj: K0sObject) -> bool:
    return nllb_settings(obj).get("enabled") is True


def _memo(obj: K0sObject, key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
    """``compute()`` once per object and key. The rules of K0S101-K0S105, K0S2xx and the needed images
    all ask for the same object's pins and running images on the same release; the answer lives in the
    object's own ``__dict__`` (as functools.cached_property keeps it), so it goes when the object goes.
    ``key`` holds the release objects themselves, never only their ids, so a reused id cannot match."""
    memo: dict[tuple[Any, ...], Any] = vars(obj).setdefault("_pins_memo", {})
    if key not in memo:
        memo[key] = compute()
    result: _T = memo[key]
    return result


class _Same:
    """A key part equal only to the very same object (Release and Patch hash all their data)."""

    __slots__ = ("item",)

    def __init__(self, item: object) -> None:
        self.item = item

    def __hash__(self) -> int:
        return id(self.item)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.item is self.item


def pins_in(obj: K0sObject, release: Release, patch: Patch) -> list[Pin]:
    """Every image the object sets explicitly, in file order."""
    return list(_memo(obj, ("pins", _Same(release), _Same(patch)), lambda: _pins_in(obj, release, patch)))


def _pins_in(obj: K0sObject, release: Release, patch: Patch) -> tuple[Pin, ...]:
    pins: list[Pin] = []
    for component, path in image_paths(release).items():
        node = obj.get(*path)
        if not isinstance(node, dict) or not ({"image", "version"} & node.keys()):
            continue
        image, version = node.get("image"), node.get("version")
        if not image and not version:
            continue  # nothing is pinned (nulls are the schema's business, K0S002)
        default = patch.images.get(component)
        default_ref = ImageRef.parse(default) if default else None
        if not image and default_ref is not None:
            image = default_ref.name
        if not version and default_ref is not None and not _has_tag(image):
            version = default_ref.tag
        written = f"{image}:{version}" if version else str(image)
        try:
            if not isinstance(image, str) or not image:
                raise ValueError("the image name is missing and this release has no default for it")
            ref = split_image_and_version(image, version if isinstance(version, str) else None)
        except ValueError as err:
            pins.append(Pin(component, obj, path, written, None, str(err)))
            continue
        pins.append(Pin(component, obj, path, written, ref))
    pins.sort(key=lambda p: (obj.value_mark(p.node).line, obj.value_mark(p.node).column))
    return tuple(pins)


def _has_tag(image: Any) -> bool:
    if not isinstance(image, str):
        return False
    try:
        ref = ImageRef.parse(image)
    except ValueError:
        return False
    return ref.tag is not None or ref.digest is not None


def running_name(ref: ImageRef, component: str, patch: Patch, repository: str) -> ImageRef:
    """The reference k0s runs for a component: the repository rewrite applied where the release does."""
    if repository and component in patch.repository_rewrites:
        return ref.with_name(rewrite_repository(ref.name, repository, patch.repository_idempotent))
    return ref


class DefaultIndex:
    """Which releases have a given image as a default, also after a repository rewrite.

    Persisted objects written with ``images.repository`` set carry rewritten names (k0s #7708), so a
    pin is matched both as written and against every default rewritten with the same repository.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._rewritten: dict[str, dict[tuple[str, str | None], list[tuple[Patch, str]]]] = {}
        self._owners: dict[tuple[ImageRef, str], list[tuple[Patch, str]]] = {}

    def owners(self, ref: ImageRef, repository: str = "") -> list[tuple[Patch, str]]:
        key = (ref, repository)
        if key not in self._owners:
            self._owners[key] = self._find(ref, repository)
        return self._owners[key]

    def _find(self, ref: ImageRef, repository: str) -> list[tuple[Patch, str]]:
        found = list(self.catalog.releases_with_default(ref))
        if repository:
            key = (ref.canonical_name(), ref.tag)
            for owner in self._index(repository).get(key, []):
                if owner not in found:
                    found.append(owner)
        found.sort(key=lambda owner: owner[0].parsed)
        return found

    def _index(self, repository: str) -> dict[tuple[str, str | None], list[tuple[Patch, str]]]:
        if repository not in self._rewritten:
            index: dict[tuple[str, str | None], list[tuple[Patch, str]]] = {}
            for minor in self.catalog.minors():
                release = self.catalog.release(minor)
                assert release is not None
                for patch in release.patches:
                    for component, text in patch.images.items():
                        ref = ImageRef.parse(text)
                        name = rewrite_repository(ref.name, repository, idempotent=True)
                        key = (ImageRef(name, ref.tag).canonical_name(), ref.tag)
                        index.setdefault(key, []).append((patch, component))
            self._rewritten[repository] = index
        return self._rewritten[repository]


def describe_owners(owners: list[tuple[Patch, str]]) -> str:
    """ "k0s v1.29.4+k0s.0" or "k0s v1.29.0+k0s.0 to v1.29.3+k0s.0 (4 releases)"."""
    patches = sorted({patch.version: patch for patch, _ in owners}.values(), key=lambda p: p.parsed)
    if len(patches) == 1:
        return f"k0s {patches[0].version}"
    return f"k0s {patches[0].version} to {patches[-1].version} ({len(patches)} releases)"


def components_run(obj: K0sObject, patch: Patch, install_flags: str = "", windows: bool = False) -> list[str]:
    """The components whose images a cluster with this config runs on the given release;
    ``windows``: some workers run Windows (k0s 1.34+), which need their own pause, kube-proxy and
    Calico images."""
    network = obj.get("spec", "network")
    network = network if isinstance(network, dict) else {}
    provider = network.get("provider", "kuberouter")
    disabled = disabled_components(install_flags)
    run: list[str] = []
    single = any(w in ("--single", "--single=true") for w in install_flags.split())
    if "konnectivity-server" not in disabled and not single:
        run.append("konnectivity")  # single-node controllers run no konnectivity at all
    if "metrics-server" not in disabled:
        run.append("metricsserver")
    if "coredns" not in disabled:
        run.append("coredns")
    kube_proxy = network.get("kubeProxy")
    if (
        not (isinstance(kube_proxy, dict) and kube_proxy.get("disabled") is True)
        and "kube-proxy" not in disabled
    ):
        run.append("kubeproxy")
    if "pause" in patch.images and patch.minor not in _NO_SANDBOX_IMAGE_MINORS:
        run.append("pause")
    if "network-provider" in disabled:
        pass  # the controllers deploy no network plugin; the user brings one
    elif provider == "kuberouter":
        run += ["kuberouter.cni", "kuberouter.cniInstaller"]
    elif provider == "calico":
        run += ["calico.cni", "calico.node", "calico.kubecontrollers"]
    if "--enable-metrics-scraper" in install_flags:
        run.append("pushgateway")
    if nllb_enabled(obj):
        kind = nllb_settings(obj).get("type", "EnvoyProxy")
        run.append("nllb.traefik" if kind == "Traefik" else "nllb.envoyProxy")
    if windows:
        run.append("windows.pause")
        if "kubeproxy" in run:
            run.append("windows.kubeproxy")
        if "calico.cni" in run:
            run += ["calico.windows.cni", "calico.windows.node"]
    return [c for c in run if c in patch.images]


def disabled_components(install_flags: str) -> frozenset[str]:
    """The k0s components named by ``--disable-components`` in a controller's install flags.

    Accepts ``--disable-components=a,b`` and ``--disable-components a,b`` (also quoted), as k0s's flag
    parser does; repeated flags add up.
    """
    words = install_flags.replace('"', " ").replace("'", " ").split()
    names: set[str] = set()
    for index, word in enumerate(words):
        value = ""
        if word.startswith("--disable-components="):
            value = word.partition("=")[2]
        elif word == "--disable-components" and index + 1 < len(words):
            value = words[index + 1]
        names.update(name.strip() for name in value.split(",") if name.strip())
    return frozenset(names)


# k0s sets the containerd sandbox (pause) image itself only from 1.27 on.
_NO_SANDBOX_IMAGE_MINORS = frozenset({"1.21", "1.22", "1.23", "1.24", "1.25", "1.26"})


def running_images(
    obj: K0sObject, release: Release, patch: Patch, install_flags: str = "", windows: bool = False
) -> dict[str, tuple[ImageRef, Pin | None]]:
    """component -> (the reference k0s will run, the pin that set it or None for the default)."""
    key = ("running", _Same(release), _Same(patch), install_flags, windows)
    return dict(_memo(obj, key, lambda: _running_images(obj, release, patch, install_flags, windows)))


def _running_images(
    obj: K0sObject, release: Release, patch: Patch, install_flags: str, windows: bool
) -> dict[str, tuple[ImageRef, Pin | None]]:
    repository = repository_of(obj)
    pins = {pin.component: pin for pin in pins_in(obj, release, patch) if pin.ref is not None}
    result: dict[str, tuple[ImageRef, Pin | None]] = {}
    for component in components_run(obj, patch, install_flags, windows):
        pin = pins.get(component)
        ref = pin.ref if pin is not None and pin.ref is not None else ImageRef.parse(patch.images[component])
        result[component] = (running_name(ref, component, patch, repository), pin)
    return result


@cache
def default_index(catalog: Catalog) -> DefaultIndex:
    """The one index of a catalogue's default images, built on first use."""
    return DefaultIndex(catalog)
