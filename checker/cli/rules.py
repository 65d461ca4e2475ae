"""`k0s-policy rules` and `k0s-policy explain RULE`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from checker.cli import common, options


def add_parsers(sub: Any) -> None:
    sub.add_parser("rules", help="list every rule")
    explain = sub.add_parser("explain", help="print the documentation of a rule")
    explain.add_argument("rule", help="rule id, e.g. K0S102")


def run_rules(args: argparse.Namespace) -> int:
    from checker.rules import ALL_RULES

    for rule in ALL_RULES:
        sys.stdout.write(f"{rule.id}  {rule.severity!s:7}  {rule.name:32}  {rule.summary}\n")
    return options.EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    rule_id = args.rule
    from importlib.resources import files

    from checker.rules import RULES_BY_ID

    rule = RULES_BY_ID.get(rule_id.upper())
    if rule is None:
        return common.error(f"unknown rule {rule_id!r}; `k0s-policy rules` lists them")
    page = files("checker.ruledocs") / f"{rule.id}.md"
    if page.is_file():
        sys.stdout.write(page.read_text(encoding="utf-8"))
    else:
        sys.stdout.write(f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.summary}\n")
    return options.EXIT_OK
