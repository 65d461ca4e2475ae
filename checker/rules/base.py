"""The shape every rule has, and the context it checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from checker.config import Config
from checker.findings import Finding, Severity
from checker.inputs.registry import Answers, Settings
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject
from checker.k0s.releases import Catalog


@dataclass
class Options:
    """Command-line inputs rules may need beyond the repository itself."""

    airgap_images: frozenset[str] | None = None
    airgap_images_source: str = ""
    base_versions: dict[str, str] = field(
        default_factory=dict
    )  # cluster name -> version at the base revision
    registry: Settings | None = None  # check --registry: which registries to ask, and how
    registry_answers: Answers | None = None  # what they said (filled by checker.workflows.registry)


@dataclass
class Context:
    cluster: Cluster
    catalog: Catalog
    config: Config
    options: Options
    skipped: list[str] = field(default_factory=list)

    def finding(
        self,
        rule: Rule,
        obj: K0sObject,
        node: YamlPath,
        message: str,
        *,
        at_key: bool = False,
        fix: str = "",
        severity: Severity | None = None,
        **data: Any,
    ) -> Finding:
        mark = obj.key_mark(node) if at_key else obj.value_mark(node)
        return Finding(
            rule.id,
            severity or rule.severity,
            message,
            obj.path,
            mark.line,
            mark.column,
            cluster=self.cluster.name,
            node=obj.describe(node),
            fix=fix,
            data=data,
        )

    def skip(self, rule: Rule, reason: str) -> None:
        self.skipped.append(f"{rule.id} for cluster {self.cluster.name}: {reason}")


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A declared rule: static metadata plus the function that finds problems.

    Rules without a ``check`` are reported by the engine itself (parsing and schema problems);
    they are declared here so every id has one place that documents it.
    """

    id: str
    name: str
    severity: Severity
    summary: str
    check: Check | None = None
    needs_release: bool = True

    @property
    def docs(self) -> str:
        return f"docs/rules/{self.id}.md"
