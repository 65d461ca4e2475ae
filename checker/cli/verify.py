"""`k0s-policy verify`: the test_ rules of Rego policies."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from checker.cli import common, options


def add_parser(sub: Any) -> None:
    verify = options.sub_parser(
        sub,
        "verify",
        "run the test_ rules of Rego policies (like conftest verify)",
        (
            "k0s-policy verify --policy policy/",
            "k0s-policy verify --policy policy/ --data data/ --format json --output verify.json",
            "k0s-policy verify --policy policy/ -q     # the failed tests only",
        ),
        """exit codes:
  0  every test passed
  1  a test failed
  2  usage error, or policies that cannot be loaded or compiled""",
    )
    verify.add_argument("--policy", action="append", required=True, metavar="DIR", help="policies and tests")
    verify.add_argument("--data", action="append", metavar="FILE", help="YAML/JSON data documents")
    options.add_format_options(verify, ("text", "json"))
    options.add_text_options(verify, verbose=False, statistics=False)


def run(args: argparse.Namespace) -> int:
    from checker.rego.policies import PolicyError, load_policy_set
    from checker.rego.run import INSTALL_HINT, engine_installed
    from checker.rego.verify import verify
    from checker.report.verify import write_json, write_text

    problem = options.check_outputs(args)
    if problem:
        return common.error(problem)

    if not engine_installed():
        return common.error(INSTALL_HINT)
    try:
        result = verify(load_policy_set(args.policy, args.data or (), tests=True))
    except PolicyError as err:
        return common.error(str(err))
    if result.problems:
        for problem in result.problems:
            sys.stderr.write(f"k0s-policy: {problem}\n")
        return options.EXIT_USAGE
    text = options.text_options(args)
    try:
        common.write_outputs(
            args,
            lambda name, out: write_json(result, out) if name == "json" else write_text(result, out, text),
        )
    except common.UsageError as err:
        return common.error(str(err))
    return options.EXIT_FINDINGS if result.failures else options.EXIT_OK
