"""`k0s-policy rules` and `k0s-policy explain RULE`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from checker.cli import common, options

INFO_EXIT_CODES = """exit codes:
  0  printed
  2  usage error (an unknown rule id)"""


def add_parsers(sub: Any) -> None:
    rules = options.sub_parser(
        sub,
        "rules",
        "list every rule",
        ("k0s-policy rules", "k0s-policy rules --format json | jq -r '.[].id'"),
        INFO_EXIT_CODES,
    )
    rules.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    options.add_text_options(rules, quiet=False, verbose=False, statistics=False)
    explain = options.sub_parser(
        sub, "explain", "print the documentation of a rule", ("k0s-policy explain K0S102",), INFO_EXIT_CODES
    )
    explain.add_argument("rule", help="rule id, e.g. K0S102")


FAMILIES = {"0": "input", "1": "images", "2": "pull-policy", "3": "version-skew", "4": "dynamic-config"}


def families_of(rule_id: str) -> list[str]:
    """K0S102 -> ["K0S1xx", "images"]: the family a rule belongs to (DESIGN.md, "Rules")."""
    digit = rule_id[3:4]
    return [f"K0S{digit}xx", FAMILIES.get(digit, "other")]


def run_rules(args: argparse.Namespace) -> int:
    from checker.rules import ALL_RULES

    if args.format == "json":
        import json

        entries = [
            {
                "id": rule.id,
                "name": rule.name,
                "severity": str(rule.severity),
                "summary": rule.summary,
                "docs": rule.docs,
                "families": families_of(rule.id),
            }
            for rule in ALL_RULES
        ]
        sys.stdout.write(json.dumps(entries, indent=2) + "\n")
        return options.EXIT_OK
    from checker.report.style import Style

    style = Style.of(options.text_options(args), sys.stdout)
    for rule in ALL_RULES:
        sys.stdout.write(
            f"{style.rule(rule.id)}  {style.severity(rule.severity, 7)}  {rule.name:32}  {rule.summary}\n"
        )
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
        from checker.report.model import rule_docs_uri

        text = page.read_text(encoding="utf-8")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.write(f"\nOnline: {rule_docs_uri(rule.id)}\n")
    else:
        sys.stdout.write(f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.summary}\n")
    return options.EXIT_OK
