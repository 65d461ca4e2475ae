"""K0S2xx: pull policy against the air-gap bundle, the private registry and the release quirks.

k0s applies ``spec.images.default_pull_policy`` to every system image it deploys (IfNotPresent when
unset), and from 1.26 on only: releases 1.21-1.25 read the key and then overwrite it with
IfNotPresent. ``spec.images.repository`` rewrites image names, but not every image in every release,
and before the idempotency guard a name that already carries the repository gets it a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import NamedTuple

from checker.findings import Finding, Severity
from checker.inputs.imageref import ImageIndex, ImageRef, same_image
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import (
    AIRGAP_IMAGE_DIR,
    has_windows_workers,
    host_install_flags,
    uploads_image_bundle,
)
from checker.k0s.documents import K0sObject
from checker.k0s.pins import (
    IMAGES_PATH,
    NLLB_PATH,
    Pin,
    component_label,
    effective_pull_policy,
    nllb_enabled,
    nllb_settings,
    pull_policy_of,
    repository_of,
    running_images,
)
from checker.k0s.releases import PULL_POLICIES, Patch, Release, minor_key
from checker.k0s.repository import rewrite_repository
from checker.rules.base import Context, Rule, brief_image, fit

POLICY_PATH: YamlPath = (*IMAGES_PATH, "default_pull_policy")
REPOSITORY_PATH: YamlPath = (*IMAGES_PATH, "repository")
ENVOY_POLICY_PATH: YamlPath = (*NLLB_PATH, "envoyProxy", "imagePullPolicy")

# How eagerly a policy pulls: a higher rank reaches for the registry in more situations.
_PULL_RANK = {"Never": 0, "IfNotPresent": 1, "Always": 2}


class _View(NamedTuple):
    """One ClusterConfig as k0s will read it on the target release."""

    obj: K0sObject
    release: Release
    patch: Patch
    written: str | None  # default_pull_policy as written, None when absent
    effective: str  # the policy k0s really applies to its images
    repository: str
    install_flags: str
    windows: bool = False

    def running(self) -> dict[str, tuple[ImageRef, Pin | None]]:
        return running_images(self.obj, self.release, self.patch, self.install_flags, self.windows)


def _views(ctx: Context) -> Iterator[_View]:
    patch = ctx.cluster.patch
    release = ctx.catalog.release(patch.minor) if patch else None
    if patch is None or release is None:
        return
    k0sctl = ctx.cluster.k0sctl
    flags = " ".join(host_install_flags(k0sctl)) if k0sctl is not None else ""
    windows = has_windows_workers(k0sctl)
    for obj in ctx.cluster.configs:
        written = pull_policy_of(obj)
        effective = effective_pull_policy(obj, release, patch)
        yield _View(obj, release, patch, written, effective, repository_of(obj), flags, windows)


# --- image comparison -----------------------------------------------------------------------------------


def _same(a: ImageRef, b: ImageRef) -> bool:
    """same_image, plus: equal digests under the same name are the same image whatever the tags say.

    The container runtimes resolve ``name:tag@digest`` by its digest alone, so a list entry
    ``name@sha256:...`` holds the image a pin ``name:tag@sha256:...`` asks for.
    """
    if same_image(a, b):
        return True
    return a.digest is not None and a.digest == b.digest and a.canonical_name() == b.canonical_name()


def _contains(images: ImageIndex, ref: ImageRef) -> bool:
    return any(_same(ref, image) for image in images.named_like(ref))  # _same needs equal canonical names


@cache
def _parsed_list(images: frozenset[str]) -> ImageIndex:
    parsed: list[ImageRef] = []
    for text in sorted(images):
        try:
            parsed.append(ImageRef.parse(text))
        except ValueError:
            continue  # the CLI validated the list; an unreadable entry holds no image
    return ImageIndex(parsed)


def _bundle_images(patch: Patch, repository: str) -> ImageIndex:
    """The target release's default images, as shipped and as renamed by the repository rewrite."""
    texts = {*patch.images.values(), *patch.effective_images(repository).values()}
    return _parsed_list(frozenset(texts))  # a repository that is no registry name renames nothing usable


def _under(name: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return bool(prefix) and (name == prefix or name.startswith(prefix + "/"))


def _registry_of(ref: ImageRef) -> str:
    return ref.registry or "docker.io"


def _first_patch_after(ctx: Context, patch: Patch, wanted: Callable[[Patch], bool]) -> Patch | None:
    """The oldest known release after ``patch`` that has a property: the nearest upgrade that helps."""
    for minor in ctx.catalog.minors():
        if minor_key(minor) < minor_key(patch.minor):
            continue
        release = ctx.catalog.release(minor)
        for candidate in release.patches if release else ():
            if candidate.parsed > patch.parsed and wanted(candidate):
                return candidate
    return None


# --- K0S201 ---------------------------------------------------------------------------------------------


def check_airgap_images(ctx: Context) -> Iterator[Finding]:
    user_list = ctx.options.airgap_images
    for view in _views(ctx):
        never = view.effective == "Never"
        if not never and not (ctx.cluster.airgapped and view.effective == "IfNotPresent"):
            continue
        source: str | None = None
        if user_list is not None:
            allowed = _parsed_list(user_list)
            source = ctx.options.airgap_images_source or "the --airgap-images list"
            set_name = f"the air-gap image list {source}"
        else:
            allowed = _bundle_images(view.patch, view.repository)
            set_name = f"the {view.patch.version} air-gap bundle"
        for component, (ref, pin) in view.running().items():
            if _contains(allowed, ref):
                continue
            if not never and _pullable(ref, view.repository, ctx.cluster.registries):
                continue
            if _only_doubled(view, component, pin, allowed):
                continue  # K0S202 explains the doubled repository; one finding per cause
            anchor = pin.anchor if pin is not None else (POLICY_PATH if view.written else ())
            yield ctx.finding(
                NOT_IN_AIRGAP_SET,
                view.obj,
                anchor,
                _airgap_message(view, component, ref, pin, set_name),
                fix=_airgap_fix(view, component, ref, pin, source),
                detail=_airgap_detail(ctx, view, component, ref, pin, source, never),
                subject=component,
                image=str(ref),
            )


def _pullable(ref: ImageRef, repository: str, registries: Iterable[str]) -> bool:
    """True when an air-gapped node may still pull the image: it lives in a registry the cluster reaches."""
    return any(_under(ref.name, reachable) for reachable in (*registries, repository))


def _only_doubled(view: _View, component: str, pin: Pin | None, allowed: ImageIndex) -> bool:
    """The image is missing only because the repository is applied twice (reported by K0S202)."""
    if pin is None or pin.ref is None or not _doubles(view, component, pin.ref):
        return False
    once = pin.ref.with_name(rewrite_repository(pin.ref.name, view.repository, idempotent=True))
    return _contains(allowed, once)


def _airgap_message(view: _View, component: str, ref: ImageRef, pin: Pin | None, set_name: str) -> str:
    label = component_label(component)
    origin = "pinned image" if pin is not None else "default image"
    return fit(
        f"{label} {origin} {brief_image(ref)} is not in {set_name}",
        f"{label} image {brief_image(ref)} is not in {set_name}",
        f"{label} image {brief_image(ref, short=True)} is not in {set_name}",
    )


def _airgap_detail(
    ctx: Context,
    view: _View,
    component: str,
    ref: ImageRef,
    pin: Pin | None,
    source: str | None,
    never: bool,
) -> str:
    if never:
        why = (
            "With default_pull_policy: Never a node only starts images that are already on disk and "
            "nothing may be pulled, so this pod cannot start."
        )
    else:
        forced = (
            f" (the only policy k0s {view.patch.version} applies)"
            if not view.patch.pull_policy_honoured
            else ""
        )
        why = (
            f"The pull policy is IfNotPresent{forced}, so a node that lacks the image tries to pull it from "
            f"{_registry_of(ref)}; this cluster is air-gapped ({ctx.cluster.airgap_reason}), the pull "
            "cannot succeed and the pod cannot start."
        )
    default = view.patch.effective_images(view.repository).get(component)
    if source is not None:
        where = (
            f"Add {ref} to {source} and to the bundle built from it (`k0s airgap list-images` of "
            f"k0s {view.patch.version} prints what the release needs)"
        )
    else:
        where = f"Add {ref} to the image bundle in {AIRGAP_IMAGE_DIR} on every worker"
    if pin is not None and default is not None and not _contains(_parsed_list(frozenset({default})), ref):
        where += f", or remove the pin so k0s runs its own {default}"
    return f"{why} {where}."


def _airgap_fix(view: _View, component: str, ref: ImageRef, pin: Pin | None, source: str | None) -> str:
    default = view.patch.effective_images(view.repository).get(component)
    add = f"add the image to {source}" if source is not None else "bundle the image"
    if pin is not None and default is not None and not _contains(_parsed_list(frozenset({default})), ref):
        return f"remove {view.obj.describe(pin.node)} or {add.replace('the image', 'the pinned image')}"
    return add


# --- K0S202 ---------------------------------------------------------------------------------------------


def _doubles(view: _View, component: str, ref: ImageRef) -> bool:
    """k0s without the idempotency guard puts the repository a second time into this name."""
    if not view.repository or view.patch.repository_idempotent:
        return False
    if component not in view.patch.repository_rewrites or not ref.name.startswith(view.repository):
        return False
    return rewrite_repository(ref.name, view.repository, idempotent=False) != ref.name


def _local_images(ctx: Context, view: _View) -> ImageIndex:
    """Images the nodes hold without pulling: the given air-gap list, else an uploaded release bundle."""
    if ctx.options.airgap_images is not None:
        return _parsed_list(ctx.options.airgap_images)
    if ctx.cluster.k0sctl is not None and uploads_image_bundle(ctx.cluster.k0sctl):
        return ImageIndex(ImageRef.parse(text) for text in view.patch.images.values())
    return ImageIndex(())


def check_repository(ctx: Context) -> Iterator[Finding]:
    for view in _views(ctx):
        repository = view.repository
        if not repository:
            continue
        local = _local_images(ctx, view)
        for component, (ref, pin) in view.running().items():
            if component not in view.patch.repository_rewrites:
                if _under(ref.name, repository) or _contains(local, ref):
                    continue  # already pointed at the mirror, or on disk in the bundle
                yield _not_applied(ctx, view, component, ref, pin)
            elif pin is not None and pin.ref is not None and _doubles(view, component, pin.ref):
                yield _applied_twice(ctx, view, component, ref, pin)


def _not_applied(ctx: Context, view: _View, component: str, ref: ImageRef, pin: Pin | None) -> Finding:
    label = component_label(component)
    repository = view.repository
    mirrored = ref.with_name(rewrite_repository(ref.name, repository, idempotent=True))
    later = _first_patch_after(ctx, view.patch, lambda p: component in p.repository_rewrites)
    upgrade = f"upgrade to k0s {later.version} or later, which rewrites it" if later else ""
    path = view.release.image_paths.get(component)
    if path:
        fix = f"set {path}.image to {mirrored.name}"
        how = f"Name the mirror explicitly: set {path}.image to {mirrored.name}"
        how += f", or {upgrade}." if upgrade else "."
    else:
        fix = f"import {brief_image(ref)} on the workers or mirror {_registry_of(ref)} in containerd"
        how = (
            f"k0s {view.patch.minor} has no setting for this image: import {ref} on the workers (image "
            f"bundle in {AIRGAP_IMAGE_DIR}) or configure a containerd mirror for {_registry_of(ref)}"
        )
        how += f"; or {upgrade}." if upgrade else "."
    message = (
        f"k0s {view.patch.version} does not apply spec.images.repository to {label}: it pulls "
        f"{brief_image(ref)}"
    )
    detail = (
        f"spec.images.repository is {repository}, but the node pulls {ref} from {_registry_of(ref)} instead "
        f"of {mirrored}. A cluster that can reach only {repository} cannot pull this image and the pod "
        f"does not start. {how}"
    )
    anchor = pin.anchor if pin is not None else REPOSITORY_PATH
    return ctx.finding(
        REPOSITORY_NOT_APPLIED,
        view.obj,
        anchor,
        message,
        fix=fix,
        detail=detail,
        subject=component,
        image=str(ref),
    )


def _applied_twice(ctx: Context, view: _View, component: str, ref: ImageRef, pin: Pin) -> Finding:
    assert pin.ref is not None
    repository = view.repository
    rest = pin.ref.name[len(repository) :].lstrip("/")
    guarded = _first_patch_after(
        ctx, view.patch, lambda p: p.repository_idempotent and component in p.repository_rewrites
    )
    if rest and rewrite_repository(rest, repository, idempotent=False) == pin.ref.name:
        fix = f"write the image as {rest} and let k0s put {repository} in front"
    else:
        fix = f"write the image with its original registry; k0s replaces it with {repository}"
    upgrade = (
        f" Or upgrade to k0s {guarded.version} or later, which leaves such names alone." if guarded else ""
    )
    message = fit(
        f"{component_label(component)} already names the repository; k0s {view.patch.version} adds it "
        f"again and pulls {brief_image(ref)}",
        f"{component_label(component)} names the repository already; k0s {view.patch.version} pulls "
        f"{brief_image(ref)}",
    )
    detail = (
        f"The pin {pin.written} starts with the repository {repository}. k0s {view.patch.version} applies the "
        f"repository rewrite without checking for that, so the node really pulls {ref}, a path your "
        f"registry does not serve, and the pod does not start.{upgrade}"
    )
    return ctx.finding(
        REPOSITORY_NOT_APPLIED,
        view.obj,
        pin.anchor,
        message,
        fix=fix,
        detail=detail,
        subject=component,
        image=str(ref),
    )


# --- K0S203 ---------------------------------------------------------------------------------------------


def check_always_in_airgap(ctx: Context) -> Iterator[Finding]:
    if not ctx.cluster.airgapped:
        return
    for view in _views(ctx):
        if view.written != "Always" or not view.patch.pull_policy_honoured:
            continue  # before 1.26 k0s ignores the value: K0S206
        yield ctx.finding(
            ALWAYS_IN_AIRGAP,
            view.obj,
            POLICY_PATH,
            fit(
                f"default_pull_policy is Always in an air-gapped cluster ({ctx.cluster.airgap_reason})",
                "default_pull_policy is Always in this air-gapped cluster",
            ),
            fix="set default_pull_policy to Never (bundled images only) or IfNotPresent (bundle first)",
            detail=f"The cluster is air-gapped ({ctx.cluster.airgap_reason}). With Always the kubelet contacts the registry before every start of a k0s system pod "
            "and does not fall back to the copy on disk, so the imported bundle is never used and the pods "
            "fail to start whenever no registry can be reached. Never runs only bundled images; "
            "IfNotPresent uses the bundle first and pulls only missing images.",
        )


# --- K0S204 ---------------------------------------------------------------------------------------------


def check_envoy_policy(ctx: Context) -> Iterator[Finding]:
    if not ctx.cluster.airgapped:
        return
    for view in _views(ctx):
        settings = nllb_settings(view.obj)
        envoy = settings.get("envoyProxy")
        policy = envoy.get("imagePullPolicy") if isinstance(envoy, dict) else None
        if policy not in PULL_POLICIES or policy == view.effective:
            continue
        if not nllb_enabled(view.obj) or settings.get("type", "EnvoyProxy") != "EnvoyProxy":
            continue  # envoy does not run, so its pull policy does nothing
        if view.written:
            written = f"default_pull_policy is {view.effective}"
        else:
            written = f"default_pull_policy is unset ({view.effective})"
        if _PULL_RANK[policy] > _PULL_RANK[view.effective]:
            effect = (
                "Envoy is the one k0s pod that reaches for a registry "
                + ("at every start" if policy == "Always" else "when its image is missing")
                + "; in this air-gapped cluster that pull fails, and without envoy a worker loses its "
                "connection to the API servers."
            )
        else:
            effect = (
                "Envoy never pulls while the other k0s images may, so a missing envoy image breaks every "
                "worker's path to the API servers while the rest of the cluster looks healthy."
            )
        yield ctx.finding(
            ENVOY_POLICY_DIFFERS,
            view.obj,
            ENVOY_POLICY_PATH,
            f"NLLB envoy uses imagePullPolicy {policy}, but {written} in this air-gapped cluster",
            fix=f"remove envoyProxy.imagePullPolicy (envoy then follows default_pull_policy) or set it to {view.effective}",
            detail=f"The cluster is air-gapped ({ctx.cluster.airgap_reason}). {effect} Without its own "
            f"setting, {view.obj.describe(ENVOY_POLICY_PATH)} follows default_pull_policy.",
        )


# --- K0S205 ---------------------------------------------------------------------------------------------


def check_never_without_bundle(ctx: Context) -> Iterator[Finding]:
    k0sctl = ctx.cluster.k0sctl
    if k0sctl is None or uploads_image_bundle(k0sctl):
        return
    for view in _views(ctx):
        if view.written != "Never" or view.repository or not view.patch.pull_policy_honoured:
            continue
        yield ctx.finding(
            NEVER_WITHOUT_BUNDLE,
            view.obj,
            POLICY_PATH,
            f"default_pull_policy is Never, but no host in {k0sctl.path} uploads an image bundle",
            fix=f"upload the k0s {view.patch.version} image bundle to {AIRGAP_IMAGE_DIR}, or drop Never",
            detail=f"No spec.hosts[].files entry has dstDir: {AIRGAP_IMAGE_DIR} and spec.images.repository is "
            "not set. Workers then run only images that are already on disk; on a fresh node there are none, "
            "and CoreDNS, kube-proxy, konnectivity and the network plugin stay in ErrImageNeverPull. Add a "
            f"spec.hosts[].files entry that uploads the k0s {view.patch.version} image bundle with dstDir: "
            f"{AIRGAP_IMAGE_DIR} on every worker, or drop default_pull_policy: Never.",
        )


# --- K0S206 ---------------------------------------------------------------------------------------------


def check_ignored_policy(ctx: Context) -> Iterator[Finding]:
    for view in _views(ctx):
        if view.patch.pull_policy_honoured or view.written is None or view.written == "IfNotPresent":
            continue
        honoured = _first_patch_after(ctx, view.patch, lambda p: p.pull_policy_honoured)
        upgrade = f"k0s {honoured.version}" if honoured else "a k0s release that honours the setting"
        consequence = "a worker that lacks an image still tries to pull it" + (
            f", which fails in this air-gapped cluster ({ctx.cluster.airgap_reason})"
            if ctx.cluster.airgapped
            else ""
        )
        if view.written == "Never":
            consequence = "Never protects nothing: " + consequence
        yield ctx.finding(
            POLICY_IGNORED,
            view.obj,
            POLICY_PATH,
            f"default_pull_policy is {view.written}, but k0s {view.patch.version} ignores it and uses IfNotPresent",
            fix=f"upgrade to {upgrade} or later; until then bundle every image on each worker",
            detail="Releases before 1.26 read the key and then always use IfNotPresent for their images. "
            f"{consequence[0].upper()}{consequence[1:]}. From {upgrade} on the setting takes effect; until "
            "then make sure every image the cluster runs is in the bundle on each worker.",
        )


NOT_IN_AIRGAP_SET = Rule(
    "K0S201",
    "image-not-in-airgap-set",
    Severity.ERROR,
    "Nothing may be pulled (pull policy Never, or an air-gapped cluster) and an image the cluster runs "
    "is not in the air-gap bundle or image list.",
    check=check_airgap_images,
)
REPOSITORY_NOT_APPLIED = Rule(
    "K0S202",
    "repository-not-applied",
    Severity.ERROR,
    "spec.images.repository is set, but the target release does not rewrite an image the cluster runs, "
    "or rewrites a pinned name a second time.",
    check=check_repository,
)
ALWAYS_IN_AIRGAP = Rule(
    "K0S203",
    "always-pull-in-airgap",
    Severity.WARNING,
    "default_pull_policy: Always in an air-gapped cluster: every pod start needs a registry.",
    check=check_always_in_airgap,
)
ENVOY_POLICY_DIFFERS = Rule(
    "K0S204",
    "nllb-pull-policy-differs",
    Severity.WARNING,
    "The node-local load balancer's envoy pull policy differs from default_pull_policy in an air-gapped "
    "cluster.",
    check=check_envoy_policy,
)
NEVER_WITHOUT_BUNDLE = Rule(
    "K0S205",
    "never-without-bundle",
    Severity.WARNING,
    "default_pull_policy: Never, but the k0sctl hosts upload no image bundle and no repository is set.",
    check=check_never_without_bundle,
)
POLICY_IGNORED = Rule(
    "K0S206",
    "pull-policy-ignored",
    Severity.WARNING,
    "default_pull_policy is set on a k0s release that ignores it (1.21-1.25 always use IfNotPresent).",
    check=check_ignored_policy,
)

RULES = (
    NOT_IN_AIRGAP_SET,
    REPOSITORY_NOT_APPLIED,
    ALWAYS_IN_AIRGAP,
    ENVOY_POLICY_DIFFERS,
    NEVER_WITHOUT_BUNDLE,
    POLICY_IGNORED,
)
