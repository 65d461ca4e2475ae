"""What an image bundle tarball really holds, read the way k0s imports bundles into containerd.

Two layouts are understood, plain or compressed (gzip, bzip2, xz):

- OCI image layout (what k0s ships and ``k0s airgap bundle-artifacts`` writes, also ``ctr export``
  and ``skopeo copy oci-archive:``): ``index.json`` lists one descriptor per image. Its name is the
  annotation ``io.containerd.image.name`` or ``org.opencontainers.image.ref.name``; the latter may be
  only a tag, which then completes the containerd name. The descriptor's digest is kept, so a pin
  by digest is matched against the digest the bundle really holds.
- docker-archive (``docker save``): ``manifest.json`` lists ``RepoTags`` per image.

Only those two JSON members are read, with size limits; layers are skipped without being read and
nothing is extracted to disk. A member name that is absolute or climbs out with ``..`` never
occurs in a real bundle, so such an archive is refused.
"""

from __future__ import annotations

import json
import re
import tarfile
import zlib
from pathlib import Path
from typing import Any

from checker.inputs.imageref import ImageRef
from checker.records import dataclass, field

OCI_INDEX = "index.json"
DOCKER_MANIFEST = "manifest.json"
CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"
MAX_MEMBERS = 200_000
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_IMAGES = 50_000

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


class BundleError(Exception):
    """The file is not an image bundle this tool can read; the message names the file."""


@dataclass
class BundleContents:
    images: set[str] = field(default_factory=set)  # normalised references, as in an image list
    layouts: list[str] = field(default_factory=list)  # "OCI image layout", "docker-archive"
    unnamed: int = 0  # descriptors without a usable name (k0s cannot import them by name either)


def load_bundle(path: Path, shown: str) -> frozenset[str]:
    """The images a bundle holds, normalised like an ``--airgap-images`` list."""
    return frozenset(read_bundle(path, shown).images)


def read_bundle(path: Path, shown: str) -> BundleContents:
    members = _json_members(path, shown)
    if not members:
        raise BundleError(
            f"{shown}: holds neither {OCI_INDEX} (OCI image layout) nor {DOCKER_MANIFEST} "
            "(docker-archive), so it is not an image bundle"
        )
    contents = BundleContents()
    if OCI_INDEX in members:
        contents.layouts.append("OCI image layout")
        _read_oci_index(_load_json(members[OCI_INDEX], OCI_INDEX, shown), contents, shown)
    if DOCKER_MANIFEST in members:
        contents.layouts.append("docker-archive")
        _read_docker_manifest(_load_json(members[DOCKER_MANIFEST], DOCKER_MANIFEST, shown), contents, shown)
    if not contents.images:
        unnamed = f" ({contents.unnamed} image(s) without a name)" if contents.unnamed else ""
        raise BundleError(f"{shown}: the bundle names no images{unnamed}; k0s could import nothing by name")
    return contents


def _json_members(path: Path, shown: str) -> dict[str, bytes]:
    """The raw bytes of index.json and manifest.json at the top of the archive."""
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed by the with-block below
    except FileNotFoundError:
        raise BundleError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise BundleError(f"{shown}: is a directory; pass the bundle tarball") from None
    except (EOFError, zlib.error) as err:
        raise BundleError(f"{shown}: damaged archive: {err}") from None
    except tarfile.TarError:
        raise BundleError(
            f"{shown}: not a tar archive (plain, gzip, bzip2 or xz), so not an image bundle"
        ) from None
    except OSError as err:
        raise BundleError(f"{shown}: cannot read the image bundle: {err.strerror or err}") from None
    found: dict[str, bytes] = {}
    with archive:
        count = 0
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
                raise BundleError(f"{shown}: damaged archive: {err}") from None
            if member is None:
                break
            count += 1
            if count > MAX_MEMBERS:
                raise BundleError(f"{shown}: more than {MAX_MEMBERS} archive members; not an image bundle")
            name = _member_name(member.name, shown)
            if name not in (OCI_INDEX, DOCKER_MANIFEST):
                continue
            if name in found:
                raise BundleError(f"{shown}: {name} appears twice in the archive")
            if not member.isfile():
                raise BundleError(f"{shown}: {name} is not a regular file in the archive")
            if member.size > MAX_JSON_BYTES:
                raise BundleError(
                    f"{shown}: {name} is {member.size} bytes, over the {MAX_JSON_BYTES} byte limit"
                )
            try:
                handle = archive.extractfile(member)
                data = handle.read(MAX_JSON_BYTES + 1) if handle is not None else b""
            except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
                raise BundleError(f"{shown}: damaged archive while reading {name}: {err}") from None
            found[name] = data
    return found


def _member_name(name: str, shown: str) -> str:
    if name.startswith("/") or "\\" in name or ".." in name.split("/"):
        raise BundleError(f"{shown}: archive member {name!r} points outside the archive; refusing the bundle")
    while name.startswith("./"):
        name = name[2:]
    return name


def _load_json(raw: bytes, name: str, shown: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BundleError(f"{shown}: {name} is not valid JSON: {err}") from None


def _add(contents: BundleContents, text: str, where: str, shown: str, digest: Any = None) -> None:
    try:
        ref = ImageRef.parse(text)
    except ValueError as err:
        raise BundleError(f"{shown}: {where}: {err}") from None
    if ref.digest is None and isinstance(digest, str) and _DIGEST.fullmatch(digest):
        ref = ImageRef(ref.name, ref.tag, digest)
    if len(contents.images) >= MAX_IMAGES:
        raise BundleError(f"{shown}: names more than {MAX_IMAGES} images; not an image bundle")
    contents.images.add(str(ref))


def _is_tag_only(text: str) -> bool:
    return not any(c in text for c in "/:@")


def _read_oci_index(index: Any, contents: BundleContents, shown: str) -> None:
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise BundleError(f"{shown}: {OCI_INDEX} has no 'manifests' list")
    for number, descriptor in enumerate(manifests):
        where = f"{OCI_INDEX} manifests[{number}]"
        if not isinstance(descriptor, dict):
            raise BundleError(f"{shown}: {where} is not an object")
        annotations = descriptor.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise BundleError(f"{shown}: {where}: annotations is not an object")
        full = annotations.get(CONTAINERD_NAME)
        ref_name = annotations.get(OCI_REF_NAME)
        ref_name = ref_name if isinstance(ref_name, str) and ref_name else None
        digest = descriptor.get("digest")
        if isinstance(full, str) and full:
            if ref_name and _is_tag_only(ref_name) and _is_tag_only(full.rsplit("/", 1)[-1]):
                full = f"{full}:{ref_name}"  # the containerd name without a tag, completed by the OCI one
            _add(contents, full, where, shown, digest)
        elif ref_name and not _is_tag_only(ref_name):
            _add(contents, ref_name, where, shown, digest)
        else:
            contents.unnamed += 1  # a bare tag with no name says nothing about which image it is


def _read_docker_manifest(manifest: Any, contents: BundleContents, shown: str) -> None:
    if not isinstance(manifest, list):
        raise BundleError(f"{shown}: {DOCKER_MANIFEST} is not a list of images")
    for number, image in enumerate(manifest):
        where = f"{DOCKER_MANIFEST} [{number}]"
        if not isinstance(image, dict):
            raise BundleError(f"{shown}: {where} is not an object")
        tags = image.get("RepoTags")
        if tags is None or tags == []:
            contents.unnamed += 1  # saved by id: no name to import it under
            continue
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BundleError(f"{shown}: {where}: RepoTags is not a list of strings")
        for tag in tags:
            _add(contents, tag, f"{where} RepoTags", shown)
