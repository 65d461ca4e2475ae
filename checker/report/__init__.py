"""Report writers, one module per format, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from checker.report import json_report, text
from checker.report.model import ReportInput

Writer = Callable[[ReportInput, TextIO], None]

WRITERS: dict[str, Writer] = {
    "text": text.write,
    "json": json_report.write,
}

__all__ = ["WRITERS", "ReportInput", "Writer"]
