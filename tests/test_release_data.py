"""The shipped release data: regenerates it from the research notes when they are available, and checks
the facts the checker relies on in the committed files themselves."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.k0s.releases import BUILTIN_INDEX, Catalog, Patch, load_release_file

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
GENERATOR = REPO_ROOT / "tools" / "gen_releases.py"
RELEASES = REPO_ROOT / "policies" / "releases"
BY_TAG = "k0s-image-defaults-by-tag.yaml"
PER_MINOR = "k0s-release-defaults.yaml"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / BY_TAG).is_file() or not (REFERENCE / PER_MINOR).is_file():
        pytest.skip(f"research notes not available at {REFERENCE}")
    return REFERENCE


def _load(path: Path) -> Any:
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=yaml.CSafeLoader)


def _generate(reference: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--reference", str(reference), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def _patch(catalog: Catalog, version: str) -> Patch:
    patch = catalog.patch(version)
    assert patch is not None, version
    return patch


# --- against the research notes ------------------------------------------------------------------------


def test_committed_files_are_what_the_generator_writes(reference: Path, tmp_path: Path) -> None:
    result = _generate(reference, tmp_path)
    assert result.returncode == 0, result.stderr
    generated = sorted(p.name for p in tmp_path.glob("*.yaml"))
    committed = sorted(p.name for p in RELEASES.glob("*.yaml"))
    assert generated == committed == [f"1.{m}.yaml" for m in range(21, 37)]
    for name in [*generated, BUILTIN_INDEX]:
        new, old = (tmp_path / name).read_bytes(), (RELEASES / name).read_bytes()
        if new != old:
            diff = difflib.unified_diff(
                old.decode().splitlines(),
                new.decode().splitlines(),
                f"committed/{name}",
                f"generated/{name}",
                n=1,
            )
            pytest.fail("policies/releases is stale; run `make data`:\n" + "\n".join(list(diff)[:40]))


def test_every_reference_tag_is_in_the_catalogue(reference: Path, catalog: Catalog) -> None:
    tags = _load(reference / BY_TAG)["tags"]
    assert len(tags) == 238
    for entry in tags:
        patch = catalog.patch(entry["k0s_tag"])
        assert patch is not None, entry["k0s_tag"]
        assert dict(patch.images) == entry["images"], entry["k0s_tag"]
        assert list(patch.images) == list(entry["images"]), entry["k0s_tag"]
        assert patch.kubernetes == str(entry["kubernetes"]), entry["k0s_tag"]
    known = {p.version for m in catalog.minors() for p in catalog.release(m).patches}  # type: ignore[union-attr]
    assert known == {entry["k0s_tag"] for entry in tags}


def test_per_minor_facts_match_the_reference(reference: Path, catalog: Catalog) -> None:
    for entry in _load(reference / PER_MINOR)["releases"]:
        release = catalog.release(str(entry["minor"]))
        assert release is not None, entry["minor"]
        assert release.default_pull_policy == entry["default_pull_policy"]
        assert dict(release.image_paths) == {c: spec["path"] for c, spec in entry["images"].items()}
        newest = release.newest
        assert newest.version == entry["k0s_tag"]
        assert newest.repository_rewrites == frozenset(entry["repository_override_applies_to"])
        assert newest.repository_idempotent is entry["repository_override_idempotent"]
        assert newest.images == {c: f"{s['image']}:{s['version']}" for c, s in entry["images"].items()}


def test_generator_refuses_a_contradicting_reference(reference: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / BY_TAG).write_bytes((reference / BY_TAG).read_bytes())
    per_minor = _load(reference / PER_MINOR)
    for entry in per_minor["releases"]:
        if entry["minor"] == "1.27":
            entry["repository_override_applies_to"].append("pause")
    (notes / PER_MINOR).write_text(yaml.safe_dump(per_minor))
    result = _generate(notes, tmp_path / "out")
    assert result.returncode == 1
    assert "1.27" in result.stderr and "pause" in result.stderr
    assert not (tmp_path / "out").exists()


# --- facts in the committed data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "dynamic_config"),
    [
        ("v1.21.14+k0s.0", "none"),
        ("v1.22.2+k0s.1", "none"),
        ("v1.22.2+k0s.2", "whole-block-only"),
        ("v1.31.14+k0s.0", "whole-block-only"),
        ("v1.32.1+k0s.0", "per-field"),
        ("v1.32.13+k0s.0", "per-field"),
        ("v1.33.12+k0s.0", "per-field"),
        ("v1.33.13+k0s.0", "per-field-repository-aware"),
        ("v1.34.8+k0s.0", "per-field"),
        ("v1.34.9+k0s.0", "per-field-repository-aware"),
        ("v1.35.5+k0s.0", "per-field"),
        ("v1.35.6+k0s.0", "per-field-repository-aware"),
        ("v1.36.1+k0s.0", "per-field-repository-aware"),
    ],
)
def test_dynamic_config(catalog: Catalog, version: str, dynamic_config: str) -> None:
    assert _patch(catalog, version).dynamic_config == dynamic_config


def test_pull_policy_honoured_from_1_26(catalog: Catalog) -> None:
    for minor in catalog.minors():
        release = catalog.release(minor)
        assert release is not None
        expected = tuple(int(x) for x in minor.split(".")) >= (1, 26)
        assert {p.pull_policy_honoured for p in release.patches} == {expected}, minor


@pytest.mark.parametrize(
    ("version", "idempotent"),
    [
        ("v1.30.14+k0s.0", False),
        ("v1.31.11+k0s.0", False),
        ("v1.31.12+k0s.0", True),
        ("v1.32.7+k0s.0", False),
        ("v1.32.8+k0s.0", True),
        ("v1.33.3+k0s.0", False),
        ("v1.33.4+k0s.0", True),
        ("v1.34.1+k0s.0", True),
        ("v1.35.1+k0s.0", True),
        ("v1.36.1+k0s.0", True),
    ],
)
def test_repository_idempotent(catalog: Catalog, version: str, idempotent: bool) -> None:
    assert _patch(catalog, version).repository_idempotent is idempotent


@pytest.mark.parametrize(
    ("version", "rewritten"),
    [
        ("v1.24.2+k0s.0", False),
        ("v1.28.15+k0s.0", False),
        ("v1.29.13+k0s.0", False),
        ("v1.29.14+k0s.0", True),
        ("v1.30.9+k0s.0", False),
        ("v1.30.10+k0s.0", True),
        ("v1.31.5+k0s.0", False),
        ("v1.31.6+k0s.0", True),
        ("v1.32.1+k0s.0", False),
        ("v1.32.2+k0s.0", True),
        ("v1.33.1+k0s.0", True),
        ("v1.36.3+k0s.2", True),
    ],
)
def test_pushgateway_rewrite(catalog: Catalog, version: str, rewritten: bool) -> None:
    assert ("pushgateway" in _patch(catalog, version).repository_rewrites) is rewritten


def test_components_rewritten_by_minor(catalog: Catalog) -> None:
    first_rewritten = {"pause": (1, 28), "nllb.envoyProxy": (1, 26), "nllb.traefik": (1, 36)}
    for minor in catalog.minors():
        key = tuple(int(x) for x in minor.split("."))
        for patch in catalog.release(minor).patches:  # type: ignore[union-attr]
            assert patch.repository_rewrites <= patch.images.keys()
            for component, since in first_rewritten.items():
                assert (component in patch.repository_rewrites) is (key >= since), (patch.version, component)


def test_pause_settable_from_1_28(catalog: Catalog) -> None:
    for minor in catalog.minors():
        release = catalog.release(minor)
        assert release is not None
        settable = tuple(int(x) for x in minor.split(".")) >= (1, 28)
        assert (release.image_paths["pause"] is not None) is settable, minor


def test_kubernetes_versioned_images_follow_kubernetes(catalog: Catalog) -> None:
    for minor in catalog.minors():
        release = catalog.release(minor)
        assert release is not None
        for patch in release.patches:
            assert patch.kubernetes.startswith(minor + ".")
            if patch.version == "v1.21.0+k0s.0":
                continue  # that release embeds 1.21.0 but its kube-proxy default is v1.20.4
            for component in release.kubernetes_versioned:
                tag = patch.images[component].rsplit(":", 1)[1]
                assert tag.startswith(f"v{patch.kubernetes}"), (patch.version, component, tag)


def test_every_component_has_an_image_path(catalog: Catalog) -> None:
    total = 0
    for minor in catalog.minors():
        release = catalog.release(minor)
        assert release is not None
        total += len(release.patches)
        for patch in release.patches:
            assert patch.images.keys() <= release.image_paths.keys()
    assert total == 238


def test_release_files_start_with_the_generated_header() -> None:
    for path in RELEASES.glob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first == (
            "# Generated by tools/gen_releases.py from the k0s-policy research notes; "
            "edit the generator, not this file."
        ), path


def test_json_copy_holds_exactly_the_yaml_files() -> None:
    """A run reads catalog.json, never the YAML: both must say the same, minor by minor, key order included."""
    index = json.loads((RELEASES / BUILTIN_INDEX).read_text(encoding="utf-8"))
    assert index["format"] == 1
    from_yaml = {path.stem: _load(path) for path in sorted(RELEASES.glob("*.yaml"))}
    assert list(index["releases"]) == list(from_yaml)
    for minor, data in from_yaml.items():
        assert json.dumps(index["releases"][minor]) == json.dumps(data), f"catalog.json differs in {minor}"


def test_builtin_data_passes_the_full_validation(catalog: Catalog) -> None:
    """The catalogue trusts the built-in data (no image is parsed again at load); the YAML files pass
    the validation a user's release file gets."""
    for path in sorted(RELEASES.glob("*.yaml")):
        loaded = load_release_file(path)
        built = catalog.release(path.stem)
        assert built is not None
        assert loaded.patches == built.patches
        assert loaded.image_paths == built.image_paths
        assert loaded.kubernetes_versioned == built.kubernetes_versioned
        assert loaded.default_pull_policy == built.default_pull_policy
