"""``merge-reports``: JSON reports (``check --format json``) read back and joined into one report
input, which every writer can print (SARIF, JUnit, GitHub, GitLab, text, JSON, PolicyReport).

Reports of shards (``check --shard K/N``) must form one whole run: the same N, every K from 0 to N-1
exactly once, the same tool version and the same inputs read. A missing or doubled shard is an
error, never a smaller report: a merge that silently lost a shard would show a fleet as clean.
Findings are de-duplicated (two shards can report the same suppression comment) and sorted as one
run sorts them; the summary is recomputed from what was merged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checker.findings import Finding, Severity
from checker.records import dataclass, fields
from checker.report.json_report import FORMAT_VERSION
from checker.report.model import ClusterLine, ReportInput


class MergeError(Exception):
    """The reports cannot be merged (exit code 2)."""


@dataclass(frozen=True)
class RecordedFinding(Finding):
    """A finding read back from a report: it keeps the fingerprint it was written with (the data the
    fingerprint was computed from is not part of the report)."""

    recorded_fingerprint: str = ""

    @property
    def fingerprint(self) -> str:
        return self.recorded_fingerprint or super().fingerprint


_FINDING_FIELDS = {f.name for f in fields(Finding)}


def finding_from(entry: Any, where: str) -> Finding:
    if not isinstance(entry, dict):
        raise MergeError(f"{where}: a finding is not an object")
    try:
        extra: dict[str, Any] = {}
        if "detail" in _FINDING_FIELDS and entry.get("detail"):
            extra["detail"] = str(entry["detail"])
        return RecordedFinding(
            str(entry["rule"]),
            Severity.parse(str(entry["severity"])),
            str(entry["message"]),
            str(entry["path"]),
            int(entry["line"]),
            int(entry["column"]),
            cluster=str(entry.get("cluster") or ""),
            node=str(entry.get("node") or ""),
            fix=str(entry.get("fix") or ""),
            suppressed_by=str(entry.get("suppressed") or ""),
            recorded_fingerprint=str(entry.get("fingerprint") or ""),
            **extra,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise MergeError(f"{where}: a finding lacks or mistypes {err}") from None


@dataclass
class Loaded:
    name: str
    data: dict[str, Any]

    @property
    def shard(self) -> tuple[int, int] | None:
        shard = self.data.get("shard")
        if shard is None:
            return None
        if not isinstance(shard, dict) or not all(isinstance(shard.get(k), int) for k in ("index", "count")):
            raise MergeError(f"{self.name}: its shard entry is not {{index, count}}")
        return shard["index"], shard["count"]


def load(name: str, text: str) -> Loaded:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise MergeError(
            f"{name}: not JSON ({err}); merge-reports reads `check --format json` reports"
        ) from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or "findings" not in data:
        raise MergeError(
            f"{name}: not a k0s-policy JSON report (version {FORMAT_VERSION}, from check --format json)"
        )
    if data.get("kind") == "audit":
        raise MergeError(f"{name}: an audit report; merge-reports joins check reports")
    if "fixed" in data or "added_suppressions" in data:
        raise MergeError(f"{name}: a PR-mode report; merge the reports of plain checks")
    return Loaded(name, data)


def _check_shards(loaded: Sequence[Loaded]) -> bool:
    """True when the reports are the shards of one run; MergeError when they are some of them only."""
    shards = [(report, report.shard) for report in loaded]
    if all(shard is None for _, shard in shards):
        return False
    plain = [report.name for report, shard in shards if shard is None]
    if plain:
        raise MergeError(f"{plain[0]} is no shard, the other reports are: merge the shards of one run")
    counts = {shard[1] for _, shard in shards if shard is not None}
    if len(counts) != 1:
        raise MergeError(
            f"the reports are shards of different splits (N = {', '.join(map(str, sorted(counts)))})"
        )
    (count,) = counts
    seen: dict[int, str] = {}
    for report, shard in shards:
        assert shard is not None
        if shard[0] in seen:
            raise MergeError(f"{report.name} and {seen[shard[0]]} are both shard {shard[0]}/{count}")
        seen[shard[0]] = report.name
    missing = [str(index) for index in range(count) if index not in seen]
    if missing:
        raise MergeError(
            f"shard {', '.join(f'{m}/{count}' for m in missing)} missing: a merge without it would hide its findings"
        )
    for key in ("files_read", "documents_checked"):
        values = {report.data.get("summary", {}).get(key) for report in loaded}
        if len(values) != 1:
            raise MergeError(
                f"the shards read different inputs ({key}: {sorted(map(str, values))}); run them alike"
            )
    versions = {str(report.data.get("tool", {}).get("version")) for report in loaded}
    if len(versions) != 1:
        raise MergeError(f"the shards ran different k0s-policy versions ({', '.join(sorted(versions))})")
    return True


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def merge(loaded: Sequence[Loaded]) -> ReportInput:
    if not loaded:
        raise MergeError("no reports to merge")
    sharded = _check_shards(loaded)
    findings: dict[tuple[Any, ...], Finding] = {}
    clusters: dict[str, ClusterLine] = {}
    skipped: list[str] = []
    errors: list[str] = []
    files = documents = objects = 0
    for report in loaded:
        data = report.data
        for index, entry in enumerate(data.get("findings") or []):
            finding = finding_from(entry, f"{report.name}: finding {index + 1}")
            key = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in entry.items()))
            findings.setdefault(key, finding)
        for entry in data.get("clusters") or []:
            try:
                line = ClusterLine(
                    str(entry["name"]),
                    str(entry["target"]),
                    str(entry["source"]),
                    bool(entry["airgapped"]),
                    bool(entry["dynamic_config"]),
                )
            except (KeyError, TypeError) as err:
                raise MergeError(f"{report.name}: a cluster entry lacks {err}") from None
            if line.name in clusters and sharded:
                raise MergeError(f"{report.name}: cluster {line.name} is in two shards")
            clusters.setdefault(line.name, line)
        skipped += [str(s) for s in data.get("skipped") or []]
        errors += [str(e) for e in data.get("input_errors") or []]
        summary = data.get("summary") or {}
        objects += int(summary.get("k0s_objects") or 0)
        if sharded:
            files, documents = int(summary.get("files_read") or 0), int(summary.get("documents_checked") or 0)
        else:
            files += int(summary.get("files_read") or 0)
            documents += int(summary.get("documents_checked") or 0)
    tool = loaded[0].data.get("tool") or {}
    return ReportInput(
        findings=sorted(findings.values(), key=Finding.sort_key),
        files_read=files,
        documents=documents,
        objects=objects,
        clusters=sorted(clusters.values(), key=lambda c: c.name),
        skipped=_unique(skipped),
        input_errors=_unique(errors),
        tool_version=str(tool.get("version") or ""),
    )


def merge_files(names: Sequence[str]) -> ReportInput:
    loaded = []
    for name in names:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise MergeError(f"cannot read {name}: {getattr(err, 'strerror', None) or err}") from None
        loaded.append(load(name, text))
    return merge(loaded)
