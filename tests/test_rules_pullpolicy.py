"""K0S2xx: pull policy, air-gap bundle and private registry, checked on real YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.config import Config
from checker.findings import Finding
from checker.k0s.releases import Catalog
from checker.rules import Options
from conftest import check_paths, only, write

DIGEST = "sha256:" + "0123456789abcdef" * 4
OTHER_DIGEST = "sha256:" + "fedcba9876543210" * 4


def k2(
    tmp_path: Path,
    version: str | None = None,
    *,
    config: Config | None = None,
    options: Options | None = None,
) -> list[Finding]:
    """Every active K0S2xx finding for the files below tmp_path."""
    result = check_paths(
        [tmp_path], cwd=tmp_path, k0s_version=version, config=config, options=options, select=["K0S2"]
    )
    return result.active


def at(finding: Finding) -> tuple[int, int]:
    return finding.line, finding.column


def defaults_of(catalog: Catalog, version: str) -> set[str]:
    return set(catalog.resolve(version).patch.images.values())


K0SCTL_WITH_BUNDLE = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge
spec:
  hosts:
    - role: controller
      ssh: {address: 10.0.0.1}
    - role: worker
      ssh: {address: 10.0.0.2}
      files:
        - name: bundle
          src: k0s-airgap-bundle.tar
          dstDir: /var/lib/k0s/images/
  k0s:
    version: VERSION
    config:
      spec:
        images:
          default_pull_policy: Never
"""


# --- K0S201 image-not-in-airgap-set ---------------------------------------------------------------------


def test_201_stale_pin_with_never(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: quay.io/k0sproject/coredns
              version: 1.11.1
        """,
    )
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0"), "K0S201")
    assert at(finding) == (8, 16)
    assert finding.node == "spec.images.coredns.version"
    assert finding.message == (
        "coredns pinned image quay.io/k0sproject/coredns:1.11.1 is not in the v1.30.14+k0s.0 air-gap bundle"
    )
    assert finding.fix == "remove spec.images.coredns or bundle the pinned image"
    assert "Never" in finding.detail and "cannot start" in finding.detail
    assert "remove the pin so k0s runs its own quay.io/k0sproject/coredns:1.11.4" in finding.detail


def test_201_clean_when_pin_is_the_target_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: quay.io/k0sproject/coredns
              version: 1.11.4
        """,
    )
    assert only(k2(tmp_path, "v1.30.14+k0s.0"), "K0S201") == []


def test_201_airgapped_cluster_with_if_not_present(tmp_path: Path) -> None:
    text = K0SCTL_WITH_BUNDLE.replace("VERSION", "v1.30.14+k0s.0").replace(
        "          default_pull_policy: Never\n",
        "          kubeproxy:\n            version: v1.29.4\n",
    )
    write(tmp_path, "k0sctl.yaml", text)
    [finding] = only(k2(tmp_path), "K0S201")
    assert at(finding) == (21, 22)
    assert "kubeproxy pinned image quay.io/k0sproject/kube-proxy:v1.29.4 is not in" in finding.message
    assert "IfNotPresent" in finding.detail and "air-gapped" in finding.detail
    assert "tries to pull it from quay.io" in finding.detail  # the registry the node would try


def test_201_airgapped_if_not_present_may_pull_from_a_known_registry(tmp_path: Path) -> None:
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
              version: 1.11.1
        """,
    )
    airgapped = Config(airgapped=True)
    [finding] = only(k2(tmp_path, "1.30", config=airgapped), "K0S201")
    assert at(finding) == (7, 16)
    with_registry = Config(airgapped=True, registries=("registry.example.com",))
    assert only(k2(tmp_path, "1.30", config=with_registry), "K0S201") == []


def test_201_not_on_a_release_that_ignores_the_policy(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: docker.io/coredns/coredns
              version: 1.8.0
        """,
    )
    findings = k2(tmp_path, "v1.25.16+k0s.0")
    assert only(findings, "K0S201") == []
    assert len(only(findings, "K0S206")) == 1


def test_201_airgap_list_misses_a_default(tmp_path: Path, catalog: Catalog) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
        """,
    )
    images = defaults_of(catalog, "v1.30.14+k0s.0") - {"quay.io/k0sproject/coredns:1.11.4"}
    options = Options(airgap_images=frozenset(images), airgap_images_source="list.txt")
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0", options=options), "K0S201")
    assert at(finding) == (5, 26)
    assert finding.node == "spec.images.default_pull_policy"
    assert finding.message == (
        "coredns default image quay.io/k0sproject/coredns:1.11.4 is not in the air-gap image list list.txt"
    )
    assert finding.fix == "add the image to list.txt"
    assert "cannot start" in finding.detail and "k0s airgap list-images" in finding.detail
    complete = Options(airgap_images=frozenset(defaults_of(catalog, "v1.30.14+k0s.0")))
    assert only(k2(tmp_path, "v1.30.14+k0s.0", options=complete), "K0S201") == []


def test_201_airgap_list_names_docker_hub_images_either_way(tmp_path: Path, catalog: Catalog) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: coredns/coredns
              version: 1.11.1
        """,
    )
    images = defaults_of(catalog, "v1.30.14+k0s.0") | {"docker.io/coredns/coredns:1.11.1"}
    options = Options(airgap_images=frozenset(images), airgap_images_source="list.txt")
    assert only(k2(tmp_path, "v1.30.14+k0s.0", options=options), "K0S201") == []


@pytest.mark.parametrize(
    "entry",
    [
        f"quay.io/k0sproject/coredns:1.11.4@{DIGEST}",
        "quay.io/k0sproject/coredns:1.11.4",
        f"quay.io/k0sproject/coredns@{DIGEST}",
    ],
)
def test_201_digest_pinned_image_in_the_list_matches(tmp_path: Path, catalog: Catalog, entry: str) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        f"""
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: quay.io/k0sproject/coredns
              version: 1.11.4@{DIGEST}
        """,
    )
    images = defaults_of(catalog, "v1.30.14+k0s.0") - {"quay.io/k0sproject/coredns:1.11.4"} | {entry}
    options = Options(airgap_images=frozenset(images), airgap_images_source="list.txt")
    assert only(k2(tmp_path, "v1.30.14+k0s.0", options=options), "K0S201") == []


def test_201_digest_mismatch_is_missing(tmp_path: Path, catalog: Catalog) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        f"""
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: quay.io/k0sproject/coredns
              version: 1.11.4@{DIGEST}
        """,
    )
    images = defaults_of(catalog, "v1.30.14+k0s.0") - {"quay.io/k0sproject/coredns:1.11.4"}
    options = Options(
        airgap_images=frozenset({*images, f"quay.io/k0sproject/coredns:1.11.4@{OTHER_DIGEST}"}),
        airgap_images_source="list.txt",
    )
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0", options=options), "K0S201")
    assert at(finding) == (8, 16)
    assert f"@{DIGEST[:19]}…" in finding.message and DIGEST in finding.detail


def test_201_registry_with_port(tmp_path: Path, catalog: Catalog) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            coredns:
              image: 10.0.0.5:5000/k0sproject/coredns
              version: 1.11.4
        """,
    )
    base = defaults_of(catalog, "v1.30.14+k0s.0")
    listed = Options(airgap_images=frozenset({*base, "10.0.0.5:5000/k0sproject/coredns:1.11.4"}))
    assert only(k2(tmp_path, "v1.30.14+k0s.0", options=listed), "K0S201") == []
    other_port = Options(
        airgap_images=frozenset({*base, "10.0.0.5:5001/k0sproject/coredns:1.11.4"}),
        airgap_images_source="list.txt",
    )
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0", options=other_port), "K0S201")
    assert at(finding) == (8, 16)
    assert "10.0.0.5:5000/k0sproject/coredns:1.11.4" in finding.message


def test_201_repository_rewritten_defaults_are_in_the_set(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            default_pull_policy: Never
            repository: 10.0.0.5:5000/mirror
            coredns:
              image: quay.io/k0sproject/coredns
              version: 1.11.4
        """,
    )
    assert k2(tmp_path, "v1.30.14+k0s.0") == []


# --- K0S202 repository-not-applied ----------------------------------------------------------------------

K0SCTL_SCRAPER = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  hosts:
    - role: controller
      installFlags: [--enable-metrics-scraper]
      ssh: {address: 10.0.0.1}
  k0s:
    version: VERSION
    config:
      spec:
        images:
          repository: registry.example.com/lcm
"""


def test_202_pushgateway_not_rewritten_before_1_29_14(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", K0SCTL_SCRAPER.replace("VERSION", "v1.29.13+k0s.0"))
    [finding] = only(k2(tmp_path), "K0S202")
    assert at(finding) == (13, 23)
    assert finding.node == "spec.k0s.config.spec.images.repository"
    assert finding.message == (
        "k0s v1.29.13+k0s.0 does not apply spec.images.repository to pushgateway: "
        "it pulls quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.0"
    )
    assert "registry.example.com/lcm/k0sproject/pushgateway-ttl" in finding.fix
    assert "v1.29.14+k0s.0" in finding.detail


def test_202_pushgateway_rewritten_from_1_29_14(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", K0SCTL_SCRAPER.replace("VERSION", "v1.29.14+k0s.0"))
    assert only(k2(tmp_path), "K0S202") == []


def test_202_pushgateway_not_run_without_the_scraper(tmp_path: Path) -> None:
    text = K0SCTL_SCRAPER.replace("VERSION", "v1.29.13+k0s.0").replace(
        "      installFlags: [--enable-metrics-scraper]\n", ""
    )
    write(tmp_path, "k0sctl.yaml", text)
    assert only(k2(tmp_path), "K0S202") == []


def test_202_pushgateway_pinned_to_the_mirror_is_fine(tmp_path: Path) -> None:
    text = K0SCTL_SCRAPER.replace("VERSION", "v1.29.13+k0s.0") + (
        "          pushgateway:\n            image: registry.example.com/lcm/k0sproject/pushgateway-ttl\n"
    )
    write(tmp_path, "k0sctl.yaml", text)
    assert only(k2(tmp_path), "K0S202") == []


def test_202_pause_in_1_27(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            repository: registry.example.com
        """,
    )
    [finding] = only(k2(tmp_path, "1.27"), "K0S202")
    assert at(finding) == (5, 17)
    assert "to pause: it pulls registry.k8s.io/pause:3.8" in finding.message
    assert (
        finding.fix
        == "import registry.k8s.io/pause:3.8 on the workers or mirror registry.k8s.io in containerd"
    )
    assert "no setting" in finding.detail and "v1.28.2+k0s.0" in finding.detail
    assert only(k2(tmp_path, "1.28"), "K0S202") == []


def test_202_repository_applied_twice(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            repository: registry.example.com/lcm
            coredns:
              image: registry.example.com/lcm/k0sproject/coredns
              version: 1.11.4
        """,
    )
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0"), "K0S202")
    assert at(finding) == (8, 16)
    assert "pulls registry.example.com/lcm/lcm/k0sproject/coredns:1.11.4" in finding.message
    assert finding.fix.startswith("write the image as k0sproject/coredns")
    assert "v1.31.12+k0s.0" in finding.detail
    # the release with the idempotency guard leaves the name alone
    assert only(k2(tmp_path, "v1.31.12+k0s.0"), "K0S202") == []


def test_202_repository_applied_twice_with_a_port(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            repository: 10.0.0.5:5000/mirror
            kubeproxy:
              image: 10.0.0.5:5000/mirror/k0sproject/kube-proxy
              version: v1.30.14
        """,
    )
    [finding] = only(k2(tmp_path, "v1.30.14+k0s.0"), "K0S202")
    assert at(finding) == (8, 16)
    assert "10.0.0.5:5000/mirror/mirror/k0sproject/kube-proxy:v1.30.14" in finding.message


def test_202_host_only_repository_is_not_doubled(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            repository: 10.0.0.5:5000
            coredns:
              image: 10.0.0.5:5000/k0sproject/coredns
              version: 1.11.4
        """,
    )
    assert only(k2(tmp_path, "v1.30.14+k0s.0"), "K0S202") == []


# --- K0S203 always-pull-in-airgap -----------------------------------------------------------------------

ALWAYS = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    default_pull_policy: Always
"""


def test_203_always_in_airgapped_cluster(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", ALWAYS)
    config = Config(path=".k0s-policy.yaml", airgapped=True)
    [finding] = only(k2(tmp_path, "1.30", config=config), "K0S203")
    assert at(finding) == (5, 26)
    assert finding.message == "default_pull_policy is Always in an air-gapped cluster (.k0s-policy.yaml)"
    assert "Never" in finding.fix and "IfNotPresent" in finding.fix
    assert "never used" in finding.detail


def test_203_always_in_connected_cluster_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", ALWAYS)
    assert k2(tmp_path, "1.30") == []


# --- K0S204 nllb-pull-policy-differs --------------------------------------------------------------------

NLLB = (
    K0SCTL_WITH_BUNDLE.replace("VERSION", "v1.30.14+k0s.0")
    + """        network:
          nodeLocalLoadBalancing:
            enabled: true
            envoyProxy:
              imagePullPolicy: POLICY
"""
)


def test_204_envoy_pulls_while_the_rest_never_does(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", NLLB.replace("POLICY", "Always"))
    [finding] = only(k2(tmp_path), "K0S204")
    assert at(finding) == (25, 32)
    assert finding.node == "spec.k0s.config.spec.network.nodeLocalLoadBalancing.envoyProxy.imagePullPolicy"
    assert "imagePullPolicy Always" in finding.message and "default_pull_policy is Never" in finding.message
    assert "air-gapped" in finding.message and "loses its connection" in finding.detail


def test_204_same_policy_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", NLLB.replace("POLICY", "Never"))
    assert k2(tmp_path) == []


def test_204_disabled_nllb_is_fine(tmp_path: Path) -> None:
    write(
        tmp_path, "k0sctl.yaml", NLLB.replace("POLICY", "Always").replace("enabled: true", "enabled: false")
    )
    assert k2(tmp_path) == []


# --- K0S205 never-without-bundle ------------------------------------------------------------------------

NO_BUNDLE = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  hosts:
    - role: controller+worker
      ssh: {address: 10.0.0.1}
  k0s:
    version: v1.30.14+k0s.0
    config:
      spec:
        images:
          default_pull_policy: Never
"""


def test_205_never_without_bundle(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", NO_BUNDLE)
    [finding] = only(k2(tmp_path), "K0S205")
    assert at(finding) == (12, 32)
    assert (
        finding.message == "default_pull_policy is Never, but no host in k0sctl.yaml uploads an image bundle"
    )
    assert "/var/lib/k0s/images" in finding.fix and "ErrImageNeverPull" in finding.detail


def test_205_never_with_repository_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", NO_BUNDLE + "          repository: registry.example.com\n")
    assert only(k2(tmp_path), "K0S205") == []


def test_205_never_with_bundle_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "k0sctl.yaml", K0SCTL_WITH_BUNDLE.replace("VERSION", "v1.30.14+k0s.0"))
    assert k2(tmp_path) == []


# --- K0S206 pull-policy-ignored -------------------------------------------------------------------------

NEVER = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    default_pull_policy: Never
"""


def test_206_never_ignored_before_1_26(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", NEVER)
    [finding] = only(k2(tmp_path, "v1.25.16+k0s.0"), "K0S206")
    assert at(finding) == (5, 26)
    assert (
        finding.message
        == "default_pull_policy is Never, but k0s v1.25.16+k0s.0 ignores it and uses IfNotPresent"
    )
    assert "v1.26.0+k0s.0" in finding.fix and "Never protects nothing" in finding.detail


def test_206_if_not_present_before_1_26_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", NEVER.replace("Never", "IfNotPresent"))
    assert k2(tmp_path, "1.24") == []


def test_206_never_honoured_from_1_26(tmp_path: Path) -> None:
    write(tmp_path, "k0s.yaml", NEVER)
    assert k2(tmp_path, "v1.26.0+k0s.0") == []


# --- precision --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", ["1.21", "1.24", "1.26", "1.27", "1.30", "1.33", "1.36"])
def test_config_that_pins_nothing_gives_nothing(tmp_path: Path, minor: str) -> None:
    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          network:
            provider: calico
        """,
    )
    assert k2(tmp_path, minor) == []
    assert k2(tmp_path, minor, config=Config(airgapped=True)) == []


def test_never_with_bundle_upload_gives_nothing_on_any_honouring_release(
    tmp_path: Path, catalog: Catalog
) -> None:
    releases = [r for m in catalog.minors() if (r := catalog.release(m)) and r.newest.pull_policy_honoured]
    assert "1.26" in [r.minor for r in releases]
    text = K0SCTL_WITH_BUNDLE.replace(
        "    - role: controller\n", "    - role: controller\n      installFlags: [--enable-metrics-scraper]\n"
    )
    assert "--enable-metrics-scraper" in text
    for release in releases:
        for patch in {release.patches[0], release.newest}:
            write(tmp_path, "k0sctl.yaml", text.replace("VERSION", patch.version))
            assert k2(tmp_path) == [], patch.version
