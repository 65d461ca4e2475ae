"""Conftest-compatible Rego policies, evaluated in-process with regopy on every k0s document.

Conventions are conftest's, so existing policies come over unchanged:

- rules named ``deny``, ``violation`` (failures) and ``warn`` (warnings), also with a ``_<name>``
  suffix, in package ``main`` unless ``--namespace``/``--all-namespaces`` say otherwise;
- a result is a string (the message) or an object with a string ``msg`` and any metadata; ``id``
  names the rule, ``severity`` overrides error/warning and ``_loc`` says where the problem is
  (``{"line": n, "column": n}`` or a YAML path such as ``spec.images.kubeproxy.version``);
- ``exception`` rules list names whose rules are switched off: ``["foo"]`` silences ``deny_foo``;
- ``input`` is one parsed k0s document (a ``kind: List`` item on its own); with ``--combine`` it is
  all documents of a cluster, ``[{"path": ..., "contents": ...}, ...]``.

``RegoPolicies`` is what checker.workflows.check calls (its ``Policies`` protocol). The policies compile
once per run and every document is one query (checker.rego.run), in a child process so that a
crash of the engine is reported as an error rather than ending the run (checker.rego.isolate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from checker.findings import Finding, Severity
from checker.inputs.yamldoc import Mark as Position
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject
from checker.records import dataclass
from checker.rego.isolate import EngineCrash, run_isolated
from checker.rego.load import PolicyError, PolicySet, load_policy_set
from checker.rego.run import (
    ALL,
    RuleInfo,
    collect_values,
    compile_and_run,
    crash_message,
    engine_missing,
    excepted,
)
from checker.rego.source import exception_name, is_conftest_rule

DEFAULT_NAMESPACE = "main"
_PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")

__all__ = ["DEFAULT_NAMESPACE", "PolicyError", "PolicySet", "RegoPolicies", "load_policy_set"]


# --- the engine's hook -----------------------------------------------------------------------------


@dataclass
class _Input:
    label: str
    cluster: str
    objects: list[K0sObject]  # one object, or the cluster's documents with --combine
    value: Any
    combined: bool = False


class RegoPolicies:
    """Conftest-style policies for one run; checker.workflows.check calls ``evaluate`` once with every cluster.

    ``compilations`` counts how often the engine compiled the policies (once per ``evaluate``, never
    per document), ``documents`` the inputs evaluated and ``queries`` the queries asked (one per
    input unless a rule failed); ``successes`` holds conftest's count of passed rules per (file,
    namespace), for the conftest-json report.
    """

    def __init__(
        self, policies: PolicySet, namespaces: Sequence[str] | None = None, combine: bool = False
    ) -> None:
        self.policies = policies
        self.combine = combine
        packages = policies.packages
        wanted = list(dict.fromkeys(namespaces)) if namespaces is not None else packages
        missing = [ns for ns in wanted if ns not in packages]
        if missing:
            raise PolicyError(
                f"no policy declares package {', '.join(missing)} (packages found: {', '.join(packages)}); "
                "choose with --namespace or use --all-namespaces"
            )
        self.namespaces = wanted
        self.rules: list[RuleInfo] = []
        self.has_exception: set[str] = set()
        for namespace in wanted:
            counts: dict[str, list[str]] = {}
            for rego in policies.in_package(namespace):
                for head in rego.heads:
                    if head.name == "exception" and not head.function:
                        self.has_exception.add(namespace)
                    if not head.function and is_conftest_rule(head.name):
                        counts.setdefault(head.name, []).append(f"{rego.path}:{head.line}")
            for name, places in counts.items():
                self.rules.append(RuleInfo(namespace, name, len(places), places[0]))
        self.compilations = 0
        self.documents = 0
        self.queries = 0
        self.successes: dict[tuple[str, str], int] = {}

    def entrypoints(self) -> dict[str, str]:
        points: dict[str, str] = {}
        for index, rule in enumerate(self.rules):
            points[f"r{index}"] = collect_values(rule.query)
            if rule.namespace in self.has_exception:
                points[f"e{index}"] = excepted(rule.namespace, rule.name)
        points[ALL] = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in points.items()) + "}"
        return points

    def _inputs(self, clusters: Sequence[Cluster]) -> list[_Input]:
        inputs: list[_Input] = []
        for cluster in clusters:
            documents = [obj for obj in cluster.objects if obj.owner is None]
            if self.combine and documents:
                value = [{"path": obj.path, "contents": obj.data} for obj in documents]
                inputs.append(_Input(f"cluster {cluster.name}", cluster.name, documents, value, True))
                continue
            for obj in documents:
                label = obj.path + (f" ({obj.describe(())})" if obj.base else "")
                inputs.append(_Input(label, cluster.name, [obj], obj.data))
        return inputs

    def evaluate(self, clusters: Sequence[Cluster]) -> tuple[list[Finding], list[str]]:
        inputs = self._inputs(clusters)
        entrypoints = self.entrypoints()
        payload = [(i.label, i.value) for i in inputs]
        try:
            outcome = run_isolated(lambda mark: compile_and_run(mark, self.policies, entrypoints, payload))
        except EngineCrash as crash:
            return [], [crash_message(crash, self.policies)]
        except ImportError as err:
            return [], [engine_missing(err)]
        if "compile_problems" in outcome:
            return [], list(outcome["compile_problems"])
        self.compilations += outcome["compilations"]
        self.queries += outcome["queries"]
        self.documents += len(inputs)
        findings: list[Finding] = []
        problems: list[str] = []
        for index, item in enumerate(inputs):
            findings.extend(self._conftest(item, outcome["values"][index], problems))
        problems.extend(self._runtime_problems(inputs, outcome["errors"]))
        return findings, problems

    def _conftest(self, item: _Input, answers: dict[str, Any], problems: list[str]) -> list[Finding]:
        """conftest's reading of one input's answers: failures, warnings, exceptions and successes."""
        findings: list[Finding] = []
        by_namespace: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            by_namespace.setdefault(rule.namespace, []).append(index)
        key_path = item.objects[0].path
        for namespace, indexes in by_namespace.items():
            heads = results = successes = 0
            for index in indexes:
                rule = self.rules[index]
                heads += rule.heads
                values = answers.get(f"r{index}", [])
                exception = bool(answers.get(f"e{index}"))
                if exception:
                    results += 1
                elif not values:
                    successes += 1
                made = [
                    finding
                    for v in values
                    if (finding := self._finding(item, rule, v, exception, problems)) is not None
                ]
                if not exception:
                    results += len(made)
                findings.extend(made)
            successes += max(heads - results - successes, 0)
            key = (key_path, namespace)
            self.successes[key] = self.successes.get(key, 0) + successes
        return findings

    def _finding(
        self, item: _Input, rule: RuleInfo, value: Any, excepted_now: bool, problems: list[str]
    ) -> Finding | None:
        if isinstance(value, str):
            message, metadata = value, {}
        elif isinstance(value, dict):
            if not isinstance(value.get("msg"), str):
                problems.append(
                    f"{rule.where}: rule {rule.name} of package {rule.namespace} returned an object without a "
                    f"string msg on {item.label}: {json.dumps(value)[:200]}"
                )
                return None
            message, metadata = value["msg"], {k: v for k, v in value.items() if k != "msg"}
        else:
            return None  # conftest ignores results that are neither strings nor objects
        obj, position, node = _locate(item, metadata.pop("_loc", None))
        rule_id = metadata.get("id")
        severity = Severity.ERROR if rule.failure else Severity.WARNING
        if isinstance(metadata.get("severity"), str):
            try:
                severity = Severity.parse(metadata["severity"])
            except ValueError:
                problems.append(
                    f"{rule.where}: severity {metadata['severity']!r} is not error, warning or info"
                )
        suppressed = ""
        if excepted_now:
            suppressed = (
                f"Rego exception: data.{rule.namespace}.exception lists {exception_name(rule.name)!r}"
            )
        return Finding(
            rule_id.strip()
            if isinstance(rule_id, str) and rule_id.strip()
            else f"rego:{rule.namespace}.{rule.name}",
            severity,
            message,
            obj.path,
            position.line,
            position.column,
            cluster=item.cluster,
            node=node,
            data={
                "engine": "rego",
                "namespace": rule.namespace,
                "rule": rule.name,
                "query": rule.query,
                "policy": rule.where,
                "metadata": metadata,
            },
            suppressed_by=suppressed,
        )

    def _runtime_problems(self, inputs: list[_Input], errors: list[tuple[int, str, str]]) -> list[str]:
        grouped: dict[tuple[str, str], list[int]] = {}
        for index, name, message in errors:
            grouped.setdefault((name, message), []).append(index)
        problems: list[str] = []
        for (name, message), indexes in grouped.items():
            first = inputs[indexes[0]].label
            more = f" and {len(indexes) - 1} more" if len(indexes) > 1 else ""
            if not name:
                problems.append(f"{first}{more}: the Rego engine rejected the document as input: {message}")
                continue
            rule = self.rules[int(name[1:])]
            what = f"rule {rule.name}" if name.startswith("r") else f"the exception check for {rule.name}"
            problems.append(
                f"{rule.where}: {what} of package {rule.namespace} failed at runtime on {first}{more}: {message}"
            )
        return problems


# --- locations -------------------------------------------------------------------------------------


def parse_node_path(text: str) -> list[str | int]:
    """``spec.hosts[0].role`` or ``spec.hosts.0.role`` -> ``["spec", "hosts", 0, "role"]``."""
    parts: list[str | int] = []
    for match in _PATH_TOKEN.finditer(text.strip()):
        parts.append(int(match.group(1)) if match.group(1) is not None else match.group(2))
    return parts


def _resolve(data: Any, parts: Sequence[str | int]) -> YamlPath:
    """The path with digits turned into list indexes where the data has a list."""
    path: list[str | int] = []
    node = data
    for part in parts:
        if isinstance(node, list) and isinstance(part, str) and part.isdigit():
            part = int(part)
        elif isinstance(node, dict) and isinstance(part, int) and part not in node:
            part = str(part)
        path.append(part)
        node = node[part] if _has(node, part) else None
    return tuple(path)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _locate(item: _Input, loc: Any) -> tuple[K0sObject, Position, str]:
    """Where a result points: ``_loc`` as line/column or node path, else the document's first line."""
    obj = item.objects[0]
    if isinstance(loc, dict):
        if isinstance(loc.get("file"), str):
            obj = next((o for o in item.objects if o.path == loc["file"]), obj)
        line, column = loc.get("line"), loc.get("column", 1)
        if isinstance(line, int) and not isinstance(line, bool) and line > 0:
            column = column if isinstance(column, int) and not isinstance(column, bool) and column > 0 else 1
            return obj, Position(line, column), ""
        return obj, obj.start, ""
    if isinstance(loc, str) and loc.strip():
        parts = parse_node_path(loc)
        first = parts[0] if parts else None
        if item.combined and isinstance(first, int | str) and str(first).isdigit():
            # [{"path": ..., "contents": ...}]: "1.contents.spec.images" is in the second document
            if int(first) < len(item.objects):
                obj = item.objects[int(first)]
            parts = parts[2:] if parts[1:2] == ["contents"] else parts[1:]
        path = _resolve(obj.data, parts)
        return obj, obj.value_mark(path), obj.describe(path)
    return obj, obj.start, ""
