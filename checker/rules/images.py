"""K0S1xx: explicitly pinned images, stale pins and persisted default image sets."""

from __future__ import annotations

import json
from collections.abc import Iterator

from checker.findings import Finding, Severity
from checker.inputs.imageref import ImageRef, same_image
from checker.k0s.documents import K0sObject
from checker.k0s.pins import (
    IMAGES_PATH,
    Pin,
    default_index,
    describe_owners,
    image_paths,
    pins_in,
    pull_policy_of,
    repository_of,
    running_name,
)
from checker.k0s.releases import Patch, Release
from checker.rules.base import MESSAGE_LIMIT, Context, Rule, brief_image, clip, fit


def _target(ctx: Context) -> tuple[Release, Patch] | None:
    patch = ctx.cluster.patch
    release = ctx.catalog.release(patch.minor) if patch else None
    if patch is None or release is None:
        return None
    return release, patch


def _pins(ctx: Context) -> Iterator[tuple[K0sObject, Release, Patch, list[Pin]]]:
    target = _target(ctx)
    if target is None:
        return
    release, patch = target
    for obj in ctx.cluster.configs:
        yield obj, release, patch, pins_in(obj, release, patch)


def _removal_advice(obj: K0sObject, pin: Pin) -> str:
    where = obj.describe(pin.node)
    if obj.is_cluster_object:
        return f"remove {where} with `k0s config edit`"
    return f"remove {where}"


def _matches_target(pin: Pin, patch: Patch, repository: str) -> bool:
    default = patch.images.get(pin.component)
    if pin.ref is None or default is None:
        return False
    default_ref = ImageRef.parse(default)
    running = running_name(pin.ref, pin.component, patch, repository)
    return same_image(running, running_name(default_ref, pin.component, patch, repository)) or same_image(
        pin.ref, default_ref
    )


def _other_owners(ctx: Context, pin: Pin, patch: Patch, repository: str) -> list[tuple[Patch, str]]:
    assert pin.ref is not None
    owners = default_index(ctx.catalog).owners(pin.ref, repository)
    same_component = [o for o in owners if o[1] == pin.component and o[0].version != patch.version]
    return same_component or [o for o in owners if o[0].version != patch.version]


def _consequence(
    obj: K0sObject, ctx: Context, pin: Pin, owners: list[tuple[Patch, str]], patch: Patch
) -> str:
    policy = pull_policy_of(obj) or next((p for c in ctx.cluster.configs if (p := pull_policy_of(c))), None)
    older = [owner for owner, _ in owners if owner.parsed < patch.parsed]
    if not older:
        newest = owners[-1][0]
        return (
            f"The image belongs to a newer k0s ({newest.minor}) than the target: the cluster would run a "
            f"component ahead of the release it is tested with."
        )
    owner_minor = older[-1].minor
    if policy == "Never":
        return (
            f"With default_pull_policy: Never, nodes only run images already on disk: the {patch.minor} "
            f"air-gap bundle does not hold this {owner_minor} image, so the pod will not start."
        )
    if ctx.cluster.airgapped:
        return (
            f"This air-gapped cluster must then find the {owner_minor} image in its bundle or registry, "
            f"next to the {patch.minor} images it really needs."
        )
    return f"The cluster keeps running the {owner_minor} image after the upgrade instead of the one k0s {patch.minor} ships."


def _name_owner(owners: list[tuple[Patch, str]], persisted: Patch | None) -> str:
    """Name the release that most likely wrote the pin: the one whose full set the object carries."""
    if persisted is not None and any(p.version == persisted.version for p, _ in owners):
        return f"k0s {persisted.version}"
    return describe_owners(owners)


def _few_owners(owners: list[tuple[Patch, str]]) -> str:
    """The releases a pinned image is the default of, in few words: "13 k0s releases up to v1.30.13"."""
    versions = sorted({patch.version: patch for patch, _ in owners}.values(), key=lambda p: p.parsed)
    if len(versions) == 1:
        return f"k0s {versions[0].version}"
    return f"{len(versions)} k0s releases up to {versions[-1].version}"


def _default_ref(patch: Patch, component: str) -> ImageRef | None:
    default = patch.images.get(component)
    return ImageRef.parse(default) if default else None


def _tag_follows(ctx: Context, obj: K0sObject, pin: Pin, patch: Patch) -> str:
    """What happens to the tag k0s fills in when a pin names only the image (issue #10, item 6)."""
    written = obj.get(*pin.node)
    if not isinstance(written, dict) or written.get("version") not in (None, ""):
        return ""
    tag = pin.ref.tag if pin.ref is not None else None
    if obj.is_cluster_object or ctx.cluster.dynamic_config:
        return (
            f" No version is written, so k0s fills in the release's tag ({tag}); with dynamic config that "
            "version is stored in the ClusterConfig object and stays there on later upgrades."
        )
    return (
        f" No version is written, so k0s fills in the tag of the release it runs ({tag} on {patch.version}): "
        "the tag follows each upgrade, the image name does not."
    )


def check_pins(ctx: Context) -> Iterator[Finding]:
    """K0S101, K0S102, K0S103 and K0S105 share one pass over the pins."""
    for obj, release, patch, pins in _pins(ctx):
        repository = repository_of(obj)
        persisted = _complete_set_owner(obj, release, patch, pins, ctx)
        for pin in pins:
            if pin.ref is None:
                yield ctx.finding(
                    INVALID_IMAGE,
                    obj,
                    pin.anchor,
                    f"{pin.label} image {clip(pin.written)!r} is not a valid image reference",
                    fix="write the image as [registry/]name with its version as a tag, optionally @sha256:<digest>",
                    detail=f"{pin.error[:1].upper()}{pin.error[1:]}. k0s rejects the config, or the container runtime pulls something "
                    "other than what was meant.",
                    subject=pin.component,
                    value=pin.written,
                )
                continue
            default = patch.images.get(pin.component, "")
            default_ref = _default_ref(patch, pin.component)
            pinned = brief_image(pin.ref, default_ref)
            if _matches_target(pin, patch, repository):
                yield ctx.finding(
                    REDUNDANT_PIN,
                    obj,
                    pin.anchor,
                    f"{pin.label} pinned to {pinned}, exactly the default of target k0s {patch.version}",
                    fix=_removal_advice(obj, pin),
                    detail=f"The pin of {pin.written} changes nothing today and goes stale at the next "
                    "upgrade: k0s would bring a newer image, but the pin keeps this one. Without the pin k0s "
                    "runs the default of the release it runs.",
                    subject=pin.component,
                    value=pin.written,
                )
                continue
            owners = _other_owners(ctx, pin, patch, repository)
            if owners:
                older = any(owner.parsed < patch.parsed for owner, _ in owners)
                owner = _name_owner(owners, persisted) if older else f"newer k0s ({owners[-1][0].minor})"
                yield ctx.finding(
                    STALE_PIN,
                    obj,
                    pin.anchor,
                    fit(
                        f"{pin.label} pinned to {pinned}, the default of {owner}; cluster targets {patch.version}",
                        f"{pin.label} pinned to {brief_image(pin.ref, default_ref, short=True)}, the default of "
                        f"{owner}; cluster targets {patch.version}",
                        f"{pin.label} pinned to {brief_image(pin.ref, default_ref, short=True)}, a default of "
                        f"{_few_owners(owners)}; cluster targets {patch.version}",
                        f"{pin.label} pinned to the default of {owner}; cluster targets {patch.version}",
                        f"{pin.label} pinned to a default of {_few_owners(owners)}; cluster targets {patch.version}",
                    ),
                    fix=_removal_advice(obj, pin),
                    detail=f"{pin.written} is the default of {describe_owners(owners)}; this cluster targets k0s "
                    f"{patch.version}, whose default is {default or 'different'}. "
                    f"{_consequence(obj, ctx, pin, owners, patch)} k0s never updates an image written in the "
                    "config; without the pin it runs the default of the release it runs.",
                    subject=pin.component,
                    value=pin.written,
                    release=owners[-1][0].version,
                )
                continue
            shipped = (
                f"k0s {patch.version} ships {default}" if default else f"k0s {patch.version} has no default"
            )
            yield ctx.finding(
                CUSTOM_PIN,
                obj,
                pin.anchor,
                fit(
                    f"{pin.label} pinned to {brief_image(pin.ref)}, which no k0s release ships by default",
                    f"{pin.label} pinned to {brief_image(pin.ref, short=True)}, which no k0s release ships by "
                    "default",
                    limit=MESSAGE_LIMIT,  # the registry and path of a custom image are the point
                ),
                fix=f"keep {obj.describe(pin.node)} in step with each k0s release by hand, or remove it",
                detail=f"{shipped}. k0s does not update a custom image on upgrades: from now on you keep "
                f"this component in step with each release.{_tag_follows(ctx, obj, pin, patch)}",
                subject=pin.component,
                value=pin.written,
            )


def _complete_set_owner(
    obj: K0sObject, release: Release, patch: Patch, pins: list[Pin], ctx: Context
) -> Patch | None:
    """The release (other than the target) whose whole default image set the object pins."""
    repository = repository_of(obj)
    pinned = {pin.component: pin for pin in pins if pin.ref is not None and pin.node[:2] == IMAGES_PATH}
    if len(pinned) < 3 or all(_matches_target(pin, patch, repository) for pin in pinned.values()):
        return None
    candidates: set[str] | None = None
    for pin in pinned.values():
        assert pin.ref is not None
        owners = {
            p.version
            for p, component in default_index(ctx.catalog).owners(pin.ref, repository)
            if component == pin.component
        }
        candidates = owners if candidates is None else candidates & owners
        if not candidates:
            return None
    for version in sorted(candidates or (), key=lambda v: ctx.catalog.patch(v).parsed, reverse=True):  # type: ignore[union-attr]
        owner = ctx.catalog.patch(version)
        owner_release = ctx.catalog.release(owner.minor) if owner else None
        if owner is None or owner_release is None or owner.version == patch.version:
            continue
        # Completeness is judged with the owner's own settings: a 1.24 object pins pushgateway even
        # when the target release has no such key.
        owner_pins = {
            pin.component: pin
            for pin in pins_in(obj, owner_release, owner)
            if pin.ref is not None and pin.node[:2] == IMAGES_PATH
        }
        required = {
            component
            for component, path in image_paths(owner_release).items()
            if path[:2] == IMAGES_PATH
            and component in owner.images
            and not component.startswith("windows")
            and ".windows." not in component
        }
        if required <= owner_pins.keys() and all(
            _is_default_of(ctx, owner_pins[c], owner, repository) for c in required
        ):
            return owner
    return None


def _is_default_of(ctx: Context, pin: Pin, owner: Patch, repository: str) -> bool:
    assert pin.ref is not None
    return any(
        p.version == owner.version and component == pin.component
        for p, component in default_index(ctx.catalog).owners(pin.ref, repository)
    )


def _json_patch(obj: K0sObject, pins: list[Pin]) -> str:
    operations = [{"op": "remove", "path": "/" + "/".join(str(p) for p in pin.node)} for pin in pins]
    return json.dumps(operations, separators=(",", ":"))


def check_persisted_defaults(ctx: Context) -> Iterator[Finding]:
    for obj, release, patch, pins in _pins(ctx):
        owner = _complete_set_owner(obj, release, patch, pins, ctx)
        if owner is None:
            continue
        # Only pins that are some release's default go; a deliberate custom pin (K0S103) stays.
        index = default_index(ctx.catalog)
        repository = repository_of(obj)
        default_pins = [p for p in pins if p.ref is not None and index.owners(p.ref, repository)]
        patch_ops = _json_patch(obj, default_pins)
        entries = ", ".join(obj.describe(p.node) for p in default_pins)
        if obj.is_cluster_object:
            how = (
                "This is the signature of defaults persisted by a controller running that release with dynamic "
                "config; newer controllers treat them as deliberate pins and keep running the old images. "
                "Remove the entries with `k0s config edit`, or at once with: kubectl patch clusterconfig "
                f"{obj.name or 'k0s'} -n kube-system --type=json -p '{patch_ops}'"
            )
            fix = (
                f"remove the {len(default_pins)} default image entries from the object with `k0s config edit`"
            )
        else:
            how = (
                "A file like this usually comes from `k0s config create` of that release or from an exported "
                "ClusterConfig object; k0s treats every entry as a deliberate pin and never updates it. Delete "
                f"these entries and keep only settings you chose: {entries}."
            )
            fix = f"delete the {len(default_pins)} default image entries, keep only settings you chose"
        yield ctx.finding(
            PERSISTED_DEFAULTS,
            obj,
            IMAGES_PATH,
            f"ClusterConfig carries all {len(default_pins)} default images of k0s {owner.version}; "
            f"target is k0s {patch.version}",
            at_key=True,
            fix=fix,
            detail=how,
            release=owner.version,
            patch=patch_ops,
        )


REDUNDANT_PIN = Rule(
    "K0S101",
    "redundant-image-pin",
    Severity.WARNING,
    "An image is pinned to exactly the target release's default: redundant now, stale after the next upgrade.",
    check=check_pins,
)
STALE_PIN = Rule(
    "K0S102",
    "stale-image-pin",
    Severity.ERROR,
    "An image is pinned to the default of another k0s release than the target (a stale pin).",
    check=check_pins,
)
CUSTOM_PIN = Rule(
    "K0S103",
    "custom-image-pin",
    Severity.WARNING,
    "An image is pinned to something no k0s release ships: an override to keep in step by hand.",
    check=check_pins,
)
PERSISTED_DEFAULTS = Rule(
    "K0S104",
    "persisted-default-images",
    Severity.ERROR,
    "A ClusterConfig carries the complete default image set of an older release (defaults persisted by k0s).",
    check=check_persisted_defaults,
)
INVALID_IMAGE = Rule(
    "K0S105",
    "invalid-image-reference",
    Severity.ERROR,
    "A pinned image is not a valid image reference (k0s would reject it or pull something else).",
    check=check_pins,
)

RULES = (REDUNDANT_PIN, STALE_PIN, CUSTOM_PIN, PERSISTED_DEFAULTS, INVALID_IMAGE)
