"""New k0s releases as data: a release file in our format built from what a k0s binary prints.

``k0s airgap list-images --all`` names every image of a release; each is placed on its component
by its name, using the names of the newest known release first and then of older ones
(``quay.io/k0sproject/kube-proxy`` is ``kubeproxy``, ``quay.io/k0sproject/envoy-distroless`` is
``nllb.envoyProxy``). ``k0s config create --include-images`` states components and versions
outright and wins where both are given. What neither output says (how dynamic config strips
defaults, which images ``images.repository`` rewrites, whether the pull policy is honoured) is
inherited from the newest known release before the new one, and the output says so.

The file goes to the user data directory (checker.k0s.userdata), one file per minor like
``policies/releases/<minor>.yaml``; importing into a minor that exists there adds or replaces the
patch. A minor that only the built-in data knows is copied whole, because a user file replaces
the built-in file of its minor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from checker.inputs.airgap import AirgapError, parse_image_list
from checker.inputs.imageref import ImageRef
from checker.k0s.releases import (
    FORMAT_VERSION,
    PULL_POLICIES,
    RELEASE_FILE_SUFFIXES,
    Catalog,
    FlowList,
    Patch,
    QuotedString,
    Release,
    builtin_releases_dir,
    dump_release,
    load_release_file,
)
from checker.k0s.userdata import write_atomically
from checker.records import dataclass, field

HEADER = (
    "# k0s release data added with `k0s-policy releases import` (same format as the built-in\n"
    "# policies/releases/<minor>.yaml). Behaviour flags of imported patches are inherited from the\n"
    "# release before them: check them against the k0s release notes.\n"
)
_TAG = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+\+k0s\.[0-9]+")
_BaseLoader: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class ReleaseImportError(Exception):
    pass


@dataclass
class ImportOutcome:
    path: Path
    release: Release
    notes: list[str] = field(default_factory=list)


# --- rendering a release file ----------------------------------------------------------------------------


def _ordered(components: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {component: i for i, component in enumerate(order)}
    return sorted(components, key=lambda c: (rank.get(c, len(rank)), c))


def patch_entry(patch: Patch, order: Sequence[str]) -> dict[str, Any]:
    return {
        "version": patch.version,
        "kubernetes": patch.kubernetes,
        "dynamic_config": patch.dynamic_config,
        "pull_policy_honoured": patch.pull_policy_honoured,
        "repository_idempotent": patch.repository_idempotent,
        "repository_rewrites": FlowList(_ordered(patch.repository_rewrites, order)),
        "images": dict(patch.images),
    }


def render(
    minor: str,
    default_pull_policy: str,
    image_paths: dict[str, str | None],
    kubernetes_versioned: Iterable[str],
    patches: list[dict[str, Any]],
) -> str:
    order = list(image_paths)
    document = {
        "format": FORMAT_VERSION,
        "minor": QuotedString(minor),
        "default_pull_policy": default_pull_policy,
        "image_paths": image_paths,
        "kubernetes_versioned": FlowList(_ordered(kubernetes_versioned, order)),
        "patches": sorted(patches, key=lambda p: Version(p["version"][1:])),
    }
    return dump_release(document, HEADER)


# --- placing images on components ------------------------------------------------------------------------


def _known_releases(catalog: Catalog) -> list[Release]:
    """Every known release, newest minor first."""
    catalog.load_all()
    return [r for m in reversed(catalog.minors()) if (r := catalog.release(m)) is not None]


def _name_index(releases: Sequence[Release]) -> dict[str, str]:
    """canonical image name -> component; the newest release that uses a name decides."""
    names: dict[str, str] = {}
    for release in releases:
        for patch in reversed(release.patches):
            for component, text in patch.images.items():
                names.setdefault(ImageRef.parse(text).canonical_name(), component)
    return names


def _path_index(releases: Sequence[Release]) -> dict[str, str]:
    paths: dict[str, str] = {}
    for release in releases:
        for component, path in release.image_paths.items():
            if path:
                paths.setdefault(component, path)
    return paths


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _config_images(text: str, shown: str, paths: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """component -> image from `k0s config create --include-images` output, and its pull policy."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_BaseLoader) if d is not None]
    except yaml.YAMLError as err:
        raise ReleaseImportError(f"{shown}: not valid YAML: {err}") from None
    config = next((d for d in documents if isinstance(d, dict) and d.get("kind") == "ClusterConfig"), None)
    if config is None:
        raise ReleaseImportError(f"{shown}: holds no ClusterConfig (expected `k0s config create` output)")
    images: dict[str, str] = {}
    for component, path in paths.items():
        node = _get(config, path)
        if not isinstance(node, dict) or not node.get("image") or not node.get("version"):
            continue
        text = f"{node['image']}:{node['version']}"
        try:
            images[component] = str(ImageRef.parse(text))
        except ValueError as err:
            raise ReleaseImportError(f"{shown}: {path}: {err}") from None
    if not images:
        raise ReleaseImportError(
            f"{shown}: spec.images is empty; create the file with `k0s config create --include-images`"
        )
    policy = _get(config, "spec.images.default_pull_policy")
    return images, policy if policy in PULL_POLICIES else None


def _place(listed: Iterable[str], names: dict[str, str], shown: str, reference: str) -> dict[str, str]:
    placed: dict[str, str] = {}
    unplaced: list[str] = []
    for text in sorted(listed):
        ref = ImageRef.parse(text)
        component = names.get(ref.canonical_name())
        if component is None:
            unplaced.append(text)
            continue
        if ref.tag is None:
            raise ReleaseImportError(f"{shown}: {text} has no tag; release data needs the exact tag")
        if component in placed:
            raise ReleaseImportError(
                f"{shown}: both {placed[component]} and {text} are images of {component}; "
                "a release has one default image per component"
            )
        placed[component] = text
    if unplaced:
        raise ReleaseImportError(
            f"{shown}: cannot tell which component these images belong to: {', '.join(unplaced)}. "
            f"Images are placed by the names k0s {reference} and older releases use; an image k0s has "
            "renamed or added needs --config with the output of `k0s config create --include-images` "
            "of the same release (a list printed with spec.images.repository set carries mirror names: "
            "print it without)"
        )
    return placed


# --- the import ------------------------------------------------------------------------------------------


def _existing_user_file(data_dir: Path, minor: str) -> tuple[Path, Release] | None:
    if not data_dir.is_dir():
        return None
    for entry in sorted(data_dir.iterdir()):
        if not entry.name.endswith(RELEASE_FILE_SUFFIXES):
            continue
        try:
            release = load_release_file(entry)
        except ValueError as err:
            raise ReleaseImportError(f"release data directory: {err}") from None
        if release.minor == minor:
            return entry, release
    return None


def import_release(
    version: str,
    images_text: str,
    images_shown: str,
    catalog: Catalog,
    data_dir: Path,
    config_text: str | None = None,
    config_shown: str = "",
) -> ImportOutcome:
    """Build or update the user release file of ``version``'s minor and write it to ``data_dir``."""
    if not _TAG.fullmatch(version):
        raise ReleaseImportError(f"--version {version!r}: expected a GA k0s tag such as v1.37.0+k0s.0")
    parsed = Version(version[1:])
    minor = f"{parsed.major}.{parsed.minor}"
    releases = _known_releases(catalog)
    older = [p for r in releases for p in r.patches if p.parsed < parsed]
    if not older:
        raise ReleaseImportError(
            f"{version} is older than every known release: there is no release to inherit its behaviour from"
        )
    base = max(older, key=lambda p: p.parsed)
    base_release = catalog.release(base.minor)
    assert base_release is not None
    reference = releases[0].newest.version
    names = _name_index(releases)
    paths = _path_index(releases)
    notes: list[str] = []

    try:
        listed = parse_image_list(images_text, images_shown)
    except AirgapError as err:
        raise ReleaseImportError(str(err)) from None
    if not listed:
        raise ReleaseImportError(f"{images_shown}: the image list is empty")
    config_images: dict[str, str] = {}
    config_policy: str | None = None
    if config_text is not None:
        config_images, config_policy = _config_images(config_text, config_shown, paths)
        for component, text in config_images.items():
            names[ImageRef.parse(text).canonical_name()] = component  # the config names them outright
    images = _place(listed, names, images_shown, reference)
    for component, text in config_images.items():
        if component in images and images[component] != text:
            notes.append(
                f"{component}: {images_shown} lists {images[component]}, {config_shown} {text}: kept {text}"
            )
        elif component not in images:
            notes.append(f"{component}: {text} is only in {config_shown}")
        images[component] = text

    existing = _existing_user_file(data_dir, minor)
    target = existing[0] if existing else data_dir / f"{minor}.yaml"
    known_minor = existing[1] if existing else catalog.release(minor)
    order = [*(known_minor or base_release).image_paths, *paths]
    images = {c: images[c] for c in _ordered(images, order)}
    image_paths: dict[str, str | None] = dict((known_minor or base_release).image_paths)
    for component in images:
        if not image_paths.get(component):
            image_paths[component] = paths[component]

    new_components = sorted(images.keys() - base.images.keys())
    left_out = _ordered(base.images.keys() - images.keys(), order)
    if left_out:
        notes.append(f"not in the images of {version} (so not in the data): {', '.join(left_out)}")
    kubernetes = f"{parsed.major}.{parsed.minor}.{parsed.micro}"
    versioned = (known_minor or base_release).kubernetes_versioned
    for component in sorted(set(versioned) & set(images)):
        tag = ImageRef.parse(images[component]).tag or ""
        if not tag.startswith(f"v{kubernetes}"):
            notes.append(
                f"{component} is tagged {tag}, not v{kubernetes}: is {images_shown} from k0s {version}?"
            )
    rewrites = [c for c in images if c in base.repository_rewrites]
    entry: dict[str, Any] = {
        "version": version,
        "kubernetes": kubernetes,
        "dynamic_config": base.dynamic_config,
        "pull_policy_honoured": base.pull_policy_honoured,
        "repository_idempotent": base.repository_idempotent,
        "repository_rewrites": FlowList(rewrites),
        "images": images,
    }
    notes.append(
        f"inherited from {base.version}, the newest known release before {version}: "
        f"dynamic_config {base.dynamic_config}, pull_policy_honoured {str(base.pull_policy_honoured).lower()}, "
        f"repository_idempotent {str(base.repository_idempotent).lower()}, repository_rewrites "
        f"({len(rewrites)} components). Check them against the k0s release notes and edit {target} "
        "if k0s changed them"
    )
    if new_components:
        notes.append(
            f"components {base.version} does not have, assumed not rewritten by images.repository: "
            f"{', '.join(new_components)}"
        )

    patches: list[dict[str, Any]] = []
    if known_minor is not None:
        patches = [patch_entry(p, order) for p in known_minor.patches if p.version != version]
        replaced = len(patches) < len(known_minor.patches)
        if existing is None:
            notes.append(
                f"copied the {len(known_minor.patches)} built-in {minor} patches into {target} "
                f"(a user file replaces the built-in file of its minor)"
            )
        if replaced:
            notes.append(f"replaced the data of {version} in {target}")
        default_pull_policy = known_minor.default_pull_policy
    else:
        default_pull_policy = config_policy or base_release.default_pull_policy
    patches.append(entry)
    content = render(
        minor, default_pull_policy, image_paths, [c for c in versioned if c in image_paths], patches
    )
    try:
        release = load_release_file(target, content.encode("utf-8"))
    except ValueError as err:
        raise ReleaseImportError(f"the release data built for {version} is not valid: {err}") from None
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(target, content.encode("utf-8"))
    except OSError as err:
        raise ReleaseImportError(f"cannot write {target}: {err.strerror or err}") from None
    return ImportOutcome(target, release, notes)


def release_table(catalog: Catalog, user_dirs: Sequence[Path]) -> str:
    """One line per known minor: newest patch, number of patches, Kubernetes version, source."""
    builtin = {
        entry.name.rsplit(".", 1)[0]
        for entry in builtin_releases_dir().iterdir()
        if entry.name.endswith(RELEASE_FILE_SUFFIXES)
    }
    user = {d.resolve() for d in user_dirs}
    rows = [("MINOR", "NEWEST", "PATCHES", "KUBERNETES", "SOURCE")]
    for release in reversed(_known_releases(catalog)):
        source = "built-in"
        if Path(str(release.source)).resolve().parent in user:
            source = f"user file {release.source}"
            if release.minor in builtin:
                source += " (replaces the built-in data)"
        newest = release.newest
        rows.append((release.minor, newest.version, str(len(release.patches)), newest.kubernetes, source))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]]) for row in rows
    ]
    return "\n".join(lines) + "\n"
