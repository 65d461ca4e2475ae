"""The audit's result model: drift entries, remediation, blame records and the audit itself."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Sequence
from typing import Any

from checker.findings import Finding, Severity
from checker.inputs.live import LiveState
from checker.inputs.yamldoc import YamlPath, format_path
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject
from checker.records import dataclass, field
from checker.rules.images import STALE_PIN
from checker.workflows.check import Result

LIVE_PREFIX = "live:"  # the pseudo path of live objects in findings


class AuditError(Exception):
    """The audit cannot run as asked (exit code 2)."""


# --- the result model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """The commit that last wrote a line."""

    sha: str
    date: str  # ISO 8601, the author date
    author: str
    email: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]

    def to_dict(self) -> dict[str, str]:
        return {
            "sha": self.sha,
            "date": self.date,
            "author": self.author,
            "email": self.email,
            "subject": self.subject,
        }

    def describe(self) -> str:
        return f"{self.short} ({self.date[:10]}, {self.author}): {self.subject}"


@dataclass(frozen=True)
class Drift:
    """One field that differs between the repository and the cluster."""

    object: str  # "clusterconfig/kube-system/k0s", "plan/autopilot", "node/worker-1"
    field: str  # "spec.images.kubeproxy.version"; "" for a whole object
    repository: Any
    live: Any
    in_repository: bool
    in_live: bool
    category: str  # image | setting | version | object
    needs_action: bool
    note: str = ""

    @property
    def change(self) -> str:
        if self.in_repository and self.in_live:
            return "changed"
        return "only-in-repository" if self.in_repository else "only-in-cluster"

    def describe(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return (
            f"{where}repo {show_value(self.repository, self.in_repository)} / "
            f"live {show_value(self.live, self.in_live)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "field": self.field,
            "change": self.change,
            "category": self.category,
            "repository": self.repository if self.in_repository else None,
            "live": self.live if self.in_live else None,
            "needs_action": self.needs_action,
            "note": self.note,
        }


def show_value(value: Any, present: bool = True) -> str:
    if not present:
        return "unset"
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Remediation:
    """How to remove persisted default images from the live ClusterConfig object."""

    name: str
    namespace: str
    remove: tuple[YamlPath, ...]
    kept: tuple[YamlPath, ...] = ()  # persisted pins the repository sets too: fix the repository first

    @classmethod
    def of(cls, live_obj: K0sObject, remove: Sequence[YamlPath], kept: Sequence[YamlPath]) -> Remediation:
        """The remediation of the live object, named as the object names itself (k0s's defaults)."""
        metadata = live_obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        return cls(
            name=str(metadata.get("name") or "k0s"),
            namespace=str(metadata.get("namespace") or "kube-system"),
            remove=tuple(remove),
            kept=tuple(kept),
        )

    @property
    def json_patch(self) -> str:
        operations = [{"op": "remove", "path": json_pointer(path)} for path in self.remove]
        return json.dumps(operations, separators=(",", ":"))

    @property
    def kubectl(self) -> str:
        return (
            f"kubectl patch clusterconfig {shlex.quote(self.name)} -n {shlex.quote(self.namespace)} "
            f"--type=json -p {shlex.quote(self.json_patch)}"
        )

    @property
    def edit(self) -> str:
        return "k0s config edit   # on a controller; delete: " + ", ".join(
            format_path(p) for p in self.remove
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": f"clusterconfig/{self.namespace}/{self.name}",
            "remove": [format_path(p) for p in self.remove],
            "kept": [format_path(p) for p in self.kept],
            "json_patch": self.json_patch,
            "kubectl": self.kubectl,
            "k0s_config_edit": self.edit,
        }


def json_pointer(path: YamlPath) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass
class Audit:
    repository: Result
    paths: list[str]
    ref: str | None = None
    commit: str = ""
    cluster: Cluster | None = None
    live: LiveState | None = None
    live_findings: list[Finding] = field(default_factory=list)
    live_target: str = ""
    live_target_why: str = ""
    drift: list[Drift] = field(default_factory=list)
    introduced: dict[str, Commit] = field(default_factory=dict)  # finding fingerprint -> commit
    persisted_by: str = ""
    remediation: Remediation | None = None
    notes: list[str] = field(default_factory=list)
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    fail_on: str = "error"
    tool_version: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [*self.repository.findings, *self.live_findings]

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]

    @property
    def stale_pins(self) -> list[Finding]:
        return [f for f in self.repository.active if f.rule == STALE_PIN.id]

    def failing(self) -> list[Finding]:
        if self.fail_on == "never":
            return []
        threshold = Severity.parse(self.fail_on)
        return [f for f in self.active if f.severity >= threshold]

    @property
    def drift_to_act_on(self) -> list[Drift]:
        return [d for d in self.drift if d.needs_action]

    @property
    def needs_action(self) -> bool:
        if self.fail_on == "never":
            return False
        return bool(self.failing() or self.drift_to_act_on)
