"""The upgrade path: k0s upgrades one minor at a time, each intermediate step to the newest patch of
its minor in the release data, the last step to exactly the requested release."""

from __future__ import annotations

from checker.k0s.releases import Catalog, Patch, minor_key
from checker.records import dataclass


@dataclass(frozen=True)
class Hop:
    source: Patch
    target: Patch


@dataclass
class UpgradePath:
    hops: list[Hop]
    blockers: list[str]  # why no path works: a downgrade, another major, a minor without data
    notes: list[str]


def plan_path(catalog: Catalog, current: Patch, target: Patch) -> UpgradePath:
    if target.parsed < current.parsed:
        return UpgradePath(
            [],
            [
                f"k0s {target.version} is older than the running {current.version}: k0s does not support "
                "downgrades (k0sctl refuses them); restore a backup taken on the older release instead "
                "(k0s backup / k0s restore)"
            ],
            [],
        )
    if target.parsed == current.parsed:
        return UpgradePath([], [], [f"the cluster already runs {target.version}: nothing to upgrade"])
    start, end = minor_key(current.parsed), minor_key(target.parsed)
    if start[0] != end[0]:
        return UpgradePath(
            [], [f"k0s {current.version} and {target.version} are of different major versions"], []
        )
    hops: list[Hop] = []
    blockers: list[str] = []
    source = current
    for minor in range(start[1] + 1, end[1]):
        name = f"{start[0]}.{minor}"
        release = catalog.release(name)
        if release is None:
            blockers.append(
                f"the path goes through k0s {name}, which is not in the release data: add its release "
                "file (k0s-policy releases import) to plan that step"
            )
            return UpgradePath(hops, blockers, [])
        hops.append(Hop(source, release.newest))
        source = release.newest
    hops.append(Hop(source, target))
    notes: list[str] = []
    newest_current = catalog.release(current.minor)
    if len(hops) and end != start and newest_current is not None and newest_current.newest != current:
        notes.append(
            f"k0s's upgrade guide asks to be on the newest patch of {current.minor} "
            f"({newest_current.newest.version}) before stepping to the next minor"
        )
    return UpgradePath(hops, blockers, notes)
