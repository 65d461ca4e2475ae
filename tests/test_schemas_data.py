"""The generated JSON Schemas under schemas/<minor>/: well-formed, faithful to the k0s CRDs, reproducible,
and right about real configuration files (tests/fixtures/schemas/)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = REPO_ROOT / "schemas"
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
CRDS = REFERENCE / "k0s-crds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "schemas"
GENERATOR = REPO_ROOT / "tools" / "gen_schemas.py"

MINORS = [f"1.{n}" for n in range(21, 37)]
PLAN_MINORS = [minor for minor in MINORS if int(minor.split(".")[1]) >= 24]
CRD_MINORS = [minor for minor in MINORS if minor != "1.21"]

CLUSTERCONFIG = "clusterconfig.schema.json"
PLAN = "autopilot-plan.schema.json"
UPDATECONFIG = "autopilot-updateconfig.schema.json"
K0SCTL = "k0sctl-cluster.schema.json"

IGNORED_SPEC_PATHS = {"spec.interval", "spec.podSecurityPolicy"}
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
IMAGE_VERSION_PATTERN = (
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    r"(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)

SCHEMA_FILES = sorted(SCHEMAS.glob("*/*.json"))

needs_reference = pytest.mark.skipif(not CRDS.is_dir(), reason=f"reference data not found at {REFERENCE}")


# --- helpers ---------------------------------------------------------------------------------------------


@cache
def schema(minor: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / minor / name).read_text(encoding="utf-8"))
    return loaded


def validator(minor: str, name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(minor, name))


def fixture(name: str) -> Any:
    return yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))


def errors(minor: str, name: str, document: Any) -> list[ValidationError]:
    return sorted(validator(minor, name).iter_errors(document), key=lambda error: list(error.path))


def crd_schema(minor: str, filename: str) -> dict[str, Any]:
    documents = [doc for doc in yaml.safe_load_all((CRDS / minor / filename).read_text("utf-8")) if doc]
    assert len(documents) == 1
    result: dict[str, Any] = documents[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return result


def paths(node: Mapping[str, Any], prefix: str) -> Iterator[str]:
    """Property paths below ``node``: ``a.b`` for properties, ``[]`` for items, ``.*`` for map values."""
    for name, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from paths(child, path)
    if isinstance(node.get("items"), Mapping):
        yield f"{prefix}[]"
        yield from paths(node["items"], f"{prefix}[]")
    if isinstance(node.get("additionalProperties"), Mapping):
        yield f"{prefix}.*"
        yield from paths(node["additionalProperties"], f"{prefix}.*")


def subtree_paths(root: Mapping[str, Any], key: str) -> set[str]:
    return {key} | set(paths(root["properties"][key], key))


def description_strings(node: Any) -> Iterator[str]:
    """Every annotation ``description`` (a string), never a property that happens to be named description."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from description_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from description_strings(value)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


# --- well-formed -----------------------------------------------------------------------------------------


def test_every_minor_has_its_files() -> None:
    for minor in MINORS:
        names = {path.name for path in (SCHEMAS / minor).glob("*.json")}
        expected = {CLUSTERCONFIG, K0SCTL} | ({PLAN, UPDATECONFIG} if minor in PLAN_MINORS else set())
        assert names == expected, minor


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_schema_is_valid_2020_12(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text)
    Draft202012Validator.check_schema(loaded)
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert loaded["$id"] == f"https://k0s-policy.dev/schemas/{path.parent.name}/{path.name}"
    assert loaded["title"]
    # sorted keys, 2-space indent, trailing newline
    assert text == json.dumps(loaded, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_clusterconfig_root() -> None:
    for minor in MINORS:
        root = schema(minor, CLUSTERCONFIG)
        # What the API server serves; k0s --config checks neither (the check skips both for ClusterConfigs).
        assert root["properties"]["apiVersion"]["const"] == "k0s.k0sproject.io/v1beta1"
        assert root["properties"]["kind"]["enum"] == ["ClusterConfig", "Cluster"]
        assert root["properties"]["metadata"]["type"] == "object"
        assert "required" not in root  # k0sctl embeds the config without apiVersion/kind
    assert "derived" in schema("1.21", CLUSTERCONFIG)["$comment"].lower()


def test_image_version_pattern_where_validate_checks_it() -> None:
    """NLLB images from 1.26 (tag only in 1.26, tag@digest from 1.27); spec.images only from 1.31."""
    for minor in MINORS:
        image_versions = [
            (path, node)
            for path, node in walk(schema(minor, CLUSTERCONFIG)["properties"]["spec"], "spec")
            if path.endswith(".version")
            and (path.startswith("spec.images.") or path.startswith("spec.network.nodeLocalLoadBalancing."))
        ]
        assert image_versions, minor
        number = int(minor.split(".")[1])
        for path, node in image_versions:
            since = 31 if path.startswith("spec.images.") else 26
            if number < since:
                assert "pattern" not in node, (minor, path)
            elif number == 26:
                assert node.get("pattern") == IMAGE_TAG_PATTERN, (minor, path)
            else:
                assert node.get("pattern") == IMAGE_VERSION_PATTERN, (minor, path)


def walk(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{name}"
        yield path, child
        yield from walk(child, path)


def test_objects_with_properties_are_closed() -> None:
    def check(node: Any, where: str) -> None:
        if isinstance(node, Mapping):
            if isinstance(node.get("properties"), Mapping):
                assert "additionalProperties" in node, where
            for key, value in node.items():
                check(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                check(value, f"{where}/{index}")

    for minor in MINORS:
        check(schema(minor, CLUSTERCONFIG), f"{minor}/{CLUSTERCONFIG}")
    for minor in PLAN_MINORS:
        check(schema(minor, PLAN), f"{minor}/{PLAN}")


# --- faithful to the CRDs ---------------------------------------------------------------------------------


@needs_reference
@pytest.mark.parametrize("minor", MINORS)
def test_clusterconfig_paths_match_crd(minor: str) -> None:
    crd = crd_schema("1.22" if minor == "1.21" else minor, "clusterconfigs.yaml")
    ours = subtree_paths(schema(minor, CLUSTERCONFIG), "spec")
    assert ours == subtree_paths(crd, "spec") | IGNORED_SPEC_PATHS


@needs_reference
@pytest.mark.parametrize("minor", PLAN_MINORS)
def test_plan_paths_match_crd(minor: str) -> None:
    crd = crd_schema(minor, "plans.yaml")
    ours = schema(minor, PLAN)
    for key in ("spec", "status"):
        assert subtree_paths(ours, key) == subtree_paths(crd, key), key
    assert set(ours["properties"]) == set(crd["properties"])


@needs_reference
def test_no_upstream_descriptions() -> None:
    upstream_texts: list[str] = []
    upstream_descriptions: set[str] = set()
    for path in sorted(CRDS.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        upstream_texts.append(normalise(text))
        for document in yaml.safe_load_all(text):
            upstream_descriptions.update(normalise(d) for d in description_strings(document) if d.strip())
    assert upstream_descriptions
    ours = {normalise(d) for path in SCHEMA_FILES for d in description_strings(json.loads(path.read_text()))}
    assert ours
    for description in sorted(ours):
        assert not any(description in text for text in upstream_texts), description
        assert not any(upstream in description for upstream in upstream_descriptions), description


@needs_reference
def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--reference", str(REFERENCE), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    generated = {path.relative_to(tmp_path) for path in tmp_path.glob("*/*.json")}
    committed = {path.relative_to(SCHEMAS) for path in SCHEMA_FILES}
    assert generated == committed
    for relative in sorted(generated):
        assert (tmp_path / relative).read_bytes() == (SCHEMAS / relative).read_bytes(), relative


# --- real files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", ["1.30", "1.31", "1.36"])
def test_valid_clusterconfig(minor: str) -> None:
    assert errors(minor, CLUSTERCONFIG, fixture("clusterconfig-valid.yaml")) == []


@pytest.mark.parametrize("minor", MINORS)
def test_nllb_typo_is_an_unknown_key(minor: str) -> None:
    found = errors(minor, CLUSTERCONFIG, fixture("clusterconfig-nllb-typo.yaml"))
    assert [error.validator for error in found] == ["additionalProperties"]
    assert list(found[0].path) == ["spec", "network"]
    assert "nodeLocalLoadBalancer" in found[0].message


def test_default_pull_policy_enum_only_from_1_26() -> None:
    document = fixture("clusterconfig-pull-policy-sometimes.yaml")
    found = errors("1.30", CLUSTERCONFIG, document)
    assert [error.validator for error in found] == ["enum"]
    assert list(found[0].path) == ["spec", "images", "default_pull_policy"]
    assert errors("1.23", CLUSTERCONFIG, document) == []
    assert errors("1.25", CLUSTERCONFIG, document) == []
    assert [error.validator for error in errors("1.26", CLUSTERCONFIG, document)] == ["enum"]


def test_images_pause_from_1_28() -> None:
    document = fixture("clusterconfig-images-pause.yaml")
    found = errors("1.27", CLUSTERCONFIG, document)
    assert [error.validator for error in found] == ["additionalProperties"]
    assert "pause" in found[0].message
    assert errors("1.28", CLUSTERCONFIG, document) == []
    assert errors("1.36", CLUSTERCONFIG, document) == []


def test_digest_without_tag() -> None:
    document = fixture("clusterconfig-image-digest-only.yaml")
    found = errors("1.31", CLUSTERCONFIG, document)
    assert [error.validator for error in found] == ["pattern"]
    assert list(found[0].path) == ["spec", "images", "kubeproxy", "version"]
    # 1.26-1.30 validate only the node-local load balancer's image, not spec.images.
    assert errors("1.30", CLUSTERCONFIG, document) == []
    assert errors("1.25", CLUSTERCONFIG, document) == []


@pytest.mark.parametrize("minor", ["1.26", "1.31", "1.32", "1.36"])
def test_partial_image_is_accepted(minor: str) -> None:
    assert errors(minor, CLUSTERCONFIG, fixture("clusterconfig-partial-image.yaml")) == []


@pytest.mark.parametrize("minor", MINORS)
def test_keys_k0s_ignores_are_accepted(minor: str) -> None:
    assert errors(minor, CLUSTERCONFIG, fixture("clusterconfig-ignored-keys.yaml")) == []


@pytest.mark.parametrize("minor", ["1.21", "1.22", "1.24", "1.25", "1.30"])
def test_worker_profile_values_are_a_mapping(minor: str) -> None:
    assert errors(minor, CLUSTERCONFIG, fixture("clusterconfig-legacy-worker-profile.yaml")) == []


def test_nllb_unknown_before_1_26() -> None:
    document = fixture("clusterconfig-valid.yaml")
    document["spec"]["network"] = {"nodeLocalLoadBalancing": {"enabled": True}}
    found = errors("1.25", CLUSTERCONFIG, document)
    assert "additionalProperties" in [error.validator for error in found]


@pytest.mark.parametrize("minor", MINORS)
def test_valid_k0sctl_file_and_embedded_config(minor: str) -> None:
    document = fixture("k0sctl-valid.yaml")
    assert errors(minor, K0SCTL, document) == []
    assert errors("1.30", CLUSTERCONFIG, document["spec"]["k0s"]["config"]) == []


def test_k0sctl_role_master() -> None:
    found = errors("1.30", K0SCTL, fixture("k0sctl-role-master.yaml"))
    assert [error.validator for error in found] == ["enum"]
    assert list(found[0].path) == ["spec", "hosts", 0, "role"]


def test_k0sctl_needs_a_host() -> None:
    found = errors("1.30", K0SCTL, fixture("k0sctl-no-hosts.yaml"))
    assert [error.validator for error in found] == ["minItems"]
    document = fixture("k0sctl-valid.yaml")
    del document["spec"]["hosts"][1]["role"]
    assert [error.validator for error in errors("1.30", K0SCTL, document)] == ["required"]


def test_k0sctl_unknown_host_key() -> None:
    document = fixture("k0sctl-valid.yaml")
    document["spec"]["hosts"][0]["address"] = "10.0.0.10"  # belongs under ssh
    found = errors("1.30", K0SCTL, document)
    assert [error.validator for error in found] == ["additionalProperties"]


@pytest.mark.parametrize("minor", PLAN_MINORS)
def test_valid_plan(minor: str) -> None:
    assert errors(minor, PLAN, fixture("plan-valid.yaml")) == []


@pytest.mark.parametrize("minor", PLAN_MINORS)
def test_plan_without_commands(minor: str) -> None:
    found = errors(minor, PLAN, fixture("plan-no-commands.yaml"))
    assert [error.validator for error in found] == ["required"]
    assert "commands" in found[0].message


@pytest.mark.parametrize("minor", PLAN_MINORS)
def test_valid_updateconfig(minor: str) -> None:
    document = fixture("updateconfig-valid.yaml")
    assert errors(minor, UPDATECONFIG, document) == []
    document["spec"]["upgradeStrategy"]["type"] = "weekly"
    assert [error.validator for error in errors(minor, UPDATECONFIG, document)] == ["enum"]
