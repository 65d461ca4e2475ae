"""A worker process: builds each input it is sent, writes its tree, runs the real command in-process.

The command is ``checker.cli.app.main`` with stdin, stdout and stderr swapped for buffers; the only
shortcut is that the built-in release catalogue is loaded once per worker instead of once per input
(it is read-only data, and loading it is most of the cost of a small run).
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .generate import Corpus, FuzzInput
from .oracle import Outcome, exception_class, verdict


@dataclass
class Report:
    index: int
    crash: str | None
    seconds: float
    cpu: float
    rss_kib: int
    excerpt: str = ""


def _cache_catalog() -> None:
    from checker.cli import common

    original = common.load_catalog
    cache: dict[Any, Any] = {}

    def load_catalog(args: Any) -> Any:
        key = (tuple(getattr(args, "data_dir", None) or ()), getattr(args, "k0s_version", None))
        if key not in cache:
            cache[key] = original(args)
        return cache[key]

    common.load_catalog = load_catalog  # type: ignore[assignment]


def prepare(folder: Path, item: FuzzInput) -> None:
    """The input's tree in ``folder`` and nothing else (the previous input's files are removed)."""
    for name in os.listdir(folder):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    for relative, data in item.files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_command(argv: list[str], stdin: bytes | None) -> Outcome:
    from checker.cli.app import main

    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    error = ""
    rc: int | None = None
    try:
        rc = main(argv)
    except SystemExit as done:
        rc = done.code if isinstance(done.code, int) else 1
    except BaseException as exc:  # the oracle's business: anything that escapes the command is a crash
        error = exception_class(exc, exc.__traceback__) + "\n" + traceback.format_exc()
    finally:
        wrappers = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = saved
        for wrapper in wrappers:
            try:
                wrapper.flush()
                wrapper.detach()  # keeps the buffer open when the wrapper is collected
            except (ValueError, UnicodeError) as exc:
                error = error or f"{type(exc).__name__} writing output"
    return Outcome(
        rc, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"), error
    )


def serve(conn: Connection, corpus: Corpus, seed: int, folder: str, memory_mib: int) -> None:
    """Answer index after index until the parent sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the campaign
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if memory_mib:
        limit = memory_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(folder)
    _cache_catalog()
    while True:
        index = conn.recv()
        if index is None:
            return
        item = corpus.build(seed, index)
        conn.send(("start", index, len(item.data)))
        prepare(Path(folder), item)
        started, cpu = time.perf_counter(), time.process_time()
        outcome = run_command(item.argv(), item.stdin)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        crash = verdict(item, outcome)
        excerpt = ""
        if crash:
            excerpt = (outcome.error or (outcome.stdout[-3000:] + "\n--- stderr\n" + outcome.stderr[-3000:]))[
                -6000:
            ]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send(("done", Report(index, crash, seconds, cpu, rss, excerpt)))
