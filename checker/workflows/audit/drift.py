"""Drift between the repository's desired state and the live cluster, field by field; the release
that persisted defaults into the live object and the patch that cleans it; the live nodes' version
skew (K0S306)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from checker.findings import Finding
from checker.inputs.live import KubeVersion, LiveNode, LiveState
from checker.inputs.yamldoc import YamlPath, format_path
from checker.k0s.cluster import versions_differ
from checker.k0s.documents import K0sObject
from checker.k0s.pins import (
    IMAGES_PATH,
    NLLB_PATH,
    Pin,
    default_index,
    describe_owners,
    image_paths,
    pins_in,
    repository_of,
)
from checker.k0s.releases import Catalog, Patch, Release
from checker.rules import Context
from checker.rules.dynamic import (
    DEFAULT_PULL_POLICY,
    NETWORK_DEFAULTS,
    NODE_LOCAL_BLOCKS,
    NODE_LOCAL_NETWORK,
    bootstrap_configs,
    existing_object,
)
from checker.rules.skew import NODE_SKEW
from checker.workflows.audit.model import LIVE_PREFIX, Drift, Remediation

KUBELET_FIELD = "status.nodeInfo.kubeletVersion"

# Settings whose k0s default is known: a live value equal to it is no drift worth acting on.
KNOWN_DEFAULTS: dict[YamlPath, Any] = {
    (*IMAGES_PATH, "default_pull_policy"): DEFAULT_PULL_POLICY,
    **{("spec", "network", *path): value for path, value in NETWORK_DEFAULTS.items()},
}


# --- which release wrote the live object, and how to clean it ------------------------------------------


def default_pins(
    obj: K0sObject, catalog: Catalog, release: Release, patch: Patch
) -> list[tuple[Pin, set[str]]]:
    """Pins that are some release's default, each with the versions of the releases that ship it."""
    index = default_index(catalog)
    repository = repository_of(obj)
    found: list[tuple[Pin, set[str]]] = []
    for pin in pins_in(obj, release, patch):
        if pin.ref is None or not (pin.node[:2] == IMAGES_PATH or pin.node[: len(NLLB_PATH)] == NLLB_PATH):
            continue
        owners = index.owners(pin.ref, repository)
        versions = {p.version for p, component in owners if component == pin.component} or {
            p.version for p, _ in owners
        }
        if versions:
            found.append((pin, versions))
    return found


def persisted_by(obj: K0sObject, catalog: Catalog, release: Release, patch: Patch) -> str:
    """The k0s release(s) whose defaults the object carries: "k0s v1.29.4+k0s.0", or "" for none."""
    pins = default_pins(obj, catalog, release, patch)
    if not pins:
        return ""
    common = set.intersection(*(versions for _, versions in pins))
    chosen = common or set.union(*(versions for _, versions in pins))
    patches = [(p, "") for v in chosen if (p := catalog.patch(v)) is not None]
    if not patches:
        return ""
    described = describe_owners(patches)
    return described if common else f"a mix of releases: {described}"


def remediation(
    live_obj: K0sObject, desired_obj: K0sObject | None, catalog: Catalog, release: Release, patch: Patch
) -> Remediation | None:
    """Removal of every default image the live object pins, except those the repository pins too."""
    remove: list[YamlPath] = []
    kept: list[YamlPath] = []
    for pin, _ in default_pins(live_obj, catalog, release, patch):
        if desired_obj is not None and desired_obj.get(*pin.node) is not None:
            kept.append(pin.node)
        else:
            remove.append(pin.node)
    if not remove:
        return None
    return Remediation.of(live_obj, remove, kept)


# --- drift ---------------------------------------------------------------------------------------------


def desired_config(ctx: Context | None) -> tuple[dict[str, Any] | None, K0sObject | None, str]:
    """The spec the repository wants the live object to have, the object it comes from, and a label."""
    if ctx is None:
        return None, None, ""
    obj = existing_object(ctx)
    if obj is not None:
        spec = obj.get("spec")
        return (spec if isinstance(spec, dict) else {}), obj, f"{obj.path}:{obj.start.line}"
    boots = bootstrap_configs(ctx)
    if boots:
        spec = boots[0].get("spec")
        where = (
            f"the cluster-wide part of the bootstrap config {boots[0].path}:{boots[0].start.line} "
            "(the repository holds no ClusterConfig object; k0s copied this into the object once)"
        )
        return cluster_wide(spec if isinstance(spec, dict) else {}), boots[0], where
    return None, None, ""


def cluster_wide(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec without the node-local settings k0s never puts into the object."""
    result = copy.deepcopy(spec)
    for path in NODE_LOCAL_BLOCKS:
        result.pop(str(path[1]), None)
    network = result.get("network")
    if isinstance(network, dict):
        for key in NODE_LOCAL_NETWORK:
            network.pop(key, None)
    return result


def leaves(value: Any, path: YamlPath = ()) -> dict[YamlPath, Any]:
    """Every scalar below a value by path; list items by index. Empty mappings and lists count as unset."""
    found: dict[YamlPath, Any] = {}
    if isinstance(value, dict):
        for key, child in value.items():
            found.update(leaves(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.update(leaves(child, (*path, index)))
    else:
        found[path] = value
    return found


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if a == b:
        return True
    scalars = (str, int, float)
    return isinstance(a, scalars) and isinstance(b, scalars) and str(a) == str(b)


def _is_default(path: YamlPath, value: Any) -> bool | None:
    """True/False when the path has a known k0s default; None when it has none."""
    if path not in KNOWN_DEFAULTS:
        return None
    default = KNOWN_DEFAULTS[path]
    return type(value) is type(default) and value == default


def _component_at(path: YamlPath, components: dict[YamlPath, str]) -> str | None:
    for prefix, component in components.items():
        if path[: len(prefix)] == prefix:
            return component
    return None


def _owner_notes(obj: K0sObject | None, catalog: Catalog, release: Release, patch: Patch) -> dict[str, str]:
    """component -> which release's default the object pins it to, naming the release that wrote the
    whole set first when there is one (as K0S102 does)."""
    notes: dict[str, str] = {}
    if obj is None:
        return notes
    pins = default_pins(obj, catalog, release, patch)
    common = set.intersection(*(versions for _, versions in pins)) if pins else set()
    writer = max((p for v in common if (p := catalog.patch(v))), key=lambda p: p.parsed, default=None)
    for pin, versions in pins:
        if writer is not None:
            others = len(versions) - 1
            text = f"the default of k0s {writer.version}" + (
                f" (and {others} other releases)" if others else ""
            )
        else:
            owners = [(p, "") for v in versions if (p := catalog.patch(v)) is not None]
            text = f"the default of {describe_owners(owners)}" if owners else "a release default"
        if patch.version in versions:
            text += (
                f", which the target k0s {patch.version} ships too: redundant now, stale at the next upgrade"
            )
        notes[pin.component] = text
    return notes


def config_drift(
    live: LiveState,
    live_obj: K0sObject | None,
    desired: dict[str, Any] | None,
    desired_obj: K0sObject | None,
    desired_where: str,
    catalog: Catalog,
    release: Release,
    patch: Patch,
) -> list[Drift]:
    name = live.config_ref
    if live.cluster_config is None:
        if desired_obj is not None and desired_obj.is_cluster_object:
            return [
                Drift(
                    name,
                    "",
                    "present",
                    None,
                    True,
                    False,
                    "object",
                    True,
                    f"the repository holds the object ({desired_where}) but the cluster has none: it runs "
                    "without dynamic config, or the object was never applied",
                )
            ]
        return []
    if desired is None:
        return []
    live_spec = live.cluster_config.get("spec")
    live_spec = live_spec if isinstance(live_spec, dict) else {}
    if desired_obj is not None and not desired_obj.is_cluster_object:
        live_spec = cluster_wide(live_spec)
    want = leaves(desired, ("spec",))
    have = leaves(live_spec, ("spec",))
    components = {path: component for component, path in image_paths(release).items()}
    live_notes = _owner_notes(live_obj, catalog, release, patch)
    repo_notes = _owner_notes(desired_obj, catalog, release, patch)
    drift: list[Drift] = []
    for path in sorted(set(want) | set(have), key=_path_order(want, have)):
        in_repo, in_live = path in want, path in have
        if in_repo and in_live and same_value(want[path], have[path]):
            continue
        component = _component_at(path, components)
        if component is not None:
            category, act = "image", True
            if in_live:
                note = live_notes.get(component, "a pin the repository does not make")
                note = f"the cluster pins {component} to {note}" if component in live_notes else note
            else:
                note = f"the repository pins {component}" + (
                    f" ({repo_notes[component]})" if component in repo_notes else ""
                )
                note += "; the cluster runs k0s's default"
        else:
            category = "setting"
            act, note = _setting_verdict(path, want.get(path), have.get(path), in_repo, in_live)
        drift.append(
            Drift(
                name, format_path(path), want.get(path), have.get(path), in_repo, in_live, category, act, note
            )
        )
    return drift


def _path_order(want: dict[YamlPath, Any], have: dict[YamlPath, Any]) -> Any:
    order = {path: index for index, path in enumerate([*have, *[p for p in want if p not in have]])}
    return lambda path: order[path]


def _setting_verdict(path: YamlPath, repo: Any, live: Any, in_repo: bool, in_live: bool) -> tuple[bool, str]:
    if in_repo and in_live:
        return True, "the cluster's value differs from the repository's"
    if in_repo:
        if _is_default(path, repo):
            return False, "k0s's default; k0s leaves defaults out of the object"
        return True, "the repository's setting is not in the cluster's object"
    verdict = _is_default(path, live)
    if verdict is True:
        return False, "k0s's default, written into the object by k0s"
    if verdict is False:
        return True, "differs from k0s's default and is not in the repository: a change made in the cluster"
    return False, "set only in the cluster (k0s may have written it as a default)"


def plan_state(plan: dict[str, Any]) -> str:
    status = plan.get("status")
    state = status.get("state") if isinstance(status, dict) else None
    return str(state) if state else "no status"


def plan_name(data: dict[str, Any]) -> str:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(name) if name else "?"


def plan_drift(repo_plans: Iterable[K0sObject], live_plans: Iterable[dict[str, Any]]) -> list[Drift]:
    wanted = {plan_name(p.data): p for p in repo_plans}
    running = {plan_name(p): p for p in live_plans}
    drift: list[Drift] = []
    for name in sorted(wanted.keys() | running.keys()):
        label = f"plan/{name}"
        if name not in running:
            drift.append(
                Drift(
                    label,
                    "",
                    f"{wanted[name].path}:{wanted[name].start.line}",
                    None,
                    True,
                    False,
                    "object",
                    True,
                    "the repository's Plan is not in the cluster: it was never applied, or it was deleted",
                )
            )
            continue
        if name not in wanted:
            state = plan_state(running[name])
            drift.append(
                Drift(
                    label,
                    "",
                    None,
                    state,
                    False,
                    True,
                    "object",
                    False,
                    f"only in the cluster (state {state})",
                )
            )
            continue
        want = leaves(wanted[name].get("spec"), ("spec",))
        have = leaves(running[name].get("spec"), ("spec",))
        for path in sorted(set(want) | set(have), key=_path_order(want, have)):
            in_repo, in_live = path in want, path in have
            if in_repo and in_live and same_value(want[path], have[path]):
                continue
            note = "" if in_repo else "set only in the cluster"
            drift.append(
                Drift(
                    label,
                    format_path(path),
                    want.get(path),
                    have.get(path),
                    in_repo,
                    in_live,
                    "setting",
                    in_repo,
                    note,
                )
            )
    return drift


def node_drift(nodes: Iterable[LiveNode], patch: Patch) -> list[Drift]:
    """Nodes that run another release than the one the repository declares."""
    declared = KubeVersion.parse(f"v{patch.kubernetes}")
    drift: list[Drift] = []
    for node in nodes:
        if node.k0s_version:
            if versions_differ(node.k0s_version, patch.version):
                drift.append(
                    Drift(
                        f"node/{node.name}",
                        f"metadata: {node.k0s_version_key}",
                        patch.version,
                        node.k0s_version,
                        True,
                        True,
                        "version",
                        True,
                        f"the {node.role} runs another k0s release than the repository declares",
                    )
                )
            continue
        if node.kubelet is None or declared is None or node.kubelet.release == declared.release:
            continue
        drift.append(
            Drift(
                f"node/{node.name}",
                KUBELET_FIELD,
                f"v{patch.kubernetes} (k0s {patch.version})",
                node.kubelet_text,
                True,
                True,
                "version",
                True,
                f"the {node.role} runs another Kubernetes release than the repository's k0s version ships: "
                "an upgrade in progress, or a node left behind",
            )
        )
    return drift


# --- live version skew (K0S306) ------------------------------------------------------------------------


def _skew_finding(node: LiveNode, cluster: str, texts: tuple[str, str, str], subject: str) -> Finding:
    """A K0S306 finding at the live node; ``texts`` are its message, fix and detail."""
    message, fix, detail = texts
    return Finding(
        NODE_SKEW.id,
        NODE_SKEW.severity,
        message,
        f"{LIVE_PREFIX}node/{node.name}",
        1,
        1,
        cluster=cluster,
        node=KUBELET_FIELD if not node.k0s_version else f"metadata: {node.k0s_version_key}",
        fix=fix,
        detail=detail,
        data={"subject": subject},
    )


def allowed_kubelet_lag(kubelet: KubeVersion) -> int:
    """Minors a kubelet may trail the control plane: three from Kubernetes 1.25 on, two before."""
    return 3 if kubelet.minor_key >= (1, 25) else 2


def node_skew(nodes: Sequence[LiveNode], cluster: str) -> tuple[list[Finding], list[str]]:
    """K0S306 findings from the nodes' versions, and what could not be measured."""
    planes = [(n, n.version) for n in nodes if n.control_plane and n.version is not None]
    if not planes:
        return [], [
            "K0S306: no control-plane node is visible (k0s controllers run no kubelet unless started with "
            "--enable-worker), so kubelets were not compared with the control plane"
        ]
    findings: list[Finding] = []
    oldest_node, oldest = min(planes, key=lambda p: p[1].release if p[1] else (0, 0, 0))
    newest_node, newest = max(planes, key=lambda p: p[1].release if p[1] else (0, 0, 0))
    assert oldest is not None and newest is not None
    apart = newest.minor - oldest.minor if newest.major == oldest.major else 99
    if apart > 1:
        findings.append(
            _skew_finding(
                newest_node,
                cluster,
                (
                    f"control-plane node {newest_node.name} runs {newest.text}, {apart} minors ahead of "
                    f"{oldest_node.name} ({oldest.text})",
                    f"bring the {oldest.minor_name} controllers up one minor at a time",
                    "Control-plane nodes may be at most one minor apart, and k0s upgrades them one minor at "
                    "a time; bring the oldest controllers up before the cluster goes further.",
                ),
                "control-plane",
            )
        )
    for node in nodes:
        kubelet = node.kubelet
        if node.control_plane or kubelet is None:
            continue
        if kubelet.minor_key > oldest.minor_key:
            findings.append(
                _skew_finding(
                    node,
                    cluster,
                    (
                        f"worker {node.name} runs kubelet {kubelet.text}, newer than the oldest control "
                        f"plane ({oldest_node.name}, {oldest.text})",
                        f"upgrade the control plane to {kubelet.minor_name} first, or keep this worker on "
                        f"{oldest.minor_name}",
                        f"A kubelet must never be newer than the API server it talks to; the oldest control "
                        f"plane is {oldest_node.name}. Upgrade controllers before workers.",
                    ),
                    "newer-than-control-plane",
                )
            )
            continue
        lag = (oldest.minor - kubelet.minor) if kubelet.major == oldest.major else 99
        allowed = allowed_kubelet_lag(kubelet)
        if lag > allowed:
            findings.append(
                _skew_finding(
                    node,
                    cluster,
                    (
                        f"worker {node.name} runs kubelet {kubelet.text}, {lag} minors behind the oldest "
                        f"control plane ({oldest_node.name}, {oldest.text})",
                        "upgrade this worker (one minor at a time) before the control plane moves further",
                        f"A kubelet of {kubelet.minor_name} may trail the control plane by at most {allowed} "
                        f"minor releases; the oldest control plane is {oldest_node.name}.",
                    ),
                    "behind-control-plane",
                )
            )
    return findings, []
