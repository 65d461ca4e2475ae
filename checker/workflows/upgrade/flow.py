"""One preflight run: find the clusters, tell each one's current release, plan the path, check every
step and list the actions before it."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from checker.config import Config
from checker.inputs.live import LiveState
from checker.inputs.sources import Collected
from checker.k0s.cluster import Cluster
from checker.k0s.pins import repository_of
from checker.k0s.releases import Catalog, Patch, UnknownRelease
from checker.records import replace
from checker.rules import Options
from checker.workflows.audit.flow import cluster_for_live
from checker.workflows.audit.model import AuditError
from checker.workflows.check import Selection, run_check
from checker.workflows.upgrade.autopilot import DEFAULT_URL_TEMPLATE
from checker.workflows.upgrade.bundles import NamedBundles, judge_by_name, uploaded_bundles
from checker.workflows.upgrade.current import NoCurrent, current_release
from checker.workflows.upgrade.model import ClusterUpgrade, Step, Upgrade, UpgradeError
from checker.workflows.upgrade.path import plan_path
from checker.workflows.upgrade.remediation import Planner
from checker.workflows.upgrade.steps import StepChecker

INPUT_RULES = frozenset({"K0S00"})


def run_upgrade(
    collected: Collected,
    catalog: Catalog,
    config: Config,
    *,
    to: str,
    paths: Sequence[str] = (),
    options: Options | None = None,
    selection: Selection | None = None,
    live: LiveState | None = None,
    from_version: str | None = None,
    method: str = "auto",
    url_template: str = DEFAULT_URL_TEMPLATE,
    platforms: tuple[str, ...] = ("linux/amd64",),
    live_flags: str = "",
    fail_on: str = "error",
    now: dt.datetime | None = None,
    token: str | None = None,
) -> Upgrade:
    from checker import __version__

    options = options or Options()
    selection = selection or Selection()
    try:
        target = catalog.resolve(to)
    except (UnknownRelease, ValueError) as err:
        raise UpgradeError(f"--to {to}: {err}") from None
    upgrade = Upgrade(to, target.patch, fail_on=fail_on, tool_version=__version__)
    if now is not None:
        upgrade.generated = now
    if target.note:
        upgrade.notes.append(target.note)
    if live is not None:
        upgrade.live_source = live.source
        upgrade.notes += live.notes
    found = run_check(collected, catalog, config, selection=Selection(select=INPUT_RULES))
    upgrade.input_errors += found.input_errors
    clusters: list[Cluster | None] = [c for c in found.clusters if c.configs or c.plans or c.k0sctl]
    if live is not None:
        try:
            one = cluster_for_live(found)
        except AuditError as err:
            raise UpgradeError(str(err)) from None
        clusters = [one or next(iter(c for c in found.clusters if c.k0sctl), None)]
    if not clusters or (clusters == [None] and live is None):
        raise UpgradeError("no k0s cluster found in the given paths: nothing to upgrade")
    checker = StepChecker(collected, catalog, config, selection)
    planner = Planner(
        catalog,
        paths,
        method=method,
        url_template=url_template,
        platforms=platforms,
        now=upgrade.generated,
        token=token if token is not None else secrets.token_hex(3),
        live_flags=live_flags,
    )
    for cluster in clusters:
        upgrade.clusters.append(
            _upgrade_cluster(
                cluster, catalog, config, options, live, from_version, target.patch, checker, planner, fail_on
            )
        )
    return upgrade


def _upgrade_cluster(
    cluster: Cluster | None,
    catalog: Catalog,
    config: Config,
    options: Options,
    live: LiveState | None,
    from_version: str | None,
    target: Patch,
    checker: StepChecker,
    planner: Planner,
    fail_on: str,
) -> ClusterUpgrade:
    name = cluster.name if cluster is not None else "live cluster"
    entry = ClusterUpgrade(name, target, cluster)
    try:
        entry.current, notes = current_release(cluster, config, catalog, live, from_version, target)
    except NoCurrent as err:
        if err.unknown_release:
            entry.blockers.append(str(err))
        else:
            entry.error = str(err)
        return entry
    entry.notes += notes
    path = plan_path(catalog, entry.current.patch, target)
    entry.blockers += path.blockers
    entry.notes += path.notes
    bundles = _bundles(cluster, catalog, options, live)
    entry.notes += bundles.notes
    step_options = options
    if options.airgap_images is None and bundles.images is not None:
        step_options = replace(options, airgap_images=bundles.images, airgap_images_source=bundles.source)
    for number, hop in enumerate(path.hops, start=1):
        step = Step(number, hop.source, hop.target, fail_on=fail_on)
        try:
            checks = checker.check(cluster, hop.target, step_options, live, name)
            step.findings = sorted(checks.findings, key=lambda f: f.sort_key())
            step.missing_images = checks.missing_images
            step.notes += checks.notes
            step.actions = planner.actions(number, hop, cluster, name, checks, live, step_options, bundles)
        except Exception as err:  # fail closed and without a traceback: the step cannot be called ready
            entry.error = (
                f"step {number} ({hop.target.version}) could not be checked ({type(err).__name__}: {err}); "
                "this is a bug in k0s-policy: please report it with the documents"
            )
            entry.steps.append(step)
            return entry
        entry.steps.append(step)
    return entry


def _bundles(
    cluster: Cluster | None, catalog: Catalog, options: Options, live: LiveState | None
) -> NamedBundles:
    """The bundles a k0sctl file uploads, judged by name unless their content was given."""
    if cluster is None or cluster.k0sctl is None:
        return NamedBundles()
    uploads = uploaded_bundles(cluster.k0sctl)
    if not uploads:
        return NamedBundles()
    if options.airgap_images is not None:
        return NamedBundles(uploads=uploads)  # --airgap-bundle/--airgap-images: judged by their content
    repositories = {repository_of(obj) for obj in cluster.configs} - {""}
    if live is not None and live.cluster_config is not None:
        spec = live.cluster_config.get("spec")
        images = spec.get("images") if isinstance(spec, dict) else None
        if isinstance(images, dict) and isinstance(images.get("repository"), str):
            repositories.add(images["repository"])
    return judge_by_name(catalog, uploads, sorted(repositories))
