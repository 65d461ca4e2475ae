"""What every report writer receives: findings plus the facts of the run a summary needs."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from checker.findings import Count, Finding, counts, finding_counts, summary_line
from checker.records import dataclass, field
from checker.report.style import TextOptions

if TYPE_CHECKING:
    from checker.workflows.check import Result

RULE_DOCS_URI = "https://github.com/k0s-policy/k0s-policy/blob/main/docs/rules/{id}.md"


@cache
def rule_page(rule_id: str) -> str | None:
    """The rule's documentation page as shipped in the package, or None (custom policies)."""
    # The data package's folder, not importlib.resources: that import alone costs the pre-commit run ~10 ms.
    page = Path(next(iter(importlib.import_module("checker.ruledocs").__path__))) / f"{rule_id}.md"
    return page.read_text(encoding="utf-8") if page.is_file() else None


def rule_docs_uri(rule_id: str) -> str:
    """Where the rule's page is read online, "" for ids without a page."""
    return RULE_DOCS_URI.format(id=rule_id) if rule_page(rule_id) is not None else ""


@dataclass(frozen=True)
class ClusterLine:
    name: str
    target: str
    source: str
    airgapped: bool
    dynamic_config: bool


@dataclass(frozen=True)
class CheckedObject:
    """One k0s object that was checked: where it starts and what it is (for per-object reports)."""

    path: str
    line: int
    kind: str
    name: str
    cluster: str
    base: str = ""  # its YAML path inside the document ("spec.k0s.config" when embedded)


@dataclass
class ReportInput:
    findings: list[Finding]
    files_read: int = 0
    documents: int = 0
    objects: int = 0
    clusters: list[ClusterLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    tool_version: str = ""
    show_suppressed: bool = False
    verbose: bool = False  # --verbose: text output prints each finding's detail under it
    text: TextOptions = field(default_factory=TextOptions)  # --color, --quiet, --statistics
    fail_on: str = "error"  # --fail-on: reports that mark failures (JUnit) agree with the exit code
    checked: list[CheckedObject] = field(default_factory=list)
    # PR mode and baselines: remarks on the comparison, what the change fixed (None: not asked
    # for) and the findings that suppression comments added by the change silence (None: no PR mode)
    notes: list[str] = field(default_factory=list)
    fixed: list[Finding] | None = None
    added_suppressions: list[Finding] | None = None
    # Rego policies (--policy): rules that passed per (file, namespace), conftest's "successes"
    policy_successes: dict[tuple[str, str], int] = field(default_factory=dict)
    # built-in rules that ran per checked file (conftest-json counts those without findings)
    rules_run: dict[str, set[str]] = field(default_factory=dict)
    # check --shard K/N: (K, N); the JSON report records it so merge-reports can tell a shard is missing
    shard: tuple[int, int] | None = None
    # built-in rules that ran per cluster (Policy Reports list those without findings as passed)
    cluster_rules: dict[str, set[str]] = field(default_factory=dict)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]

    def summary_line(self) -> str:
        """`2 files, 2 documents, 1 cluster: 19 errors, 4 warnings` (checker.findings.summary_line)."""
        scope: list[Count] = [
            (self.files_read, "file"),
            (self.documents, "document"),
            (len(self.clusters), "cluster"),
        ]
        outcome: list[Count] = [
            *finding_counts(self.findings),
            (len(self.skipped), "check skipped", "checks skipped"),
            (len(self.input_errors), "input error"),
        ]
        return summary_line(scope, outcome)

    def summary(self) -> dict[str, object]:
        return {
            "files_read": self.files_read,
            "documents_checked": self.documents,
            "k0s_objects": self.objects,
            "clusters": len(self.clusters),
            "findings": counts(self.findings),
            "checks_skipped": len(self.skipped),
            "input_errors": len(self.input_errors),
        }


def report_input(result: Result) -> ReportInput:
    """The report of one check run."""
    from checker import __version__

    clusters = []
    checked = [
        CheckedObject(obj.path, obj.start.line, str(obj.kind), obj.name, cluster.name, obj.describe(()))
        for cluster in result.clusters
        for obj in cluster.objects
        if obj.path not in result.context
    ]
    for cluster in result.clusters:
        if cluster.patch is not None:
            target = cluster.patch.version
        elif cluster.target_unknown:
            target = "unknown"
        else:
            target = f"unknown ({cluster.target_source.version if cluster.target_source else '?'})"
        if cluster.assumed_newest:
            source = "assumed: no version declared"
        elif cluster.target_unknown:
            source = cluster.target_unknown
        elif cluster.target_source is not None:
            source = f"from {cluster.target_source.where}"
        else:
            source = ""
        clusters.append(ClusterLine(cluster.name, target, source, cluster.airgapped, cluster.dynamic_config))
    return ReportInput(
        findings=result.findings,
        files_read=result.files_read,
        documents=result.documents,
        objects=result.objects,
        clusters=clusters,
        skipped=result.skipped,
        input_errors=result.input_errors,
        tool_version=__version__,
        checked=checked,
        rules_run=_rules_run_per_file(result, checked),
        notes=[_context_note(len(result.context))] if result.context else [],
        cluster_rules=_shared({name: set(ids) for name, ids in result.rules_run.items()}),
    )


def _context_note(count: int) -> str:
    files = "file" if count == 1 else "files"
    return (
        f"context: read {count} more {files} of the checked files' clusters (k0sctl files, Plans, "
        "ClusterConfigs) for the target version and cluster settings; findings in them are not "
        "reported (--no-context turns this off)"
    )


def _rules_run_per_file(result: Result, checked: list[CheckedObject]) -> dict[str, set[str]]:
    """The rules that ran per file; files that ran the same rules share one set (see ``_shared``)."""
    per_file: dict[str, set[str]] = {}
    seen: dict[frozenset[str], set[str]] = {}
    for obj in checked:
        ran = result.rules_run.get(obj.cluster, set())
        have = per_file.get(obj.path)
        ids = frozenset(ran if have is None else have | ran)
        per_file[obj.path] = seen.get(ids) or seen.setdefault(ids, set(ids))
    return per_file


def _shared(sets: dict[str, set[str]]) -> dict[str, set[str]]:
    """``sets`` with equal sets as one object: a fleet's thousands of files mostly ran the same rules,
    and readers of the report only read them."""
    seen: dict[frozenset[str], set[str]] = {}
    return {key: seen.setdefault(frozenset(ids), ids) for key, ids in sets.items()}
