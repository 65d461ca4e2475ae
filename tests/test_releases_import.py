"""`k0s-policy releases import` and `releases list`: new k0s releases as data, used by check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.inputs.imageref import ImageRef
from checker.k0s.releases import Catalog, Patch, load_release_file

NEW = "v1.37.0+k0s.0"


@pytest.fixture(autouse=True)
def _own_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def newest_136() -> Patch:
    release = Catalog.load().release("1.36")
    assert release is not None
    return release.newest


def bumped(patch: Patch, kubernetes: str = "1.37.0") -> dict[str, str]:
    """The images of a pretend next release: kube-proxy follows Kubernetes, every other tag moves on."""
    images: dict[str, str] = {}
    for component, text in patch.images.items():
        ref = ImageRef.parse(text)
        assert ref.tag is not None
        if component in ("kubeproxy", "windows.kubeproxy"):
            tag = ref.tag.replace(f"v{patch.kubernetes}", f"v{kubernetes}")
        else:
            tag = f"{ref.tag}-37"
        images[component] = f"{ref.name}:{tag}"
    return images


def image_list(path: Path, images: dict[str, str]) -> Path:
    lines = ["# k0s airgap list-images --all", "", *sorted(images.values())]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def pinned_config(image: str) -> str:
    name, tag = image.rsplit(":", 1)
    return (
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n"
        f"  images:\n    kubeproxy:\n      image: {name}\n      version: {tag}\n"
    )


def test_import_then_check_and_list(tmp_path: Path, capsys, newest_136: Patch) -> None:
    images = bumped(newest_136)
    listing = image_list(tmp_path / "images.txt", images)
    data = tmp_path / "data"
    code, out, err = run(
        ["releases", "import", "--version", NEW, "--images", str(listing), "--data-dir", str(data)], capsys
    )
    assert code == 0, err
    assert f"imported k0s {NEW} into {data / '1.37.yaml'}" in out
    assert f"inherited from {newest_136.version}, the newest known release before {NEW}" in out

    release = load_release_file(data / "1.37.yaml")
    (patch,) = release.patches
    assert patch.version == NEW and patch.kubernetes == "1.37.0"
    assert dict(patch.images) == images
    assert patch.dynamic_config == newest_136.dynamic_config
    assert patch.repository_rewrites == newest_136.repository_rewrites
    assert release.image_paths["nllb.envoyProxy"] == "spec.network.nodeLocalLoadBalancing.envoyProxy.image"

    # check resolves the new release exactly, and a 1.36 pin is stale against it
    Path("k0s.yaml").write_text(pinned_config(newest_136.images["kubeproxy"]))
    argv = ["check", "k0s.yaml", "--k0s-version", NEW, "--format", "json"]
    code, out, _ = run([*argv, "--data-dir", str(data)], capsys)
    report = json.loads(out)
    rules = [f["rule"] for f in report["findings"]]
    assert "K0S003" not in rules and "K0S005" not in rules
    assert report["clusters"][0]["target"] == NEW
    (stale,) = [f for f in report["findings"] if f["rule"] == "K0S102"]
    assert stale["node"] == "spec.images.kubeproxy.version"
    assert "cluster targets v1.37.0+k0s.0" in stale["message"]
    assert f"whose default is {images['kubeproxy']}" in stale["detail"]
    assert code == 1

    # without the data the version is unknown
    assert run(argv, capsys)[0] == 2

    code, out, _ = run(["releases", "list", "--data-dir", str(data)], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["MINOR", "NEWEST", "PATCHES", "KUBERNETES", "SOURCE"]
    assert rows[0].split()[:4] == ["1.21", "v1.21.14+k0s.0", rows[0].split()[2], "1.21.14"]
    assert rows[-1].split()[:4] == ["1.37", NEW, "1", "1.37.0"]
    assert rows[-1].endswith(f"user file {data / '1.37.yaml'}")
    assert rows[-2].split()[0] == "1.36" and rows[-2].endswith("built-in")


def test_default_data_dir_and_more_patches(tmp_path: Path, capsys, newest_136: Patch) -> None:
    first = image_list(tmp_path / "a.txt", bumped(newest_136))
    assert run(["releases", "import", "--version", NEW, "--images", str(first)], capsys)[0] == 0
    default = tmp_path / "xdg-data" / "k0s-policy" / "releases" / "1.37.yaml"
    assert default.is_file()

    second_images = bumped(newest_136, "1.37.1")
    second = image_list(tmp_path / "b.txt", second_images)
    for _ in range(2):  # importing the same patch again replaces it
        code, out, _ = run(
            ["releases", "import", "--version", "v1.37.1+k0s.0", "--images", str(second)], capsys
        )
        assert code == 0
    assert "replaced the data of v1.37.1+k0s.0" in out
    assert [p.version for p in load_release_file(default).patches] == [NEW, "v1.37.1+k0s.0"]

    # check finds the default directory by itself; 1.37 now means its newest patch
    Path("k0s.yaml").write_text(pinned_config(second_images["kubeproxy"]))
    code, out, _ = run(["check", "k0s.yaml", "--k0s-version", "1.37", "--format", "json"], capsys)
    report = json.loads(out)
    assert report["clusters"][0]["target"] == "v1.37.1+k0s.0"
    assert [f["rule"] for f in report["findings"]] == ["K0S101"]


def test_config_names_renamed_images(tmp_path: Path, capsys, newest_136: Patch) -> None:
    images = bumped(newest_136)
    images["metricsserver"] = "quay.io/k0sproject/metrics-server-next:v0.9.0-0"
    listing = image_list(tmp_path / "images.txt", images)
    argv = ["releases", "import", "--version", NEW, "--images", str(listing), "--data-dir", "d"]

    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert "cannot tell which component these images belong to: quay.io/k0sproject/metrics-server-next" in err
    assert not Path("d").exists()

    name, tag = images["metricsserver"].rsplit(":", 1)
    proxy_name, _ = images["kubeproxy"].rsplit(":", 1)
    Path("k0s-config.yaml").write_text(
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n  name: k0s\nspec:\n"
        "  images:\n"
        f"    metricsserver:\n      image: {name}\n      version: {tag}\n"
        f"    kubeproxy:\n      image: {proxy_name}\n      version: v1.37.0-9\n"
        "    default_pull_policy: IfNotPresent\n"
    )
    code, out, err = run([*argv, "--config", "k0s-config.yaml"], capsys)
    assert code == 0, err
    assert f"kubeproxy: {listing} lists {images['kubeproxy']}, k0s-config.yaml {proxy_name}:v1.37.0-9" in out
    patch = load_release_file(Path("d") / "1.37.yaml").patches[0]
    assert patch.images["metricsserver"] == images["metricsserver"]
    assert patch.images["kubeproxy"] == f"{proxy_name}:v1.37.0-9"


def test_new_patch_of_a_builtin_minor(tmp_path: Path, capsys, newest_136: Patch) -> None:
    release = Catalog.load().release("1.36")
    assert release is not None
    version = "v1.36.99+k0s.0"
    listing = image_list(tmp_path / "images.txt", bumped(newest_136, "1.36.99"))
    code, out, err = run(
        ["releases", "import", "--version", version, "--images", str(listing), "--data-dir", "d"], capsys
    )
    assert code == 0, err
    assert f"copied the {len(release.patches)} built-in 1.36 patches" in out
    user = load_release_file(Path("d") / "1.36.yaml")
    assert [p.version for p in user.patches] == [*(p.version for p in release.patches), version]
    assert user.patches[0] == release.patches[0]
    catalog = Catalog.load(extra_dirs=[Path("d")])
    assert catalog.resolve(version).note is None
    assert catalog.resolve(newest_136.version).patch == newest_136
    code, out, _ = run(["releases", "list", "--data-dir", "d"], capsys)
    assert "(replaces the built-in data)" in out.splitlines()[-1]


def test_import_errors(tmp_path: Path, capsys, newest_136: Patch) -> None:
    images = bumped(newest_136)
    good = image_list(tmp_path / "images.txt", images)

    def error(*argv: str) -> str:
        code, out, err = run(["releases", "import", *argv, "--data-dir", "d"], capsys)
        assert code == 2 and out == "", err
        return err

    assert "expected a GA k0s tag such as v1.37.0+k0s.0" in error("--version", "1.37", "--images", str(good))
    assert "cannot read missing.txt" in error("--version", NEW, "--images", "missing.txt")
    assert "is older than every known release" in error("--version", "v1.20.0+k0s.0", "--images", str(good))
    doubled = image_list(tmp_path / "doubled.txt", {**images, "extra": "quay.io/k0sproject/coredns:9.9.9"})
    assert "are images of coredns" in error("--version", NEW, "--images", str(doubled))
    untagged = image_list(tmp_path / "untagged.txt", {**images, "coredns": "quay.io/k0sproject/coredns"})
    assert "has no tag" in error("--version", NEW, "--images", str(untagged))
    broken = tmp_path / "broken.txt"
    broken.write_text("quay.io/k0sproject/coredns:1.0\nNot An Image\n")
    assert "broken.txt:2:" in error("--version", NEW, "--images", str(broken))
    assert not Path("d").exists()
    assert run(["releases"], capsys)[0] == 2
    assert "no such directory" in run(["releases", "list", "--data-dir", "nowhere"], capsys)[2]
    assert run(["check", "--data-dir", "nowhere"], capsys)[0] == 2
