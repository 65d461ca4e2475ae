"""A campaign: inputs spread over forked workers, each killed and replaced when it overruns its time;
figures at the end, and every crashing or hanging input saved as a tree that reproduces it."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .generate import Corpus
from .worker import Report, serve

MIB = 1024 * 1024
POLL = 0.25  # seconds between looks at the workers' CPU time
_TICKS = os.sysconf("SC_CLK_TCK")
SAVED_PER_CLASS = 10


@dataclass
class Settings:
    seed: int = 1
    workers: int = 2
    timeout: float = 10.0  # CPU seconds per input, plus ``per_mib`` for each MiB of it
    per_mib: float = 2.0
    wall_factor: float = 3.0  # a worker that uses no CPU (blocked) is killed after this many budgets
    memory_mib: int = 4096  # address-space limit of a worker: exhausting it is a crash, not a dead machine
    crash_dir: Path | None = None


@dataclass
class Figures:
    inputs: int = 0
    crashes: dict[str, list[int]] = field(default_factory=dict)  # class -> input indexes
    hangs: list[int] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)
    peak_rss_kib: int = 0
    wall: float = 0.0
    interrupted: bool = False  # stopped early (Ctrl-C, SIGTERM): the figures cover the inputs run

    @property
    def crash_count(self) -> int:
        return sum(len(v) for v in self.crashes.values())

    def lines(self, settings: Settings, corpus: Corpus) -> list[str]:
        times = sorted(self.seconds.values()) or [0.0]
        cpu = sorted(self.cpu.values()) or [0.0]
        out = [
            f"fuzz: seed {settings.seed}, {len(corpus.seeds)} seed files, {settings.workers} workers, "
            f"timeout {settings.timeout:g} CPU s + {settings.per_mib:g} s/MiB, wall time {self.wall:.1f} s",
            f"inputs: {self.inputs}{' (interrupted)' if self.interrupted else ''}  crashes: {self.crash_count}  hangs: {len(self.hangs)}",
            f"time per input: median {statistics.median(times) * 1000:.0f} ms wall, "
            f"{statistics.median(cpu) * 1000:.0f} ms CPU; max {times[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU",
            f"peak RSS: {self.peak_rss_kib / 1024:.0f} MiB (largest worker)",
        ]
        slowest_five = sorted(self.cpu, key=self.cpu.__getitem__, reverse=True)[:5]
        out.append(
            "slowest (CPU): "
            + ", ".join(
                f"{i} {corpus.build(settings.seed, i).family} {self.cpu[i]:.1f} s" for i in slowest_five
            )
        )
        for name, indexes in sorted(self.crashes.items(), key=lambda kv: -len(kv[1])):
            out.append(f"  crash x{len(indexes)}: {name}  (inputs {', '.join(map(str, indexes[:5]))})")
        if self.hangs:
            out.append(f"  hang x{len(self.hangs)}: inputs {', '.join(map(str, self.hangs[:10]))}")
        if (self.crashes or self.hangs) and settings.crash_dir is not None:
            out.append(f"crashing inputs saved under {settings.crash_dir}")
        return out


class _Worker:
    def __init__(self, corpus: Corpus, settings: Settings, folder: Path) -> None:
        parent, child = multiprocessing.get_context("fork").Pipe()
        self.conn: Connection = parent
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.process = multiprocessing.get_context("fork").Process(
            target=serve, args=(child, corpus, settings.seed, str(folder), settings.memory_mib), daemon=True
        )
        self.process.start()
        child.close()
        self.index: int | None = None
        self.deadline = 0.0  # wall clock
        self.cpu_start: float | None = None
        self.cpu_budget = 0.0

    def send(self, index: int, settings: Settings) -> None:
        self.index = index
        self.deadline = time.monotonic() + settings.timeout * settings.wall_factor
        self.cpu_start = None
        self.conn.send(index)

    def started(self, size: int, settings: Settings) -> None:
        self.cpu_budget = settings.timeout + settings.per_mib * size / MIB
        self.deadline = time.monotonic() + self.cpu_budget * settings.wall_factor
        self.cpu_start = self.cpu_seconds()

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def overran(self) -> bool:
        if time.monotonic() >= self.deadline:
            return True
        return self.cpu_start is not None and self.cpu_seconds() - self.cpu_start > self.cpu_budget

    def peak_kib(self) -> int:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        match = re.search(r"VmHWM:\s+(\d+)", status)
        return int(match.group(1)) if match else 0

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.kill()


def run_campaign(
    indexes: Iterable[int],
    settings: Settings,
    corpus: Corpus | None = None,
    progress: Callable[[Figures], None] | None = None,
) -> Figures:
    import checker.cli.app  # noqa: F401  imported once here: forked workers start with it loaded

    corpus = corpus or Corpus()
    pending = list(indexes)
    pending.reverse()
    figures = Figures()
    base = Path(tempfile.mkdtemp(prefix="k0s-policy-fuzz-"))
    started = time.monotonic()
    workers = [_Worker(corpus, settings, base / f"w{i}") for i in range(settings.workers)]
    try:
        _serve_all(workers, pending, corpus, settings, figures, progress)
    except KeyboardInterrupt:
        figures.interrupted = True
    finally:
        for worker in workers:
            worker.stop()
        shutil.rmtree(base, ignore_errors=True)
    figures.wall = time.monotonic() - started
    return figures


def _serve_all(
    workers: list[_Worker],
    pending: list[int],
    corpus: Corpus,
    settings: Settings,
    figures: Figures,
    progress: Callable[[Figures], None] | None,
) -> None:
    """Feed the workers until every input has an answer, replacing the ones that hang or die."""
    for worker in workers:
        _feed(worker, pending, settings)
    while any(w.index is not None for w in workers):
        busy = [w for w in workers if w.index is not None]
        wait_for = max(0.0, min(POLL, *(w.deadline - time.monotonic() for w in busy)))
        ready = wait([w.conn for w in busy], timeout=wait_for)
        for i, worker in enumerate(workers):
            if worker.index is None:
                continue
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    code = worker.process.exitcode
                    workers[i] = _replace(worker, corpus, settings, figures, f"worker died (exit {code})")
                    _feed(workers[i], pending, settings)
                    continue
                if message[0] == "start":
                    worker.started(message[2], settings)
                    continue
                _record(figures, message[1], corpus, settings)
                worker.index = None
                _feed(worker, pending, settings)
                if progress is not None:
                    progress(figures)
            elif worker.overran():
                workers[i] = _replace(worker, corpus, settings, figures, None)
                _feed(workers[i], pending, settings)


def _feed(worker: _Worker, pending: list[int], settings: Settings) -> None:
    if pending:
        worker.send(pending.pop(), settings)
    else:
        worker.index = None


def _replace(
    worker: _Worker, corpus: Corpus, settings: Settings, figures: Figures, died: str | None
) -> _Worker:
    """A hung (``died`` None) or dead worker: its input counted, the worker replaced by a fresh one."""
    index = worker.index
    assert index is not None
    figures.peak_rss_kib = max(figures.peak_rss_kib, worker.peak_kib())
    worker.kill()
    figures.inputs += 1
    if died is None:
        figures.hangs.append(index)
        figures.seconds[index] = figures.cpu[index] = worker.cpu_budget
        _save(settings, corpus, index, "hang", "killed after its time ran out")
    else:
        figures.crashes.setdefault(died, []).append(index)
        _save(settings, corpus, index, died, "")
    return _Worker(corpus, settings, worker.folder)


def _record(figures: Figures, report: Report, corpus: Corpus, settings: Settings) -> None:
    figures.inputs += 1
    figures.seconds[report.index] = report.seconds
    figures.cpu[report.index] = report.cpu
    figures.peak_rss_kib = max(figures.peak_rss_kib, report.rss_kib)
    if report.crash:
        figures.crashes.setdefault(report.crash, []).append(report.index)
        if len(figures.crashes[report.crash]) <= SAVED_PER_CLASS:
            _save(settings, corpus, report.index, report.crash, report.excerpt)


def _save(settings: Settings, corpus: Corpus, index: int, crash: str, excerpt: str) -> None:
    """``<crash dir>/<class>/<index>/``: the input's tree, argv.json, stdin.bin and meta.json, so that
    ``cd`` there and ``k0s-policy $(jq -r '.[]' argv.json)`` (stdin from stdin.bin) reproduces it."""
    if settings.crash_dir is None:
        return
    item = corpus.build(settings.seed, index)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", crash).strip("-")[:80] or "crash"
    folder = settings.crash_dir / slug / str(index)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for relative, data in item.files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if item.stdin is not None:
        (folder / "stdin.bin").write_bytes(item.stdin)
    (folder / "argv.json").write_text(json.dumps(item.argv()))
    meta: dict[str, Any] = {
        "class": crash,
        "seed": settings.seed,
        "index": index,
        "family": item.family,
        "mode": item.mode,
        "seed_file": item.seed,
        "mutations": item.mutations,
        "rerun": f"python -m tests.fuzz --seed {settings.seed} --only {index}",
        "excerpt": excerpt,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
