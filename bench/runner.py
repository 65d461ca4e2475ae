"""Timing child processes: wall time, CPU time from os.wait4, peak memory from GNU time, and
import-time breakdowns."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------------
# Measuring


class Crash(Exception):
    """A measured command failed in a way a measurement must not hide."""


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, time.perf_counter around the child
    cpu: float  # seconds of user + system time of the child
    max_rss_kib: int
    returncode: int
    stdout: bytes
    stderr: bytes


def child_env(pycache: Path, *, bytecode: bool = True, result_cache: bool = False) -> dict[str, str]:
    """The environment of the measured commands: a bytecode cache of our own, or none at all.

    With ``bytecode`` the children read and write .pyc files under ``pycache`` (what an installed
    package gets from pip); without it they compile every module from source on every run. The
    result cache stays off unless ``result_cache``: a warm-up would otherwise turn every measured
    run into a cache hit.
    """
    env = dict(os.environ)
    if result_cache:
        env.pop("K0S_POLICY_NO_CACHE", None)
    else:
        env["K0S_POLICY_NO_CACHE"] = "1"
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def gnu_time() -> Path | None:
    """/usr/bin/time when it is GNU time (``-f``/``-o``): it reports the child's own peak RSS."""
    path = Path("/usr/bin/time")
    if not path.exists():
        return None
    probe = subprocess.run(
        [str(path), "-f", "%M", "-o", os.devnull, "true"], capture_output=True, check=False
    )
    return path if probe.returncode == 0 else None


GNU_TIME = gnu_time()


def run_once(command: Sequence[str], cwd: Path, env: dict[str, str], ok: Sequence[int] = (0,)) -> Run:
    """One child process: wall time around it, its CPU time and its peak RSS.

    Wall and CPU time come from perf_counter and os.wait4. The peak RSS comes from GNU time when
    present: ru_maxrss of a child that Python spawned is never below Python's own peak, because
    exec keeps the high-water mark of the address space it replaces (vfork shares ours).
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        rss_file = Path(tmp) / "rss"
        argv = list(command)
        if GNU_TIME is not None:
            argv = [str(GNU_TIME), "-f", "%M", "-o", str(rss_file), *argv]
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        max_rss = usage.ru_maxrss
        if GNU_TIME is not None and rss_file.exists():
            lines = rss_file.read_text(encoding="utf-8").split()
            max_rss = int(lines[-1]) if lines and lines[-1].isdigit() else max_rss
        cpu = usage.ru_utime + usage.ru_stime  # the child's own, time's is negligible
        run = Run(wall, cpu, max_rss, process.returncode, out.read(), err.read())
    if run.returncode not in ok:
        tail = run.stderr.decode("utf-8", errors="replace")[-2000:]
        raise Crash(f"{' '.join(command)} exited {run.returncode}\n{tail}")
    return run


@dataclass
class Series:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def best(self) -> float:
        return min(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss_mib(self) -> float:
        return max(r.max_rss_kib for r in self.runs) / 1024


@dataclass(frozen=True)
class Case:
    """One measured command line, or several run one after the other and counted as one run (wall and
    CPU added up, the highest peak RSS): check-jsonschema takes one schema per invocation."""

    label: str
    commands: tuple[tuple[str, ...], ...]
    cwd: Path
    env: dict[str, str]
    ok: tuple[int, ...] = (0,)


def run_case(case: Case) -> Run:
    runs = [run_once(command, case.cwd, case.env, case.ok) for command in case.commands]
    return Run(
        sum(r.wall for r in runs),
        sum(r.cpu for r in runs),
        max(r.max_rss_kib for r in runs),
        max(r.returncode for r in runs),
        b"".join(r.stdout for r in runs),
        b"".join(r.stderr for r in runs),
    )


def side_by_side(cases: Sequence[Case], repeat: int) -> list[Series]:
    """Each case once to warm up, then ``repeat`` rounds that run every case once, in turn: a change
    of load on the machine hits all cases of a ratio alike."""
    series = [Series(case.label) for case in cases]
    for case in cases:
        run_case(case)
    for _ in range(repeat):
        for case, measured in zip(cases, series, strict=True):
            measured.runs.append(run_case(case))
    return series


def import_costs(stderr: str) -> Counter[str]:
    """`-X importtime` output -> self time (microseconds) per top-level package."""
    totals: Counter[str] = Counter()
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if not match:
            continue
        name = match.group(2).split(".")[0]
        if name in sys.stdlib_module_names or name.startswith("_"):
            name = "(stdlib)"
        totals[name] += int(match.group(1))
    return totals


def import_groups(statement: str, cwd: Path, env: dict[str, str], top: int) -> list[tuple[str, float]]:
    """The packages that cost most to import for ``statement``, beyond interpreter start-up (ms)."""
    python = sys.executable
    baseline = import_costs(run_once([python, "-X", "importtime", "-c", "pass"], cwd, env).stderr.decode())
    costs = import_costs(run_once([python, "-X", "importtime", "-c", statement], cwd, env).stderr.decode())
    costs.subtract(baseline)
    return [(name, us / 1000) for name, us in costs.most_common(top) if us >= 1000]
