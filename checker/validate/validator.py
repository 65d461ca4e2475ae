"""A small JSON Schema 2020-12 validator for the keywords our generated schemas use.

Importing the `jsonschema` package costs more than the whole single-file check may take (it is the
pre-commit case), and its general machinery is slower than a direct walk over the few keywords
our schemas contain. A schema that uses any other keyword (a user-supplied one, say) is validated
by `jsonschema` instead, imported only then. tests/test_validator.py checks that both report the
same problems on real documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, NamedTuple

SUPPORTED = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "format",  # an annotation only, as in jsonschema without a format checker
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "anyOf",
    }
)
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "format"})


class Violation(NamedTuple):
    """One failed keyword: where (path in the instance), which keyword, and the values involved."""

    path: tuple[str | int, ...]
    keyword: str
    schema: Mapping[str, Any]
    instance: Any
    expected: Any  # the keyword's value in the schema
    detail: Any = None  # the missing key for `required`, the extra keys for `additionalProperties`


def supports(schema: Any) -> bool:
    """True when every keyword anywhere in the schema is one this module implements."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping) or not set(schema) <= SUPPORTED:
        return False
    children: list[Any] = list((schema.get("properties") or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            children.append(schema[key])
    children.extend(schema.get("anyOf", []))
    return all(supports(child) for child in children)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    return False


def iter_violations(schema: Any, instance: Any, path: tuple[str | int, ...] = ()) -> Iterator[Violation]:
    if schema is True:
        return
    if schema is False:
        yield Violation(path, "false", {}, instance, False)
        return
    expected_type = schema.get("type")
    if expected_type is not None:
        names = expected_type if isinstance(expected_type, list) else [expected_type]
        if not any(_is_type(instance, name) for name in names):
            yield Violation(path, "type", schema, instance, expected_type)
    if "enum" in schema and not any(_equal(instance, option) for option in schema["enum"]):
        yield Violation(path, "enum", schema, instance, schema["enum"])
    if "const" in schema and not _equal(instance, schema["const"]):
        yield Violation(path, "const", schema, instance, schema["const"])
    if "anyOf" in schema and not any(not any(iter_violations(s, instance, path)) for s in schema["anyOf"]):
        yield Violation(path, "anyOf", schema, instance, schema["anyOf"])
    if isinstance(instance, str):
        yield from _string(schema, instance, path)
    elif isinstance(instance, int | float) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            yield Violation(path, "minimum", schema, instance, schema["minimum"])
        if "maximum" in schema and instance > schema["maximum"]:
            yield Violation(path, "maximum", schema, instance, schema["maximum"])
    elif isinstance(instance, list):
        yield from _array(schema, instance, path)
    elif isinstance(instance, dict):
        yield from _object(schema, instance, path)


def _string(schema: Mapping[str, Any], instance: str, path: tuple[str | int, ...]) -> Iterator[Violation]:
    if "minLength" in schema and len(instance) < schema["minLength"]:
        yield Violation(path, "minLength", schema, instance, schema["minLength"])
    if "maxLength" in schema and len(instance) > schema["maxLength"]:
        yield Violation(path, "maxLength", schema, instance, schema["maxLength"])
    if "pattern" in schema and not _regex(schema["pattern"]).search(instance):
        yield Violation(path, "pattern", schema, instance, schema["pattern"])


def _array(
    schema: Mapping[str, Any], instance: list[Any], path: tuple[str | int, ...]
) -> Iterator[Violation]:
    if "minItems" in schema and len(instance) < schema["minItems"]:
        yield Violation(path, "minItems", schema, instance, schema["minItems"])
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        yield Violation(path, "maxItems", schema, instance, schema["maxItems"])
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(instance):
            yield from iter_violations(items, item, (*path, index))


def _object(
    schema: Mapping[str, Any], instance: dict[Any, Any], path: tuple[str | int, ...]
) -> Iterator[Violation]:
    for key in schema.get("required", ()):
        if key not in instance:
            yield Violation(path, "required", schema, instance, schema["required"], key)
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties", True)
    extra = []
    for key, value in instance.items():
        if key in properties:
            yield from iter_violations(properties[key], value, (*path, key))
        elif additional is False:
            extra.append(key)
        elif isinstance(additional, Mapping):
            yield from iter_violations(additional, value, (*path, key))
    if extra:
        yield Violation(path, "additionalProperties", schema, instance, False, tuple(extra))


def is_valid(schema: Any, instance: Any) -> bool:
    """``not any(iter_violations(schema, instance))``, without a generator per node: nearly every
    object is valid, and only an invalid one needs its violations listed."""
    if schema is True:
        return True
    if schema is False:
        return False
    expected_type = schema.get("type")
    if expected_type is not None:
        if isinstance(expected_type, list):
            if not any(_is_type(instance, name) for name in expected_type):
                return False
        elif not _is_type(instance, expected_type):
            return False
    if "enum" in schema and not any(_equal(instance, option) for option in schema["enum"]):
        return False
    if "const" in schema and not _equal(instance, schema["const"]):
        return False
    if "anyOf" in schema and not any(is_valid(s, instance) for s in schema["anyOf"]):
        return False
    if isinstance(instance, str):
        return not (
            ("minLength" in schema and len(instance) < schema["minLength"])
            or ("maxLength" in schema and len(instance) > schema["maxLength"])
            or ("pattern" in schema and not _regex(schema["pattern"]).search(instance))
        )
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        return not (
            ("minimum" in schema and instance < schema["minimum"])
            or ("maximum" in schema and instance > schema["maximum"])
        )
    if isinstance(instance, list):
        if ("minItems" in schema and len(instance) < schema["minItems"]) or (
            "maxItems" in schema and len(instance) > schema["maxItems"]
        ):
            return False
        items = schema.get("items")
        return items is None or all(is_valid(items, item) for item in instance)
    if isinstance(instance, dict):
        if any(key not in instance for key in schema.get("required", ())):
            return False
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in properties:
                if not is_valid(properties[key], value):
                    return False
            elif additional is False or (isinstance(additional, Mapping) and not is_valid(additional, value)):
                return False
    return True


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


_COMPILED: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _compiled(schema: Mapping[str, Any]) -> Any:
    """jsonschema's validator of a schema, built once per run: the schemas are loaded once
    (checker.validate.schemas.load_schema) and every object of a release is checked against the same
    one. Keyed by identity with the schema kept alive, so an id is never reused for another schema."""
    found = _COMPILED.get(id(schema))
    if found is None or found[0] is not schema:
        from jsonschema import Draft202012Validator

        found = _COMPILED[id(schema)] = (schema, Draft202012Validator(schema))
    return found[1]


def iter_violations_any(
    schema: Mapping[str, Any], instance: Any, supported: bool | None = None
) -> Iterator[Violation]:
    """Our walk where it covers the schema, `jsonschema` (imported lazily) everywhere else.

    ``supported`` is ``supports(schema)`` when the caller has it cached.
    """
    if supported if supported is not None else supports(schema):
        if not is_valid(schema, instance):
            yield from iter_violations(schema, instance)
        return
    for error in _compiled(schema).iter_errors(instance):
        detail = None
        if error.validator == "required":
            detail = error.message.split("'")[1] if "'" in error.message else error.message
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties") or {}
            detail = tuple(k for k in error.instance if k not in known)
        yield Violation(
            tuple(error.absolute_path),
            str(error.validator),
            error.schema,
            error.instance,
            error.validator_value,
            detail,
        )
