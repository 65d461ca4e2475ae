"""Run the native Rego engine in a child process, so that a crash inside it cannot end the run.

rego-cpp aborts the whole process on some policies it fails to compile (a C++ exception nobody
catches). The Rego work of a run therefore happens in a forked child: the child compiles, evaluates
and sends its result back through a pipe; a child that dies instead becomes an ``EngineCrash`` that
says what it was doing. The child reports each step before taking it (``mark``), so the parent knows
the step that killed it. What the child prints (a policy's ``print()``, the engine's last words)
is collected: replayed on stderr after a normal end, quoted in the error after a crash. Where
``os.fork`` does not exist the work runs in this process.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

T = TypeVar("T")
Mark = Callable[[str], None]


class EngineCrash(Exception):
    """The engine's process died (signal or exit) while doing ``step``."""

    def __init__(self, how: str, step: str, said: str = "") -> None:
        self.how = how
        self.step = step
        self.said = said  # the last line the engine printed, if any
        super().__init__(f"the Rego engine crashed ({how}) while {step}")


def _send(out: BinaryIO, message: tuple[str, Any]) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def _child(job: Callable[[Mark], Any], write_fd: int) -> None:
    with os.fdopen(write_fd, "wb") as out:
        try:
            value = job(lambda step: _send(out, ("step", step)))
            message: tuple[str, Any] = ("ok", value)
        except Exception as err:  # handed to the parent, which raises it
            message = ("error", err)
        try:
            _send(out, message)
        except (pickle.PicklingError, TypeError, AttributeError):
            _send(out, ("error", RuntimeError(str(message[1]))))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:
            return f"signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def run_isolated(job: Callable[[Mark], T]) -> T:
    """``job(mark)`` in a child process; its return value, or its exception raised here."""
    if not hasattr(os, "fork"):
        return job(lambda step: None)
    with tempfile.TemporaryFile() as printed:
        step, outcome, status = _fork(job, printed.fileno())
        printed.seek(0)
        output = printed.read().decode("utf-8", errors="replace")
    if outcome is None:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        raise EngineCrash(_describe(status), step, lines[-1] if lines else "")
    if output:
        sys.stderr.write(output)
    kind, payload = outcome
    if kind == "error":
        raise payload
    result: T = payload
    return result


def _fork(job: Callable[[Mark], Any], printed: int) -> tuple[str, tuple[str, Any] | None, int]:
    """Run the child; the last step it announced, its outcome (None if it died) and its wait status."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            faulthandler.disable()  # an engine abort is reported by the parent, not dumped here
            os.close(read_fd)
            os.dup2(printed, 1)
            os.dup2(printed, 2)
            _child(job, write_fd)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    step, outcome = "starting", None
    with os.fdopen(read_fd, "rb") as incoming:
        while True:
            try:
                kind, payload = pickle.load(incoming)
            except (EOFError, pickle.UnpicklingError):
                break
            if kind == "step":
                step = payload
            else:
                outcome = (kind, payload)
    _, status = os.waitpid(pid, 0)
    return step, outcome, status
