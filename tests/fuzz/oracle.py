"""What counts as a crash: the verdict on one input's exit code and captured output.

An input is fine when the run ends with exit code 0 or 1 (2 only with the tool's own error message: a
usage, configuration or input error), without a traceback or a K0S008 (internal error) finding, with
the sibling file's stale-pin finding still reported, with a report its format's readers can parse, and
without a workflow command or a raw control character smuggled into text output. Anything else is a
crash, named by a short class so that one bug is counted once.
"""

from __future__ import annotations

import json
import re
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import TracebackType

from .generate import SIBLING, FuzzInput
from .values import INJECTED

JSON_FORMATS = ("json", "sarif", "conftest-json", "gitlab", "policyreport")
_WORKFLOW_COMMAND = re.compile(rf"(?m)^\s*::[\w-]+ file={INJECTED}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INTERNAL = re.compile(r"(?:K0S008 |\": \"|::|=\")([\w ,.'-]+?) failed on this cluster's documents \((\w+)\)")
# GitHub runs no workflow command between ::stop-commands::TOKEN and ::TOKEN:: (the github format's guard)
_STOPPED = re.compile(r"(?ms)^::stop-commands::(\w+)$.*?^::\1::$")


@dataclass
class Outcome:
    rc: int | None
    stdout: str
    stderr: str
    error: str = ""  # the class of an exception that escaped the command, with its traceback below


def exception_class(err: BaseException, tb: TracebackType | None) -> str:
    """``ValueError at checker/inputs/yamldoc.py:_scalar``: the innermost frame of our own code."""
    where = "?"
    for frame in traceback.extract_tb(tb):
        if "/checker/" in frame.filename:
            where = f"checker/{frame.filename.rsplit('/checker/', 1)[1]}:{frame.name}"
    return f"{type(err).__name__} at {where}"


def verdict(item: FuzzInput, outcome: Outcome) -> str | None:
    """The crash class of this outcome, or None when the run behaved."""
    if outcome.error:
        return "exception: " + outcome.error.splitlines()[0]
    output = outcome.stdout + outcome.stderr
    if "Traceback (most recent call last)" in output:
        return "traceback in output: " + output.rstrip().splitlines()[-1][:120]
    if _internal_error(item.format, outcome):
        match = _INTERNAL.search(output)
        return f"K0S008: {match.group(1).strip()} ({match.group(2)})" if match else "K0S008"
    if outcome.rc not in (0, 1, 2):
        return f"exit code {outcome.rc}"
    if outcome.rc == 2 and "k0s-policy:" not in outcome.stderr:
        return "exit code 2 without an error message"
    if item.sibling_checked and not (SIBLING in outcome.stdout and "K0S102" in outcome.stdout):
        return "sibling finding lost" if outcome.rc != 2 else "exit code 2 and the sibling finding lost"
    if _WORKFLOW_COMMAND.search(_STOPPED.sub("", output)):
        return "output injection: a workflow command at a line start"
    if item.format in ("text", "github") and _CONTROL.search(outcome.stdout):
        return f"output injection: raw control character in {item.format} output"
    return _unreadable(item.format, outcome.stdout)


def _internal_error(format_name: str, outcome: Outcome) -> bool:
    """A K0S008 finding in the report (SARIF lists every rule, K0S008 too: only its results count)."""
    if format_name != "sarif" or "K0S008" in outcome.stderr:
        return "K0S008" in outcome.stdout + outcome.stderr
    try:
        runs = json.loads(outcome.stdout).get("runs", [])
    except (ValueError, AttributeError):
        return False
    return any(r.get("ruleId") == "K0S008" for run in runs for r in run.get("results", []))


def _unreadable(format_name: str, stdout: str) -> str | None:
    if not stdout.strip():  # a usage or configuration error: no report at all
        return None
    try:
        if format_name in JSON_FORMATS:
            json.loads(stdout)
        elif format_name == "junit":
            ET.fromstring(stdout.encode("utf-8", "surrogatepass"))
    except (ValueError, ET.ParseError) as err:
        return f"unreadable {format_name} report ({type(err).__name__})"
    return None
