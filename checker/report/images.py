"""Writers for `k0s-policy images`: a plain list, JSON, and `skopeo sync --src yaml` files.

- ``list``: one reference a line, every cluster's images once, in `k0s airgap list-images` order
  (with one cluster it is exactly what that command prints for the config), ready for a bundle build.
- ``json``: per cluster, each image with its component, source (default, pin, persisted), the YAML
  node that makes it needed and the hosts that run it.
- ``skopeo-sync``: what to copy into the mirror. `skopeo sync` keeps only the last path segment of
  a name, while k0s's ``images.repository`` rewrite keeps the whole path, so the images are grouped
  by the mirror namespace they must land in: one YAML document per namespace, each headed by the
  command that copies it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TextIO

import yaml

from checker.inputs.imageref import DEFAULT_REGISTRY, ImageRef
from checker.k0s.cluster import Cluster
from checker.k0s.needed import NeededImage
from checker.k0s.releases import Patch
from checker.records import dataclass
from checker.report.escape import text

UNKNOWN_MIRROR = "MIRROR"


class _Entry(Protocol):
    cluster: Cluster
    patch: Patch
    images: list[NeededImage]
    since: Patch | None


class Result(Protocol):
    """What the writers read of checker.workflows.images.ImagesResult (a wing above this one)."""

    @property
    def clusters(self) -> Sequence[_Entry]: ...

    @property
    def insecure_sources(self) -> frozenset[str]: ...


def write_list(result: Result, out: TextIO) -> None:
    seen: set[str] = set()
    for entry in result.clusters:
        for needed in entry.images:
            if needed.image not in seen:
                seen.add(needed.image)
                out.write(text(needed.image) + "\n")  # one name a line, whatever the name holds


def write_json(result: Result, out: TextIO) -> None:
    from checker import __version__

    clusters = []
    for entry in result.clusters:
        clusters.append(
            {
                "cluster": entry.cluster.name,
                "k0s_version": entry.patch.version,
                "from": entry.since.version if entry.since is not None else None,
                "images": [_image_json(needed) for needed in entry.images],
            }
        )
    json.dump({"tool": "k0s-policy", "version": __version__, "clusters": clusters}, out, indent=2)
    out.write("\n")


def _image_json(needed: NeededImage) -> dict[str, Any]:
    mark = needed.obj.value_mark(needed.anchor)
    return {
        "image": needed.image,
        "component": needed.component,
        "source": needed.source,
        "upstream": str(needed.upstream),
        "node": {
            "path": needed.obj.path,
            "line": mark.line,
            "column": mark.column,
            "yaml": needed.obj.describe(needed.anchor),
        },
        "hosts": list(needed.hosts),
    }


@dataclass(frozen=True)
class SyncGroup:
    """The images one `skopeo sync` run copies into one mirror namespace."""

    destination: str  # registry/namespace in the mirror; MIRROR/... when no repository rewrite names it
    text: str  # the YAML skopeo reads
    count: int


def sync_groups(result: Result) -> list[SyncGroup]:
    groups: dict[str, dict[str, dict[str, list[str]]]] = {}
    for entry in result.clusters:
        for needed in entry.images:
            destination = _destination(needed)
            source = needed.upstream
            registry, path = _split_registry(source)
            images = groups.setdefault(destination, {}).setdefault(registry, {})
            wanted = source.digest or source.tag or "latest"
            versions = images.setdefault(path, [])
            if wanted not in versions:
                versions.append(wanted)
    result_groups = []
    for destination, registries in groups.items():
        insecure = result.insecure_sources
        document: dict[str, dict[str, Any]] = {}
        for registry, images in registries.items():
            document[registry] = {"images": images}
            if registry in insecure:
                document[registry]["tls-verify"] = False
        count = sum(len(v) for images in registries.values() for v in images.values())
        where = text(destination)  # a comment line: a line break in a name would end it
        header = (
            f"# k0s-policy images: {count} image(s) for {where}\n"
            f"# skopeo sync --all --src yaml --dest docker THIS_FILE {where}\n"
        )
        body = yaml.safe_dump(document, default_flow_style=False, sort_keys=False)
        result_groups.append(SyncGroup(destination, header + body, count))
    return result_groups


def _split_registry(ref: ImageRef) -> tuple[str, str]:
    registry = ref.registry
    if registry is None:
        return DEFAULT_REGISTRY, ref.canonical_name().partition("/")[2]
    return registry, ref.name[len(registry) + 1 :]


def _destination(needed: NeededImage) -> str:
    """The namespace the image must land in so that the name the node runs exists in the mirror."""
    if needed.ref.name == needed.upstream.name:
        # not renamed: the nodes pull it as written, so any mirror is the user's own choice
        namespace = posixpath.dirname(_split_registry(needed.upstream)[1])
        return posixpath.join(UNKNOWN_MIRROR, namespace) if namespace else UNKNOWN_MIRROR
    return posixpath.dirname(needed.ref.name)


def write_skopeo_sync(result: Result, out: TextIO) -> None:
    groups = sync_groups(result)
    for index, group in enumerate(groups):
        if index:
            out.write("---\n")
        out.write(group.text)


WRITERS: dict[str, Callable[[Result, TextIO], None]] = {
    "list": write_list,
    "json": write_json,
    "skopeo-sync": write_skopeo_sync,
}


def names() -> Sequence[str]:
    return tuple(WRITERS)
