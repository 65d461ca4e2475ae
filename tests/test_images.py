"""`k0s-policy images`: the images each cluster's nodes run, on real YAML files through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from checker.cli.app import main
from checker.k0s.needed import list_images_order
from checker.k0s.releases import Catalog
from conftest import write

K0SCTL = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge
spec:
  hosts:
    - role: controller
      ssh: {address: 10.0.0.1}
      installFlags: [FLAGS]
    - role: worker
      ssh: {address: 10.0.0.2}
  k0s:
    version: v1.30.2+k0s.0
    config:
      spec:
        images:
          repository: REPOSITORY
          default_pull_policy: Never
        network:
          provider: calico
          nodeLocalLoadBalancing: {enabled: true}
"""


def cluster(tmp_path: Path, flags: str = "--debug", repository: str = '""') -> Path:
    return write(tmp_path, "k0sctl.yaml", K0SCTL.replace("FLAGS", flags).replace("REPOSITORY", repository))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def expected(catalog: Catalog, version: str, components: list[str], repository: str = "") -> list[str]:
    patch = catalog.resolve(version).patch
    images = patch.effective_images(repository)
    order = list_images_order(patch.minor)
    return [images[c] for c in sorted(components, key=order.index)]


RUN_WITH_CALICO = [
    "konnectivity",
    "metricsserver",
    "coredns",
    "kubeproxy",
    "pause",
    "calico.cni",
    "calico.node",
    "calico.kubecontrollers",
    "nllb.envoyProxy",
]


def test_list_is_the_release_defaults_in_list_images_order(tmp_path: Path, capsys, catalog) -> None:
    path = cluster(tmp_path)
    code, out, err = run(["images", str(path)], capsys)
    assert code == 0, err
    assert out.splitlines() == expected(catalog, "v1.30.2+k0s.0", RUN_WITH_CALICO)
    assert out.splitlines()[0].startswith("quay.io/k0sproject/calico-cni:")  # 1.26-1.35 sort by field


def test_disable_components_and_repository_rewrite(tmp_path: Path, capsys, catalog) -> None:
    path = cluster(
        tmp_path, flags='"--disable-components=metrics-server,konnectivity-server"', repository="mirror.local"
    )
    code, out, _ = run(["images", str(path)], capsys)
    assert code == 0
    wanted = [c for c in RUN_WITH_CALICO if c not in ("metricsserver", "konnectivity")]
    assert out.splitlines() == expected(catalog, "v1.30.2+k0s.0", wanted, "mirror.local")
    assert all(line.startswith("mirror.local/") for line in out.splitlines())


def test_single_node_runs_no_konnectivity(tmp_path: Path, capsys) -> None:
    write(
        tmp_path,
        "k0sctl.yaml",
        """
        apiVersion: k0sctl.k0sproject.io/v1beta1
        kind: Cluster
        spec:
          hosts:
            - role: single
              localhost: {enabled: true}
          k0s: {version: v1.30.2+k0s.0}
        """,
    )
    code, out, _ = run(["images", str(tmp_path)], capsys)
    assert code == 0
    assert "apiserver-network-proxy-agent" not in out
    assert "kube-router" in out  # no config: the default provider


def test_from_prints_only_what_the_mirror_must_gain(tmp_path: Path, capsys, catalog) -> None:
    path = cluster(tmp_path)
    code, out, _ = run(["images", str(path), "--from", "v1.29.4+k0s.0"], capsys)
    assert code == 0
    new = set(expected(catalog, "v1.30.2+k0s.0", RUN_WITH_CALICO))
    old = set(expected(catalog, "v1.29.4+k0s.0", RUN_WITH_CALICO))
    assert set(out.splitlines()) == new - old
    assert new - old and new & old  # the test means something only if some images stay


def test_json_names_source_node_and_hosts(tmp_path: Path, capsys) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            coredns:
              image: registry.example.com/coredns
              version: 1.11.3
        """,
    )
    write(
        tmp_path,
        "exported/k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        metadata: {name: k0s, namespace: kube-system, resourceVersion: "1"}
        spec:
          images:
            kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4}
        """,
    )
    code, out, err = run(
        ["images", str(tmp_path / "k0s.yaml"), "--k0s-version", "1.30", "--format", "json"], capsys
    )
    assert code == 0, err
    images = {i["component"]: i for i in json.loads(out)["clusters"][0]["images"]}
    assert images["coredns"]["source"] == "pin"
    assert images["coredns"]["image"] == "registry.example.com/coredns:1.11.3"
    assert images["coredns"]["node"]["yaml"] == "spec.images.coredns.version"
    assert images["coredns"]["node"]["line"] == 7
    assert images["kubeproxy"]["source"] == "default"
    assert images["kubeproxy"]["hosts"] == ["worker nodes"]
    code, out, _ = run(
        ["images", str(tmp_path / "exported"), "--k0s-version", "1.30", "--format", "json"], capsys
    )
    images = {i["component"]: i for i in json.loads(out)["clusters"][0]["images"]}
    assert images["kubeproxy"]["source"] == "persisted"  # 1.29's default, written by a controller


def test_skopeo_sync_groups_by_mirror_namespace(tmp_path: Path, capsys, catalog) -> None:
    path = cluster(tmp_path, repository="mirror.local")
    out_dir = tmp_path / "sync"
    code, out, _ = run(["images", str(path), "--format", "skopeo-sync", "--output-dir", str(out_dir)], capsys)
    assert code == 0
    commands = out.splitlines()
    destinations = {line.split()[-1] for line in commands}
    running = expected(catalog, "v1.30.2+k0s.0", RUN_WITH_CALICO, "mirror.local")
    assert destinations == {name.rsplit(":", 1)[0].rsplit("/", 1)[0] for name in running}
    copied = set()
    for command in commands:
        *_, file, destination = command.split()
        for body in yaml.safe_load(Path(file).read_text()).values():
            for name, tags in body["images"].items():
                copied |= {f"{destination}/{name.rsplit('/', 1)[-1]}:{tag}" for tag in tags}
    assert copied == set(running)  # what skopeo sync writes is exactly what the nodes run


def test_bad_input_gives_no_list(tmp_path: Path, capsys) -> None:
    write(tmp_path, "k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec: [\n")
    code, out, err = run(["images", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert "k0s.yaml:" in err and "K0S001" in err
    write(tmp_path, "k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    assert run(["images", str(tmp_path), "--from", "v9.1.0"], capsys)[0] == 2
    assert run(["images", str(tmp_path / "empty-dir-that-is-missing")], capsys)[0] == 2


@pytest.mark.parametrize(
    ("version", "first"),
    [("v1.25.16+k0s.0", "konnectivity"), ("v1.30.2+k0s.0", "coredns"), ("1.36", "pause")],
)
def test_order_follows_each_releases_list_images(tmp_path: Path, capsys, catalog, version, first) -> None:
    write(tmp_path, "k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    code, out, _ = run(["images", str(tmp_path), "--k0s-version", version], capsys)
    patch = catalog.resolve(version).patch
    assert code == 0 and out.splitlines()[0] == patch.images[first]
    assert len(out.splitlines()) == len(set(out.splitlines()))


def test_metrics_scraper_adds_the_pushgateway(tmp_path: Path, capsys, catalog) -> None:
    path = cluster(tmp_path, flags="--enable-metrics-scraper")
    code, out, _ = run(["images", str(path)], capsys)
    pushgateway = catalog.resolve("v1.30.2+k0s.0").patch.images["pushgateway"]
    assert code == 0 and pushgateway in out.splitlines()
    assert pushgateway not in run(["images", str(cluster(tmp_path / "plain"))], capsys)[1]


def test_windows_workers_need_their_own_images(tmp_path: Path, capsys, catalog) -> None:
    write(
        tmp_path,
        "k0sctl.yaml",
        """
        apiVersion: k0sctl.k0sproject.io/v1beta1
        kind: Cluster
        spec:
          hosts:
            - role: controller
              ssh: {address: 10.0.0.1}
            - role: worker
              ssh: {address: 10.0.0.2}
            - role: worker
              winRM: {address: 10.0.0.3}
          k0s:
            version: v1.36.3+k0s.2
            config:
              spec:
                network: {provider: calico}
        """,
    )
    code, out, _ = run(["images", str(tmp_path), "--format", "json"], capsys)
    assert code == 0
    images = {i["component"]: i for i in json.loads(out)["clusters"][0]["images"]}
    patch = catalog.resolve("v1.36.3+k0s.2").patch
    windows = ["windows.pause", "windows.kubeproxy", "calico.windows.cni", "calico.windows.node"]
    assert [c for c in images if c in windows] == windows  # after the Linux images, in list-images order
    assert list(images)[-4:] == windows
    assert images["windows.pause"]["image"] == patch.images["windows.pause"]
    assert images["windows.pause"]["hosts"] == ["10.0.0.3 (worker)"]
    assert images["coredns"]["hosts"] == ["10.0.0.2 (worker)"]


def test_an_assumed_target_is_said(tmp_path: Path, capsys, catalog) -> None:
    write(tmp_path, "k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    code, out, err = run(["images", str(tmp_path)], capsys)
    newest = catalog.newest()
    assert (
        code == 0 and f"declares no k0s version; listed for the newest known release {newest.version}" in err
    )
    assert out.splitlines()[0] == newest.images["pause"]  # 1.36 and later list pause first
    assert run(["images", str(tmp_path), "--k0s-version", "v1.30.99"], capsys)[2].count("note:") == 1
