"""Fail closed at the top: an exception no step caught ends the run as a K0S008 finding in every
report the command line asked for, and exit code 2, never a traceback and exit 1 (which reads as
"findings") and never a missing report file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from checker.cli import options
from checker.report.model import ReportInput

Write = Callable[[ReportInput, TextIO], None]


def report_crash(args: argparse.Namespace, err: BaseException) -> int:
    from checker import __version__
    from checker.report.escape import text
    from checker.workflows.check import internal_error

    command = f"k0s-policy {args.command}"
    finding = internal_error(
        command,
        f"{command} failed ({type(err).__name__}) and stopped: its findings are missing",
        err,
        "the run stopped there, so this report holds no other finding.",
    )
    sys.stderr.write(f"k0s-policy: internal error: {text(finding.detail)} {finding.fix}\n")
    report = ReportInput(findings=[finding], tool_version=__version__)
    report.fail_on = getattr(args, "fail_on", "error") or "error"
    for name, output in _outputs(args):
        write = _writer(name)
        if write is None:
            continue  # a format without findings (an image list): the exit code and stderr say it
        try:
            if output:
                with open(output, "w", encoding="utf-8") as handle:
                    write(report, handle)
            else:
                write(report, sys.stdout)
        except Exception as again:  # the report of a crash must not crash: stderr has it
            sys.stderr.write(f"k0s-policy: cannot write the {name} report: {text(again)}\n")
    return options.EXIT_USAGE


def _outputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """Every report the command line asked for: --format/--output pairs, and audit's own files."""
    outputs = [(name, output) for name, output in getattr(args, "outputs", None) or [["text", None]]]
    for name in ("markdown", "json"):  # audit --markdown FILE --json FILE
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            outputs.append((name, value))
    return outputs


def _writer(name: str) -> Write | None:
    from checker.report import FORMATS, writer

    if name in FORMATS:
        return writer(name)
    if name == "markdown":  # audit and upgrade: the job-summary Markdown carries the finding
        from checker.report.github import step_summary

        return lambda report, out: out.write(step_summary(report, {}))
    return None
