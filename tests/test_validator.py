"""Our fast validator against the jsonschema package on real documents and real schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from checker.validate.validator import is_valid, iter_violations, iter_violations_any, supports
from conftest import REPO_ROOT

SCHEMAS = sorted((REPO_ROOT / "schemas").glob("*/*.json"))
FIXTURES = sorted((REPO_ROOT / "tests" / "fixtures" / "schemas").glob("*.yaml")) + sorted(
    (REPO_ROOT / "examples").rglob("*.yaml")
)


def _documents() -> list[Any]:
    documents = []
    for path in FIXTURES:
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    return documents


def _mutations(document: dict[str, Any]) -> list[Any]:
    """Variants that break the document in the ways users do."""
    variants: list[Any] = [document]
    spec = document.get("spec")
    if isinstance(spec, dict):
        for key in list(spec)[:4]:
            broken = copy.deepcopy(document)
            broken["spec"][key + "x"] = broken["spec"].pop(key)
            variants.append(broken)
            wrong_type = copy.deepcopy(document)
            wrong_type["spec"][key] = 12
            variants.append(wrong_type)
        extra = copy.deepcopy(document)
        extra["spec"]["images"] = {"default_pull_policy": "Sometimes", "coredns": {"version": "bad tag!"}}
        variants.append(extra)
    variants.append({**document, "kind": "Nope", "apiVersion": 3})
    variants.append([document])
    return variants


def _ours(schema: dict[str, Any], instance: Any) -> set[tuple[tuple[Any, ...], str]]:
    found = set()
    for violation in iter_violations(schema, instance):
        if violation.keyword == "additionalProperties":
            found.update(((*violation.path, key), "additionalProperties") for key in violation.detail)
        else:
            found.add((violation.path, violation.keyword))
    return found


def _theirs(schema: dict[str, Any], instance: Any) -> set[tuple[tuple[Any, ...], str]]:
    found = set()
    for error in Draft202012Validator(schema).iter_errors(instance):
        if error.validator == "additionalProperties":
            known = error.schema.get("properties") or {}
            found.update(
                ((*error.absolute_path, k), "additionalProperties") for k in error.instance if k not in known
            )
        else:
            found.add((tuple(error.absolute_path), str(error.validator)))
    return found


def test_our_schemas_only_use_keywords_we_implement() -> None:
    assert SCHEMAS
    for path in SCHEMAS:
        assert supports(json.loads(path.read_text())), path


@pytest.mark.parametrize("schema_path", SCHEMAS, ids=[f"{p.parent.name}/{p.name}" for p in SCHEMAS])
def test_same_problems_as_jsonschema(schema_path: Path) -> None:
    schema = json.loads(schema_path.read_text())
    for document in _documents():
        for instance in _mutations(document):
            theirs = _theirs(schema, instance)
            assert _ours(schema, instance) == theirs, (schema_path, instance)
            # the fast yes/no that spares valid objects the full walk must agree with it
            assert is_valid(schema, instance) is not bool(theirs), (schema_path, instance)


def test_unsupported_keywords_fall_back_to_jsonschema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 3}}}
    assert not supports(schema)
    (violation,) = iter_violations_any(schema, {"a": 4})
    assert (violation.path, violation.keyword) == (("a",), "multipleOf")


def test_json_equality_rules() -> None:
    schema = {"enum": [1, "a"], "type": ["integer", "string", "boolean"]}
    assert [v.keyword for v in iter_violations(schema, True)] == ["enum"]
    assert list(iter_violations({"type": "integer"}, 2.0)) == []
    assert not is_valid(schema, True)
    assert is_valid({"type": "integer"}, 2.0)
