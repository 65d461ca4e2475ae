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
from collections.abc import Sequence

import yaml

from checker.config import Config
from checker.findings import Finding
from checker.inputs.live import CLUSTER_CONFIG, NODE, PLAN, LiveState
from checker.inputs.sources import Collected, Source
from checker.inputs.yamldoc import parse_bytes
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject, classify
from checker.k0s.releases import Catalog, Patch, UnknownRelease
from checker.records import replace
from checker.rules import Context, Options
from checker.workflows.audit.blame import Blame
from checker.workflows.audit.drift import (
    config_drift,
    desired_config,
    node_drift,
    node_skew,
    persisted_by,
    plan_drift,
    remediation,
)
from checker.workflows.audit.model import LIVE_PREFIX, Audit, AuditError
from checker.workflows.check import Policies, Result, Selection, run_check

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
    cli_version: str | None = None,
    selection: Selection | None = None,
    policies: Policies | None = None,
) -> Audit:
    """``cli_version`` pins every cluster's target release as in check (an audit otherwise checks
    against what the repository declares, with the newest release data); ``selection`` chooses rules
    for the repository and the live state alike; ``policies`` run on the repository."""
    from checker import __version__

    options = options or Options()
    selection = selection or Selection()
    repository = run_check(
        collected,
        catalog,
        config,
        options=options,
        cli_version=cli_version,
        selection=selection,
        policies=policies,
    )
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
    audit.cluster = cluster_for_live(repository)
    _audit_live(audit, catalog, config, options, selection)
    return audit


def cluster_for_live(result: Result) -> Cluster | None:
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


def _audit_live(
    audit: Audit, catalog: Catalog, config: Config, options: Options, selection: Selection
) -> None:
    live = audit.live
    assert live is not None
    cluster = audit.cluster
    name = cluster.name if cluster is not None else "live cluster"
    audit.notes += live.notes
    version, why = _live_target(cluster, live)
    audit.live_target_why = why
    live_obj: K0sObject | None = None
    if live.cluster_config is not None:
        result, live_obj = check_live_config(live, catalog, config, options, version, selection)
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
    desired, desired_obj, desired_where = desired_config(ctx)
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
    audit.live_findings = sorted(
        (f for f in audit.live_findings if selection.wants(f.rule)), key=Finding.sort_key
    )


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


def check_live_config(
    live: LiveState,
    catalog: Catalog,
    config: Config,
    options: Options,
    version: str | None,
    selection: Selection,
) -> tuple[Result, K0sObject | None]:
    """The normal rules over the live object, a document of its own under a ``live:`` path."""
    path, raw = _live_document(live)
    collected = Collected(sources=[Source(path, raw, explicit=True)])
    result = run_check(collected, catalog, config, cli_version=version, options=options, selection=selection)
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
