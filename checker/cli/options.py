"""The flags sub-commands share, the exit codes, and the --format/--output pairing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
FAIL_ON = ("error", "warning", "info", "never")


class FormatAction(argparse.Action):
    """`--format X [--output FILE]`, repeatable: each --output belongs to the --format before it."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: str | None = None
    ) -> None:
        outputs: list[list[str | None]] = getattr(ns, "outputs", None) or []
        if self.dest == "format":
            outputs.append([value, None])
        else:
            if not outputs:
                outputs.append(["text", None])
            if outputs[-1][1] is not None:
                parser.error("each --output follows the --format it belongs to")
            outputs[-1][1] = value
        ns.outputs = outputs


def rule_ids(values: Sequence[str] | None) -> frozenset[str]:
    return frozenset(v.strip().upper() for value in values or () for v in value.split(",") if v.strip())


def add_repository_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a repository shares (check, audit, fix)."""
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="use this .k0s-policy.yaml instead of the nearest one"
    )
    parser.add_argument("--no-config", action="store_true", help="ignore any .k0s-policy.yaml")


def add_policy_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--policy", action="append", metavar="DIR", help="conftest-style Rego policies (repeatable)"
    )
    check.add_argument(
        "--data", action="append", metavar="FILE", help="YAML/JSON data documents for the policies"
    )
    check.add_argument(
        "--namespace", action="append", metavar="NS", help="policy packages to run (default: main)"
    )
    check.add_argument("--all-namespaces", action="store_true", help="run every policy package")
    check.add_argument(
        "--combine", action="store_true", help="give the policies all documents of a cluster as one input"
    )
