"""The release data as one JSON document for Rego policies (``data.k0s_releases``).

``k0s-policy releases export-data`` writes it; the Rego versions of the core checks
(``policies/rego/k0s``) read it, under k0s-policy (``--data``) and under conftest alike. Each
distinct default image appears once, pre-split (name, tag, digest, canonical Docker Hub name) and
with the releases that ship it, so the policies compare references without re-implementing the
grammar and the document stays small enough to load quickly.

Shape (``format`` 1)::

    {"k0s_releases": {
      "format": 1, "newest": "v1.36.3+k0s.2",
      "target": "", "airgapped": false, "registries": [],        # settings of the checked clusters
      "minors": {"1.30": {"default_pull_policy": "IfNotPresent", "image_paths": {...},
                          "patches": ["v1.30.0+k0s.0", ...]}},    # oldest first
      "patches": {"1.30": {"v1.30.0+k0s.0": {
          "pull_policy_honoured": true, "repository_idempotent": false,
          "rewrites": 0,                                          # index into "rewrite_sets"
          "images": {"kubeproxy": "quay.io/k0sproject/kube-proxy|v1.30.0|", ...}}}},  # name|tag|digest
      "rewrite_sets": [["coredns", "konnectivity", ...], ...],   # components the repository renames
      "defaults": {"quay.io/k0sproject/kube-proxy": {"v1.30.0": [   # canonical name -> tag -> images
          {"name": ..., "tag": ..., "digest": ..., "versions": ["v1.30.0+k0s.0", ...]}]}},
      "by_tag": {"v1.30.0": ["quay.io/k0sproject/kube-proxy", ...]}}}   # tag -> canonical names

The layout suits the embedded engine: its load time grows with the number of values, and a lookup
costs as much as the value it returns, so every table is indexed level by level down to small
values, and a release's images are packed into strings.
``target`` is resolved at export time (``1.30`` becomes the newest 1.30 patch), so the policies
only need to resolve versions written in k0sctl files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checker.inputs.imageref import ImageRef
from checker.k0s.releases import Catalog

FORMAT = 1
DATA_KEY = "k0s_releases"


def export(
    catalog: Catalog,
    *,
    target: str = "",
    airgapped: bool = False,
    registries: Sequence[str] = (),
) -> dict[str, Any]:
    """Every known release, plus the cluster settings the Rego checks cannot read from a document.

    ``target`` is any version ``--k0s-version`` accepts; it is stored as the exact patch it resolves to.
    """
    if target:
        target = catalog.resolve(target).patch.version
    minors: dict[str, Any] = {}
    patches: dict[str, dict[str, Any]] = {}
    defaults: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    rewrite_sets: list[list[str]] = []
    for minor in catalog.minors():
        release = catalog.release(minor)
        assert release is not None
        minors[minor] = {
            "default_pull_policy": release.default_pull_policy,
            "image_paths": {c: p for c, p in release.image_paths.items() if p},
            "patches": [p.version for p in release.patches],
        }
        for patch in release.patches:
            for text in dict.fromkeys(patch.images.values()):
                ref = ImageRef.parse(text)
                by_tag = defaults.setdefault(ref.canonical_name(), {}).setdefault(ref.tag or "", {})
                by_tag.setdefault(text, _image(ref))["versions"].append(patch.version)
            rewrites = sorted(patch.repository_rewrites)
            if rewrites not in rewrite_sets:
                rewrite_sets.append(rewrites)
            patches.setdefault(minor, {})[patch.version] = {
                "pull_policy_honoured": patch.pull_policy_honoured,
                "repository_idempotent": patch.repository_idempotent,
                "rewrites": rewrite_sets.index(rewrites),
                "images": {c: _packed(ImageRef.parse(t)) for c, t in patch.images.items()},
            }
    tags: dict[str, list[str]] = {}
    for canonical, images in defaults.items():
        for tag in images:
            tags.setdefault(tag, []).append(canonical)
    return {
        DATA_KEY: {
            "format": FORMAT,
            "newest": catalog.newest().version,
            "target": target,
            "airgapped": airgapped,
            "registries": list(registries),
            "minors": minors,
            "patches": patches,
            "rewrite_sets": rewrite_sets,
            "defaults": {
                canonical: {tag: list(found.values()) for tag, found in images.items()}
                for canonical, images in defaults.items()
            },
            "by_tag": tags,
        }
    }


def _packed(ref: ImageRef) -> str:
    return "|".join((ref.name, ref.tag or "", ref.digest or ""))


def _image(ref: ImageRef) -> dict[str, Any]:
    return {"name": ref.name, "tag": ref.tag or "", "digest": ref.digest or "", "versions": []}
