"""`k0s-policy fix`: pins equal to a release default go, every other byte stays."""

from __future__ import annotations

import difflib
import json
import shutil
import stat
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT, check_paths, rules_of

API = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"


@pytest.fixture(autouse=True)
def _no_user_releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the user's own release data directory must not change what these tests see
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def put(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def only_deletions(before: bytes, after: bytes) -> bool:
    """The new file is the old one with some lines taken out, nothing else."""
    old = before.decode("utf-8").splitlines(keepends=True)
    new = after.decode("utf-8").splitlines(keepends=True)
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    return all(tag in ("equal", "delete") for tag, *_ in ops)


BLOCK_BEFORE = (
    "# Cluster-wide settings, maintained by hand.\n" + API + "metadata:\n"
    "  name:   k0s      # odd spacing stays as written\n"
    "spec:\n"
    "  api:\n"
    "    sans:\n"
    "    - 10.0.0.1\n"
    "    -   '10.0.0.2'\n"
    "  images:\n"
    "    # kube-proxy as the 1.29 controller wrote it\n"
    "    kubeproxy:\n"
    "      image: 'quay.io/k0sproject/kube-proxy'\n"
    '      version: "v1.29.4"   # stale after the upgrade\n'
    "      # (this note belongs to the pin above)\n"
    "\n"
    "    # our own CoreDNS build: a deliberate pin\n"
    "    coredns:\n"
    '      image: "registry.example.com/coredns"\n'
    "      version: 1.11.1-patched\n"
    "    pause: {image: registry.k8s.io/pause, version: '3.9'}\n"
    "    default_pull_policy:    Never\n"
    "  network:\n"
    "    provider: kuberouter\n"
)
BLOCK_AFTER = (
    "# Cluster-wide settings, maintained by hand.\n" + API + "metadata:\n"
    "  name:   k0s      # odd spacing stays as written\n"
    "spec:\n"
    "  api:\n"
    "    sans:\n"
    "    - 10.0.0.1\n"
    "    -   '10.0.0.2'\n"
    "  images:\n"
    "\n"
    "    # our own CoreDNS build: a deliberate pin\n"
    "    coredns:\n"
    '      image: "registry.example.com/coredns"\n'
    "      version: 1.11.1-patched\n"
    "    default_pull_policy:    Never\n"
    "  network:\n"
    "    provider: kuberouter\n"
)


def test_block_style_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    path = put(tmp_path / "k0s.yaml", BLOCK_BEFORE)
    code, out, err = run(["fix", "k0s.yaml", "--k0s-version", "v1.30.5+k0s.0"], capsys)
    assert code == 0, err
    assert path.read_text(encoding="utf-8") == BLOCK_AFTER
    assert "k0s.yaml: removed 2 pins: spec.images.kubeproxy, spec.images.pause" in err
    assert "1 file changed, 2 pins removed" in err
    assert out == ""
    # the custom pin is all that is left to report
    result = check_paths(["k0s.yaml"], cwd=tmp_path, k0s_version="v1.30.5+k0s.0", select=["K0S1"])
    assert rules_of(result.findings) == ["K0S103"]


def test_flow_mappings_crlf_and_several_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    first = (
        API + "metadata: {name: k0s}\n"
        "spec:\n"
        "  images: {kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4},"
        " coredns: {image: registry.example.com/coredns, version: 1.11.1-patched}}\n"
    )
    second = (
        API + "metadata:\n  name: second\n"
        "spec:\n"
        "  images:\n"
        "    coredns: {image: registry.example.com/coredns, version: 1.11.1-patched}\n"
        "    konnectivity:\n"
        "      image: quay.io/k0sproject/apiserver-network-proxy-agent\n"
        "      version: v0.1.4\n"
        "  telemetry:\n"
        "    enabled: false\n"
    )
    before = ("---\n" + first + "---\n" + second + "...\n").replace("\n", "\r\n").encode()
    path = put(tmp_path / "clusters" / "all.yaml", b"\xef\xbb\xbf" + before)
    code, _, err = run(["fix", "clusters", "--k0s-version", "1.30"], capsys)
    assert code == 0, err
    expected = (
        (
            "---\n" + API + "metadata: {name: k0s}\n"
            "spec:\n"
            "  images: {coredns: {image: registry.example.com/coredns, version: 1.11.1-patched}}\n"
            "---\n" + API + "metadata:\n  name: second\n"
            "spec:\n"
            "  images:\n"
            "    coredns: {image: registry.example.com/coredns, version: 1.11.1-patched}\n"
            "  telemetry:\n"
            "    enabled: false\n"
            "...\n"
        )
        .replace("\n", "\r\n")
        .encode()
    )
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected


def test_last_entry_of_a_flow_mapping_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    yaml_file = put(
        tmp_path / "a" / "k0s.yaml",
        API + "spec:\n  images: {coredns: {image: registry.example.com/coredns, version: '1.0'},"
        "\n           kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4} }  # end\n",
    )
    document = {
        "apiVersion": "k0s.k0sproject.io/v1beta1",
        "kind": "ClusterConfig",
        "spec": {
            "images": {
                "konnectivity": {
                    "image": "quay.io/k0sproject/apiserver-network-proxy-agent",
                    "version": "v0.1.4",
                },
                "default_pull_policy": "IfNotPresent",
                "kubeproxy": {"image": "quay.io/k0sproject/kube-proxy", "version": "v1.29.4"},
            },
            "network": {"provider": "calico"},
        },
    }
    json_file = put(tmp_path / "b" / "k0s.json", json.dumps(document, indent=2) + "\n")
    code, _, err = run(["fix", "a", "b", "--k0s-version", "1.30"], capsys)
    assert code == 0, err
    assert yaml_file.read_text() == (
        API + "spec:\n  images: {coredns: {image: registry.example.com/coredns, version: '1.0'} }  # end\n"
    )
    del document["spec"]["images"]["konnectivity"]  # type: ignore[attr-defined]
    del document["spec"]["images"]["kubeproxy"]  # type: ignore[attr-defined]
    assert json.loads(json_file.read_text()) == document
    assert json_file.read_text() == json.dumps(document, indent=2) + "\n"


def test_emptied_blocks_go_but_spec_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    only_pins = put(
        tmp_path / "a" / "k0s.yaml",
        API + "spec:   # cluster-wide\n"
        "  images:\n"
        "    calico:\n"
        "      cni:\n"
        "        image: quay.io/k0sproject/calico-cni\n"
        "        version: v3.26.1-1\n"
        "    kubeproxy:\n"
        "      image: quay.io/k0sproject/kube-proxy\n"
        "      version: v1.29.4\n",
    )
    envoy = put(
        tmp_path / "b" / "k0s.yaml",
        API + "spec:\n"
        "  network:\n"
        "    nodeLocalLoadBalancing:\n"
        "      enabled: true\n"
        "      envoyProxy:\n"
        "        image:\n"
        "          image: quay.io/k0sproject/envoy-distroless\n"
        "          version: v1.29.3\n"
        "  telemetry: {enabled: false}\n",
    )
    code, _, err = run(["fix", "a", "b", "--k0s-version", "1.30"], capsys)
    assert code == 0, err
    assert only_pins.read_text() == API + "spec: {}   # cluster-wide\n"
    assert envoy.read_text() == (
        API
        + "spec:\n  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n  telemetry: {enabled: false}\n"
    )
    assert "and the blocks left empty: spec.images" in err
    assert "spec.network.nodeLocalLoadBalancing.envoyProxy" in err


def test_suppressed_and_custom_pins_stay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        API + "spec:\n"
        "  images:\n"
        "    kubeproxy:\n"
        "      image: quay.io/k0sproject/kube-proxy\n"
        "      version: v1.29.4  # k0s-policy: ignore[K0S102] rollback target until OPS-7 closes\n"
        "    coredns:\n"
        "      image: registry.example.com/coredns\n"
        "      version: 1.11.1-patched\n"
    )
    path = put(tmp_path / "k0s.yaml", text)
    code, out, err = run(["fix", ".", "--k0s-version", "1.30"], capsys)
    assert code == 0
    assert path.read_text() == text
    assert "left alone: k0s.yaml:7: spec.images.kubeproxy (K0S102 suppressed by inline comment" in err
    assert "nothing to fix" in err and out == ""


def test_story_example_dry_run_fix_and_idempotence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", repo)
    monkeypatch.chdir(repo)
    manifest = repo / "manifests" / "clusterconfig-k0s.yaml"
    # a deliberate custom pin next to the persisted defaults
    story = manifest.read_text().replace(
        "          image: quay.io/k0sproject/envoy-distroless\n          version: v1.29.3\n",
        "          image: registry.example.com/envoy   # our patched build\n          version: v1.29.3-ours\n",
    )
    manifest.write_text(story)
    manifest.chmod(0o640)
    before = manifest.read_bytes()
    result = check_paths(["."], cwd=repo, select=["K0S10"])
    assert {"K0S101", "K0S102", "K0S103", "K0S104"} <= set(rules_of(result.findings))

    code, out, err = run(["fix", "--dry-run"], capsys)
    assert code == 1
    assert manifest.read_bytes() == before
    assert out.startswith("--- a/manifests/clusterconfig-k0s.yaml\n+++ b/manifests/clusterconfig-k0s.yaml\n")
    assert "-    kubeproxy:\n" in out and "-      version: v1.29.4\n" in out
    assert "registry.example.com/envoy" not in out  # the custom pin is not part of the change
    assert "would remove 11 pins" in err and "(dry run)" in err

    code, out, err = run(["fix"], capsys)
    assert code == 0 and out == ""
    after = manifest.read_bytes()
    assert only_deletions(before, after)
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640
    assert "kubectl patch clusterconfig k0s -n kube-system --type=json -p '[" in err
    assert '{"op":"remove","path":"/spec/images/kubeproxy"}' in err
    assert '{"op":"remove","path":"/spec/images/coredns"}' in err
    assert "/spec/network" not in err

    result = check_paths(["."], cwd=repo, select=["K0S10"])
    assert rules_of(result.findings) == ["K0S103"]
    assert "image: registry.example.com/envoy   # our patched build\n" in manifest.read_text()
    assert "default_pull_policy: Never" in manifest.read_text()

    # a second run has nothing to do
    assert run(["fix", "--dry-run"], capsys)[0] == 0
    code, out, err = run(["fix"], capsys)
    assert code == 0 and "nothing to fix" in err
    assert manifest.read_bytes() == after


def test_embedded_k0sctl_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "apiVersion: k0sctl.k0sproject.io/v1beta1\n"
        "kind: Cluster\n"
        "metadata:\n  name: lab\n"
        "spec:\n"
        "  hosts:\n"
        "    - role: single\n"
        "      ssh: {address: 10.0.0.1}\n"
        "  k0s:\n"
        "    version: v1.30.5+k0s.0\n"
        "    config:\n"
        "      spec:\n"
        "        images:\n"
        "          pause:\n"
        "            image: registry.k8s.io/pause\n"
        '            version: "3.9"\n'
        "          default_pull_policy: IfNotPresent\n"
    )
    path = put(tmp_path / "k0sctl.yaml", text)
    code, _, err = run(["fix"], capsys)
    assert code == 0, err
    assert path.read_text() == text.replace(
        '          pause:\n            image: registry.k8s.io/pause\n            version: "3.9"\n', ""
    )
    assert "kubectl patch" not in err  # not an exported object


def test_anchors_and_merge_keys_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    shared = (
        API + "spec:\n"
        "  images:\n"
        "    kubeproxy: &proxy\n"
        "      image: quay.io/k0sproject/kube-proxy\n"
        "      version: v1.29.4\n"
        "metadata: {annotations: {copy: *proxy}}\n"
    )
    merged = (
        API + "spec:\n"
        "  images:\n"
        "    <<: {kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4}}\n"
        "    konnectivity:\n"
        "      image: quay.io/k0sproject/apiserver-network-proxy-agent\n"
        "      version: v0.1.4\n"
    )
    # merging into the pin's own mapping is fine: the whole entry goes
    inside = (
        API + "spec:\n  images:\n    pause:\n      <<: {image: registry.k8s.io/pause}\n      version: '3.9'\n"
    )
    paths = [put(tmp_path / d / "k0s.yaml", t) for d, t in (("a", shared), ("b", merged), ("c", inside))]
    code, _, err = run(["fix", "--k0s-version", "1.30"], capsys)
    assert code == 1
    assert paths[0].read_text() == shared and paths[1].read_text() == merged
    assert paths[2].read_text() == API + "spec: {}\n"
    assert "not fixed: a/k0s.yaml: spec.images.kubeproxy left in place: it uses a YAML anchor or alias" in err
    assert "not fixed: b/k0s.yaml: spec.images.kubeproxy left in place: it comes from a YAML merge key" in err
    assert "not fixed: b/k0s.yaml: spec.images.konnectivity left in place: its mapping also merges" in err


def test_stdin_and_missing_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["fix", "-"], capsys)[0] == 2
    assert run(["fix", "missing.yaml"], capsys)[0] == 2
    put(tmp_path / "clean.yaml", API + "spec:\n  images:\n    default_pull_policy: Never\n")
    code, out, err = run(["fix", "--dry-run", "--k0s-version", "1.30"], capsys)
    assert (code, out) == (0, "") and "nothing to fix" in err
