"""Image bundle tarballs (OCI image layout, docker-archive), read without extracting anything."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.inputs import bundle
from checker.inputs.bundle import BundleError, load_bundle, read_bundle
from checker.k0s.releases import Catalog

TARGET = "v1.30.5+k0s.0"
CONFIG = (
    "apiVersion: k0s.k0sproject.io/v1beta1\n"
    "kind: ClusterConfig\n"
    "metadata: {name: k0s}\n"
    "spec:\n"
    "  images:\n"
    "    default_pull_policy: Never\n"
)


@pytest.fixture(autouse=True)
def _no_user_releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def make_tar(path: Path, members: Sequence[tuple[str, bytes]], gzip: bool = False) -> Path:
    with tarfile.open(path, "w:gz" if gzip else "w") as archive:
        for name, data in members:
            add(archive, name, data)
    return path


def oci_bundle(path: Path, images: Iterable[str], gzip: bool = False, prefix: str = "") -> Path:
    """An OCI image layout as `k0s airgap bundle-artifacts` / `ctr export` write it: containerd
    names in one annotation, only the tag in the other."""
    manifests = []
    members: list[tuple[str, bytes]] = [(prefix + "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
    for image in images:
        blob = json.dumps({"schemaVersion": 2, "image": image}).encode()
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest(image),
                "size": len(blob),
                "annotations": {
                    "io.containerd.image.name": image,
                    "org.opencontainers.image.ref.name": image.rsplit(":", 1)[1],
                },
            }
        )
        members.append((f"{prefix}blobs/sha256/{digest(image)[7:]}", blob))
    members.append((prefix + "index.json", json.dumps({"schemaVersion": 2, "manifests": manifests}).encode()))
    return make_tar(path, members, gzip)


def docker_bundle(path: Path, tags: Iterable[Sequence[str] | None], gzip: bool = False) -> Path:
    manifest = []
    members: list[tuple[str, bytes]] = []
    for number, repo_tags in enumerate(tags):
        layer = f"{number:064x}/layer.tar"
        members.append((layer, b"\0" * 1024))
        manifest.append({"Config": f"{number:064x}.json", "RepoTags": repo_tags, "Layers": [layer]})
    members.append(("manifest.json", json.dumps(manifest).encode()))
    return make_tar(path, members, gzip)


# --- reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gzip", [False, True])
def test_oci_layout(tmp_path: Path, gzip: bool) -> None:
    images = ["quay.io/k0sproject/kube-proxy:v1.30.5", "registry.k8s.io/pause:3.9"]
    path = oci_bundle(tmp_path / "bundle.tar", images, gzip=gzip, prefix="./")
    contents = read_bundle(path, "bundle.tar")
    assert contents.layouts == ["OCI image layout"]
    assert contents.images == {f"{image}@{digest(image)}" for image in images}


def test_oci_name_forms(tmp_path: Path) -> None:
    index = {
        "schemaVersion": 2,
        "manifests": [
            # containerd name without a tag, completed by the OCI tag
            {
                "digest": digest("a"),
                "annotations": {
                    "io.containerd.image.name": "quay.io/k0sproject/coredns",
                    "org.opencontainers.image.ref.name": "1.11.3",
                },
            },
            # only the OCI annotation, holding a full reference (skopeo, docker save >= 25)
            {"annotations": {"org.opencontainers.image.ref.name": "docker.io/library/busybox:1.36"}},
            # a bare tag and no name: nothing to import it as
            {"annotations": {"org.opencontainers.image.ref.name": "latest"}},
            {"digest": digest("d")},
        ],
    }
    path = make_tar(tmp_path / "b.tar", [("index.json", json.dumps(index).encode())])
    contents = read_bundle(path, "b.tar")
    assert contents.images == {
        f"quay.io/k0sproject/coredns:1.11.3@{digest('a')}",
        "docker.io/library/busybox:1.36",
    }
    assert contents.unnamed == 2


@pytest.mark.parametrize("gzip", [False, True])
def test_docker_archive(tmp_path: Path, gzip: bool) -> None:
    path = docker_bundle(
        tmp_path / "saved.tar.gz",
        [
            ["quay.io/k0sproject/coredns:1.11.3", "registry.example.com/coredns:1.11.3"],
            ["busybox:latest"],
            None,
        ],
        gzip=gzip,
    )
    contents = read_bundle(path, "saved.tar.gz")
    assert contents.layouts == ["docker-archive"]
    assert contents.unnamed == 1
    assert load_bundle(path, "saved.tar.gz") == {
        "quay.io/k0sproject/coredns:1.11.3",
        "registry.example.com/coredns:1.11.3",
        "busybox:latest",
    }


def test_both_layouts_in_one_archive(tmp_path: Path) -> None:
    index = {"manifests": [{"annotations": {"io.containerd.image.name": "quay.io/a/b:1"}}]}
    manifest = [{"RepoTags": ["quay.io/a/c:2"]}]
    path = make_tar(
        tmp_path / "x.tar",
        [("index.json", json.dumps(index).encode()), ("manifest.json", json.dumps(manifest).encode())],
    )
    contents = read_bundle(path, "x.tar")
    assert contents.images == {"quay.io/a/b:1", "quay.io/a/c:2"}
    assert contents.layouts == ["OCI image layout", "docker-archive"]


# --- hostile and broken input ----------------------------------------------------------------------------


def expect_error(path: Path, *fragments: str) -> None:
    with pytest.raises(BundleError) as caught:
        load_bundle(path, str(path.name))
    message = str(caught.value)
    assert message.startswith(path.name + ": ")
    for fragment in fragments:
        assert fragment in message


def test_not_a_bundle(tmp_path: Path) -> None:
    expect_error(
        put_bytes(tmp_path / "random.tar", b"\x89PNG not a tarball at all" * 50), "not a tar archive"
    )
    expect_error(tmp_path / "missing.tar", "no such file")
    expect_error(
        make_tar(tmp_path / "empty.tar", [("README", b"hi")]), "neither index.json", "not an image bundle"
    )
    good = oci_bundle(tmp_path / "g.tar", ["quay.io/a/b:1"], gzip=True)
    truncated = put_bytes(tmp_path / "truncated.tar.gz", good.read_bytes()[:60])
    with pytest.raises(BundleError):
        load_bundle(truncated, "truncated.tar.gz")


def test_malformed_json(tmp_path: Path) -> None:
    expect_error(make_tar(tmp_path / "a.tar", [("index.json", b"{not json")]), "index.json is not valid JSON")
    expect_error(make_tar(tmp_path / "b.tar", [("index.json", b'{"manifests": 3}')]), "no 'manifests' list")
    expect_error(
        make_tar(tmp_path / "c.tar", [("manifest.json", b'{"RepoTags": []}')]), "not a list of images"
    )
    expect_error(
        make_tar(tmp_path / "d.tar", [("manifest.json", b'[{"RepoTags": ["Not A Valid/Ref"]}]')]),
        "manifest.json [0] RepoTags",
        "invalid image reference",
    )
    expect_error(make_tar(tmp_path / "e.tar", [("manifest.json", b"[{}]")]), "names no images")


def test_hostile_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = json.dumps({"manifests": [{"annotations": {"io.containerd.image.name": "quay.io/a/b:1"}}]})
    expect_error(
        make_tar(tmp_path / "abs.tar", [("/etc/passwd", b"x"), ("index.json", index.encode())]),
        "points outside the archive",
    )
    expect_error(make_tar(tmp_path / "up.tar", [("../index.json", index.encode())]), "points outside")
    with tarfile.open(tmp_path / "link.tar", "w") as archive:
        link = tarfile.TarInfo("index.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    expect_error(tmp_path / "link.tar", "index.json is not a regular file")
    expect_error(
        make_tar(tmp_path / "twice.tar", [("index.json", index.encode()), ("./index.json", index.encode())]),
        "appears twice",
    )
    monkeypatch.setattr(bundle, "MAX_JSON_BYTES", 64)
    expect_error(make_tar(tmp_path / "big.tar", [("index.json", index.encode())]), "over the 64 byte limit")
    monkeypatch.setattr(bundle, "MAX_MEMBERS", 3)
    expect_error(
        make_tar(tmp_path / "many.tar", [(f"f{i}", b"") for i in range(5)]), "more than 3 archive members"
    )


def put_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- K0S201 against what the bundle really holds ---------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def k0s201(out: str) -> list[str]:
    return [line for line in out.splitlines() if " K0S201 " in line]


@pytest.mark.parametrize("layout", ["oci", "docker"])
def test_k0s201_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, layout: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k0s.yaml").write_text(CONFIG)
    patch = Catalog.load().patch(TARGET)
    assert patch is not None
    without_coredns = [image for component, image in patch.images.items() if component != "coredns"]
    if layout == "oci":
        oci_bundle(tmp_path / "bundle.tar.gz", without_coredns, gzip=True)
    else:
        docker_bundle(tmp_path / "bundle.tar.gz", [[image] for image in without_coredns], gzip=True)
    argv = ["check", "k0s.yaml", "--k0s-version", TARGET, "--select", "K0S201"]

    code, out, _ = run([*argv, "--airgap-bundle", "bundle.tar.gz"], capsys)
    (line,) = k0s201(out)
    assert code == 1
    assert "coredns default image quay.io/k0sproject/coredns:1.11.3 is not in" in line
    assert "bundle.tar.gz (image bundle)" in line

    # the bundle and a list together: the union of both
    (tmp_path / "extra.txt").write_text("quay.io/k0sproject/coredns:1.11.3\n")
    code, out, _ = run([*argv, "--airgap-bundle", "bundle.tar.gz", "--airgap-images", "extra.txt"], capsys)
    assert (code, k0s201(out)) == (0, [])

    # without a bundle the release's own image set is assumed, which holds coredns
    code, out, _ = run(argv, capsys)
    assert (code, k0s201(out)) == (0, [])


def test_digest_pins_are_matched_against_the_bundle_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    patch = Catalog.load().patch(TARGET)
    assert patch is not None
    oci_bundle(tmp_path / "bundle.tar", patch.images.values())
    coredns = patch.images["coredns"]
    name, tag = coredns.rsplit(":", 1)
    argv = [
        "check",
        "k0s.yaml",
        "--k0s-version",
        TARGET,
        "--select",
        "K0S201",
        "--airgap-bundle",
        "bundle.tar",
    ]
    for pinned_digest, findings in ((digest(coredns), 0), (digest("another build"), 1)):
        (tmp_path / "k0s.yaml").write_text(
            CONFIG + f"    coredns:\n      image: {name}\n      version: {tag}@{pinned_digest}\n"
        )
        _, out, _ = run(argv, capsys)
        assert len(k0s201(out)) == findings, out


def test_bundle_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k0s.yaml").write_text(CONFIG)
    (tmp_path / "bundle.tar").write_bytes(b"garbage")
    code, out, err = run(["check", "k0s.yaml", "--airgap-bundle", "bundle.tar"], capsys)
    assert code == 2 and out == ""
    assert "k0s-policy: error: bundle.tar: not a tar archive" in err
    make_tar(tmp_path / "nothing.tar", [("index.json", b"[]")])
    code, _, err = run(["check", "k0s.yaml", "--airgap-bundle", "nothing.tar"], capsys)
    assert code == 2 and "nothing.tar: index.json has no 'manifests' list" in err
