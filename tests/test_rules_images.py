"""K0S101-K0S105 on real files: hits, clean cases and the precision the rules promise."""

from __future__ import annotations

from pathlib import Path

from conftest import check_paths, only, write

HEAD = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images:\n"


def _check(tmp_path: Path, images: str, version: str = "v1.30.5+k0s.0", extra: str = ""):
    write(tmp_path, "c/k0s.yaml", HEAD + images + extra)
    return check_paths(["c"], cwd=tmp_path, k0s_version=version, select=["K0S1"]).findings


def test_k0s101_hit_and_clean(tmp_path: Path) -> None:
    hit = _check(
        tmp_path, "    kubeproxy:\n      image: quay.io/k0sproject/kube-proxy\n      version: v1.30.5\n"
    )
    (finding,) = only(hit, "K0S101")
    assert (finding.line, finding.column) == (7, 16)
    assert finding.message == "kubeproxy pinned to v1.30.5, exactly the default of target k0s v1.30.5+k0s.0"
    assert finding.fix == "remove spec.images.kubeproxy"
    assert "goes stale at the next upgrade" in finding.detail
    clean = _check(tmp_path, "    default_pull_policy: Never\n")
    assert clean == []


def test_k0s102_names_the_release_and_the_consequence(tmp_path: Path) -> None:
    findings = _check(
        tmp_path,
        "    default_pull_policy: Never\n    kubeproxy:\n      image: quay.io/k0sproject/kube-proxy\n      version: v1.29.4\n",
    )
    (stale,) = only(findings, "K0S102")
    assert (stale.line, stale.column) == (8, 16)
    assert stale.message == (
        "kubeproxy pinned to v1.29.4, the default of k0s v1.29.4+k0s.0; cluster targets v1.30.5+k0s.0"
    )
    assert stale.fix == "remove spec.images.kubeproxy"
    assert "whose default is quay.io/k0sproject/kube-proxy:v1.30.5" in stale.detail
    assert "will not start" in stale.detail and "Fix" not in stale.detail


def test_k0s102_for_a_pin_from_a_newer_release(tmp_path: Path) -> None:
    findings = _check(
        tmp_path, "    kubeproxy:\n      image: quay.io/k0sproject/kube-proxy\n      version: v1.31.2\n"
    )
    (stale,) = only(findings, "K0S102")
    assert "the default of newer k0s (1.31)" in stale.message
    assert "ahead of the release it is tested with" in stale.detail


def test_only_a_version_keeps_the_default_name(tmp_path: Path) -> None:
    findings = _check(tmp_path, "    coredns:\n      version: 1.11.1\n")
    (stale,) = only(findings, "K0S102")
    assert "coredns pinned to 1.11.1" in stale.message
    assert "quay.io/k0sproject/coredns:1.11.1 is the default of" in stale.detail


def test_k0s103_custom_pin_with_port_and_digest(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    findings = _check(
        tmp_path,
        f"    coredns:\n      image: 10.0.0.5:5000/mirror/coredns\n      version: 1.11.3@{digest}\n",
    )
    (custom,) = only(findings, "K0S103")
    # the message shows the digest cut short; the detail names what the target would run
    assert custom.message == (
        "coredns pinned to 10.0.0.5:5000/mirror/coredns:1.11.3@sha256:aaaaaaaaaaaa…, which no k0s release "
        "ships by default"
    )
    assert "k0s v1.30.5+k0s.0 ships quay.io/k0sproject/coredns:1.11.3" in custom.detail
    assert not only(findings, "K0S105")


def test_k0s102_after_repository_rewrite_the_7708_pattern(tmp_path: Path) -> None:
    # An object persisted with images.repository carries rewritten names.
    findings = _check(
        tmp_path,
        "    repository: registry.example.com/lcm\n"
        "    coredns:\n      image: registry.example.com/lcm/k0sproject/coredns\n      version: 1.11.1\n",
        version="v1.33.9+k0s.0",
    )
    (stale,) = only(findings, "K0S102")
    assert "a default of 14 k0s releases up to v1.29.4+k0s.0" in stale.message
    assert "registry.example.com/lcm/k0sproject/coredns:1.11.1 is the default of k0s v1.2" in stale.detail


def test_k0s104_hit_keeps_custom_pins_out_of_the_patch(tmp_path: Path, catalog) -> None:
    patch = catalog.patch("v1.29.4+k0s.0")
    images = ""
    for component in ("konnectivity", "metricsserver", "kubeproxy", "coredns", "pause", "pushgateway"):
        name, tag = patch.images[component].rsplit(":", 1)
        images += f'    {component}:\n      image: {name}\n      version: "{tag}"\n'
    for group, parts in (
        ("calico", ("cni", "node", "kubecontrollers")),
        ("kuberouter", ("cni", "cniInstaller")),
    ):
        images += f"    {group}:\n"
        for part in parts:
            name, tag = patch.images[f"{group}.{part}"].rsplit(":", 1)
            images += f'      {part}:\n        image: {name}\n        version: "{tag}"\n'
    extra = (
        "  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n      envoyProxy:\n"
        "        image:\n          image: registry.example.com/envoy\n          version: custom-1\n"
    )
    findings = _check(tmp_path, images, extra=extra)
    (persisted,) = only(findings, "K0S104")
    assert (persisted.line, persisted.column) == (4, 3)
    assert persisted.message == (
        "ClusterConfig carries all 11 default images of k0s v1.29.4+k0s.0; target is k0s v1.30.5+k0s.0"
    )
    assert "delete the 11 default image entries" in persisted.fix
    assert "spec.images.kubeproxy" in persisted.detail
    assert "envoyProxy" not in persisted.detail  # the deliberate custom pin stays
    # exported from the cluster: the fix is a JSON patch for the object
    text = (
        (tmp_path / "c/k0s.yaml")
        .read_text()
        .replace(
            "kind: ClusterConfig\n",
            'kind: ClusterConfig\nmetadata: {name: k0s, namespace: kube-system, resourceVersion: "1234"}\n',
        )
    )
    (tmp_path / "c/k0s.yaml").write_text(text)
    findings = check_paths(["c"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0", select=["K0S104"]).findings
    (persisted,) = only(findings, "K0S104")
    assert "`k0s config edit`" in persisted.fix
    assert "kubectl patch clusterconfig k0s -n kube-system --type=json -p '[" in persisted.detail
    assert '{"op":"remove","path":"/spec/images/kubeproxy"}' in persisted.detail
    assert "envoyProxy" not in persisted.detail


def test_k0s104_clean_when_only_some_images_are_pinned(tmp_path: Path) -> None:
    findings = _check(
        tmp_path,
        "    kubeproxy:\n      image: quay.io/k0sproject/kube-proxy\n      version: v1.29.4\n"
        "    coredns:\n      image: quay.io/k0sproject/coredns\n      version: 1.11.1\n",
    )
    assert only(findings, "K0S102") and not only(findings, "K0S104")


def test_k0s105_hit_and_clean(tmp_path: Path) -> None:
    hit = _check(tmp_path, "    coredns:\n      image: Quay.io/K0sproject/CoreDNS\n      version: 1.11.3\n")
    (invalid,) = only(hit, "K0S105")
    assert invalid.line == 7
    assert (
        invalid.message == "coredns image 'Quay.io/K0sproject/CoreDNS:1.11.3' is not a valid image reference"
    )
    assert "lowercase" in invalid.detail
    clean = _check(tmp_path, "    coredns:\n      image: quay.io/k0sproject/coredns\n      version: 1.11.3\n")
    assert not only(clean, "K0S105")


def test_k0s103_image_without_version_follows_the_release_in_a_static_config(tmp_path: Path) -> None:
    findings = _check(tmp_path, "    coredns:\n      image: registry.example.com/mirror/coredns\n")
    (custom,) = only(findings, "K0S103")
    assert custom.message == (
        "coredns pinned to registry.example.com/mirror/coredns:1.11.3, which no k0s release ships by default"
    )
    assert "fills in the tag of the release it runs (1.11.3 on v1.30.5+k0s.0)" in custom.detail
    assert "the tag follows each upgrade" in custom.detail and "stays" not in custom.detail


def test_k0s103_image_without_version_stays_in_the_dynamic_config_object(tmp_path: Path) -> None:
    write(
        tmp_path,
        "d/object.yaml",
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"
        "metadata: {name: k0s, namespace: kube-system}\n"
        "spec:\n  images:\n    coredns:\n      image: registry.example.com/mirror/coredns\n",
    )
    findings = check_paths(["d"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0", select=["K0S103"]).findings
    (custom,) = only(findings, "K0S103")
    assert "stored in the ClusterConfig object and stays there on later upgrades" in custom.detail
    assert "follows each upgrade" not in custom.detail
    # with a version written, neither story applies
    findings = _check(
        tmp_path, "    coredns:\n      image: registry.example.com/mirror/coredns\n      version: 1.11.3\n"
    )
    (custom,) = only(findings, "K0S103")
    assert "No version is written" not in custom.detail
