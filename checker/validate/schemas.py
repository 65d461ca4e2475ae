"""Per-release JSON Schema validation (schemas/<minor>/...) turned into K0S002 findings at the
offending node, with a "did you mean" for unknown keys."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from checker.findings import Finding, Severity
from checker.inputs.yamldoc import YamlPath, format_path
from checker.k0s.documents import K0sObject, Kind
from checker.validate.validator import Violation, iter_violations_any, supports

SCHEMA_FILES = {
    Kind.CLUSTER_CONFIG: "clusterconfig.schema.json",
    Kind.K0SCTL_CLUSTER: "k0sctl-cluster.schema.json",
    Kind.PLAN: "autopilot-plan.schema.json",
    Kind.UPDATE_CONFIG: "autopilot-updateconfig.schema.json",
}
MAX_FINDINGS_PER_OBJECT = 50
_RECOGNITION_PATHS = {("apiVersion",), ("kind",)}
# Declared (name, summary, docs) in checker.rules.core; schema findings are always errors.
SCHEMA_RULE_ID = "K0S002"


@cache
def _schema_root() -> Path:
    """The data package ``checker.jsonschemas`` as a folder (importlib.resources costs more to import
    than the pre-commit check has to spare)."""
    return Path(next(iter(importlib.import_module("checker.jsonschemas").__path__)))


@cache
def available_minors() -> tuple[str, ...]:
    """The minors with schemas: package data, listed once per process (each object asks)."""
    root = _schema_root()
    minors = [entry.name for entry in root.iterdir() if entry.is_dir() and entry.name[:1].isdigit()]
    return tuple(sorted(minors, key=lambda m: tuple(int(p) for p in m.split("."))))


@cache
def load_schema(minor: str, kind: Kind) -> tuple[dict[str, Any], bool] | None:
    """The schema and whether our own validator covers all of it (decided once per schema)."""
    resource = _schema_root() / minor / SCHEMA_FILES[kind]
    if not resource.is_file():
        return None
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema, supports(schema)


@cache
def schema_minor_for(minor: str) -> str | None:
    """The schema set to use for a release: its own, or the newest older one we have."""
    minors = available_minors()
    if minor in minors:
        return minor
    key = tuple(int(p) for p in minor.split("."))
    older = [m for m in minors if tuple(int(p) for p in m.split(".")) <= key]
    return older[-1] if older else None


def validate(obj: K0sObject, minor: str, cluster: str) -> Iterator[Finding]:
    """Schema findings for one k0s object against the schemas of one k0s minor."""
    schema_minor = schema_minor_for(minor)
    loaded = load_schema(schema_minor, obj.kind) if schema_minor else None
    if loaded is None:
        if obj.kind in (Kind.PLAN, Kind.UPDATE_CONFIG):
            mark = obj.value_mark(("kind",))
            yield Finding(
                SCHEMA_RULE_ID,
                Severity.ERROR,
                f"k0s {minor} has no autopilot: a {obj.kind} is only read from k0s 1.24 on",
                obj.path,
                mark.line,
                mark.column,
                cluster=cluster,
                node=obj.describe(("kind",)),
            )
        return
    errors = sorted(
        iter_violations_any(loaded[0], obj.data, loaded[1]), key=lambda v: (list(map(str, v.path)), v.keyword)
    )
    # A value of the wrong type usually fails its enum or const too; one finding says it.
    wrong_type = {v.path for v in errors if v.keyword == "type"}
    errors = [v for v in errors if v.keyword == "type" or v.path not in wrong_type]
    # A value from an unset environment variable is unknown, not wrong.
    errors = [v for v in errors if not obj.unknown_at(tuple(v.path))]
    if obj.kind is Kind.CLUSTER_CONFIG:
        # `k0s --config` checks neither apiVersion nor kind; recognition already decided (K0S016/K0S004).
        errors = [v for v in errors if tuple(v.path) not in _RECOGNITION_PATHS]
    emitted = 0
    for error in errors:
        for path, message, at_key in _explain(error, obj):
            message = _fit_where(message, obj.describe(path) if path else "")
            if emitted == MAX_FINDINGS_PER_OBJECT:
                rest = len(errors) - MAX_FINDINGS_PER_OBJECT
                mark = obj.start
                yield Finding(
                    SCHEMA_RULE_ID,
                    Severity.ERROR,
                    f"{max(rest, 1)} more schema problems in this {obj.kind} were not listed",
                    obj.path,
                    mark.line,
                    mark.column,
                    cluster=cluster,
                    node=obj.describe(()),
                )
                return
            mark = obj.key_mark(path) if at_key else obj.value_mark(path)
            emitted += 1
            yield Finding(
                SCHEMA_RULE_ID,
                Severity.ERROR,
                f"{message} (k0s {schema_minor} schema)",
                obj.path,
                mark.line,
                mark.column,
                cluster=cluster,
                node=obj.describe(path),
                fix=_schema_fix(error, path),
                detail=_schema_detail(error, schema_minor),
                data={"subject": error.keyword},
            )


def _schema_fix(error: Violation, path: YamlPath) -> str:
    """One line of what to do about a schema problem."""
    kind = error.keyword
    if kind == "additionalProperties":
        key = str(path[-1]) if path else "the field"
        allowed = sorted((error.schema.get("properties") or {}).keys())
        import difflib  # only an unknown key pays for it

        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        return f"rename `{key}` to `{hint[0]}`" if hint else f"remove `{key}` or move it where k0s reads it"
    if kind == "required":
        return f"add `{error.detail}`"
    if kind == "enum":
        options = ", ".join(str(v) for v in error.expected)
        return f"use one of {options}" if len(options) <= 80 else "use one of the values in the detail"
    if kind == "const":
        return f"write {error.expected!r}"
    if kind == "type":
        expected = error.expected
        return (
            f"write a value of type {' or '.join(expected) if isinstance(expected, list) else expected} here"
        )
    return "write a value the k0s release accepts here (see the detail)"


def _schema_detail(error: Violation, schema_minor: str) -> str:
    """The why of a schema finding: what k0s does with the document, and what is allowed there."""
    why = f"k0s {schema_minor} does not accept a document that breaks its schema here."
    if error.keyword == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        if allowed:
            return f"{why} Allowed here: {', '.join(allowed)}."
    if error.keyword == "pattern":
        return f"{why} The value must match the pattern {error.expected}."
    if error.keyword == "enum":
        return f"{why} Allowed values: {', '.join(str(v) for v in error.expected)}."
    return why


MESSAGE_LENGTH = 120  # as the rules keep theirs (checker.rules.base); the detail has the rest


def _fit_where(message: str, where: str) -> str:
    """A message whose YAML path makes it long names only the path's last two keys ("…envoyProxy.image")."""
    if len(message) <= MESSAGE_LENGTH or not where or where.count(".") < 2:
        return message
    return message.replace(where, "…" + ".".join(where.split(".")[-2:]), 1)


def _where(obj: K0sObject, path: YamlPath) -> str:
    return obj.describe(path) or "the document"


def _explain(error: Violation, obj: K0sObject) -> Iterator[tuple[YamlPath, str, bool]]:
    path: YamlPath = error.path
    where = _where(obj, path)
    kind = error.keyword
    if kind == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        for key in error.detail or ():
            import difflib

            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            suggestion = f"; did you mean `{hint[0]}`?" if hint else ""
            yield (*path, key), f"{where}: unknown field `{key}`, which k0s rejects{suggestion}", True
        return
    if kind == "required":
        yield path, f"{where}: required field `{error.detail}` is missing", True
        return
    if kind == "enum":
        options = ", ".join(str(v) for v in error.expected)
        value = _short(error.instance) or "the value"
        if len(options) <= 60:
            yield path, f"{where}: {value} is none of {options}", False
        else:
            yield path, f"{where}: {value} is not one of the allowed values", False
        return
    if kind == "const":
        yield path, f"{where}: must be {error.expected!r}, not {error.instance!r}", False
        return
    if kind == "type":
        expected = error.expected
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        got = f"{_type_name(error.instance)} {_short(error.instance)}".rstrip()
        yield path, f"{where}: expected {expected_text}, got {got}", False
        return
    if kind == "pattern":
        yield path, f"{where}: {_short(error.instance)} is not a valid value here", False
        return
    limits = {
        "minimum": "at least",
        "maximum": "at most",
        "minLength": "at least this many characters:",
        "maxLength": "at most this many characters:",
        "minItems": "at least this many items:",
        "maxItems": "at most this many items:",
    }
    if kind in limits:
        yield (
            path,
            f"{where}: {_short(error.instance) or 'value'} must be {limits[kind]} {error.expected}",
            False,
        )
        return
    if kind == "anyOf":
        yield path, f"{where}: {_short(error.instance) or 'value'} matches none of the allowed forms", False
        return
    yield path, f"{where}: not allowed here ({kind})", False


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = ["available_minors", "format_path", "schema_minor_for", "validate"]
