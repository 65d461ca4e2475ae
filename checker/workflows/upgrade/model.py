"""The upgrade preflight's result: per cluster the current release, the steps, each step's findings,
missing images and actions, and the verdicts the exit code follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from checker.findings import Finding, Severity
from checker.k0s.cluster import Cluster
from checker.k0s.releases import Patch
from checker.records import dataclass, field

FORMAT = "k0s-policy-upgrade"
FORMAT_VERSION = 1
READY = "ready"
BLOCKED = "blocked"
UNKNOWN = "could not run"

# What an action does, in the order that works before a step.
CLEAN_OBJECT = "clean-object"
IMAGES = "images"
VERSION = "version"
VERIFY = "verify"
ACTION_ORDER = (CLEAN_OBJECT, IMAGES, VERSION, VERIFY)


class UpgradeError(Exception):
    """The preflight cannot run as asked (exit code 2)."""


@dataclass(frozen=True)
class Current:
    """The release a cluster runs now, and the source that said so."""

    version: str  # as the source states it: "v1.29.4+k0s.0", or a kubelet's "v1.29.4+k0s"
    patch: Patch
    source: str


@dataclass
class Action:
    """One thing to do before (or after) a step: commands to run, files to write, images to copy."""

    kind: str  # CLEAN_OBJECT, IMAGES, VERSION or VERIFY
    title: str
    commands: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # images to copy, fields to remove
    files: dict[str, str] = field(default_factory=dict)  # name -> content (a generated Plan)
    notes: list[str] = field(default_factory=list)

    def to_dict(self, step: int, cluster: str) -> dict[str, Any]:
        return {
            "cluster": cluster,
            "step": step,
            "kind": self.kind,
            "title": self.title,
            "commands": list(self.commands),
            "items": list(self.items),
            "files": dict(self.files),
            "notes": list(self.notes),
        }


@dataclass
class Step:
    """One minor (or patch) hop: what its checks found and what to do before it."""

    number: int
    source: Patch
    target: Patch
    fail_on: str = "error"
    findings: list[Finding] = field(default_factory=list)  # repository and live object, this release
    missing_images: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]

    @property
    def blocking(self) -> list[Finding]:
        if self.fail_on == "never":
            return []
        threshold = Severity.parse(self.fail_on)
        return [f for f in self.active if f.severity >= threshold]

    @property
    def verdict(self) -> str:
        return BLOCKED if self.blocking or self.missing_images else READY


@dataclass
class ClusterUpgrade:
    name: str
    target: Patch
    cluster: Cluster | None = None
    current: Current | None = None
    steps: list[Step] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # the path itself is wrong: downgrade, no data
    error: str = ""  # the preflight could not run for this cluster
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.error:
            return UNKNOWN
        if self.blockers or any(step.verdict == BLOCKED for step in self.steps):
            return BLOCKED
        return READY


@dataclass
class Upgrade:
    requested: str  # --to as written
    target: Patch
    clusters: list[ClusterUpgrade] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    live_source: str = ""
    fail_on: str = "error"
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    tool_version: str = ""

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.clusters}
        if self.input_errors or UNKNOWN in verdicts or not self.clusters:
            return UNKNOWN
        return BLOCKED if BLOCKED in verdicts else READY

    @property
    def exit_code(self) -> int:
        return {READY: 0, BLOCKED: 1}.get(self.verdict, 2)
