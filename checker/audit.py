"""Scheduled drift audits: the repository against the newest release data, and against the live cluster.

An audit answers "does anything need doing now?" without a commit to start it:

- the repository (the work tree, or a revision with ``--ref``) is checked by the normal engine with the
  release data this tool ships, so a pin that was right when it was committed and is stale now is
  reported; every stale pin (K0S102) names the commit that wrote its line (git blame);
- the live ClusterConfig object is checked by the same rules as a document of its own
  (``live:clusterconfig/kube-system/k0s``), so defaults persisted by an old controller are found even
  when the repository is clean, together with the release that wrote them;
- the repository's desired state is compared with the live one field by field (drift);
- the nodes' versions are compared with each other (K0S306) and with the version the repository declares.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from checker.cluster import Cluster, versions_differ
from checker.config import Config
from checker.documents import K0sObject, classify
from checker.engine import Result, run_check
from checker.findings import Finding, Severity, counts
from checker.live import CLUSTER_CONFIG, NODE, PLAN, KubeVersion, LiveNode, LiveState
from checker.pins import IMAGES_PATH, NLLB_PATH, Pin, describe_owners, image_paths, pins_in, repository_of
from checker.releases import Catalog, Patch, Release, UnknownRelease
from checker.rules import Context, Options
from checker.rules.dynamic import (
    DEFAULT_PULL_POLICY,
    NETWORK_DEFAULTS,
    NODE_LOCAL_BLOCKS,
    NODE_LOCAL_NETWORK,
    bootstrap_configs,
    existing_object,
)
from checker.rules.images import STALE_PIN, default_index
from checker.rules.skew import NODE_SKEW
from checker.sources import Collected, Source
from checker.yamldoc import YamlPath, format_path, parse_bytes

if TYPE_CHECKING:
    from checker.gitsource import Revision

FORMAT_VERSION = 1
LIVE_PREFIX = "live:"
KUBELET_FIELD = "status.nodeInfo.kubeletVersion"

# Settings whose k0s default is known: a live value equal to it is no drift worth acting on.
KNOWN_DEFAULTS: dict[YamlPath, Any] = {
    (*IMAGES_PATH, "default_pull_policy"): DEFAULT_PULL_POLICY,
    **{("spec", "network", *path): value for path, value in NETWORK_DEFAULTS.items()},
}


class AuditError(Exception):
    """The audit cannot run as asked (exit code 2)."""


# --- the result model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """The commit that last wrote a line."""

    sha: str
    date: str  # ISO 8601, the author date
    author: str
    email: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]

    def to_dict(self) -> dict[str, str]:
        return {
            "sha": self.sha,
            "date": self.date,
            "author": self.author,
            "email": self.email,
            "subject": self.subject,
        }

    def describe(self) -> str:
        return f"{self.short} ({self.date[:10]}, {self.author}): {self.subject}"


@dataclass(frozen=True)
class Drift:
    """One field that differs between the repository and the cluster."""

    object: str  # "clusterconfig/kube-system/k0s", "plan/autopilot", "node/worker-1"
    field: str  # "spec.images.kubeproxy.version"; "" for a whole object
    repository: Any
    live: Any
    in_repository: bool
    in_live: bool
    category: str  # image | setting | version | object
    needs_action: bool
    note: str = ""

    @property
    def change(self) -> str:
        if self.in_repository and self.in_live:
            return "changed"
        return "only-in-repository" if self.in_repository else "only-in-cluster"

    def describe(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return (
            f"{where}repo {show_value(self.repository, self.in_repository)} / "
            f"live {show_value(self.live, self.in_live)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "field": self.field,
            "change": self.change,
            "category": self.category,
            "repository": self.repository if self.in_repository else None,
            "live": self.live if self.in_live else None,
            "needs_action": self.needs_action,
            "note": self.note,
        }


def show_value(value: Any, present: bool = True) -> str:
    if not present:
        return "unset"
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Remediation:
    """How to remove persisted default images from the live ClusterConfig object."""

    name: str
    namespace: str
    remove: tuple[YamlPath, ...]
    kept: tuple[YamlPath, ...] = ()  # persisted pins the repository sets too: fix the repository first

    @property
    def json_patch(self) -> str:
        operations = [{"op": "remove", "path": json_pointer(path)} for path in self.remove]
        return json.dumps(operations, separators=(",", ":"))

    @property
    def kubectl(self) -> str:
        return (
            f"kubectl patch clusterconfig {shlex.quote(self.name)} -n {shlex.quote(self.namespace)} "
            f"--type=json -p {shlex.quote(self.json_patch)}"
        )

    @property
    def edit(self) -> str:
        return "k0s config edit   # on a controller; delete: " + ", ".join(
            format_path(p) for p in self.remove
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": f"clusterconfig/{self.namespace}/{self.name}",
            "remove": [format_path(p) for p in self.remove],
            "kept": [format_path(p) for p in self.kept],
            "json_patch": self.json_patch,
            "kubectl": self.kubectl,
            "k0s_config_edit": self.edit,
        }


def json_pointer(path: YamlPath) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass
class Audit:
    repository: Result
    paths: list[str]
    ref: str | None = None
    commit: str = ""
    cluster: Cluster | None = None
    live: LiveState | None = None
    live_findings: list[Finding] = field(default_factory=list)
    live_target: str = ""
    live_target_why: str = ""
    drift: list[Drift] = field(default_factory=list)
    introduced: dict[str, Commit] = field(default_factory=dict)  # finding fingerprint -> commit
    persisted_by: str = ""
    remediation: Remediation | None = None
    notes: list[str] = field(default_factory=list)
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    fail_on: str = "error"
    tool_version: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [*self.repository.findings, *self.live_findings]

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]

    @property
    def stale_pins(self) -> list[Finding]:
        return [f for f in self.repository.active if f.rule == STALE_PIN.id]

    def failing(self) -> list[Finding]:
        if self.fail_on == "never":
            return []
        threshold = Severity.parse(self.fail_on)
        return [f for f in self.active if f.severity >= threshold]

    @property
    def drift_to_act_on(self) -> list[Drift]:
        return [d for d in self.drift if d.needs_action]

    @property
    def needs_action(self) -> bool:
        if self.fail_on == "never":
            return False
        return bool(self.failing() or self.drift_to_act_on)


# --- running an audit ----------------------------------------------------------------------------------


def run_audit(
    collected: Collected,
    catalog: Catalog,
    config: Config,
    *,
    paths: Sequence[str],
    options: Options | None = None,
    live: LiveState | None = None,
    ref: str | None = None,
    commit: str = "",
    blame: Blame | None = None,
    fail_on: str = "error",
    now: dt.datetime | None = None,
) -> Audit:
    from checker import __version__

    options = options or Options()
    repository = run_check(collected, catalog, config, options=options)
    audit = Audit(
        repository=repository,
        paths=list(paths),
        ref=ref,
        commit=commit,
        live=live,
        fail_on=fail_on,
        tool_version=__version__,
    )
    if now is not None:
        audit.generated = now
    if blame is not None:
        for finding in audit.stale_pins:
            found = blame.commit_of(finding.path, finding.line)
            if found is not None:
                audit.introduced[finding.fingerprint] = found
        audit.notes += blame.notes
    if live is None:
        audit.notes.append("live state not read: pass --live FILE, --kubeconfig/--context or --in-cluster")
        clusters = [c for c in repository.clusters if c.configs or c.plans]
        audit.cluster = clusters[0] if len(clusters) == 1 else None
        return audit
    audit.cluster = _cluster_for_live(repository)
    _audit_live(audit, catalog, config, options)
    return audit


def _cluster_for_live(result: Result) -> Cluster | None:
    """The repository cluster the live state belongs to."""
    candidates = [c for c in result.clusters if c.configs or c.plans]
    if len(candidates) > 1:
        dynamic = [c for c in candidates if any(o.is_cluster_object for o in c.configs)]
        if len(dynamic) == 1:
            return dynamic[0]
        names = ", ".join(c.name for c in candidates)
        raise AuditError(
            f"the checked paths hold {len(candidates)} clusters ({names}); the live state belongs to one: "
            "name that cluster's folder as the path to audit"
        )
    return candidates[0] if candidates else None


def _audit_live(audit: Audit, catalog: Catalog, config: Config, options: Options) -> None:
    live = audit.live
    assert live is not None
    cluster = audit.cluster
    name = cluster.name if cluster is not None else "live cluster"
    audit.notes += live.notes
    version, why = _live_target(cluster, live)
    audit.live_target_why = why
    live_obj: K0sObject | None = None
    if live.cluster_config is not None:
        result, live_obj = _check_live_config(live, catalog, config, options, version)
        audit.live_findings += [replace(f, cluster=name) for f in result.findings]
        audit.notes += [f"live object: {s}" for s in result.skipped]
        if result.clusters and result.clusters[0].patch is not None:
            audit.live_target = result.clusters[0].patch.version
    else:
        audit.live_target = version or ""
    patch = _resolve(catalog, audit.live_target) or catalog.newest()
    release = catalog.release(patch.minor)
    assert release is not None
    ctx = Context(cluster, catalog, config, options) if cluster is not None else None
    desired, desired_obj, desired_where = _desired_config(ctx)
    if live_obj is not None:
        audit.persisted_by = persisted_by(live_obj, catalog, release, patch)
        audit.remediation = remediation(live_obj, desired_obj, catalog, release, patch)
    if CLUSTER_CONFIG in live.read:
        audit.drift += config_drift(
            live, live_obj, desired, desired_obj, desired_where, catalog, release, patch
        )
        if desired_where:
            audit.notes.append(f"ClusterConfig drift measured against {desired_where}")
    if PLAN in live.read:
        audit.drift += plan_drift(cluster.plans if cluster else [], live.plans)
    if NODE in live.read:
        findings, skipped = node_skew(live.nodes, name)
        audit.live_findings += findings
        audit.notes += skipped
        if cluster is not None and cluster.patch is not None and not cluster.assumed_newest:
            audit.drift += node_drift(live.nodes, cluster.patch)
    audit.live_findings.sort(key=Finding.sort_key)


def _resolve(catalog: Catalog, version: str) -> Patch | None:
    if not version:
        return None
    try:
        return catalog.resolve(version).patch
    except (UnknownRelease, ValueError):  # the live check reports it (K0S003)
        return None


def _live_target(cluster: Cluster | None, live: LiveState) -> tuple[str | None, str]:
    """The k0s release the live object is checked against, and why that one."""
    if cluster is not None and cluster.patch is not None and not cluster.assumed_newest:
        where = cluster.target_source.where if cluster.target_source else "the repository"
        return cluster.patch.version, f"the version the repository declares ({where})"
    planes = [n for n in live.nodes if n.control_plane and n.version is not None]
    if planes:
        newest = max(planes, key=lambda n: n.version.release if n.version else (0, 0, 0))
        assert newest.version is not None
        text = newest.k0s_version or "v{}.{}.{}".format(*newest.version.release)
        return text, f"the newest control-plane node ({newest.name}), as the repository declares no version"
    return None, "the newest known release, as neither the repository nor the nodes say which one runs"


def _live_document(live: LiveState) -> tuple[str, bytes]:
    data = copy.deepcopy(live.cluster_config) or {}
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    text = f"# {live.config_ref} as read from {live.source}\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True
    )
    return LIVE_PREFIX + live.config_ref, text.encode("utf-8")


def _check_live_config(
    live: LiveState, catalog: Catalog, config: Config, options: Options, version: str | None
) -> tuple[Result, K0sObject | None]:
    """The normal rules over the live object, a document of its own under a ``live:`` path."""
    path, raw = _live_document(live)
    collected = Collected(sources=[Source(path, raw, explicit=True)])
    result = run_check(collected, catalog, config, cli_version=version, options=options)
    obj = next(
        (
            item
            for document in parse_bytes(path, raw).documents
            for item in classify(document)
            if isinstance(item, K0sObject)
        ),
        None,
    )
    return result, obj


# --- which release wrote the live object, and how to clean it ------------------------------------------


def _default_pins(
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
    pins = _default_pins(obj, catalog, release, patch)
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
    for pin, _ in _default_pins(live_obj, catalog, release, patch):
        if desired_obj is not None and desired_obj.get(*pin.node) is not None:
            kept.append(pin.node)
        else:
            remove.append(pin.node)
    if not remove:
        return None
    metadata = live_obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return Remediation(
        name=str(metadata.get("name") or "k0s"),
        namespace=str(metadata.get("namespace") or "kube-system"),
        remove=tuple(remove),
        kept=tuple(kept),
    )


# --- drift ---------------------------------------------------------------------------------------------


def _desired_config(ctx: Context | None) -> tuple[dict[str, Any] | None, K0sObject | None, str]:
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
    pins = _default_pins(obj, catalog, release, patch)
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


def _plan_state(plan: dict[str, Any]) -> str:
    status = plan.get("status")
    state = status.get("state") if isinstance(status, dict) else None
    return str(state) if state else "no status"


def _plan_name(data: dict[str, Any]) -> str:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(name) if name else "?"


def plan_drift(repo_plans: Iterable[K0sObject], live_plans: Iterable[dict[str, Any]]) -> list[Drift]:
    wanted = {_plan_name(p.data): p for p in repo_plans}
    running = {_plan_name(p): p for p in live_plans}
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
            state = _plan_state(running[name])
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


def _skew_finding(node: LiveNode, cluster: str, message: str, subject: str) -> Finding:
    return Finding(
        NODE_SKEW.id,
        NODE_SKEW.severity,
        message,
        f"{LIVE_PREFIX}node/{node.name}",
        1,
        1,
        cluster=cluster,
        node=KUBELET_FIELD if not node.k0s_version else f"metadata: {node.k0s_version_key}",
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
                f"control-plane node {newest_node.name} runs {newest.text} while {oldest_node.name} runs "
                f"{oldest.text}: {apart} minor releases apart. Control-plane nodes may be at most one minor "
                f"apart, and k0s upgrades them one minor at a time. Bring the {oldest.minor_name} controllers "
                f"up one minor at a time before the cluster goes further.",
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
                    f"worker {node.name} runs kubelet {kubelet.text}, newer than the oldest control plane "
                    f"({oldest_node.name}, {oldest.text}). A kubelet must never be newer than the API server "
                    f"it talks to. Upgrade the control plane to {kubelet.minor_name} first (controllers "
                    f"before workers), or keep this worker on {oldest.minor_name} until then.",
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
                    f"worker {node.name} runs kubelet {kubelet.text}, {lag} minor releases behind the oldest "
                    f"control plane ({oldest_node.name}, {oldest.text}); a kubelet of {kubelet.minor_name} "
                    f"may trail by at most {allowed}. Upgrade this worker (one minor at a time) before the "
                    "control plane moves further.",
                    "behind-control-plane",
                )
            )
    return findings, []


# --- who wrote a pin -----------------------------------------------------------------------------------


class Blame:
    """The commit that last wrote a line, from git blame over the work tree or one revision.

    One blame per file, read with GitPython (imported only here). Lines that are not committed yet
    have no commit. Outside a git repository nothing is named, and a note says so.
    """

    def __init__(self, cwd: Path, rev: str | None = None) -> None:
        self.cwd = cwd
        self.rev = rev
        self.notes: list[str] = []
        self._lines: dict[str, list[Commit | None]] = {}
        self._root: Path | None = None
        self._repo: Any = None
        self._opened = False

    def _open(self) -> Any:
        if self._opened:
            return self._repo
        self._opened = True
        try:
            import git
        except ImportError:
            self.notes.append("GitPython or git is not available: the commits of stale pins are not named")
            return None
        try:
            self._repo = git.Repo(self.cwd, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            self.notes.append(
                f"{self.cwd} is not in a git repository: the commits of stale pins are not named"
            )
            return None
        if self._repo.working_tree_dir is None:
            self._repo = None
            return None
        self._root = Path(os.path.realpath(self._repo.working_tree_dir))
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def commit_of(self, path: str, line: int) -> Commit | None:
        if path.startswith(LIVE_PREFIX) or line < 1:
            return None
        if path not in self._lines:
            self._lines[path] = self._blame(path)
        lines = self._lines[path]
        return lines[line - 1] if line <= len(lines) else None

    def _blame(self, path: str) -> list[Commit | None]:
        repo = self._open()
        if repo is None or self._root is None:
            return []
        from git.exc import GitCommandError

        absolute = Path(os.path.realpath(self.cwd / path))
        try:
            relative = absolute.relative_to(self._root).as_posix()
        except ValueError:
            return []
        try:
            blamed = repo.blame(self.rev, relative, w=True)
        except (GitCommandError, ValueError) as err:
            self.notes.append(f"git blame {relative}: {str(err).strip().splitlines()[0]}")
            return []
        lines: list[Commit | None] = []
        zero = "0" * 40
        for entry in blamed or []:
            commit, text = entry[0], entry[1]
            if commit.hexsha == zero:
                found = None
            else:
                found = Commit(
                    commit.hexsha,
                    commit.authored_datetime.isoformat(),
                    str(commit.author.name or ""),
                    str(commit.author.email or ""),
                    str(commit.summary),
                )
            lines += [found] * len(text)
        return lines


def open_ref(cwd: Path, ref: str) -> Revision:
    """The revision ``ref`` names, exactly (not a merge base), for ``checker.gitsource`` to read."""
    from checker.gitsource import GitSourceError, Revision

    if not ref or ref.startswith("-"):
        raise AuditError(f"--ref {ref!r}: not a git revision")
    import git
    from git.exc import BadName, BadObject, GitCommandError

    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise AuditError(f"--ref needs a git repository, and {cwd} is not inside one") from None
    if repo.working_tree_dir is None:
        repo.close()
        raise AuditError("--ref needs a repository with a work tree, not a bare one")
    try:
        commit = repo.commit(ref)
        commit.tree  # noqa: B018 - reading the tree proves the commit's objects are present
    except (BadName, BadObject, GitCommandError, ValueError, IndexError, GitSourceError) as err:
        repo.close()
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise AuditError(f"--ref {ref}: unknown revision ({first})") from None
    root = Path(os.path.realpath(repo.working_tree_dir))
    return Revision(repo, root, ref, commit, f"{ref} itself")


def head_commit(cwd: Path) -> str:
    """The sha of HEAD of the repository holding ``cwd``, or "" outside one."""
    try:
        import git
    except ImportError:
        return ""
    try:
        with git.Repo(cwd, search_parent_directories=True) as repo:
            return str(repo.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return ""


# --- reports -------------------------------------------------------------------------------------------


def _origin(finding: Finding) -> str:
    return "live" if finding.path.startswith(LIVE_PREFIX) else "repository"


def to_json(audit: Audit) -> dict[str, Any]:
    """The versioned JSON report. Every key is always present; null when it does not apply."""
    from checker.report.json_report import finding_to_dict

    findings = []
    for finding in audit.findings:
        entry = finding_to_dict(finding)
        entry["origin"] = _origin(finding)
        introduced = audit.introduced.get(finding.fingerprint)
        entry["introduced_by"] = introduced.to_dict() if introduced else None
        findings.append(entry)
    live: dict[str, Any] | None = None
    if audit.live is not None:
        state = audit.live
        live = {
            "source": state.source,
            "checked_against": {"version": audit.live_target or None, "why": audit.live_target_why},
            "clusterconfig": {
                "object": state.config_ref,
                "read": CLUSTER_CONFIG in state.read,
                "present": state.cluster_config is not None,
                "persisted_by": audit.persisted_by or None,
            },
            "plans": [{"name": _plan_name(p), "state": _plan_state(p)} for p in state.plans],
            "nodes": [
                {
                    "name": n.name,
                    "role": n.role,
                    "kubelet": n.kubelet_text or None,
                    "k0s_version": n.k0s_version or None,
                }
                for n in state.nodes
            ],
        }
    cluster = audit.cluster
    return {
        "version": FORMAT_VERSION,
        "kind": "audit",
        "tool": {"name": "k0s-policy", "version": audit.tool_version},
        "generated_at": audit.generated.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "needs_action": audit.needs_action,
        "fail_on": audit.fail_on,
        "repository": {
            "paths": audit.paths,
            "ref": audit.ref,
            "commit": audit.commit or None,
            "cluster": cluster.name if cluster else None,
            "target": cluster.patch.version if cluster and cluster.patch else None,
        },
        "findings": findings,
        "drift": [d.to_dict() for d in audit.drift],
        "live": live,
        "remediation": audit.remediation.to_dict() if audit.remediation else None,
        "notes": audit.notes,
        "skipped": audit.repository.skipped,
        "input_errors": audit.repository.input_errors,
        "summary": {
            "repository": counts(audit.repository.findings),
            "live": counts(audit.live_findings),
            "stale_pins": len(audit.stale_pins),
            "drift": {"total": len(audit.drift), "needs_action": len(audit.drift_to_act_on)},
            "files_read": audit.repository.files_read,
            "documents_checked": audit.repository.documents,
        },
    }


def write_json(audit: Audit, out: TextIO) -> None:
    json.dump(to_json(audit), out, indent=2, default=str)
    out.write("\n")


def _cell(value: Any) -> str:
    text = " ".join(show_value(value).split())
    return text.replace("|", "\\|")


def _code(value: Any) -> str:
    text = _cell(value).replace("`", "'")
    return f"`{text}`" if text else ""


def _where(finding: Finding) -> str:
    if finding.path.startswith(LIVE_PREFIX):
        return f"{finding.path} {finding.node}".strip()
    return f"{finding.path}:{finding.line}:{finding.column}"


def _headline(audit: Audit) -> str:
    return "action needed" if audit.needs_action else "nothing to do"


def _checked(audit: Audit) -> str:
    what = ", ".join(audit.paths) or "."
    at = f"at {audit.ref}" if audit.ref else "in the work tree"
    commit = f" (commit {audit.commit[:12]})" if audit.commit else ""
    return f"{what} {at}{commit}"


def write_markdown(audit: Audit, out: TextIO) -> None:
    """A report for an issue or a job summary."""
    write = out.write
    write(f"# k0s-policy audit: {_headline(audit)}\n\n")
    stamp = audit.generated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write(f"Repository {_checked(audit)}, checked with k0s-policy {audit.tool_version} on {stamp}.  \n")
    live = audit.live
    write(f"Live state: {live.source if live else 'not read'}.\n\n")
    repo_counts, live_counts = counts(audit.repository.findings), counts(audit.live_findings)
    write("| | errors | warnings | info |\n|---|---|---|---|\n")
    write(f"| repository | {repo_counts['error']} | {repo_counts['warning']} | {repo_counts['info']} |\n")
    if live:
        write(
            f"| live cluster | {live_counts['error']} | {live_counts['warning']} | {live_counts['info']} |\n"
        )
    write("\n")
    if live:
        write(
            f"Drift: {len(audit.drift)} difference(s) between the repository and the cluster, "
            f"{len(audit.drift_to_act_on)} needing action.\n\n"
        )
    stale = audit.stale_pins
    if stale:
        write("## Stale pins in the repository\n\n")
        write("| where | pin | introduced by |\n|---|---|---|\n")
        for finding in stale:
            commit = audit.introduced.get(finding.fingerprint)
            who = _cell(commit.describe()) if commit else "not committed, or no git history"
            write(f"| `{_cell(_where(finding))}` | {_code(finding.node)} | {who} |\n")
        write("\n")
    _markdown_findings(out, "Repository findings", audit.repository.active)
    if live:
        write("## Live cluster\n\n")
        if live.cluster_config is not None:
            persisted = (
                f" It carries the default images of {audit.persisted_by}, persisted by a controller of that release."
                if audit.persisted_by
                else " It carries no release's default images."
            )
            target = (
                f" Checked against k0s {audit.live_target}: {audit.live_target_why}."
                if audit.live_target
                else ""
            )
            write(f"- ClusterConfig `{live.config_ref}`.{persisted}{target}\n")
        elif CLUSTER_CONFIG in live.read:
            write(f"- No ClusterConfig object `{live.config_ref}` in the cluster.\n")
        for plan in live.plans:
            write(f"- Plan `{_plan_name(plan)}`: {_cell(_plan_state(plan))}\n")
        write("\n")
        if live.nodes:
            write("| node | role | kubelet | k0s version |\n|---|---|---|---|\n")
            for node in live.nodes:
                write(
                    f"| {_cell(node.name)} | {node.role} | {_cell(node.kubelet_text)} | {_cell(node.k0s_version)} |\n"
                )
            write("\n")
        _markdown_findings(
            out, "Findings on the live objects", [f for f in audit.live_findings if not f.suppressed_by], 3
        )
        _markdown_drift(out, audit.drift)
    if audit.remediation is not None:
        fix = audit.remediation
        write("## Remediation\n\n")
        write(f"Remove the persisted default images from `clusterconfig/{fix.namespace}/{fix.name}`:\n\n")
        write(f"```sh\n{fix.kubectl}\n```\n\n")
        write("or, on a controller, `k0s config edit` and delete: ")
        write(", ".join(f"`{format_path(p)}`" for p in fix.remove) + ".\n\n")
        if fix.kept:
            kept = ", ".join(f"`{format_path(p)}`" for p in fix.kept)
            write(
                f"Left in place because the repository pins them too (fix the repository first): {kept}.\n\n"
            )
    if audit.notes or audit.repository.skipped:
        write("## Notes\n\n")
        for note in [*audit.notes, *audit.repository.skipped]:
            write(f"- {note}\n")
        write("\n")


def _markdown_findings(out: TextIO, title: str, findings: list[Finding], level: int = 2) -> None:
    if not findings:
        return
    out.write(f"{'#' * level} {title}\n\n")
    for finding in findings:
        out.write(f"- **{finding.severity} {finding.rule}** `{_cell(_where(finding))}`: {finding.message}\n")
    out.write("\n")


def _markdown_drift(out: TextIO, drift: list[Drift]) -> None:
    if not drift:
        return
    out.write("### Drift\n\n")
    act = [d for d in drift if d.needs_action]
    rest = [d for d in drift if not d.needs_action]

    def table(rows: list[Drift]) -> None:
        out.write("| object | field | repository | cluster | note |\n|---|---|---|---|---|\n")
        for d in rows:
            out.write(
                f"| {_cell(d.object)} | {_code(d.field)} | {_code(show_value(d.repository, d.in_repository))} "
                f"| {_code(show_value(d.live, d.in_live))} | {_cell(d.note)} |\n"
            )
        out.write("\n")

    if act:
        table(act)
    if rest:
        out.write(f"<details><summary>{len(rest)} difference(s) that need no action</summary>\n\n")
        table(rest)
        out.write("</details>\n\n")


def write_text(audit: Audit, out: TextIO, remediate: bool = False) -> None:
    """The terminal report: one line per finding and drift, then a verdict."""
    write = out.write
    write(f"audit of {_checked(audit)}; live state: {audit.live.source if audit.live else 'not read'}\n\n")
    for finding in audit.active:
        write(f"{_where(finding)}: {finding.severity} {finding.rule} {finding.message}\n")
        commit = audit.introduced.get(finding.fingerprint)
        if commit is not None:
            write(f"    introduced by {commit.describe()}\n")
    if audit.active:
        write("\n")
    if audit.live is not None and audit.persisted_by:
        write(f"live {audit.live.config_ref}: carries the default images of {audit.persisted_by}\n")
    for d in audit.drift:
        mark = "drift" if d.needs_action else "drift (no action)"
        note = f" ({d.note})" if d.note else ""
        write(f"{mark} {d.object} {d.describe()}{note}\n")
    if audit.drift or (audit.live is not None and audit.persisted_by):
        write("\n")
    if audit.remediation is not None:
        if remediate:
            write("remediation (removes the persisted default images from the live object):\n")
            write(f"  {audit.remediation.kubectl}\n")
            write(f"  or: {audit.remediation.edit}\n\n")
        else:
            write("run with --remediate to print the kubectl patch that removes the persisted defaults\n\n")
    for note in [*audit.notes, *audit.repository.skipped]:
        write(f"note: {note}\n")
    repo_counts, live_counts = counts(audit.repository.findings), counts(audit.live_findings)
    write(
        f"{_headline(audit)}: repository {repo_counts['error']} errors, {repo_counts['warning']} warnings; "
        f"live {live_counts['error']} errors, {live_counts['warning']} warnings; "
        f"{len(audit.drift_to_act_on)} of {len(audit.drift)} drift entries need action\n"
    )


def write_reports(
    audit: Audit,
    out: TextIO,
    *,
    markdown: str | None = None,
    json_file: str | None = None,
    remediate: bool = False,
) -> None:
    """The text report on ``out`` unless a report goes there ("-"), plus the Markdown and JSON files."""
    for target, writer in ((markdown, write_markdown), (json_file, write_json)):
        if not target:
            continue
        if target == "-":
            writer(audit, out)
            continue
        try:
            with open(target, "w", encoding="utf-8") as handle:
                writer(audit, handle)
        except OSError as err:
            raise AuditError(f"cannot write {target}: {err.strerror or err}") from None
    if "-" not in (markdown, json_file):
        write_text(audit, out, remediate=remediate)
