"""Report writers, one module per format, looked up by name.

The registry names modules rather than importing them, so a run pays only for the formats it
writes. Every module has ``write(report: ReportInput, out: TextIO) -> None``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TextIO

from checker.report.model import ReportInput

Writer = Callable[[ReportInput, TextIO], None]

FORMATS: dict[str, str] = {
    "text": "checker.report.text",
    "json": "checker.report.json_report",
    "sarif": "checker.report.sarif",
    "junit": "checker.report.junit",
    "github": "checker.report.github",
    "conftest-json": "checker.report.conftest_json",
    "gitlab": "checker.report.gitlab",
    "policyreport": "checker.report.policyreport",
}


def writer(name: str) -> Writer:
    module = importlib.import_module(FORMATS[name])
    write: Writer = module.write
    return write


__all__ = ["FORMATS", "ReportInput", "Writer", "writer"]
