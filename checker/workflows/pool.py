"""``check --jobs N``: the checks of a big run spread over N processes of one machine.

The repository is read, parsed and grouped into clusters once; then the run forks N-1 workers at the
shard hook of ``run_check`` (checker.workflows.shard), and each process (the parent included) runs the
checks, Rego policies, suppressions and configuration of its own shard of the clusters. Forked
workers share the parsed documents with the parent for free (copy on write), so nothing big crosses a
process boundary: a worker sends back only its findings, its notes and what it resolved about its
clusters (their target release and air gap), which the report needs. Pickling parsed documents
costs about as much as parsing them, so a pool that shipped documents would gain nothing.

The result is the result of one process, finding for finding and in the same order. A worker that
fails or dies makes the run fail closed: its shard is an input error (exit code 2), never a gap.

Small runs (at most ``SMALL_RUN`` k0s objects, such as a pre-commit run) never fork, and neither does
a platform without ``fork`` (Windows; macOS, where forking a process that has loaded system
frameworks is unsafe): they run in one process as before.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from checker.findings import Finding
from checker.inputs.sources import Collected
from checker.k0s.cluster import Cluster, VersionSource
from checker.k0s.releases import Catalog, Resolved
from checker.records import dataclass, field, fields
from checker.workflows.check import Result, run_check
from checker.workflows.shard import Shard

SMALL_RUN = 300  # k0s objects; up to this many, one process is faster than starting workers
# Cluster fields the checks may set and the report reads; the parent copies them from the workers.
_SHARED_FIELDS = ("objects", "k0sctl", "name", "root")


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


@dataclass
class _Part:
    """What a worker sends back."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    rules_run: dict[str, set[str]] = field(default_factory=dict)
    objects: int = 0
    clusters: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> resolved fields
    error: str = ""


class _Forker:
    """The shard hook of one pooled run: forks the workers once the clusters are known."""

    def __init__(self, jobs: int, catalog: Catalog) -> None:
        self.jobs = jobs
        self.catalog = catalog
        self.count = 1
        self.worker: int | None = None  # the shard of this process, when it is a forked worker
        self.pipe = -1
        self.children: list[tuple[int, int, int]] = []  # (shard, pid, read end)
        self.clusters: list[Cluster] = []
        self.mine: list[Cluster] = []

    def keep(
        self, clusters: Sequence[Cluster], findings: Sequence[Finding]
    ) -> tuple[list[Cluster], list[Finding]]:
        self.clusters = list(clusters)
        objects = sum(len(cluster.objects) for cluster in clusters)
        self.count = min(self.jobs, len(self.clusters)) if objects > SMALL_RUN else 1
        if self.count <= 1:
            self.mine = list(clusters)
            return list(clusters), list(findings)
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the garbage collector of a worker then leaves the shared pages alone (no copies)
        for index in range(1, self.count):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker for shard `index`
                os.close(read)
                for _, _, other in self.children:
                    os.close(other)
                self.worker, self.pipe, self.children = index, write, []
                break
            os.close(write)
            self.children.append((index, pid, read))
        shard = Shard(self.worker or 0, self.count)
        kept = shard.keep(clusters, findings)
        self.mine = kept[0]
        return kept

    # --- in a worker ---------------------------------------------------------------------------------

    def send(self, result: Result | None, error: str = "") -> None:
        import pickle  # a run that never forks never pickles

        part = _Part(error=error)
        if result is not None:
            part.findings = result.findings
            part.skipped = result.skipped
            part.input_errors = result.input_errors
            part.rules_run = result.rules_run
            part.objects = result.objects
            position = {id(cluster): index for index, cluster in enumerate(self.clusters)}
            part.clusters = {position[id(c)]: _resolved(c) for c in self.mine}
        status = 0
        try:
            try:
                data = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # say so, rather than let the parent guess
                status = 1
                data = pickle.dumps(_Part(error=f"cannot send the result ({type(err).__name__}: {err})"))
            with os.fdopen(self.pipe, "wb") as out:
                out.write(data)
        finally:
            os._exit(status)

    # --- in the parent -------------------------------------------------------------------------------

    def collect(self, result: Result) -> Result:
        if self.count <= 1:
            return result
        import pickle

        gc.unfreeze()
        parts: list[tuple[int, _Part]] = []
        for shard, pid, read in self.children:
            with os.fdopen(read, "rb") as incoming:
                data = incoming.read()
            _, status = os.waitpid(pid, 0)
            try:
                part = pickle.loads(data) if data else None
            except Exception:  # a truncated answer: the worker died while writing it
                part = None
            if not isinstance(part, _Part):
                part = _Part(error=f"the worker ended without a result ({_describe(status)})")
            parts.append((shard, part))
        order = sorted(
            ((cluster.name, index) for index, cluster in enumerate(self.clusters)), key=lambda n: -len(n[0])
        )
        skipped = [(_cluster_of(note, order), note) for note in result.skipped]
        findings = list(result.findings)
        for shard, part in parts:
            if part.error:
                result.input_errors.append(
                    f"the check of shard {shard}/{self.count} of the clusters failed: {part.error}; "
                    "run with --jobs 1 to check in one process"
                )
                continue
            findings += part.findings
            skipped += [(_cluster_of(note, order), note) for note in part.skipped]
            result.input_errors += [e for e in part.input_errors if e not in result.input_errors]
            result.rules_run.update(part.rules_run)
            result.objects += part.objects
            for index, resolved in part.clusters.items():
                _restore(self.clusters[index], resolved, self.catalog)
        result.findings = sorted(findings, key=Finding.sort_key)
        result.skipped = [note for _, note in sorted(skipped, key=lambda item: item[0])]
        result.clusters = self.clusters
        return result


def _resolved(cluster: Cluster) -> dict[str, Any]:
    """The fields the checks set on a cluster, with references to its objects as their positions."""
    values: dict[str, Any] = {}
    for item in fields(cluster):
        if item.name in _SHARED_FIELDS:
            continue
        value = getattr(cluster, item.name)
        if item.name == "version_sources":
            value = [_source_out(cluster, source) for source in value]
        elif isinstance(value, VersionSource):
            value = _source_out(cluster, value)
        elif isinstance(value, Resolved):  # its Patch comes from the catalogue the parent has too
            value = ("resolved", value.patch.version, value.requested, value.note)
        values[item.name] = value
    return values


def _restore(cluster: Cluster, values: dict[str, Any], catalog: Catalog) -> None:
    for name, value in values.items():
        if name == "version_sources":
            value = [_source_in(cluster, source) for source in value]
        elif isinstance(value, tuple) and value[:1] == ("version-source",):
            value = _source_in(cluster, value)
        elif isinstance(value, tuple) and value[:1] == ("resolved",):
            patch = catalog.patch(value[1])
            if patch is None:
                raise ValueError(f"release {value[1]} is not in the release data")
            value = Resolved(patch, value[2], value[3])
        setattr(cluster, name, value)


def _source_out(cluster: Cluster, source: VersionSource) -> tuple[Any, ...]:
    index = next((i for i, obj in enumerate(cluster.objects) if obj is source.obj), -1)
    return ("version-source", source.origin, source.version, index, source.node)


def _source_in(cluster: Cluster, encoded: tuple[Any, ...]) -> VersionSource:
    _, origin, version, index, node = encoded
    return VersionSource(origin, version, cluster.objects[index] if index >= 0 else None, node)


def _cluster_of(note: str, names: Sequence[tuple[str, int]]) -> int:
    """The position of the cluster a skipped-check note names ("<what> for cluster <name>: ..."); the
    longest name that fits wins. Notes that name no cluster go last."""
    _, _, rest = note.partition(" for cluster ")
    return next((index for name, index in names if rest.startswith(f"{name}: ")), len(names))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"


def run_pooled(collected: Collected, catalog: Catalog, *args: Any, jobs: int, **kwargs: Any) -> Result:
    """``run_check`` with its checks spread over ``jobs`` processes (see the module docstring)."""
    if jobs <= 1 or not can_fork() or kwargs.get("shard") is not None:
        return run_check(collected, catalog, *args, **kwargs)
    kwargs.pop("shard", None)
    forker = _Forker(jobs, catalog)
    try:
        result = run_check(collected, catalog, *args, shard=forker, **kwargs)
    except BaseException as err:
        if forker.worker is not None:
            forker.send(None, f"{type(err).__name__}: {err}")
        raise
    if forker.worker is not None:
        forker.send(result)
    return forker.collect(result)
