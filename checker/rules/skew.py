"""K0S3xx: version skew between what a cluster declares, what it pins and where it upgrades to."""

from __future__ import annotations

from collections.abc import Iterator

from checker.cluster import VersionSource, versions_differ
from checker.findings import Finding, Severity
from checker.rules.base import Context, Rule


def _current_and_planned(ctx: Context) -> tuple[list[VersionSource], list[VersionSource]]:
    """Repository sources that say what the cluster runs, and Plans that say where it goes."""
    current = [
        s
        for s in ctx.cluster.version_sources
        if s.origin != "--k0s-version" and not s.origin.startswith("Plan")
    ]
    planned = [s for s in ctx.cluster.version_sources if s.origin.startswith("Plan")]
    return current, planned


def check_declared_versions_disagree(ctx: Context) -> Iterator[Finding]:
    current, planned = _current_and_planned(ctx)
    for group in (current, planned):
        if not group:
            continue
        first = group[0]
        for other in group[1:]:
            if not versions_differ(first.version, other.version):
                continue
            anchor = other if other.obj is not None else first
            if anchor.obj is None:
                anchor = next((s for s in group if s.obj is not None), None) or anchor
            message = (
                f"this cluster is declared at two k0s versions: {first.version} by {first.where} and "
                f"{other.version} by {other.where}. Only one can be right; the checks use {first.version}. "
                "Make every declaration name the same release."
            )
            if anchor.obj is not None:
                yield ctx.finding(VERSIONS_DISAGREE, anchor.obj, anchor.node, message)
            elif ctx.cluster.objects:
                yield ctx.finding(VERSIONS_DISAGREE, ctx.cluster.objects[0], (), message)


VERSIONS_DISAGREE = Rule(
    "K0S304",
    "versions-disagree",
    Severity.ERROR,
    "One cluster is declared at different k0s versions (k0sctl, Plan, .k0s-policy.yaml).",
    check=check_declared_versions_disagree,
    needs_release=False,
)

RULES = (VERSIONS_DISAGREE,)
