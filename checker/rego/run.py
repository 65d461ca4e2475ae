"""Compiling and querying Rego policies, in the engine's child process (checker.rego.isolate).

One bundle holds the policies, the data and a generated module of entry points: per conftest rule
the list of its results (``r<n>``) and whether an ``exception`` rule names it (``e<n>``), and
``all``, which answers every one of them in one query. A document is one query of ``all``; only when
it fails are the entry points asked one by one, to name the rule that failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from checker.records import dataclass
from checker.rego.isolate import EngineCrash, Mark, run_isolated
from checker.rego.load import PolicySet
from checker.rego.source import RegoFile, calls, exception_name, is_failure


@dataclass(frozen=True)
class RuleInfo:
    namespace: str
    name: str
    heads: int
    where: str  # "file:line" of its first head

    @property
    def query(self) -> str:
        return f"data.{self.namespace}.{self.name}"

    @property
    def failure(self) -> bool:
        return is_failure(self.name)


def collect_values(query: str) -> str:
    """An entry point that lists a rule's results, whatever its form (set, v0 partial set, array)."""
    return (
        f"array.concat([m | x := {query}; is_array(x); some m in x], "
        f"[m | x := {query}; not is_array(x); x[m]])"
    )


def excepted(namespace: str, rule: str) -> str:
    """An entry point that is non-empty when the namespace's ``exception`` rule names this rule."""
    name = json.dumps(exception_name(rule))
    return f"[true | some r; data.{namespace}.exception[r]; r[_] == {name}]"


ALL = "all"  # the entry point that answers every other one at once


def undefined_calls(policies: PolicySet, is_builtin: Callable[[str], bool]) -> list[str]:
    """Calls of functions that neither the engine nor the policies define (OPA rejects them at compile)."""
    defined: dict[str, set[str]] = {}
    for rego in policies.files:
        defined.setdefault(rego.package, set()).update(h.name for h in rego.heads)
    problems: list[str] = []
    for rego in policies.files:
        for name, line in calls(rego):
            if _call_defined(name, rego, defined, is_builtin):
                continue
            problems.append(
                f"{rego.path}:{line}: function {name} is not defined: no policy declares it and the embedded "
                "Rego engine (regopy) has no such built-in"
            )
    return problems


def _call_defined(
    name: str, rego: RegoFile, defined: dict[str, set[str]], is_builtin: Callable[[str], bool]
) -> bool:
    first, _, rest = name.partition(".")
    if not rest:
        return name in defined.get(rego.package, set()) or name == "print" or bool(is_builtin(name))
    target = name
    if first in rego.imports:
        target = f"{rego.imports[first]}.{rest}"
    if target.startswith("data."):
        package, _, function = target[5:].rpartition(".")
        return function in defined.get(package, set())
    return first == "input" or bool(is_builtin(name))


def compile_and_run(
    mark: Mark,
    policies: PolicySet,
    entrypoints: dict[str, str],
    inputs: list[tuple[str, Any]],
) -> dict[str, Any]:
    """Runs in the engine's process: compile once, then every entry point on every input."""
    from checker.rego.engine import Compiled, EngineError

    mark("compiling the policies")
    try:
        compiled = Compiled([(f.path, f.text) for f in policies.files], policies.data, entrypoints)
    except EngineError as err:
        return {"compile_problems": [problem_text(p, policies) for p in err.problems]}
    problems = undefined_calls(policies, compiled.is_builtin)
    if problems:
        return {"compile_problems": problems}
    values: list[dict[str, Any]] = []
    errors: list[tuple[int, str, str]] = []
    queries = 0
    for index, (label, value) in enumerate(inputs):
        mark(f"reading {label} into the engine")
        try:
            compiled.set_input(value)
        except EngineError as err:
            errors.append((index, "", "; ".join(p.message for p in err.problems)))
            values.append({})
            continue
        mark(f"evaluating the policies on {label}")
        queries += 1
        try:
            answers = compiled.query(ALL)
        except EngineError:
            answers = {}  # one rule failed: ask each on its own to find which
            for name in entrypoints:
                if name == ALL:
                    continue
                mark(f"evaluating entry point {name} on {label}")
                queries += 1
                try:
                    answers[name] = compiled.query(name)
                except EngineError as err:
                    errors.append((index, name, "; ".join(p.message for p in err.problems)))
        values.append(answers if isinstance(answers, dict) else {})
    return {"compilations": 1, "queries": queries, "values": values, "errors": errors}


def problem_text(problem: Any, policies: PolicySet) -> str:
    rego = next((f for f in policies.files if f.path == problem.file), None)
    if rego is not None and problem.offset >= 0:
        line, column = rego.line_at(problem.offset)
        return f"{rego.path}:{line}:{column}: cannot compile the policy: {problem.message}"
    if problem.file and not problem.file.startswith("<"):
        return f"{problem.file}: cannot compile the policy: {problem.message}"
    return f"cannot compile the policies: {problem.message}"


def crash_culprit(policies: PolicySet) -> str | None:
    """The first policy file that crashes the engine when compiled on its own, if one does."""
    for rego in policies.files:
        alone = PolicySet([rego], policies.data)
        try:
            run_isolated(partial(_compile_only, alone))
        except EngineCrash:
            return rego.path
        except Exception:  # any other failure of the file alone says nothing about the crash
            continue
    return None


def _compile_only(policies: PolicySet, mark: Mark) -> bool:
    from checker.rego.engine import Compiled, EngineError

    try:
        Compiled([(f.path, f.text) for f in policies.files], policies.data, {})
    except EngineError:
        return False
    return True


INSTALL_HINT = "Rego policies need the optional engine: pip install 'k0s-policy[rego]'"


def engine_installed() -> bool:
    """Whether the Rego engine can be imported, without importing it (it is an optional extra)."""
    import importlib.util

    return importlib.util.find_spec("regopy") is not None


def engine_missing(err: ImportError) -> str:
    return f"{INSTALL_HINT} ({err})"


def crash_message(crash: EngineCrash, policies: PolicySet) -> str:
    from checker.rego.engine import version

    text = f"the embedded Rego engine (rego-cpp {version()}) crashed ({crash.how}) while {crash.step}"
    if crash.said:
        text += f" ({crash.said})"
    if crash.step.startswith("compiling"):
        culprit = crash_culprit(policies)
        if culprit is not None:
            text = f"{culprit}: {text}; compiling this file alone crashes it too"
    return (
        f"{text}. This is a fault of the engine, not necessarily of the policy; rewriting the construct "
        "it trips on (often `with input as` around a rule that builds its message from input) avoids it"
    )
