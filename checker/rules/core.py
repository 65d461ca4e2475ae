"""K0S0xx: input, schema and release-resolution problems."""

from __future__ import annotations

from collections.abc import Iterator

from checker.findings import Finding, Severity
from checker.rules.base import Context, Rule
from checker.validate.schemas import SCHEMA_RULE_ID


def _first_object_finding(ctx: Context, rule: Rule, message: str, fix: str, detail: str) -> Iterator[Finding]:
    """Points at the node that declared the version, or at the cluster's first object."""
    source = ctx.cluster.target_source
    if source is not None and source.obj is not None:
        yield ctx.finding(rule, source.obj, source.node, message, fix=fix, detail=detail)
        return
    if ctx.cluster.objects:
        yield ctx.finding(rule, ctx.cluster.objects[0], (), message, fix=fix, detail=detail)


def check_unknown_release(ctx: Context) -> Iterator[Finding]:
    cluster = ctx.cluster
    if not cluster.target_error:
        return
    source = cluster.target_source
    version = source.version if source else "?"
    origin = f" The version is declared by {source.where}." if source else ""
    if len(version) > 40:
        version = version[:39] + "…"
    error = cluster.target_error
    reason = "not in the release data" if "release data" in cluster.target_error else "not a k0s version"
    yield from _first_object_finding(
        ctx,
        UNKNOWN_RELEASE,
        f"cannot check against k0s {version}: {reason}; rules that need release data were skipped",
        "correct the version, or update k0s-policy (or its release data) if the release is newer",
        f"{error}.{origin} Rules that need release data were skipped for this cluster.",
    )


def check_target_note(ctx: Context) -> Iterator[Finding]:
    cluster = ctx.cluster
    if cluster.assumed_newest and cluster.patch is not None:
        yield from _first_object_finding(
            ctx,
            TARGET_NOTE,
            f"no k0s version is declared for this cluster; checked against the newest known {cluster.patch.version}",
            "declare the version (k0sctl spec.k0s.version, .k0s-policy.yaml or --k0s-version)",
            "Without a declared version (no --k0s-version, .k0s-policy.yaml entry, k0sctl spec.k0s.version "
            "or Plan) the checks assume the newest release in the data; declare the version to check "
            "against the release you run.",
        )
    elif cluster.target is not None and cluster.target.note:
        yield from _first_object_finding(
            ctx,
            TARGET_NOTE,
            cluster.target.note,
            "declare a version that is in the release data, or update k0s-policy",
            "The release data has no entry for exactly this version, so the checks use the nearest "
            "release it knows.",
        )


YAML_ERROR = Rule(
    "K0S001",
    "unreadable-input",
    Severity.ERROR,
    "A file or document cannot be read: YAML syntax error, not text, or over a safety limit.",
    needs_release=False,
)
SCHEMA_VIOLATION = Rule(
    SCHEMA_RULE_ID,
    "schema-violation",
    Severity.ERROR,
    "A k0s, k0sctl or autopilot document does not match the schema of its k0s release.",
)
UNKNOWN_RELEASE = Rule(
    "K0S003",
    "unknown-release",
    Severity.ERROR,
    "The cluster's k0s version is not in the release data, so release checks are skipped.",
    check=check_unknown_release,
    needs_release=False,
)
NEAR_MISS = Rule(
    "K0S004",
    "near-miss-api-version",
    Severity.ERROR,
    "An apiVersion or kind that is almost a k0s one: k0s and k0sctl will not read the document.",
    needs_release=False,
)
TARGET_NOTE = Rule(
    "K0S005",
    "target-version-assumed",
    Severity.INFO,
    "The cluster's target k0s version was assumed or approximated from the release data.",
    check=check_target_note,
    needs_release=False,
)
INTERNAL_ERROR = Rule(
    "K0S008",
    "internal-error",
    Severity.ERROR,
    "A check failed on input it did not expect; the other checks ran, this one is reported instead.",
    needs_release=False,
)
SUPPRESSION_WITHOUT_REASON = Rule(
    "K0S009",
    "suppression-without-reason",
    Severity.WARNING,
    "An inline `k0s-policy: ignore[...]` comment gives no reason, so it suppresses nothing.",
    needs_release=False,
)
EXPIRED_IGNORE = Rule(
    "K0S010",
    "expired-ignore",
    Severity.INFO,
    "An `ignore:` entry of `.k0s-policy.yaml` is past its `expires:` date and suppresses nothing now.",
    needs_release=False,
)

RULES = (
    YAML_ERROR,
    SCHEMA_VIOLATION,
    UNKNOWN_RELEASE,
    NEAR_MISS,
    TARGET_NOTE,
    INTERNAL_ERROR,
    SUPPRESSION_WITHOUT_REASON,
    EXPIRED_IGNORE,
)
