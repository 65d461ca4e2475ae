from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from checker.inputs.imageref import ImageRef
from checker.k0s.releases import (
    Catalog,
    Patch,
    Release,
    Resolved,
    UnknownRelease,
    _Loader,
    builtin_releases_dir,
    minor_key,
    minors_apart,
    parse_version,
)

ALL_MINORS = [f"1.{m}" for m in range(21, 37)]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _patch(catalog: Catalog, version: str) -> Patch:
    patch = catalog.patch(version)
    assert patch is not None, version
    return patch


# --- versions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.30.2+k0s.0", Version("1.30.2+k0s.0")),
        ("1.30.2+k0s.0", Version("1.30.2+k0s.0")),
        ("v1.30.2", Version("1.30.2")),
        ("1.30", Version("1.30")),
        ("v1.30", Version("1.30")),
        ("v1.30.0-rc.1+k0s.0", Version("1.30.0rc1+k0s.0")),
        ("v1.37.0-alpha.1", Version("1.37.0a1")),
        ("v1.22.2+k0s.10", Version("1.22.2+k0s.10")),
    ],
)
def test_parse_version(text: str, expected: Version) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "v",
        "latest",
        "v1.30.2+k0s",
        "1.30.2+foo.1",
        "1.30.2.1",
        "v1.30+k0s.0",
        "1.30.x",
        "v1.30.2-bogus+k0s.0",
    ],
)
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="k0s version") as info:
        parse_version(text)
    assert isinstance(info.value, InvalidVersion)


def test_k0s_build_numbers_order_numerically() -> None:
    assert parse_version("v1.22.2+k0s.2") > parse_version("v1.22.2+k0s.1")
    assert parse_version("v1.22.2+k0s.10") > parse_version("v1.22.2+k0s.2")
    assert parse_version("v1.30.2") < parse_version("v1.30.2+k0s.0") < parse_version("v1.30.3")


def test_minor_key() -> None:
    assert minor_key("v1.30.2+k0s.0") == (1, 30)
    assert minor_key("1.9") == (1, 9)
    assert minor_key(Version("1.31.5")) == (1, 31)
    assert minor_key("1.9") < minor_key("1.10")


@pytest.mark.parametrize(
    ("older", "newer", "apart"),
    [
        ("1.29", "1.31", 2),
        ("1.31", "1.29", -2),
        ("v1.30.14+k0s.0", "v1.31.1+k0s.0", 1),
        ("v1.30.1+k0s.0", "1.30", 0),
        ("1.9", "1.10", 1),
    ],
)
def test_minors_apart(older: str, newer: str, apart: int) -> None:
    assert minors_apart(older, newer) == apart


def test_minors_apart_across_majors_is_an_error() -> None:
    with pytest.raises(ValueError, match="major"):
        minors_apart("1.30", "2.0")


# --- the built-in catalogue ----------------------------------------------------------------------------


def test_minors_and_releases(catalog: Catalog) -> None:
    assert catalog.minors() == ALL_MINORS
    release = catalog.release("1.30")
    assert isinstance(release, Release)
    assert release.minor == "1.30"
    assert release.default_pull_policy == "IfNotPresent"
    assert release.newest.version == "v1.30.14+k0s.0"
    assert release.source.name == "1.30.yaml"
    assert [p.parsed for p in release.patches] == sorted(p.parsed for p in release.patches)
    assert catalog.release("1.99") is None
    assert catalog.release("v1.30") is None  # minors are looked up by name


def test_newest(catalog: Catalog) -> None:
    assert catalog.newest().version == "v1.36.3+k0s.2"


def test_release_metadata(catalog: Catalog) -> None:
    r127, r128, r134, r136 = (catalog.release(m) for m in ("1.27", "1.28", "1.34", "1.36"))
    assert r127 is not None and r128 is not None and r134 is not None and r136 is not None
    assert r127.image_paths["pause"] is None
    assert r128.image_paths["pause"] == "spec.images.pause"
    assert r127.image_paths["nllb.envoyProxy"] == "spec.network.nodeLocalLoadBalancing.envoyProxy.image"
    assert r127.kubernetes_versioned == frozenset({"kubeproxy"})
    assert r134.kubernetes_versioned == frozenset({"kubeproxy", "windows.kubeproxy"})
    assert r136.image_paths["nllb.traefik"] == "spec.network.nodeLocalLoadBalancing.traefik.image"


def test_patch_lookup(catalog: Catalog) -> None:
    patch = _patch(catalog, "v1.30.2+k0s.0")
    assert patch.version == "v1.30.2+k0s.0"
    assert patch.minor == "1.30"
    assert patch.kubernetes == "1.30.2"
    assert patch.parsed == Version("1.30.2+k0s.0")
    assert catalog.patch("1.30.2+k0s.0") is patch
    assert catalog.patch("v1.30.2") is None  # not an exact tag
    assert catalog.patch("v1.30.8+k0s.0") is None
    assert catalog.patch("garbage") is None


def test_patch_is_immutable_and_hashable(catalog: Catalog) -> None:
    patch = _patch(catalog, "v1.30.2+k0s.0")
    assert {patch, patch} == {patch}
    with pytest.raises(TypeError):
        patch.images["coredns"] = "x"  # type: ignore[index]


def test_image_set(catalog: Catalog) -> None:
    patch = _patch(catalog, "v1.30.2+k0s.0")
    assert patch.image_set() == frozenset(patch.images.values())
    assert "quay.io/k0sproject/kube-proxy:v1.30.2-1" in patch.image_set()  # a k0s rebuild of v1.30.2
    assert len(patch.image_set()) == len(patch.images)


# --- resolution ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.30", "v1.30"])
def test_resolve_minor(catalog: Catalog, text: str) -> None:
    resolved = catalog.resolve(text)
    assert resolved == Resolved(_patch(catalog, "v1.30.14+k0s.0"), text, None)


def test_resolve_kubernetes_patch_picks_newest_build(catalog: Catalog) -> None:
    assert catalog.resolve("v1.31.1").patch.version == "v1.31.1+k0s.1"
    assert catalog.resolve("1.36.3").patch.version == "v1.36.3+k0s.2"
    resolved = catalog.resolve("v1.30.2")
    assert (resolved.patch.version, resolved.note) == ("v1.30.2+k0s.0", None)


@pytest.mark.parametrize("text", ["v1.31.1+k0s.0", "1.31.1+k0s.0", "v1.36.3+k0s.1"])
def test_resolve_exact_tag(catalog: Catalog, text: str) -> None:
    resolved = catalog.resolve(text)
    assert resolved.patch.version == "v" + text.removeprefix("v")
    assert resolved.requested == text
    assert resolved.note is None


def test_resolve_newer_than_data(catalog: Catalog) -> None:
    resolved = catalog.resolve("v1.30.99+k0s.0")
    assert resolved.patch.version == "v1.30.14+k0s.0"
    assert resolved.note == (
        "v1.30.99+k0s.0 is newer than the release data (newest known: v1.30.14+k0s.0); "
        "checked against v1.30.14+k0s.0"
    )
    assert catalog.resolve("v1.30.14+k0s.1").patch.version == "v1.30.14+k0s.0"
    assert catalog.resolve("v1.36.4").patch.version == "v1.36.3+k0s.2"


def test_resolve_gap_uses_newest_known_before(catalog: Catalog) -> None:
    # there is no v1.30.8 tag
    resolved = catalog.resolve("v1.30.8+k0s.0")
    assert resolved.patch.version == "v1.30.7+k0s.0"
    assert resolved.note is not None
    assert "v1.30.8+k0s.0" in resolved.note and "v1.30.7+k0s.0" in resolved.note
    assert catalog.resolve("v1.30.8").patch.version == "v1.30.7+k0s.0"
    # an unknown build of a known patch: the newest known build before it
    assert catalog.resolve("v1.31.1+k0s.5").patch.version == "v1.31.1+k0s.1"


def test_resolve_older_than_data(catalog: Catalog) -> None:
    # 1.31's first GA is v1.31.1+k0s.0
    resolved = catalog.resolve("v1.31.0+k0s.0")
    assert resolved.patch.version == "v1.31.1+k0s.0"
    assert resolved.note is not None and "older than the release data" in resolved.note


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.30.0-rc.1+k0s.0", "v1.30.0+k0s.0"),
        ("v1.30.0-rc.1", "v1.30.0+k0s.0"),
        ("v1.31.0-beta.2+k0s.0", "v1.31.1+k0s.0"),
        ("v1.36.4-rc.0+k0s.0", "v1.36.3+k0s.2"),
    ],
)
def test_resolve_pre_release(catalog: Catalog, text: str, expected: str) -> None:
    resolved = catalog.resolve(text)
    assert resolved.patch.version == expected
    assert resolved.note is not None and text in resolved.note


@pytest.mark.parametrize("text", ["v1.37.0+k0s.0", "1.37", "v1.37.0-alpha.1", "v1.20.15+k0s.0", "2.0"])
def test_resolve_unknown_minor(catalog: Catalog, text: str) -> None:
    with pytest.raises(UnknownRelease) as info:
        catalog.resolve(text)
    message = str(info.value)
    assert text in message
    assert "1.21" in message and "1.36" in message
    assert info.value.known_minors == tuple(ALL_MINORS)


@pytest.mark.parametrize("text", ["", "latest", "v1.30.2+k0s", "1.30.2.1"])
def test_resolve_invalid(catalog: Catalog, text: str) -> None:
    with pytest.raises(ValueError, match="invalid k0s version"):
        catalog.resolve(text)


# --- default images ------------------------------------------------------------------------------------


def test_releases_with_default_kube_proxy_is_one_patch(catalog: Catalog) -> None:
    hits = catalog.releases_with_default("quay.io/k0sproject/kube-proxy:v1.29.4")
    assert [(p.version, c) for p, c in hits] == [("v1.29.4+k0s.0", "kubeproxy")]


def test_releases_with_default_shared_tag_returns_every_patch(catalog: Catalog) -> None:
    image = "quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3"
    expected = [
        (p.version, "konnectivity")
        for m in catalog.minors()
        for p in catalog.release(m).patches  # type: ignore[union-attr]
        if p.images.get("konnectivity") == image
    ]
    hits = [(p.version, c) for p, c in catalog.releases_with_default(image)]
    assert hits == expected
    assert len(hits) > 10
    assert {p.split(".")[1] for p, _ in hits} == {"30", "31"}
    assert hits[0][0] == "v1.30.0+k0s.0"


def test_releases_with_default_canonicalises_docker_hub(catalog: Catalog) -> None:
    full = catalog.releases_with_default("docker.io/envoyproxy/envoy-distroless:v1.24.1")
    short = catalog.releases_with_default("envoyproxy/envoy-distroless:v1.24.1")
    legacy = catalog.releases_with_default(
        ImageRef.parse("index.docker.io/envoyproxy/envoy-distroless:v1.24.1")
    )
    assert full == short == legacy
    assert {p.minor for p, _ in full} == {"1.26"}
    assert {c for _, c in full} == {"nllb.envoyProxy"}


def test_releases_with_default_digest_pinned_default(catalog: Catalog) -> None:
    digest = "sha256:7031f6bf6c957e2fdb496161fe3bea0a5bde3de800deeba7b2155187196ecbd9"
    hits = catalog.releases_with_default(f"quay.io/k0sproject/pushgateway-ttl:edge@{digest}")
    assert {p.minor for p, _ in hits} == {"1.24", "1.25", "1.26"}
    # a digest on only one side does not prevent the match
    assert catalog.releases_with_default("quay.io/k0sproject/pushgateway-ttl:edge") == hits


def test_releases_with_default_misses(catalog: Catalog) -> None:
    assert catalog.releases_with_default("quay.io/k0sproject/kube-proxy:v1.29.99") == []
    assert catalog.releases_with_default("reg.local/k0sproject/kube-proxy:v1.29.4") == []
    assert catalog.releases_with_default("not a reference") == []


# --- repository rewrites -------------------------------------------------------------------------------


def test_effective_images_without_repository(catalog: Catalog) -> None:
    patch = _patch(catalog, "v1.30.2+k0s.0")
    assert patch.effective_images(None) == dict(patch.images)
    assert patch.effective_images("") == dict(patch.images)


def test_effective_images_pushgateway_backport(catalog: Catalog) -> None:
    before, after = _patch(catalog, "v1.29.13+k0s.0"), _patch(catalog, "v1.29.14+k0s.0")
    repo = "registry.example.com/lcm"
    old, new = before.effective_images(repo), after.effective_images(repo)
    assert old["pushgateway"] == before.images["pushgateway"]
    assert old["pushgateway"].startswith("quay.io/")
    assert new["pushgateway"] == "registry.example.com/lcm/k0sproject/pushgateway-ttl:1.4.0-k0s.0"
    assert old["coredns"].startswith("registry.example.com/lcm/k0sproject/coredns:")


def test_effective_images_pause_not_rewritten_before_1_28(catalog: Catalog) -> None:
    p127 = catalog.release("1.27").newest  # type: ignore[union-attr]
    p128 = catalog.release("1.28").newest  # type: ignore[union-attr]
    assert p127.effective_images("reg.local")["pause"] == p127.images["pause"]
    assert p128.effective_images("reg.local")["pause"] == "reg.local/pause:3.8"


def test_effective_images_rewrites_hostless_and_keeps_tags(catalog: Catalog) -> None:
    patch = catalog.release("1.26").newest  # type: ignore[union-attr]
    effective = patch.effective_images("10.0.0.5:5000/mirror")
    assert (
        effective["calico.cni"]
        == "10.0.0.5:5000/mirror/calico/cni:" + patch.images["calico.cni"].split(":")[-1]
    )
    assert effective["nllb.envoyProxy"] == "10.0.0.5:5000/mirror/envoyproxy/envoy-distroless:v1.24.12"
    digest_patch = _patch(catalog, "v1.26.2+k0s.1")
    pushgateway = digest_patch.effective_images("reg.local")["pushgateway"]
    assert pushgateway == digest_patch.images["pushgateway"]  # pushgateway is never rewritten in 1.26
    assert digest_patch.images["pushgateway"].split("@")[1].startswith("sha256:")


def test_effective_images_idempotency(catalog: Catalog) -> None:
    repo = "quay.io/k0sproject"
    before, after = _patch(catalog, "v1.31.11+k0s.0"), _patch(catalog, "v1.31.12+k0s.0")
    assert not before.repository_idempotent and after.repository_idempotent
    assert before.effective_images(repo)["coredns"].startswith("quay.io/k0sproject/k0sproject/coredns:")
    assert after.effective_images(repo)["coredns"] == after.images["coredns"]


# --- user-imported release files -----------------------------------------------------------------------

MINIMAL_137 = """\
format: 1
minor: "1.37"
default_pull_policy: IfNotPresent
image_paths:
  coredns: spec.images.coredns
  kubeproxy: spec.images.kubeproxy
kubernetes_versioned: [kubeproxy]
patches:
- version: v1.37.1+k0s.0
  kubernetes: 1.37.1
  dynamic_config: per-field-repository-aware
  pull_policy_honoured: true
  repository_idempotent: true
  repository_rewrites: [coredns, kubeproxy]
  images:
    coredns: quay.io/k0sproject/coredns:1.15.0
    kubeproxy: quay.io/k0sproject/kube-proxy:v1.37.1
- version: v1.37.0+k0s.0
  kubernetes: 1.37.0
  dynamic_config: per-field-repository-aware
  pull_policy_honoured: true
  repository_idempotent: true
  repository_rewrites: [coredns, kubeproxy]
  images:
    coredns: quay.io/k0sproject/coredns:1.15.0
    kubeproxy: quay.io/k0sproject/kube-proxy:v1.37.0
"""


def test_extra_dir_extends(tmp_path: Path) -> None:
    (tmp_path / "1.37.yaml").write_text(MINIMAL_137)
    catalog = Catalog.load([tmp_path])
    assert catalog.minors() == [*ALL_MINORS, "1.37"]
    release = catalog.release("1.37")
    assert release is not None and release.source == tmp_path / "1.37.yaml"
    assert [p.version for p in release.patches] == ["v1.37.0+k0s.0", "v1.37.1+k0s.0"]  # sorted on load
    assert catalog.newest().version == "v1.37.1+k0s.0"
    assert catalog.resolve("1.37").patch.version == "v1.37.1+k0s.0"
    hits = catalog.releases_with_default("quay.io/k0sproject/coredns:1.15.0")
    assert [p.version for p, _ in hits] == ["v1.37.0+k0s.0", "v1.37.1+k0s.0"]


def test_extra_dir_overrides_by_minor(tmp_path: Path) -> None:
    builtin = (builtin_releases_dir() / "1.30.yaml").read_text()
    data = yaml.safe_load(builtin)
    data["patches"] = [p for p in data["patches"] if p["version"] != "v1.30.14+k0s.0"]
    (tmp_path / "my-1.30.yml").write_text(yaml.safe_dump(data))
    catalog = Catalog.load([tmp_path])
    release = catalog.release("1.30")
    assert release is not None and release.source == tmp_path / "my-1.30.yml"
    assert release.newest.version == "v1.30.13+k0s.0"
    assert catalog.patch("v1.30.14+k0s.0") is None
    assert catalog.resolve("v1.30.14+k0s.0").note is not None
    assert catalog.minors() == ALL_MINORS


def test_later_extra_dirs_win(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "1.37.yaml").write_text(MINIMAL_137)
    (second / "1.37.yaml").write_text(MINIMAL_137.replace("1.15.0", "1.15.1"))
    release = Catalog.load([first, second]).release("1.37")
    assert release is not None and release.source == second / "1.37.yaml"


def test_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        Catalog.load([tmp_path / "nope"])


def test_duplicate_minor_in_one_dir(tmp_path: Path) -> None:
    (tmp_path / "1.37.yaml").write_text(MINIMAL_137)
    (tmp_path / "copy.yaml").write_text(MINIMAL_137)
    with pytest.raises(ValueError, match=r"minor 1\.37 is also defined") as info:
        Catalog.load([tmp_path])
    assert "copy.yaml" in str(info.value) or "1.37.yaml" in str(info.value)


def _replace(old: str, new: str) -> str:
    assert old in MINIMAL_137
    return MINIMAL_137.replace(old, new, 1)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("format: [1\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        (_replace("format: 1", "format: 2"), "format must be 1"),
        (_replace('minor: "1.37"', "minor: 1.37"), "minor must be a quoted string"),
        (
            _replace("default_pull_policy: IfNotPresent", "default_pull_policy: Sometimes"),
            "default_pull_policy",
        ),
        (_replace("kubernetes_versioned: [kubeproxy]\n", ""), "missing key(s) kubernetes_versioned"),
        (_replace("format: 1", "format: 1\nextra: true"), "unknown key(s) extra"),
        (_replace("version: v1.37.1+k0s.0", "version: 1.37.1"), "is not a k0s tag"),
        (_replace("version: v1.37.1+k0s.0", "version: v1.36.1+k0s.0"), "does not belong to minor 1.37"),
        (_replace("kubernetes: 1.37.1", "kubernetes: latest"), "kubernetes 'latest'"),
        (_replace("dynamic_config: per-field-repository-aware", "dynamic_config: maybe"), "dynamic_config"),
        (_replace("pull_policy_honoured: true", "pull_policy_honoured: 'yes'"), "pull_policy_honoured"),
        (_replace("repository_rewrites: [coredns, kubeproxy]", "repository_rewrites: [pause]"), "pause"),
        (
            _replace("repository_rewrites: [coredns, kubeproxy]", "repository_rewrites: coredns"),
            "list of strings",
        ),
        (
            _replace("quay.io/k0sproject/coredns:1.15.0", "quay.io/k0sproject/Coredns:1.15.0"),
            "images.coredns",
        ),
        (_replace("quay.io/k0sproject/coredns:1.15.0", "quay.io/k0sproject/coredns"), "has no tag"),
        (_replace("  coredns: spec.images.coredns\n", ""), "missing from image_paths: coredns"),
        (_replace("v1.37.0+k0s.0", "v1.37.1+k0s.0"), "listed twice"),
        (_replace("patches:\n", "patches: []\nold:\n"), "unknown key(s) old"),
        ("&a {format: 1, minor: '1.37', x: *a}\n", "recursive structure"),
        (
            "format: 1\nminor: '1.37'\ndefault_pull_policy: Never\nimage_paths: {}\nkubernetes_versioned: []\n"
            "patches: []\n",
            "patches must be a non-empty list",
        ),
    ],
)
def test_malformed_release_file_names_the_file(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "broken-1.37.yaml"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        Catalog.load([tmp_path])
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


# --- the YAML loader -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\n",
        "- 1.5\n- 2020-01-01\n- 0x1f\n- yes\n- ~\n- '1'\n- !!binary aGk=\n- 1_000\n- '1.30'\n- 1.30\n- -1\n",
        "{1: a, true: b, null: c}\n",
        "a: !!str 1\nb: !!int '3'\nc: !!float '2'\n",
        "",
        "just a string\n",
        '"1.30"\n',
    ],
)
def test_fast_loader_matches_csafeloader(text: str) -> None:
    assert yaml.load(text, Loader=_Loader) == yaml.load(text, Loader=yaml.CSafeLoader)


def test_fast_loader_matches_csafeloader_on_release_files() -> None:
    for entry in builtin_releases_dir().iterdir():
        if entry.name.endswith(".yaml"):
            raw = entry.read_bytes()
            assert yaml.load(raw, Loader=_Loader) == yaml.load(raw, Loader=yaml.CSafeLoader), entry.name


def test_builtin_files_are_parsed_only_when_needed() -> None:
    catalog = Catalog.load()
    assert catalog.resolve("v1.30.5+k0s.0").patch.minor == "1.30"
    assert set(catalog._releases) == {"1.30"}  # one file read for a one-cluster check
    catalog.load_all()
    assert set(catalog._releases) == set(catalog.minors())
