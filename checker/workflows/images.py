"""`k0s-policy images`: the images each cluster's nodes will run on its target release.

The repository is read exactly as `check` reads it (the K0S00x input checks run too): a list built
from a file k0s would reject, or for a cluster whose release is unknown, is not the truth, so such
input ends the run with the findings instead of a list.
"""

from __future__ import annotations

from checker.config import Config
from checker.findings import Finding, Severity
from checker.inputs.sources import Collected
from checker.k0s.cluster import Cluster
from checker.k0s.needed import NeededImage, added_since, needed_images
from checker.k0s.releases import Catalog, Patch, UnknownRelease
from checker.records import dataclass, field
from checker.workflows.check import Selection, run_check

INPUT_RULES = frozenset({"K0S00"})


class ImagesError(Exception):
    """A problem with the command's own inputs (exit code 2)."""


@dataclass
class ClusterImages:
    cluster: Cluster
    patch: Patch
    images: list[NeededImage]
    since: Patch | None = None  # with --from: the release the mirror already serves


@dataclass
class ImagesResult:
    clusters: list[ClusterImages] = field(default_factory=list)
    blocking: list[Finding] = field(default_factory=list)  # input errors that make any list untrue
    input_errors: list[str] = field(default_factory=list)
    insecure_sources: frozenset[str] = frozenset()  # skopeo-sync: source registries reached over HTTP


def run_images(
    collected: Collected,
    catalog: Catalog,
    config: Config,
    *,
    cli_version: str | None = None,
    from_version: str | None = None,
) -> ImagesResult:
    since: Patch | None = None
    if from_version is not None:
        try:
            since = catalog.resolve(from_version).patch
        except (UnknownRelease, ValueError) as err:
            raise ImagesError(f"--from {from_version}: {err}") from None
    checked = run_check(
        collected, catalog, config, cli_version=cli_version, selection=Selection(select=INPUT_RULES)
    )
    result = ImagesResult(input_errors=list(checked.input_errors))
    result.blocking = [f for f in checked.active if f.severity >= Severity.ERROR]
    for cluster in checked.clusters:
        if cluster.patch is None:
            continue  # K0S003 is among the blocking findings
        try:
            images = needed_images(cluster, catalog)
            if since is not None:
                images = added_since(images, needed_images(cluster, catalog, since))
        except Exception as err:  # fail closed and without a traceback, as check's K0S008 does
            result.input_errors.append(
                f"cluster {cluster.name}: listing its images failed ({type(err).__name__}: {err}); "
                "this is a bug in k0s-policy: please report it with the documents"
            )
            continue
        result.clusters.append(ClusterImages(cluster, cluster.patch, images, since))
    return result
