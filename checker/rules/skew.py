"""K0S3xx: version skew between what a cluster declares, what it pins and where it upgrades to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from packaging.version import Version

from checker.findings import Finding, Severity
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import VersionSource, host_install_flags, versions_differ
from checker.k0s.documents import K0sObject
from checker.k0s.pins import pins_in
from checker.k0s.releases import Catalog, minor_key, parse_version
from checker.rules.base import Context, Rule

UPDATE_COMMANDS = ("k0supdate", "airgapupdate")
PLAN_NAME = "autopilot"
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


def _current_and_planned(ctx: Context) -> tuple[list[VersionSource], list[VersionSource]]:
    """Repository sources that say what the cluster runs, and Plans that say where it goes."""
    current = [
        s
        for s in ctx.cluster.version_sources
        if s.origin != "--k0s-version" and not s.origin.startswith("Plan")
    ]
    planned = [s for s in ctx.cluster.version_sources if s.origin.startswith("Plan")]
    return current, planned


# --- K0S304 --------------------------------------------------------------------------------------------


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
            message = f"cluster declared at two k0s versions: {first.version} and {other.version}"
            found = {
                "fix": f"make every declaration name the same release (checked against {first.version})",
                "detail": f"{first.version} is declared by {first.where}, {other.version} by {other.where}. "
                f"Only one can be right; the checks use {first.version}.",
            }
            if anchor.obj is not None:
                yield ctx.finding(VERSIONS_DISAGREE, anchor.obj, anchor.node, message, **found)
            elif ctx.cluster.objects:
                yield ctx.finding(VERSIONS_DISAGREE, ctx.cluster.objects[0], (), message, **found)


# --- K0S301 --------------------------------------------------------------------------------------------

# The leading Kubernetes version of an image tag: v1.29.4, v1.36.3-1, v1.36.3-calico-hostprocess.
_TAG_VERSION_RE = re.compile(r"v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.[0-9]+)?(?:[-+_.].*)?")


def tag_minor(tag: str | None) -> tuple[int, int] | None:
    """The Kubernetes minor an image tag names, or None when the tag names no version."""
    if not tag:
        return None
    match = _TAG_VERSION_RE.fullmatch(tag)
    if match is None:
        return None
    return int(match["major"]), int(match["minor"])


def _kube_proxy_disabled(obj: K0sObject) -> bool:
    return obj.get("spec", "network", "kubeProxy", "disabled") is True


def check_kube_proxy_skew(ctx: Context) -> Iterator[Finding]:
    patch = ctx.cluster.patch
    release = ctx.catalog.release(patch.minor) if patch else None
    if patch is None or release is None:
        return
    kubelet = minor_key(patch.kubernetes)
    for obj in ctx.cluster.configs:
        if _kube_proxy_disabled(obj):
            continue  # the pin is never used
        for pin in pins_in(obj, release, patch):
            if pin.component not in release.kubernetes_versioned or pin.ref is None:
                continue
            pinned = tag_minor(pin.ref.tag)
            if pinned is None or pinned == kubelet:
                continue
            default = patch.images.get(pin.component, "")
            shipped = f" (k0s {patch.version} ships {default})" if default else ""
            yield ctx.finding(
                KUBE_PROXY_SKEW,
                obj,
                pin.anchor,
                f"{pin.label} pinned to a Kubernetes {pinned[0]}.{pinned[1]} image, but k0s {patch.version} "
                f"runs {patch.kubernetes} kubelets",
                fix=f"remove {obj.describe(pin.node)} or pin a v{kubelet[0]}.{kubelet[1]}.x image",
                detail=f"{pin.written} is a Kubernetes {pinned[0]}.{pinned[1]} image. k0s requires kube-proxy "
                "on a node to be of the same minor as its kubelet (stricter than the upstream Kubernetes "
                f"policy). Without the pin k0s runs its own kube-proxy{shipped}.",
                subject=pin.component,
            )


# --- K0S302 / K0S303 -----------------------------------------------------------------------------------

_HAS_PATCH_RE = re.compile(r"\s*v?[0-9]+\.[0-9]+\.[0-9]+")


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def version_order(older: str, newer: str) -> int | None:
    """+1 when ``newer`` is above ``older``, -1 below, 0 equal (or too vague to tell); None if unparseable.

    A bare minor (``1.30``) is only compared by minor; build suffixes (``+k0s.N``) only when both
    versions carry one, as ``v1.30.2`` means the newest ``+k0s.N`` of 1.30.2.
    """
    try:
        a, b = parse_version(older), parse_version(newer)
    except ValueError:
        return None
    if a.major != b.major:
        return _sign(b.major - a.major)
    if a.minor != b.minor:
        return _sign(b.minor - a.minor)
    if not (_HAS_PATCH_RE.match(older) and _HAS_PATCH_RE.match(newer)):
        return 0
    public_a, public_b = Version(a.public), Version(b.public)
    if public_a != public_b:
        return 1 if public_b > public_a else -1
    if a.local is not None and b.local is not None and a != b:
        return 1 if b > a else -1
    return 0


def intermediate_minors(catalog: Catalog, older: str, newer: str) -> list[str]:
    """The minors between two versions, each with its newest known patch: ``1.30 (v1.30.14+k0s.0)``."""
    a, b = minor_key(older), minor_key(newer)
    if a[0] != b[0]:
        return []
    steps: list[str] = []
    for minor in range(a[1] + 1, b[1]):
        name = f"{a[0]}.{minor}"
        release = catalog.release(name)
        steps.append(f"{name} (newest patch {release.newest.version})" if release else name)
    return steps


class _Upgrade(NamedTuple):
    """An upgrade problem: the rule it breaks and the finding's three texts."""

    rule: Rule
    message: str
    fix: str
    detail: str


def _skip(subject: str, old: VersionSource, new: VersionSource, catalog: Catalog) -> _Upgrade:
    steps = intermediate_minors(catalog, old.version, new.version)
    apart = minor_key(new.version)[1] - minor_key(old.version)[1]
    target_minor = "{}.{}".format(*minor_key(new.version))
    order = " then ".join(steps)
    minors = ", ".join(step.split(" ")[0] for step in steps)
    return _Upgrade(
        SKIPS_MINOR,
        f"{subject} moves k0s {old.version} to {new.version}, {apart} minor releases at once",
        f"upgrade through {minors} first (each on its newest patch), then {target_minor}",
        f"The cluster is at {old.version} (declared by {old.where}). k0s supports upgrading one minor at a time, "
        f"and neither autopilot nor k0sctl stops a bigger jump. Install {order} first, then {target_minor}.",
    )


def _downgrade(subject: str, old: VersionSource, new: VersionSource) -> _Upgrade:
    return _Upgrade(
        DOWNGRADE,
        f"{subject} moves k0s {old.version} back to {new.version}; k0s does not support downgrades",
        "restore a backup taken on the older release (`k0s backup` / `k0s restore`) instead",
        f"The cluster is at {old.version} (declared by {old.where}). k0s does not support downgrades (k0sctl "
        "refuses them): to return to an older release, restore a backup taken on that release "
        "(`k0s backup` / `k0s restore`) instead of rolling the version back.",
    )


def _compare(ctx: Context, old: VersionSource, new: VersionSource, subject: str) -> _Upgrade | None:
    order = version_order(old.version, new.version)
    if order is None:
        return None
    if order < 0:
        return _downgrade(subject, old, new)
    if order > 0 and minor_key(new.version)[1] - minor_key(old.version)[1] > 1:
        return _skip(subject, old, new, ctx.catalog)
    return None


def _anchor(ctx: Context, source: VersionSource) -> tuple[K0sObject, YamlPath] | None:
    if source.obj is not None:
        return source.obj, source.node
    for other in ctx.cluster.version_sources:
        if other.obj is not None and not versions_differ(other.version, source.version):
            return other.obj, other.node
    if ctx.cluster.objects:
        return ctx.cluster.objects[0], ()
    return None


def check_upgrade_path(ctx: Context) -> Iterator[Finding]:
    """K0S302 and K0S303: Plans against the declared version, and the target against the base revision."""
    current, planned = _current_and_planned(ctx)
    if current:
        now = current[0]
        for plan in planned:
            assert plan.obj is not None
            found = _compare(ctx, now, plan, f"this Plan's {plan.origin.removeprefix('Plan ')}")
            if found is not None:
                yield ctx.finding(
                    found.rule,
                    plan.obj,
                    plan.node,
                    found.message,
                    fix=found.fix,
                    detail=found.detail,
                    release=plan.version,
                )
    base_version = ctx.options.base_versions.get(ctx.cluster.name)
    head = ctx.cluster.target_source or (current[0] if current else None)
    if base_version and head is not None:
        base = VersionSource("the base revision", base_version)
        found = _compare(ctx, base, head, f"this change ({head.origin})")
        anchor = _anchor(ctx, head)
        if found is not None and anchor is not None:
            yield ctx.finding(
                found.rule,
                anchor[0],
                anchor[1],
                found.message,
                fix=found.fix,
                detail=found.detail,
                release=head.version,
                base=base_version,
            )


# --- K0S305 --------------------------------------------------------------------------------------------


def _commands(plan: K0sObject) -> list[tuple[int, str, dict[str, object]]]:
    commands = plan.get("spec", "commands")
    found: list[tuple[int, str, dict[str, object]]] = []
    for index, command in enumerate(commands if isinstance(commands, list) else []):
        if not isinstance(command, dict):
            continue
        for kind in UPDATE_COMMANDS:
            body = command.get(kind)
            if isinstance(body, dict):
                found.append((index, kind, body))
    return found


def runs_controller_workers(ctx: Context) -> str:
    """Why the cluster's controllers also run workloads ("" when they do not or we cannot tell)."""
    k0sctl = ctx.cluster.k0sctl
    if k0sctl is None:
        return ""
    hosts = k0sctl.get("spec", "hosts")
    for host in hosts if isinstance(hosts, list) else []:
        role = host.get("role") if isinstance(host, dict) else None
        if role in ("controller+worker", "single"):
            return f"a k0sctl host has role {role}"
    if any("--enable-worker" in flags for flags in host_install_flags(k0sctl)):
        return "a k0sctl host is installed with --enable-worker"
    return ""


def check_autopilot_plans(ctx: Context) -> Iterator[Finding]:
    worker_controllers = runs_controller_workers(ctx)
    for plan in ctx.cluster.plans:
        name = plan.get("metadata", "name")
        if name != PLAN_NAME:
            node: YamlPath = ("metadata", "name") if name is not None else ()
            written = f"named {name!r}" if name is not None else "without metadata.name"
            yield ctx.finding(
                AUTOPILOT_PLAN,
                plan,
                node,
                f"autopilot Plan {written} never runs: autopilot only executes the Plan named {PLAN_NAME!r}",
                fix=f"set metadata.name: {PLAN_NAME}",
                detail="Autopilot watches one Plan by name; any other Plan is stored and ignored, so the "
                "update it describes never happens.",
                subject="name",
            )
        for index, kind, body in _commands(plan):
            platforms = body.get("platforms")
            for platform, entry in platforms.items() if isinstance(platforms, dict) else []:
                checksum = entry.get("sha256") if isinstance(entry, dict) else None
                if checksum and not (isinstance(checksum, str) and _SHA256_RE.fullmatch(checksum)):
                    yield ctx.finding(
                        AUTOPILOT_PLAN,
                        plan,
                        ("spec", "commands", index, kind, "platforms", platform, "sha256"),
                        f"{kind} {platform}: sha256 {str(checksum)[:44]!r} is not a SHA-256 checksum "
                        "(64 hex digits).",
                        fix=f"write the sha256 of the file at the {platform} url (sha256sum FILE)",
                        detail=(
                            "Autopilot decodes the checksum before it downloads: a value that is not hex "
                            "fails the download ('invalid update hash'), and hex of another length never "
                            "matches the file, so the Plan stops with an error on the first node."
                        ),
                        subject=f"sha256:{platform}",
                    )
                    continue
                if isinstance(entry, dict) and not entry.get("sha256"):
                    yield ctx.finding(
                        AUTOPILOT_PLAN,
                        plan,
                        ("spec", "commands", index, kind, "platforms", platform),
                        f"{kind} platform {platform} gives a download url but no sha256",
                        at_key=True,
                        fix=f"add the file's sha256 checksum to platforms.{platform}.sha256",
                        detail="Without a checksum autopilot installs whatever the url serves without "
                        "verifying it.",
                        severity=Severity.WARNING,
                        subject=f"sha256:{platform}",
                    )
            if kind == "airgapupdate" and worker_controllers:
                yield ctx.finding(
                    AUTOPILOT_PLAN,
                    plan,
                    ("spec", "commands", index, kind),
                    f"airgapupdate stalls in SchedulableWait on controllers that run workloads "
                    f"({worker_controllers})",
                    at_key=True,
                    fix="use a k0s release with the fix of k0s #7303, or upload the bundle with k0sctl",
                    detail="On controller+worker nodes the worker side of autopilot does not run, and the "
                    "plan stalls in SchedulableWait (k0s issue #7303, fixed upstream by #7304). Use a k0s "
                    "release with that fix, or deliver the air-gap bundle another way (k0sctl files upload) "
                    "on controller+worker nodes.",
                    severity=Severity.WARNING,
                    subject="airgapupdate",
                )


KUBE_PROXY_SKEW = Rule(
    "K0S301",
    "kube-proxy-minor-skew",
    Severity.ERROR,
    "A pinned kube-proxy image is of another Kubernetes minor than the kubelets of the target release.",
    check=check_kube_proxy_skew,
)
SKIPS_MINOR = Rule(
    "K0S302",
    "upgrade-skips-minor",
    Severity.ERROR,
    "An upgrade (Plan, or the change against the base revision) jumps more than one k0s minor.",
    check=check_upgrade_path,
    needs_release=False,
)
DOWNGRADE = Rule(
    "K0S303",
    "downgrade",
    Severity.ERROR,
    "A Plan or change moves the cluster to an older k0s release; k0s does not support downgrades.",
    check=check_upgrade_path,
    needs_release=False,
)
VERSIONS_DISAGREE = Rule(
    "K0S304",
    "versions-disagree",
    Severity.ERROR,
    "One cluster is declared at different k0s versions (k0sctl, Plan, .k0s-policy.yaml).",
    check=check_declared_versions_disagree,
    needs_release=False,
)
AUTOPILOT_PLAN = Rule(
    "K0S305",
    "autopilot-plan",
    Severity.ERROR,
    "An autopilot Plan that never runs (wrong name), downloads unverified files, cannot verify them "
    "(malformed sha256) or is known to stall.",
    check=check_autopilot_plans,
    needs_release=False,
)

# Reported by `k0s-policy audit` (checker.workflows.audit.flow) from the versions the live nodes report.
NODE_SKEW = Rule(
    "K0S306",
    "live-node-version-skew",
    Severity.ERROR,
    "Live nodes break the version-skew policy: control planes over one minor apart, or a kubelet "
    "newer than the oldest control plane or too far behind it.",
    needs_release=False,
)

RULES = (KUBE_PROXY_SKEW, SKIPS_MINOR, DOWNGRADE, VERSIONS_DISAGREE, AUTOPILOT_PLAN, NODE_SKEW)
