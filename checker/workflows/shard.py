"""Sharded runs (``check --shard K/N``): one run checks the clusters whose stable hash falls into
shard K of N, so N runs on N machines (a CI matrix, a Kubernetes Indexed Job) check a repository
together and ``merge-reports`` joins their JSON reports into the report one run would have written.

Every shard reads and parses the whole repository, because which cluster a document belongs to
depends on the folders around it (checker.k0s.cluster.group); the checks, the expensive part, are
split. Clusters are the unit and are never split: a cluster's documents, findings, skipped checks
and Rego results all come from the one shard that owns it. Findings that belong to no cluster (a
file that is not YAML, a near-miss apiVersion) belong to the shard its file's path hashes to.

The hash is SHA-256 of the cluster's name (its folder or k0sctl file, as the run shows it), so every
shard must run with the same paths from the same directory; ``merge-reports`` refuses shards that
read different inputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from checker.findings import Finding
from checker.k0s.cluster import Cluster
from checker.records import dataclass

_SPEC = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*")
MAX_SHARDS = 10_000


class Splitter(Protocol):
    """What run_check's shard hook calls once the clusters are known: a Shard, or the process pool
    of checker.workflows.pool, which forks its workers there."""

    def keep(
        self, clusters: Sequence[Cluster], findings: Sequence[Finding]
    ) -> tuple[list[Cluster], list[Finding]]: ...


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based, as Kubernetes' JOB_COMPLETION_INDEX) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ValueError(f"--shard {text!r}: expected K/N, such as 0/4 (K counts from 0)")
        index, count = int(match[1]), int(match[2])
        if not 1 <= count <= MAX_SHARDS:
            raise ValueError(f"--shard {text}: N must be between 1 and {MAX_SHARDS}")
        if index >= count:
            raise ValueError(f"--shard {text}: K counts from 0, so it must be below N ({count})")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, key: str) -> bool:
        return bucket(key, self.count) == self.index

    def keep(
        self, clusters: Sequence[Cluster], findings: Sequence[Finding]
    ) -> tuple[list[Cluster], list[Finding]]:
        """This shard's clusters, and the findings found before grouping (files, not clusters) that
        belong to it."""
        return (
            [cluster for cluster in clusters if self.owns(cluster.name)],
            [finding for finding in findings if self.owns(finding.cluster or finding.path)],
        )


def bucket(key: str, count: int) -> int:
    """The shard of ``key`` among ``count``: stable across runs, machines and Python versions."""
    import hashlib  # only a sharded run pays for it

    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count
