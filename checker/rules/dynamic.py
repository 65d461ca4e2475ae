"""K0S4xx: dynamic config, where one ClusterConfig object (kube-system/k0s) holds the cluster-wide
settings and each controller's own k0s.yaml keeps only the node-local ones.

Which ClusterConfig plays which part:

- the *bootstrap config*: the k0sctl embedded ``spec.k0s.config`` (and ClusterConfig documents of the
  same file, which k0sctl merges into it) or a standalone k0s.yaml. The first controller copies its
  cluster-wide part into the object when the object does not exist yet.
- the *dynamic object*: an exported object (``K0sObject.is_cluster_object``), or, in a k0sctl cluster
  with dynamic config, any other ClusterConfig file beside the k0sctl file (it can only be meant for
  ``kubectl apply``: k0sctl writes the controllers' k0s.yaml itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checker.findings import Finding, Severity
from checker.inputs.imageref import ImageRef, same_image
from checker.inputs.yamldoc import YamlPath
from checker.k0s.documents import K0sObject, Kind
from checker.k0s.pins import IMAGES_PATH, NLLB_PATH, default_index, image_paths, pins_in, repository_of
from checker.k0s.releases import Catalog, Patch, Release, minor_key
from checker.records import replace
from checker.rules.base import Context, Rule

NETWORK_PATH: YamlPath = ("spec", "network")
PULL_POLICY_PATH: YamlPath = (*IMAGES_PATH, "default_pull_policy")
REPOSITORY_PATH: YamlPath = (*IMAGES_PATH, "repository")
ENVOY_IMAGE_PATH: YamlPath = (*NLLB_PATH, "envoyProxy", "image")
DEFAULT_PULL_POLICY = "IfNotPresent"

# Dynamic-config modes (releases.Patch.dynamic_config) that leave default images out of the object.
STRIPS_DEFAULTS = frozenset({"per-field", "per-field-repository-aware"})
STRIPS_REWRITTEN_DEFAULTS = frozenset({"per-field-repository-aware"})

# k0s defaults of spec.network settings, relative to spec.network. A setting not listed here counts
# as non-default whenever it is written (the safe side for "does this block equal its defaults?").
NETWORK_DEFAULTS: dict[YamlPath, Any] = {
    ("provider",): "kuberouter",
    ("podCIDR",): "10.244.0.0/16",
    ("serviceCIDR",): "10.96.0.0/12",
    ("clusterDomain",): "cluster.local",
    ("dualStack", "enabled"): False,
    ("kubeProxy", "disabled"): False,
    ("kubeProxy", "mode"): "iptables",
    ("kubeProxy", "metricsBindAddress"): "0.0.0.0:10249",
    ("kuberouter", "autoMTU"): True,
    ("kuberouter", "hairpin"): "Enabled",
    ("kuberouter", "metricsPort"): 8080,
    ("nodeLocalLoadBalancing", "enabled"): False,
    ("nodeLocalLoadBalancing", "type"): "EnvoyProxy",
    ("nodeLocalLoadBalancing", "envoyProxy", "apiServerBindPort"): 7443,
    ("nodeLocalLoadBalancing", "envoyProxy", "konnectivityServerBindPort"): 7132,
    ("controlPlaneLoadBalancing", "enabled"): False,
    ("controlPlaneLoadBalancing", "type"): "Keepalived",
}

_NO_DEFAULT = object()

# Node-local settings: each controller takes them from its own k0s.yaml, never from the object. This is
# the union of what k0s's ClusterConfig.GetClusterWideConfig removes before writing the object across
# releases: spec.api, spec.storage, spec.install always; network.serviceCIDR always; clusterDomain,
# controlPlaneLoadBalancing and primaryAddressFamily in the releases that have them.
NODE_LOCAL_BLOCKS: tuple[YamlPath, ...] = (("spec", "api"), ("spec", "storage"), ("spec", "install"))
NODE_LOCAL_NETWORK: tuple[str, ...] = (
    "serviceCIDR",
    "clusterDomain",
    "controlPlaneLoadBalancing",
    "primaryAddressFamily",
)

# What k0sctl keeps writing to every controller when dynamic config is on (its node config).
K0SCTL_NODE_CONFIG_KEYS = frozenset({"api", "network", "storage"})


# --- which config is which -----------------------------------------------------------------------------


def k0sctl_dynamic_config(k0sctl: K0sObject) -> str:
    """Why a k0sctl file runs the cluster with dynamic config ("" when it does not)."""
    if k0sctl.get("spec", "k0s", "dynamicConfig") is True:
        return "spec.k0s.dynamicConfig is true"
    hosts = k0sctl.get("spec", "hosts")
    for host in hosts if isinstance(hosts, list) else []:
        flags = host.get("installFlags") if isinstance(host, dict) else None
        if isinstance(flags, list) and any("--enable-dynamic-config" in str(f) for f in flags):
            return "a host is installed with --enable-dynamic-config (k0sctl then turns dynamic config on)"
    return ""


def merged_into_k0sctl(ctx: Context, obj: K0sObject) -> bool:
    """The k0sctl embedded config, or a ClusterConfig document k0sctl merges into it (same file)."""
    k0sctl = ctx.cluster.k0sctl
    if k0sctl is None or obj.kind is not Kind.CLUSTER_CONFIG:
        return False
    return obj.owner is k0sctl or obj.path == k0sctl.path


def is_dynamic_object(ctx: Context, obj: K0sObject) -> bool:
    if obj.is_cluster_object:
        return True
    return ctx.cluster.k0sctl is not None and ctx.cluster.dynamic_config and not merged_into_k0sctl(ctx, obj)


def bootstrap_configs(ctx: Context) -> list[K0sObject]:
    return [obj for obj in ctx.cluster.configs if not is_dynamic_object(ctx, obj)]


def non_default_network(obj: K0sObject) -> list[YamlPath]:
    """Every spec.network leaf that differs from the k0s default, in file order."""
    found: list[YamlPath] = []

    def walk(value: Any, relative: YamlPath) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*relative, key))
            return
        if isinstance(value, list) and not value:
            return
        default = NETWORK_DEFAULTS.get(relative, _NO_DEFAULT)
        if type(value) is type(default) and value == default:  # type check: False must not equal 0
            return
        found.append((*NETWORK_PATH, *relative))

    network = obj.get(*NETWORK_PATH)
    if isinstance(network, dict):
        walk(network, ())
    found.sort(key=lambda path: (obj.key_mark(path).line, obj.key_mark(path).column))
    return found


# --- K0S401 --------------------------------------------------------------------------------------------


def first_stripping_patch(catalog: Catalog, patch: Patch, modes: frozenset[str]) -> Patch | None:
    """The first release after ``patch`` whose dynamic-config mode is one of ``modes``."""
    for minor in catalog.minors():
        if minor_key(minor) < minor_key(patch.minor):
            continue
        release = catalog.release(minor)
        for candidate in release.patches if release else ():
            if candidate.parsed > patch.parsed and candidate.dynamic_config in modes:
                return candidate
    return None


def _upgrade_advice(catalog: Catalog, patch: Patch, modes: frozenset[str], what: str) -> str:
    better = first_stripping_patch(catalog, patch, modes)
    if better is None:
        return f"no known k0s release after {patch.version} leaves {what} out of the object"
    if better.minor == patch.minor:
        where = f"{better.version}, the first {patch.minor} patch that leaves {what} out of the object"
    else:
        where = (
            f"{better.version} (no {patch.minor} patch leaves {what} out of the object; {better.minor} is "
            "the first minor that does, reached one minor at a time)"
        )
    return (
        f"bootstrap the cluster on {where}; this only helps before the object exists, since k0s never "
        "rewrites an existing object"
    )


def _image_components(release: Release, patch: Patch) -> list[str]:
    return [
        component
        for component, path in image_paths(release).items()
        if path[:2] == IMAGES_PATH and component in patch.images
    ]


def _image_triggers(obj: K0sObject, release: Release, patch: Patch) -> list[tuple[YamlPath, str]]:
    """Settings that make spec.images differ from the defaults, most telling first."""
    triggers: list[tuple[YamlPath, str]] = []
    policy = obj.get(*PULL_POLICY_PATH)
    if isinstance(policy, str) and policy != DEFAULT_PULL_POLICY and patch.pull_policy_honoured:
        triggers.append((PULL_POLICY_PATH, f"default_pull_policy: {policy}"))
    if repository_of(obj):
        triggers.append((REPOSITORY_PATH, f"repository: {repository_of(obj)}"))
    for pin in pins_in(obj, release, patch):
        if pin.node[:2] != IMAGES_PATH or pin.ref is None:
            continue
        default = patch.images.get(pin.component)
        if default is not None and same_image(pin.ref, ImageRef.parse(default)):
            continue
        triggers.append((pin.anchor, f"the {pin.component} pin"))
    return triggers


def existing_object(ctx: Context) -> K0sObject | None:
    """The cluster's dynamic-config object, when the repository holds it."""
    return next((obj for obj in ctx.cluster.configs if is_dynamic_object(ctx, obj)), None)


def object_carries_defaults(ctx: Context, obj: K0sObject) -> bool:
    """True when the object pins an image that is some release's default (persisted or copied)."""
    patch = ctx.cluster.patch
    release = ctx.catalog.release(patch.minor) if patch else None
    if patch is None or release is None:
        return False
    index = default_index(ctx.catalog)
    repository = repository_of(obj)
    return any(
        pin.ref is not None and index.owners(pin.ref, repository) for pin in pins_in(obj, release, patch)
    )


def _object_note(ctx: Context) -> str:
    existing = existing_object(ctx)
    if existing is None:
        return ""
    if object_carries_defaults(ctx, existing):
        return (
            f" The cluster's object in this repository ({existing.path}) already carries default images "
            "persisted this way (see K0S102/K0S104 there)."
        )
    return (
        f" The repository also holds the cluster's object ({existing.path}), so this cluster exists and "
        "this config no longer writes the object (k0s only creates it when it is missing); this matters "
        "again when a cluster is bootstrapped from this repository, hence reported as info."
    )


def _never_clause(obj: K0sObject) -> str:
    if obj.get(*PULL_POLICY_PATH) == "Never":
        return (
            "; with default_pull_policy: Never and only the new release's images on the nodes, those pods "
            "cannot start"
        )
    return ""


def _whole_block_images(ctx: Context, obj: K0sObject, release: Release, patch: Patch) -> Iterator[Finding]:
    triggers = _image_triggers(obj, release, patch)
    if not triggers:
        return
    components = _image_components(release, patch)
    effective = patch.effective_images(repository_of(obj))
    example = effective.get("kubeproxy") or effective[components[0]]
    causes = ", ".join(text for _, text in triggers[:3]) + (" and more" if len(triggers) > 3 else "")
    advice = _upgrade_advice(ctx.catalog, patch, STRIPS_DEFAULTS, "default images")
    yield ctx.finding(
        PERSISTS_DEFAULTS,
        obj,
        triggers[0][0],
        f"{triggers[0][1]} makes k0s {patch.version} store all {len(components)} default images in the "
        "dynamic-config object",
        fix="after bootstrap, remove the persisted image entries with `k0s config edit`",
        detail=f"With dynamic config the first controller copies this config into the ClusterConfig object, "
        f"and k0s {patch.version} drops spec.images there only when the whole block equals its defaults. "
        f"Here {causes} makes it differ, so k0s writes all {len(components)} default images of "
        f"{patch.version} with their versions (such as {example}) into the object. At the next upgrade the "
        f"new controllers inherit these as deliberate pins and keep running the {patch.minor} "
        f"images{_never_clause(obj)}. To avoid it, {advice}; after bootstrap, remove the image entries from "
        f"the object with `k0s config edit`, keeping only the settings you chose.{_object_note(ctx)}",
        subject="images",
    )


def _whole_block_network(ctx: Context, obj: K0sObject, release: Release, patch: Patch) -> Iterator[Finding]:
    if not release.image_paths.get("nllb.envoyProxy") or "nllb.envoyProxy" not in patch.images:
        return  # no node-local load balancer in this release: no default image hides in spec.network
    if isinstance(obj.get(*ENVOY_IMAGE_PATH), dict):
        return  # the envoy image is pinned: what gets stored is the user's own pin (K0S1xx)
    settings = non_default_network(obj)
    if not settings:
        return
    envoy = patch.effective_images(repository_of(obj))["nllb.envoyProxy"]
    first = obj.describe(settings[0])
    more = f" (and {len(settings) - 1} other network setting(s))" if len(settings) > 1 else ""
    advice = _upgrade_advice(ctx.catalog, patch, STRIPS_DEFAULTS, "the default envoy image")
    yield ctx.finding(
        PERSISTS_DEFAULTS,
        obj,
        settings[0],
        f"a non-default spec.network makes k0s {patch.version} store the default envoy image in the "
        "dynamic-config object",
        fix="after bootstrap, remove the persisted envoy image with `k0s config edit`",
        detail=f"With dynamic config the first controller copies this config into the ClusterConfig object, "
        f"and k0s {patch.version} keeps spec.network there whenever it differs from the defaults. {first}"
        f"{more} makes it differ, and k0s fills in the node-local load balancer's default envoy image, so "
        f"{envoy} is written into the object with its version. At the next upgrade the new controllers "
        f"inherit it as a deliberate pin and keep running the {patch.minor} envoy{_never_clause(obj)}. "
        f"To avoid it, {advice}; after bootstrap, remove spec.network.nodeLocalLoadBalancing.envoyProxy.image "
        f"from the object with `k0s config edit`.{_object_note(ctx)}",
        subject="network",
    )


def _rewritten_defaults(ctx: Context, obj: K0sObject, release: Release, patch: Patch) -> Iterator[Finding]:
    repository = repository_of(obj)
    if not repository:
        return
    effective = patch.effective_images(repository)
    rewritten = [c for c in _image_components(release, patch) if c in patch.repository_rewrites]
    if not rewritten:
        return
    example = effective.get("kubeproxy") or effective[rewritten[0]]
    envoy = ""
    envoy_pinned = isinstance(obj.get(*ENVOY_IMAGE_PATH), dict)
    if "nllb.envoyProxy" in patch.repository_rewrites and not envoy_pinned and non_default_network(obj):
        envoy = " The default envoy image is written the same way, since spec.network is not default either."
    advice = _upgrade_advice(ctx.catalog, patch, STRIPS_REWRITTEN_DEFAULTS, "rewritten default images")
    yield ctx.finding(
        PERSISTS_DEFAULTS,
        obj,
        REPOSITORY_PATH,
        f"with spec.images.repository set, k0s {patch.version} stores {len(rewritten)} rewritten default images "
        "in the dynamic-config object",
        fix="after bootstrap, remove the persisted image entries with `k0s config edit`",
        detail=f"With dynamic config the first controller copies this config into the ClusterConfig object. "
        f"k0s {patch.version} leaves default images out of it, but it compares them before applying "
        f"spec.images.repository: with the repository set, none of the {len(rewritten)} rewritten images "
        f"(such as {example}) looks like a default, so all of them are written with their versions "
        f"(k0s issue #7708).{envoy} At the next upgrade the new controllers inherit these as deliberate "
        f"pins and keep running the {patch.minor} images{_never_clause(obj)}. To avoid it, {advice}; after "
        "bootstrap, remove the image entries from the object with `k0s config edit`, keeping only the "
        f"repository.{_object_note(ctx)}",
        subject="repository",
    )


def check_persists_defaults(ctx: Context) -> Iterator[Finding]:
    patch = ctx.cluster.patch
    release = ctx.catalog.release(patch.minor) if patch else None
    if patch is None or release is None or not ctx.cluster.dynamic_config:
        return
    # Once the object exists this config no longer writes it; what matters then is the object itself.
    # Only a clean object makes the finding informational: a polluted one shows the rule's point.
    existing = existing_object(ctx)
    bootstrapped = existing is not None and not object_carries_defaults(ctx, existing)
    for obj in bootstrap_configs(ctx):
        found: list[Finding] = []
        if patch.dynamic_config == "whole-block-only":
            found += _whole_block_images(ctx, obj, release, patch)
            found += _whole_block_network(ctx, obj, release, patch)
        elif patch.dynamic_config == "per-field":
            found += _rewritten_defaults(ctx, obj, release, patch)
        for finding in found:
            yield replace(finding, severity=Severity.INFO) if bootstrapped else finding


# --- K0S402 --------------------------------------------------------------------------------------------


def node_local_settings(obj: K0sObject) -> list[YamlPath]:
    """Node-local keys an object sets: spec.api and spec.storage always, network ones when non-default."""
    found: list[YamlPath] = [path for path in NODE_LOCAL_BLOCKS if obj.get(*path) is not None]
    changed = {path[2] for path in non_default_network(obj) if len(path) > 2}
    found += [(*NETWORK_PATH, key) for key in NODE_LOCAL_NETWORK if key in changed]
    found.sort(key=lambda path: (obj.key_mark(path).line, obj.key_mark(path).column))
    return found


def check_node_local_in_object(ctx: Context) -> Iterator[Finding]:
    for obj in ctx.cluster.configs:
        if not is_dynamic_object(ctx, obj):
            continue
        why = (
            "this is the cluster's exported ClusterConfig object"
            if obj.is_cluster_object
            else "this ClusterConfig sits beside a k0sctl file with dynamic config, so it can only be "
            "meant for the cluster's ClusterConfig object"
        )
        for path in node_local_settings(obj):
            key = obj.describe(path)
            yield ctx.finding(
                NODE_LOCAL_IN_OBJECT,
                obj,
                path,
                f"{key} is node-local: k0s ignores it in the dynamic-config object",
                at_key=True,
                fix=f"move {key} to the controllers' k0s.yaml and remove it here",
                detail=f"Each controller takes {key} from its own k0s.yaml, never from the dynamic-config "
                f"object ({why}), so setting it here changes nothing. Set it in the controllers' config "
                "(k0sctl spec.k0s.config, or k0s.yaml on each controller) and remove it from the object.",
                subject=".".join(str(p) for p in path),
            )


# --- K0S403 --------------------------------------------------------------------------------------------


def cluster_wide_settings(obj: K0sObject) -> list[YamlPath]:
    """The spec keys of a k0sctl config that k0sctl pushes only at first bootstrap under dynamic config.

    PR mode can compare this list (and the values at these paths) between the base and the head
    revision to report only settings that actually changed.
    """
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    return [("spec", key) for key in spec if key not in K0SCTL_NODE_CONFIG_KEYS]


def check_k0sctl_drift(ctx: Context) -> Iterator[Finding]:
    k0sctl = ctx.cluster.k0sctl
    if k0sctl is None:
        return
    why = k0sctl_dynamic_config(k0sctl)
    if not why:
        return
    for obj in ctx.cluster.configs:
        if not merged_into_k0sctl(ctx, obj):
            continue
        for path in cluster_wide_settings(obj):
            key = obj.describe(path)
            yield ctx.finding(
                K0SCTL_DRIFT,
                obj,
                path,
                f"with dynamic config, k0sctl applies {key} only at the first bootstrap",
                at_key=True,
                fix="make cluster-wide changes with `k0s config edit` and keep the object in Git",
                detail=f"Because {why}, k0sctl hands {key} to the cluster only at the first "
                "bootstrap; afterwards it writes each controller only spec.api, spec.network and spec.storage. "
                "Later edits to this setting in Git never reach the running cluster, whose ClusterConfig "
                "object is what counts. Change it with `k0s config edit` (or `k0sctl config edit`) and keep "
                "the object itself in Git. (Until changes are compared against the base revision, every "
                "cluster-wide setting in such a file is reported.)",
                subject=".".join(str(p) for p in path),
            )


PERSISTS_DEFAULTS = Rule(
    "K0S401",
    "dynamic-config-persists-defaults",
    Severity.ERROR,
    "With dynamic config, this bootstrap config makes the target release write its default images into "
    "the ClusterConfig object, where they outlive the next upgrade.",
    check=check_persists_defaults,
)
NODE_LOCAL_IN_OBJECT = Rule(
    "K0S402",
    "node-local-in-dynamic-object",
    Severity.WARNING,
    "The dynamic-config object sets a node-local setting (spec.api, spec.storage, ...) that k0s ignores there.",
    check=check_node_local_in_object,
    needs_release=False,
)
K0SCTL_DRIFT = Rule(
    "K0S403",
    "k0sctl-dynamic-config-drift",
    Severity.WARNING,
    "A k0sctl file with dynamic config sets cluster-wide settings that k0sctl pushes only at first bootstrap.",
    check=check_k0sctl_drift,
    needs_release=False,
)

RULES = (PERSISTS_DEFAULTS, NODE_LOCAL_IN_OBJECT, K0SCTL_DRIFT)
