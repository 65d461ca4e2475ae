"""Per-release JSON Schema validation (schemas/<minor>/...) turned into K0S002 findings at the
offending node, with a "did you mean" for unknown keys."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from checker.documents import K0sObject, Kind
from checker.findings import Finding
from checker.rules.core import SCHEMA_VIOLATION
from checker.yamldoc import YamlPath, format_path

SCHEMA_FILES = {
    Kind.CLUSTER_CONFIG: "clusterconfig.schema.json",
    Kind.K0SCTL_CLUSTER: "k0sctl-cluster.schema.json",
    Kind.PLAN: "autopilot-plan.schema.json",
    Kind.UPDATE_CONFIG: "autopilot-updateconfig.schema.json",
}
MAX_FINDINGS_PER_OBJECT = 50


def available_minors() -> list[str]:
    root = files("checker.jsonschemas")
    minors = [entry.name for entry in root.iterdir() if entry.is_dir() and entry.name[:1].isdigit()]
    return sorted(minors, key=lambda m: tuple(int(p) for p in m.split(".")))


@cache
def validator(minor: str, kind: Kind) -> Draft202012Validator | None:
    resource = files("checker.jsonschemas") / minor / SCHEMA_FILES[kind]
    if not resource.is_file():
        return None
    return Draft202012Validator(json.loads(resource.read_text(encoding="utf-8")))


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
    checker = validator(schema_minor, obj.kind) if schema_minor else None
    if checker is None:
        if obj.kind in (Kind.PLAN, Kind.UPDATE_CONFIG):
            mark = obj.value_mark(("kind",))
            yield Finding(
                SCHEMA_VIOLATION.id,
                SCHEMA_VIOLATION.severity,
                f"k0s {minor} has no autopilot: a {obj.kind} is only read from k0s 1.24 on",
                obj.path,
                mark.line,
                mark.column,
                cluster=cluster,
                node=obj.describe(("kind",)),
            )
        return
    errors = sorted(
        checker.iter_errors(obj.data), key=lambda e: (list(map(str, e.absolute_path)), e.validator)
    )
    emitted = 0
    for error in errors:
        for path, message, at_key in _explain(error, obj):
            if emitted == MAX_FINDINGS_PER_OBJECT:
                rest = len(errors) - MAX_FINDINGS_PER_OBJECT
                mark = obj.start
                yield Finding(
                    SCHEMA_VIOLATION.id,
                    SCHEMA_VIOLATION.severity,
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
                SCHEMA_VIOLATION.id,
                SCHEMA_VIOLATION.severity,
                f"{message} (k0s {schema_minor} schema)",
                obj.path,
                mark.line,
                mark.column,
                cluster=cluster,
                node=obj.describe(path),
                data={"subject": error.validator},
            )


def _where(obj: K0sObject, path: YamlPath) -> str:
    return obj.describe(path) or "the document"


def _explain(error: ValidationError, obj: K0sObject) -> Iterator[tuple[YamlPath, str, bool]]:
    path: YamlPath = tuple(error.absolute_path)
    where = _where(obj, path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        for key in _unexpected_keys(error):
            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            suggestion = f"; did you mean `{hint[0]}`?" if hint else f"; allowed here: {', '.join(allowed)}"
            if not allowed:
                suggestion = ""
            message = f"{where}: unknown field `{key}`, which k0s rejects{suggestion}"
            yield (*path, key), message, True
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield path, f"{where}: required field `{missing}` is missing", True
        return
    if kind == "enum":
        options = ", ".join(str(v) for v in error.validator_value)
        yield path, f"{where}: {error.instance!r} is not allowed; use one of {options}", False
        return
    if kind == "const":
        yield path, f"{where}: must be {error.validator_value!r}, not {error.instance!r}", False
        return
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        yield (
            path,
            f"{where}: expected {expected_text}, got {_type_name(error.instance)} {_short(error.instance)}",
            False,
        )
        return
    if kind == "pattern":
        yield (
            path,
            f"{where}: {error.instance!r} is not a valid value here (must match {error.validator_value})",
            False,
        )
        return
    yield path, f"{where}: {error.message}", False


def _unexpected_keys(error: ValidationError) -> list[Any]:
    properties = error.schema.get("properties") or {}
    patterns = error.schema.get("patternProperties") or {}
    import re

    return [
        key
        for key in error.instance
        if key not in properties and not any(re.search(p, str(key)) for p in patterns)
    ]


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
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = ["available_minors", "format_path", "schema_minor_for", "validate"]
