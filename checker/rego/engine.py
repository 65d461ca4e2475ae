"""The embedded Rego engine (regopy, a binding of rego-cpp): compile once, then query entry points.

This is the only module that imports regopy. Policies, data and a generated module of entry points
are compiled into one bundle; every later question is a query of one entry point against the
current input. rego-cpp reports problems as trees of error nodes (``(error <file>|<offset>|<len>
(errormsg ...) ...)``); they are turned into ``Problem``s that carry the file and byte offset they
point at, when rego-cpp knows them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from regopy import Interpreter, LogLevel, NodeKind, RegoError, rego_shared

from checker.records import dataclass

ENTRY_PACKAGE = "k0s_policy_entrypoints"
UNDEFINED: Any = object()  # the value of a query that produced nothing

_ERROR_HEAD = re.compile(rb"\(error(?![a-z-])(?: (\d+):)?")
_SPAN = re.compile(rb"\|(\d+)\|(\d+)")
_COUNTED = re.compile(rb"\((errormsg|rego-errorcode) (\d+):")


@dataclass(frozen=True)
class Problem:
    """One error rego-cpp reported; ``file`` and ``offset`` are empty when it gave no position."""

    message: str
    file: str = ""
    offset: int = -1
    code: str = ""


class EngineError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems) or [Problem("the Rego engine failed without saying why")]
        super().__init__("; ".join(p.message for p in self.problems))


def version() -> str:
    return str(rego_shared.rego_version())


def parse_problems(text: str) -> list[Problem]:
    """The errors in rego-cpp's printed error tree."""
    raw = text.encode("utf-8")
    problems: list[Problem] = []
    heads = list(_ERROR_HEAD.finditer(raw))
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(raw)
        file, offset, position = "", -1, head.end()
        if head.group(1) is not None:
            length = int(head.group(1))
            file = raw[position : position + length].decode("utf-8", errors="replace")
            span = _SPAN.match(raw, position + length)
            if span is not None:
                offset = int(span.group(1))
        fields: dict[str, str] = {}
        for counted in _COUNTED.finditer(raw, head.end(), end):
            start = counted.end()
            value = raw[start : start + int(counted.group(2))].decode("utf-8", errors="replace")
            fields.setdefault(counted.group(1).decode(), value)
        message = fields.get("errormsg", "").strip() or "unknown error"
        problems.append(Problem(message, file, offset, fields.get("rego-errorcode", "")))
    return problems


def _node_problems(node: Any) -> list[Problem]:
    problems: list[Problem] = []
    for child in _walk(node):
        if rego_shared.rego_node_type(child) == NodeKind.Error:
            problems.extend(parse_problems(rego_shared.rego_node_json(child)))
    return problems


def _walk(node: Any) -> Iterator[Any]:
    yield node
    kind = rego_shared.rego_node_type(node)
    if kind in (NodeKind.ErrorSeq,):
        for index in range(rego_shared.rego_node_size(node)):
            yield from _walk(rego_shared.rego_node_get(node, index))


def _input_json(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, default=str)
    except ValueError:  # inf or nan from YAML (.inf): JSON has no such number
        return json.dumps(_finite(value), allow_nan=False, default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class Compiled:
    """Modules, data and entry points compiled together once; queried many times."""

    def __init__(
        self,
        modules: Sequence[tuple[str, str]],
        data: Sequence[Mapping[str, Any]],
        entrypoints: Mapping[str, str],
    ) -> None:
        self._rego = Interpreter()
        self._rego.log_level = LogLevel.NONE  # rego-cpp prints errors itself otherwise
        try:
            for name, source in modules:
                self._rego.add_module(name, source)
            for document in data:
                self._rego.add_data_json(json.dumps(document, default=str))
            entrypoints = dict(entrypoints) or {"ok": "true"}  # the engine needs at least one
            generated = "\n".join(f"{name} := {expr}" for name, expr in entrypoints.items())
            self._rego.add_module(f"<{ENTRY_PACKAGE}>", f"package {ENTRY_PACKAGE}\n\n{generated}\n")
            self._bundle = self._rego.build(None, [f"{ENTRY_PACKAGE}/{name}" for name in entrypoints])
        except RegoError as err:
            raise EngineError(parse_problems(str(err.args[0] if err.args else err))) from None
        if not self._bundle.ok():
            raise EngineError(_node_problems(rego_shared.rego_bundle_node(self._bundle._impl)))

    def is_builtin(self, name: str) -> bool:
        return bool(self._rego.is_builtin(name))

    def set_input(self, value: Any) -> None:
        try:
            self._rego.set_input_term(_input_json(value))
        except RegoError as err:
            raise EngineError(parse_problems(str(err)) or [Problem(f"input rejected: {err}")]) from None

    def query(self, name: str) -> Any:
        """The value of one entry point for the current input, or UNDEFINED."""
        try:
            output = rego_shared.rego_bundle_query_entrypoint(
                self._rego._impl, self._bundle._impl, f"{ENTRY_PACKAGE}/{name}"
            )
        except RegoError as err:
            raise EngineError(parse_problems(str(err)) or [Problem(str(err))]) from None
        try:
            text = rego_shared.rego_output_string(output) if rego_shared.rego_output_ok(output) else ""
            if text == "undefined":
                return UNDEFINED
            if text.startswith("{"):
                expressions = json.loads(text).get("expressions") or [UNDEFINED]
                return expressions[0]
            problems = parse_problems(text) if "(error" in text else []
            raise EngineError(problems or _node_problems(rego_shared.rego_output_node(output)))
        finally:
            rego_shared.rego_free_output(output)


def probe_builtins(names: Sequence[str]) -> set[str]:
    """Which of these names the engine knows as built-in functions."""
    rego = Interpreter()
    return {name for name in names if rego.is_builtin(name)}
