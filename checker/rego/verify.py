"""``k0s-policy verify``: run the ``test_`` rules of Rego policies, like ``conftest verify``.

Every rule whose name starts with ``test_``, in any package, is one test. It passes when it
evaluates to true; false, undefined (a body that does not hold) or a runtime error fail it. All
tests compile together once, with the policies and data they test.
"""

from __future__ import annotations

import json
from typing import Any

from checker.records import dataclass
from checker.rego.isolate import EngineCrash, Mark, run_isolated
from checker.rego.load import PolicySet
from checker.rego.run import crash_message, engine_missing, problem_text, undefined_calls
from checker.rego.source import TEST_RULE


@dataclass(frozen=True)
class PolicyTest:
    file: str
    line: int
    namespace: str
    name: str


@dataclass(frozen=True)
class Outcome:
    test: PolicyTest
    passed: bool
    message: str = ""


@dataclass
class VerifyResult:
    outcomes: list[Outcome]
    problems: list[str]  # policies that did not compile: nothing was run

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if not o.passed)


def find_tests(policies: PolicySet) -> list[PolicyTest]:
    tests: dict[tuple[str, str], PolicyTest] = {}
    for rego in policies.files:
        for head in rego.rules(TEST_RULE):
            tests.setdefault(
                (rego.package, head.name), PolicyTest(rego.path, head.line, rego.package, head.name)
            )
    return list(tests.values())


def _run(mark: Mark, policies: PolicySet, tests: list[PolicyTest]) -> dict[str, Any]:
    """Runs in the engine's process: compile everything once, then each test."""
    from checker.rego.engine import UNDEFINED, Compiled, EngineError

    entrypoints = {f"t{i}": f"data.{t.namespace}.{t.name}" for i, t in enumerate(tests)}
    mark("compiling the policies and their tests")
    try:
        compiled = Compiled([(f.path, f.text) for f in policies.files], policies.data, entrypoints)
    except EngineError as err:
        return {"problems": [problem_text(p, policies) for p in err.problems]}
    problems = undefined_calls(policies, compiled.is_builtin)
    if problems:
        return {"problems": problems}
    compiled.set_input({})
    results: list[tuple[bool, str]] = []
    for index, test in enumerate(tests):
        mark(f"running {test.namespace}.{test.name} ({test.file}:{test.line})")
        try:
            value = compiled.query(f"t{index}")
        except EngineError as err:
            results.append((False, "error: " + "; ".join(p.message for p in err.problems)))
            continue
        if value is True:
            results.append((True, ""))
        else:
            results.append(
                (False, "undefined" if value is UNDEFINED else f"evaluated to {json.dumps(value)}")
            )
    return {"results": results}


def verify(policies: PolicySet) -> VerifyResult:
    tests = find_tests(policies)
    try:
        outcome = run_isolated(lambda mark: _run(mark, policies, tests))
    except EngineCrash as crash:
        return VerifyResult([], [crash_message(crash, policies)])
    except ImportError as err:
        return VerifyResult([], [engine_missing(err)])
    if "problems" in outcome:
        return VerifyResult([], list(outcome["problems"]))
    return VerifyResult(
        [Outcome(t, ok, msg) for t, (ok, msg) in zip(tests, outcome["results"], strict=True)], []
    )
