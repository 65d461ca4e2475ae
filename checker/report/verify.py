"""Reports of `k0s-policy verify`: one line per Rego test (PASS or FAIL) and a summary, or JSON."""

from __future__ import annotations

import json
from typing import TextIO

from checker.findings import summary_line
from checker.rego.verify import VerifyResult
from checker.report.style import Style, TextOptions

PASS_CODE = "1;32"
FAIL_CODE = "1;31"


def summary(result: VerifyResult) -> str:
    """`3 tests: 1 passed, 2 failures` (checker.findings.summary_line)."""
    total = len(result.outcomes)
    return summary_line(
        [(total, "test")],
        [(total - result.failures, "passed", "passed"), (result.failures, "failure")],
        nothing="none ran",
    )


def write_text(result: VerifyResult, out: TextIO, text: TextOptions | None = None) -> None:
    """``--quiet``: the failed tests only."""
    options = text or TextOptions()
    style = Style.of(options, out)
    shown = [o for o in result.outcomes if not (options.quiet and o.passed)]
    for item in shown:
        status = style.paint("PASS", PASS_CODE) if item.passed else style.paint("FAIL", FAIL_CODE)
        where = style.path(f"{item.test.file}:{item.test.line}")
        detail = f": {item.message}" if item.message else ""
        out.write(f"{status} - {where} - {item.test.namespace} - {item.test.name}{detail}\n")
    if options.quiet:
        return
    if result.outcomes:
        out.write("\n")
    out.write(summary(result) + "\n")


def write_json(result: VerifyResult, out: TextIO) -> None:
    document = {
        "version": 1,
        "tests": [
            {
                "file": o.test.file,
                "line": o.test.line,
                "namespace": o.test.namespace,
                "name": o.test.name,
                "passed": o.passed,
                **({"message": o.message} if o.message else {}),
            }
            for o in result.outcomes
        ],
        "summary": {
            "tests": len(result.outcomes),
            "passed": len(result.outcomes) - result.failures,
            "failures": result.failures,
        },
    }
    json.dump(document, out, indent=2)
    out.write("\n")
