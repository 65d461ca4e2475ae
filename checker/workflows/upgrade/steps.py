"""The checks of one step: every rule on the repository and on the live object as if the cluster's
target were the step's release, and the images that release would run that the registry or the
bundle lack."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from checker.config import Config
from checker.findings import Finding
from checker.inputs.live import LiveState
from checker.inputs.sources import Collected
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject, Kind
from checker.k0s.releases import Catalog, Patch, Resolved
from checker.records import dataclass, field, replace
from checker.rules import Options
from checker.workflows.audit.drift import default_pins
from checker.workflows.audit.flow import check_live_config
from checker.workflows.check import Result, Selection, run_check

IMAGE_RULES = frozenset({"K0S201", "K0S207", "K0S208"})  # findings that name an image the nodes lack
FIXABLE_RULES = frozenset({"K0S101", "K0S102", "K0S104"})  # pins `k0s-policy fix` removes


@dataclass
class StepChecks:
    """What the checks of one step found, and the objects they looked at."""

    repository: list[Finding] = field(default_factory=list)
    live: list[Finding] = field(default_factory=list)
    live_object: K0sObject | None = None
    input_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [*self.repository, *self.live]

    @property
    def missing_images(self) -> list[str]:
        found = {
            str(f.data.get("image"))
            for f in self.findings
            if f.rule in IMAGE_RULES and not f.suppressed_by and f.data.get("image")
        }
        return sorted(found)


def belongs_to(finding: Finding, cluster: Cluster) -> bool:
    if finding.cluster:
        return finding.cluster == cluster.name
    root = cluster.root
    return not root or finding.path == root or finding.path.startswith(root.rstrip("/") + "/")


class StepChecker:
    """Runs the checks of each step; repository runs are shared between clusters stepping to the same
    release with the same options."""

    def __init__(
        self,
        collected: Collected,
        catalog: Catalog,
        config: Config,
        selection: Selection,
    ) -> None:
        self.collected = collected
        self.catalog = catalog
        self.config = config
        self.selection = selection
        self._runs: dict[tuple[str, frozenset[str] | None], Result] = {}

    def repository_run(self, patch: Patch, options: Options) -> Result:
        key = (patch.version, options.airgap_images)
        if key not in self._runs:
            self._runs[key] = run_check(
                self.collected,
                self.catalog,
                self.config,
                cli_version=patch.version,
                options=replace(options, registry_answers=None),
                selection=self.selection,
            )
        return self._runs[key]

    def check(
        self, cluster: Cluster | None, patch: Patch, options: Options, live: LiveState | None, name: str
    ) -> StepChecks:
        checks = StepChecks()
        if cluster is not None:
            result = self.repository_run(patch, options)
            checks.repository = [f for f in result.findings if belongs_to(f, cluster)]
            checks.input_errors = list(result.input_errors)
            checks.notes += [s for s in result.skipped if cluster.name in s]
        if live is not None and live.cluster_config is not None:
            result, obj = check_live_config(
                live,
                self.catalog,
                self.config,
                replace(options, registry_answers=None),
                patch.version,
                self.selection,
            )
            checks.live = [replace(f, cluster=name) for f in result.findings]
            checks.live_object = obj
        return checks


# --- the objects after the clean-up ------------------------------------------------------------------------


def persisted_pins(obj: K0sObject, catalog: Catalog, patch: Patch) -> list[YamlPath]:
    """The nodes of every pin in ``obj`` that is some release's default image."""
    release = catalog.release(patch.minor)
    if release is None:
        return []
    return [pin.node for pin, _ in default_pins(obj, catalog, release, patch)]


def without(obj: K0sObject, paths: Sequence[YamlPath]) -> K0sObject:
    """The object with these nodes removed (for computing what runs after the clean-up)."""
    data = copy.deepcopy(obj.data)
    for path in paths:
        node = data
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return replace(obj, data=data)


def cleaned_cluster(
    cluster: Cluster | None, live_object: K0sObject | None, catalog: Catalog, patch: Patch, name: str
) -> Cluster:
    """The cluster as the step's controllers will read it once the persisted defaults are gone: the
    live object (when read) in place of the repository's, every default pin removed."""
    objects: list[K0sObject] = []
    k0sctl = cluster.k0sctl if cluster is not None else None
    if cluster is not None:
        for obj in cluster.objects:
            if live_object is not None and obj.kind is live_object.kind and obj.is_cluster_object:
                continue  # the live object is what the controllers read
            objects.append(obj)
    if live_object is not None:
        objects.append(live_object)
    cleaned = [
        without(obj, persisted_pins(obj, catalog, patch)) if obj.kind is Kind.CLUSTER_CONFIG else obj
        for obj in objects
    ]
    return Cluster(
        name=name,
        root=cluster.root if cluster is not None else "",
        objects=cleaned,
        k0sctl=k0sctl,
        target=Resolved(patch, patch.version),
        airgapped=cluster.airgapped if cluster is not None else False,
        airgap_reason=cluster.airgap_reason if cluster is not None else "",
        registries=cluster.registries if cluster is not None else (),
    )
