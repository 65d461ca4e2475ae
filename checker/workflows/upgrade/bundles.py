"""What the image bundles a k0sctl file uploads hold, judged by the k0s version in their file names.

The content of a bundle is known only when it is given with ``--airgap-bundle`` (checker.inputs.bundle);
otherwise a k0s release bundle (``k0s-airgap-bundle-v1.30.5+k0s.0-amd64``) is taken to hold that
release's default images, and the report says so.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from checker.k0s.cluster import AIRGAP_IMAGE_DIR, WORKER_ROLES
from checker.k0s.documents import K0sObject
from checker.k0s.releases import Catalog
from checker.records import dataclass, field

_TAG_IN_NAME = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+\+k0s\.[0-9]+")


@dataclass
class NamedBundles:
    """The images the uploaded bundles hold by their names; ``images`` is None when any is unknown."""

    uploads: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    images: frozenset[str] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return "the bundles k0sctl uploads (" + ", ".join(self.uploads) + ", judged by their file names)"


def uploaded_bundles(k0sctl: K0sObject) -> list[str]:
    """The ``src`` (else ``name``) of every upload into a worker's image bundle directory."""
    found: list[str] = []
    hosts = k0sctl.get("spec", "hosts")
    for host in hosts if isinstance(hosts, list) else []:
        if not isinstance(host, dict) or host.get("role") not in WORKER_ROLES:
            continue
        data_dir = host.get("dataDir") if isinstance(host.get("dataDir"), str) else "/var/lib/k0s"
        image_dirs = (AIRGAP_IMAGE_DIR, posixpath.join(str(data_dir), "images"))
        files = host.get("files")
        for upload in files if isinstance(files, list) else []:
            if not isinstance(upload, dict):
                continue
            targets = [str(upload.get("dstDir") or ""), str(upload.get("dst") or "")]
            if any(t.rstrip("/").startswith(image_dirs) for t in targets if t):
                label = str(upload.get("src") or upload.get("name") or "?")
                if label not in found:
                    found.append(label)
    return found


def judge_by_name(catalog: Catalog, uploads: list[str], repositories: Iterable[str]) -> NamedBundles:
    """The default images of the releases the bundles' file names name (also as the repository
    rewrite renames them, as K0S201 compares them)."""
    result = NamedBundles(uploads=list(uploads))
    if not uploads:
        return result
    images: set[str] = set()
    for upload in uploads:
        match = _TAG_IN_NAME.search(posixpath.basename(upload))
        patch = catalog.patch(match.group(0)) if match else None
        if patch is None:
            why = (
                "names no k0s release"
                if match is None
                else f"names {match.group(0)}, not in the release data"
            )
            result.notes.append(
                f"the k0sctl upload {upload} {why}, so what it holds is unknown; pass the file with "
                "--airgap-bundle to judge it by its content (until then the step's own release bundle is assumed)"
            )
            return NamedBundles(uploads=list(uploads), notes=result.notes)
        result.versions.append(patch.version)
        images.update(patch.images.values())
        for repository in repositories:
            images.update(patch.effective_images(repository).values())
    result.images = frozenset(images)
    result.notes.append(
        "the bundles k0sctl uploads are judged by the k0s version in their file names ("
        + ", ".join(f"{u}: {v}" for u, v in zip(uploads, result.versions, strict=True))
        + "); pass them with --airgap-bundle to judge them by their content"
    )
    return result
