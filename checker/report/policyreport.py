"""Policy Reports: the ``wgpolicyk8s.io/v1alpha2`` objects Kyverno, Trivy Operator and Falco write and
Policy Reporter aggregates.

One ``PolicyReport`` per cluster, in ``kube-system`` and scoped to the cluster's ClusterConfig object
``kube-system/k0s`` (the object k0s reads); findings that belong to no cluster (a file that is not YAML)
go into one ``ClusterPolicyReport`` so that nothing is lost. One report is written as it is; several
are wrapped in a ``v1`` ``List``, which ``kubectl apply -f`` takes as well.

Results:

- a finding at or above ``--fail-on`` is ``fail``, one below it ``warn`` (so the report agrees with the
  exit code); an internal error (K0S008) is ``error``;
- a suppressed finding is ``skip``, with the suppression's reason in its properties;
- a rule that was skipped for the cluster (unknown release, no image list) is ``skip``;
- a rule that ran on the cluster and found nothing is ``pass``.

Severity maps error/warning/info to high/medium/low, the values every version of the CRD accepts.
Properties are strings (the CRD says so): file, line, column, node, cluster, fingerprint, fix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from checker.findings import Finding, Severity
from checker.report.model import ReportInput

if TYPE_CHECKING:
    from checker.workflows.audit.model import Audit

API_VERSION = "wgpolicyk8s.io/v1alpha2"
GROUP, VERSION = API_VERSION.split("/")
SOURCE = "k0s-policy"
FIELD_MANAGER = "k0s-policy"
CONFIG_API_VERSION = "k0s.k0sproject.io/v1beta1"
CONFIG_NAMESPACE = "kube-system"
CONFIG_NAME = "k0s"
REPOSITORY_REPORT = "k0s-policy-repository"
SEVERITIES = {Severity.ERROR: "high", Severity.WARNING: "medium", Severity.INFO: "low"}
RESULTS = ("pass", "fail", "warn", "error", "skip")
INTERNAL_ERROR_RULE = "K0S008"
INPUT_POLICY = "k0s-policy/input"
SCHEMA_RULE = "K0S002"
LABELS = {"app.kubernetes.io/managed-by": "k0s-policy", "app.kubernetes.io/part-of": "k0s-policy"}


def rule_name(rule_id: str) -> str:
    from checker.rules import RULES_BY_ID

    rule = RULES_BY_ID.get(rule_id.upper())
    return rule.name if rule is not None else rule_id


def outcome(finding: Finding, fail_on: str) -> str:
    if finding.suppressed_by:
        return "skip"
    if finding.rule.upper() == INTERNAL_ERROR_RULE:
        return "error"
    if fail_on != "never" and finding.severity >= Severity.parse(fail_on):
        return "fail"
    return "warn"


def finding_result(finding: Finding, fail_on: str, seconds: int) -> dict[str, Any]:
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "column": str(finding.column),
        "node": finding.node,
        "cluster": finding.cluster,
        "fingerprint": finding.fingerprint,
        "fix": finding.fix,
    }
    detail = getattr(finding, "detail", "")
    if detail:
        properties["detail"] = str(detail)
    if finding.suppressed_by:
        properties["suppressed"] = finding.suppressed_by
    return {
        "source": SOURCE,
        "policy": finding.rule,
        "rule": rule_name(finding.rule),
        "result": outcome(finding, fail_on),
        "severity": SEVERITIES[finding.severity],
        "message": finding.message,
        "scored": True,
        "timestamp": {"seconds": seconds, "nanos": 0},
        "properties": {key: value for key, value in properties.items() if value},
    }


def _plain_result(policy: str, result: str, message: str, seconds: int, **properties: str) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "policy": policy,
        "rule": rule_name(policy),
        "result": result,
        "message": message,
        "scored": True,
        "timestamp": {"seconds": seconds, "nanos": 0},
        "properties": {key: value for key, value in properties.items() if value},
    }


def _input_error(error: str, seconds: int) -> dict[str, Any]:
    """An input that could not be read: nothing in it was checked (the run exits 2)."""
    return {**_plain_result(INPUT_POLICY, "error", error, seconds), "rule": "input-error"}


def summary(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(RESULTS, 0)
    for result in results:
        counts[result["result"]] += 1
    return counts


def object_name(prefix: str, cluster: str) -> str:
    """A DNS-1123 name for a cluster's report: readable, at most 63 characters, unique per cluster."""
    slug = re.sub(r"[^a-z0-9]+", "-", cluster.lower()).strip("-") or "cluster"
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:8]
    head = f"{prefix}-{slug}"[: 63 - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def policy_report(
    name: str,
    results: list[dict[str, Any]],
    *,
    namespace: str = CONFIG_NAMESPACE,
    cluster: str = "",
) -> dict[str, Any]:
    """A namespaced PolicyReport scoped to the ClusterConfig kube-system/k0s."""
    annotations = {"k0s-policy/cluster": cluster} if cluster else {}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(LABELS)}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": API_VERSION,
        "kind": "PolicyReport",
        "metadata": metadata,
        "scope": {
            "apiVersion": CONFIG_API_VERSION,
            "kind": "ClusterConfig",
            "name": CONFIG_NAME,
            "namespace": CONFIG_NAMESPACE,
        },
        "results": results,
        "summary": summary(results),
    }


def cluster_policy_report(name: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterPolicyReport",
        "metadata": {"name": name, "labels": dict(LABELS)},
        "results": results,
        "summary": summary(results),
    }


def _skips_by_cluster(skipped: Iterable[str], clusters: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(rule id, reason) per cluster from the run's "<rule> for cluster <name>: <reason>" notes."""
    found: dict[str, list[tuple[str, str]]] = {}
    by_length = sorted(clusters, key=len, reverse=True)
    for note in skipped:
        subject, _, rest = note.partition(" for cluster ")
        cluster = next((c for c in by_length if rest.startswith(f"{c}: ")), None)
        if cluster is None:
            continue
        rule = subject if re.fullmatch(r"[A-Z0-9_]+", subject) else SCHEMA_RULE
        found.setdefault(cluster, []).append((rule, rest[len(cluster) + 2 :]))
    return found


def cluster_results(
    report: ReportInput, cluster: str, findings: Sequence[Finding], seconds: int
) -> list[dict[str, Any]]:
    """Every result of one cluster: its findings, its skipped rules, and its rules that passed."""
    results = [finding_result(f, report.fail_on, seconds) for f in findings]
    skipped = _skips_by_cluster(report.skipped, [c.name for c in report.clusters]).get(cluster, [])
    for rule, reason in skipped:
        results.append(_plain_result(rule, "skip", f"not checked: {reason}", seconds, cluster=cluster))
    hit = {f.rule for f in findings} | {rule for rule, _ in skipped}
    for rule in sorted(report.cluster_rules.get(cluster, set()) - hit):
        results.append(_plain_result(rule, "pass", "no findings", seconds, cluster=cluster))
    return results


def reports(report: ReportInput, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The report objects of a check: one PolicyReport per cluster, one ClusterPolicyReport for the rest."""
    seconds = int((now or dt.datetime.now(dt.UTC)).timestamp())
    names = [c.name for c in report.clusters]
    by_cluster: dict[str, list[Finding]] = {name: [] for name in names}
    loose: list[Finding] = []
    for finding in report.findings:
        by_cluster.get(finding.cluster, loose).append(finding)
    objects = [
        policy_report(
            object_name(SOURCE, name), cluster_results(report, name, by_cluster[name], seconds), cluster=name
        )
        for name in names
    ]
    if loose or report.input_errors or not objects:
        results = [finding_result(f, report.fail_on, seconds) for f in loose]
        results += [_input_error(error, seconds) for error in report.input_errors]
        objects.append(cluster_policy_report(REPOSITORY_REPORT, results))
    return objects


def as_document(objects: list[dict[str, Any]]) -> dict[str, Any]:
    if len(objects) == 1:
        return objects[0]
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": objects}


def write(report: ReportInput, out: TextIO) -> None:
    out.write(json.dumps(as_document(reports(report)), indent=2))
    out.write("\n")


# --- audits --------------------------------------------------------------------------------------------

AUDIT_REPORT = "k0s-policy-audit"


def audit_report(
    audit: Audit,
    *,
    name: str = AUDIT_REPORT,
    namespace: str = CONFIG_NAMESPACE,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """One PolicyReport for a scheduled audit: the repository's and the live object's findings, the
    repository cluster's skipped and passed rules, and every drift entry (fail when it needs action)."""
    from checker.report.model import report_input

    seconds = int((now or audit.generated).timestamp())
    report = report_input(audit.repository)
    report.fail_on = audit.fail_on
    findings = sorted(audit.findings, key=Finding.sort_key)
    cluster = audit.cluster.name if audit.cluster is not None else ""
    results = [finding_result(f, audit.fail_on, seconds) for f in findings]
    if cluster:
        skipped = _skips_by_cluster(report.skipped, [cluster]).get(cluster, [])
        for rule, reason in skipped:
            results.append(_plain_result(rule, "skip", f"not checked: {reason}", seconds, cluster=cluster))
        hit = {f.rule for f in findings} | {rule for rule, _ in skipped}
        for rule in sorted(report.cluster_rules.get(cluster, set()) - hit):
            results.append(_plain_result(rule, "pass", "no findings", seconds, cluster=cluster))
    for drift in audit.drift:
        results.append(
            {
                **_plain_result(
                    "drift",
                    "fail" if drift.needs_action and audit.fail_on != "never" else "pass",
                    f"{drift.object} differs from the repository: {drift.describe()}",
                    seconds,
                    object=drift.object,
                    field=drift.field,
                    change=drift.change,
                    category=drift.category,
                    note=drift.note,
                ),
                "rule": drift.category,
            }
        )
    results += [_input_error(error, seconds) for error in audit.repository.input_errors]
    return policy_report(name, results, namespace=namespace, cluster=cluster)


def write_audit(audit: Audit, out: TextIO) -> None:
    out.write(json.dumps(audit_report(audit), indent=2))
    out.write("\n")
