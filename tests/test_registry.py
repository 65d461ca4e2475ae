"""`check --registry` and `images | skopeo sync` against real CNCF distribution registries on 127.0.0.1.

Two registries run for the whole module, one anonymous and one with an htpasswd (bcrypt) file; the
images are pushed with `skopeo copy` from small OCI layouts built here (a single-platform amd64 image
and an amd64+arm64 index). Nothing but 127.0.0.1 is contacted: every image a cluster runs is renamed
into a local registry by `spec.images.repository`, and images whose names resolve elsewhere are never
asked.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT, write
from ociregistry import RunningRegistry, oci_layout, push, skopeo, start_registry

VERSION = "v1.30.2+k0s.0"
USER, PASSWORD = "alice", "s3cret-Pa55"

# role single: no konnectivity; custom network, no metrics-server: the cluster runs coredns,
# kube-proxy and pause, which keeps the pushes (and the suite) small.
K0SCTL = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge
spec:
  hosts:
    - role: single
      ssh: {address: 10.0.0.1}
      installFlags: ["--disable-components=metrics-server"]
  k0s:
    version: VERSION
    config:
      spec:
        images:
          repository: REPOSITORY
          default_pull_policy: POLICY
        network:
          provider: custom
"""


@dataclass
class Registries:
    anonymous: RunningRegistry
    secured: RunningRegistry
    work: Path
    single: Path  # OCI layout: one linux/amd64 image
    multi: Path  # OCI layout: an index with linux/amd64 and linux/arm64


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    work = tmp_path_factory.mktemp("registries")
    anonymous = start_registry(work / "anonymous")
    try:
        secured = start_registry(work / "secured", user=USER, password=PASSWORD)
    except BaseException:
        anonymous.stop()
        raise
    try:
        single = oci_layout(work / "single", ("amd64",))
        multi = oci_layout(work / "multi", ("amd64", "arm64"))
        yield Registries(anonymous, secured, work, single, multi)
    finally:
        anonymous.stop()
        secured.stop()


def cluster_file(root: Path, repository: str, policy: str = "Never", version: str = VERSION) -> Path:
    text = K0SCTL.replace("VERSION", version).replace("REPOSITORY", repository).replace("POLICY", policy)
    return write(root, "k0sctl.yaml", text)


def images_of(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    assert main(["images", str(path), *extra]) == 0
    return capsys.readouterr().out.splitlines()


def fill(
    registries: Registries, registry: RunningRegistry, names: list[str], *, single: set[str] = frozenset()
) -> None:
    """Push every name (host/repo:tag) into the registry, a few skopeo processes at a time; names
    containing a part in ``single`` get the amd64-only image, the others the two-platform index."""

    def one(name: str) -> None:
        layout = registries.single if any(part in name for part in single) else registries.multi
        push(layout, registry, name.split("/", 1)[1], cwd=registries.work)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, names))


def check(
    path: Path, capsys: pytest.CaptureFixture[str], *registry_args: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.setenv("DOCKER_CONFIG", str(path.parent / "no-docker-config"))  # never the user's own
    code = main(["check", str(path), "--format", "json", "--select", "K0S2", *registry_args])
    captured = capsys.readouterr()
    report = json.loads(captured.out) if captured.out.strip() else {"findings": []}
    return code, report["findings"], captured.err


def registry_findings(findings: list[dict[str, object]]) -> list[dict[str, object]]:
    return [f for f in findings if str(f["rule"]) in ("K0S207", "K0S208", "K0S209")]


def insecure(registry: RunningRegistry) -> list[str]:
    return ["--registry", registry.host, "--registry-insecure", registry.host]


@pytest.fixture(scope="module")
def filled(registries: Registries, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The anonymous registry holds every image the cluster runs; kube-proxy only for amd64."""
    root = tmp_path_factory.mktemp("filled")
    path = cluster_file(root, registries.anonymous.host)
    assert main(["images", str(path), "--output", str(root / "list.txt")]) == 0
    names = (root / "list.txt").read_text().splitlines()
    fill(registries, registries.anonymous, names, single={"kube-proxy"})
    return names


def test_every_image_present_is_clean(registries, filled, tmp_path, capsys, monkeypatch) -> None:
    assert len(filled) == 3 and all(n.startswith(registries.anonymous.host + "/") for n in filled)
    path = cluster_file(tmp_path, registries.anonymous.host)
    code, findings, err = check(path, capsys, *insecure(registries.anonymous), monkeypatch=monkeypatch)
    assert registry_findings(findings) == [], err
    assert code == 0, findings


def test_missing_image_under_never_points_at_the_pin(
    registries, filled, tmp_path, capsys, monkeypatch
) -> None:
    path = cluster_file(tmp_path, registries.anonymous.host)
    text = path.read_text().replace(
        "          default_pull_policy: Never\n",
        "          default_pull_policy: Never\n          coredns: {image: quay.io/k0sproject/coredns, version: 1.11.1}\n",
    )
    path.write_text(text)
    code, findings, _ = check(path, capsys, *insecure(registries.anonymous), monkeypatch=monkeypatch)
    (missing,) = registry_findings(findings)
    assert missing["rule"] == "K0S207" and code == 1
    assert missing["node"].endswith("spec.images.coredns.version")
    pin_line = (
        text.splitlines().index("          coredns: {image: quay.io/k0sproject/coredns, version: 1.11.1}") + 1
    )
    assert missing["line"] == pin_line
    assert f"{registries.anonymous.host}/k0sproject/coredns:1.11.1" in str(missing["message"])
    assert len(str(missing["message"])) <= 160


def test_repository_rewrite_decides_the_name_asked(registries, filled, tmp_path, capsys, monkeypatch) -> None:
    # Under a path the rewrite produces other names: none of them is in the registry.
    prefixed = f"{registries.anonymous.host}/elsewhere"
    path = cluster_file(tmp_path, prefixed)
    code, findings, _ = check(
        path,
        capsys,
        "--registry",
        prefixed,
        "--registry-insecure",
        registries.anonymous.host,
        monkeypatch=monkeypatch,
    )
    missing = registry_findings(findings)
    assert {f["rule"] for f in missing} == {"K0S207"} and len(missing) == 3 and code == 1
    assert all(f"{prefixed}/" in str(f["message"]) for f in missing)
    # Without a rewrite the names resolve to quay.io and registry.k8s.io: not this registry, never
    # asked; a registry named on the command line that checks nothing is an input error, not a pass.
    path = cluster_file(tmp_path / "plain", '""')
    code, findings, err = check(path, capsys, *insecure(registries.anonymous), monkeypatch=monkeypatch)
    assert registry_findings(findings) == [] and code == 2
    assert f"--registry {registries.anonymous.host}: no image of the checked clusters resolves to it" in err


def test_missing_platform(registries, filled, tmp_path, capsys, monkeypatch) -> None:
    path = cluster_file(tmp_path, registries.anonymous.host)
    args = [*insecure(registries.anonymous), "--platform", "linux/amd64", "--platform", "linux/arm64"]
    code, findings, _ = check(path, capsys, *args, monkeypatch=monkeypatch)
    (lacking,) = registry_findings(findings)
    assert lacking["rule"] == "K0S208" and code == 1
    assert "kube-proxy" in str(lacking["message"]) and "linux/arm64" in str(lacking["message"])
    code, findings, _ = check(
        path, capsys, *insecure(registries.anonymous), "--platform", "linux/arm64/v8", monkeypatch=monkeypatch
    )
    assert [f["rule"] for f in registry_findings(findings)] == ["K0S208"]  # the index's arm64 is arm64/v8
    code, findings, _ = check(
        path, capsys, *insecure(registries.anonymous), "--platform", "linux/arm/v7", monkeypatch=monkeypatch
    )
    assert [f["rule"] for f in registry_findings(findings)] == ["K0S208"] * 3  # no image has arm


def docker_config(directory: Path, host: str, password: str, *, split: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if split:
        entry = {"username": USER, "password": password}
    else:
        entry = {"auth": base64.b64encode(f"{USER}:{password}".encode()).decode()}
    path = directory / "config.json"
    path.write_text(json.dumps({"auths": {host: entry}}))
    return path


@pytest.fixture(scope="module")
def secured_filled(registries: Registries, filled: list[str]) -> list[str]:
    names = [n.replace(registries.anonymous.host, registries.secured.host) for n in filled]
    fill(registries, registries.secured, names)
    return names


def test_basic_auth_with_credentials_from_config_json(
    registries, secured_filled, tmp_path, capsys, monkeypatch
) -> None:
    host = registries.secured.host
    path = cluster_file(tmp_path, host)
    auth = docker_config(tmp_path / "auth", host, PASSWORD)
    code, findings, err = check(
        path, capsys, *insecure(registries.secured), "--registry-auth", str(auth), monkeypatch=monkeypatch
    )
    assert registry_findings(findings) == [] and code == 0, err
    # The default location: $DOCKER_CONFIG/config.json, here with username and password fields.
    docker_config(tmp_path / "docker", host, PASSWORD, split=True)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    code = main(["check", str(path), "--format", "json", "--select", "K0S2", *insecure(registries.secured)])
    out = capsys.readouterr().out
    assert registry_findings(json.loads(out)["findings"]) == [] and code == 0


def test_wrong_or_missing_credentials_are_a_finding(
    registries, secured_filled, tmp_path, capsys, monkeypatch
) -> None:
    host = registries.secured.host
    path = cluster_file(tmp_path, host)
    auth = docker_config(tmp_path / "auth", host, "wrong-password")
    code, findings, err = check(
        path, capsys, *insecure(registries.secured), "--registry-auth", str(auth), monkeypatch=monkeypatch
    )
    (refused,) = registry_findings(findings)
    assert refused["rule"] == "K0S209" and code == 1
    assert host in str(refused["message"]) and "refused the credentials" in str(refused["message"])
    assert "3 images" in str(refused["message"])
    assert "wrong-password" not in json.dumps(findings) + err
    code, findings, _ = check(path, capsys, *insecure(registries.secured), monkeypatch=monkeypatch)
    (asks,) = registry_findings(findings)
    assert asks["rule"] == "K0S209" and "asks for credentials" in str(asks["message"])


def test_unreachable_registry_is_a_finding(registries, tmp_path, capsys, monkeypatch) -> None:
    from ociregistry import free_port

    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    path = cluster_file(tmp_path, host)
    code, findings, _ = check(
        path, capsys, *insecure_host(host), "--registry-timeout", "2", monkeypatch=monkeypatch
    )
    (down,) = registry_findings(findings)
    assert down["rule"] == "K0S209" and code == 1
    assert host in str(down["message"]) and "cannot be reached" in str(down["message"])


def insecure_host(host: str) -> list[str]:
    return ["--registry", host, "--registry-insecure", host]


def test_registry_from_the_configuration_file(registries, filled, tmp_path, capsys, monkeypatch) -> None:
    path = cluster_file(tmp_path, registries.anonymous.host)
    write(tmp_path, ".k0s-policy.yaml", f"registries:\n  - url: http://{registries.anonymous.host}\n")
    code, findings, err = check(
        path, capsys, "--registry-insecure", registries.anonymous.host, monkeypatch=monkeypatch
    )
    assert registry_findings(findings) == [] and code == 0, err
    # plain HTTP only for hosts allowed explicitly: a usage error, not a silent downgrade
    code, _, err = check(path, capsys, monkeypatch=monkeypatch)
    assert code == 2 and "--registry-insecure" in err


def tags(registry: RunningRegistry) -> set[str]:
    with urllib.request.urlopen(f"http://{registry.host}/v2/_catalog") as response:
        repositories = json.load(response)["repositories"]
    found = set()
    for repository in repositories:
        with urllib.request.urlopen(f"http://{registry.host}/v2/{repository}/tags/list") as response:
            found |= {f"{registry.host}/{repository}:{tag}" for tag in json.load(response)["tags"] or ()}
    return found


def test_images_output_feeds_skopeo_sync(registries, filled, tmp_path, capsys, monkeypatch) -> None:
    """The upgrade story in small: the mirror serves 1.29.4; `images --from` says what it must gain,
    skopeo sync copies exactly that, and the check against the mirror is clean afterwards."""
    source = registries.anonymous.host
    mirror = start_registry(tmp_path / "mirror")
    try:
        old = cluster_file(tmp_path / "old", mirror.host, version="v1.29.4+k0s.0")
        held = images_of(old, capsys)
        new = cluster_file(tmp_path / "new", mirror.host)
        needed = images_of(new, capsys)
        # The mirror already holds 1.29.4; the 1.30 source images are in the anonymous registry.
        fill(registries, mirror, held)
        code, findings, _ = check(new, capsys, *insecure(mirror), monkeypatch=monkeypatch)
        before = {str(f["message"]).split(" runs ")[1].split(",")[0] for f in registry_findings(findings)}
        added = images_of(new, capsys, "--from", "v1.29.4+k0s.0")
        assert before == set(added) and code == 1  # what the check misses is what --from lists
        # Sync sources: the images as the source registry names them (pins name it, the rewrite the mirror).
        pinned = new.read_text().replace(
            "          default_pull_policy: Never\n",
            "          default_pull_policy: Never\n"
            + "".join(
                f"          {component}: {{image: {source}/k0sproject/{name}}}\n"
                for component, name in (("coredns", "coredns"), ("kubeproxy", "kube-proxy"))
            )
            + f"          pause: {{image: {source}/pause}}\n",
        )
        new.write_text(pinned)
        assert images_of(new, capsys) == needed  # the pins name the same tags in another registry
        out_dir = tmp_path / "sync"
        sync = ["images", str(new), "--from", "v1.29.4+k0s.0", "--format", "skopeo-sync"]
        assert main([*sync, "--output-dir", str(out_dir), "--registry-insecure", source]) == 0
        commands = capsys.readouterr().out.splitlines()
        assert commands
        for command in commands:
            *_, file, destination = command.split()
            skopeo(
                "sync",
                "--all",
                "--src",
                "yaml",
                "--dest",
                "docker",
                "--dest-tls-verify=false",
                file,
                destination,
                cwd=registries.work,
            )
        assert tags(mirror) == set(held) | set(added)  # exactly what was needed, nothing more
        code, findings, _ = check(new, capsys, *insecure(mirror), monkeypatch=monkeypatch)
        assert registry_findings(findings) == [] and code == 0
    finally:
        mirror.stop()


def with_mirror(example: str, destination: Path, repository: str) -> Path:
    """A copy of an example repository whose nodes pull through ``spec.images.repository``."""
    shutil.copytree(REPO_ROOT / "examples" / example, destination)
    for path in destination.rglob("*.yaml"):
        text = re.sub(
            r"^( *)default_pull_policy: Never$",
            rf"\g<0>\n\1repository: {repository}",
            path.read_text(),
            flags=re.MULTILINE,
        )
        path.write_text(text)
    return destination


def test_seed_story_mirror_with_only_the_new_images(registries, tmp_path, capsys, monkeypatch) -> None:
    """examples/airgap-upgrade with a mirror: it holds the 1.30 images (what the fixed repository
    runs), and the check names every 1.29 image the persisted cluster object still pins."""
    repository = f"{registries.anonymous.host}/story"
    fixed = with_mirror("airgap-upgrade-fixed", tmp_path / "fixed", repository)
    broken = with_mirror("airgap-upgrade", tmp_path / "broken", repository)
    new_images = images_of(fixed, capsys)
    fill(registries, registries.anonymous, new_images)
    assert images_of(fixed, capsys, "--from", "v1.29.4+k0s.0")  # 1.30 adds images the 1.29 mirror lacked
    assert images_of(broken, capsys, "--from", "v1.29.4+k0s.0") == []  # the object pins 1.29's own
    stale = set(images_of(broken, capsys)) - set(new_images)
    code, findings, _ = check(broken, capsys, *insecure(registries.anonymous), monkeypatch=monkeypatch)
    missing = [f for f in findings if f["rule"] == "K0S207"]
    assert {str(f["message"]).split(" runs ")[1].split(",")[0] for f in missing} == stale and code == 1
    assert all(f["path"].endswith("manifests/clusterconfig-k0s.yaml") for f in missing)
    code, findings, _ = check(fixed, capsys, *insecure(registries.anonymous), monkeypatch=monkeypatch)
    assert registry_findings(findings) == []


def test_tls_with_a_private_ca(registries, tmp_path, capsys, monkeypatch) -> None:
    """HTTPS with the system trust store refuses a private CA (K0S209 says how to add it);
    --registry-ca trusts it, and the check then really asks (the empty registry lacks the images)."""
    from ociregistry import make_ca_and_cert

    ca, cert, key = make_ca_and_cert(tmp_path / "pki")
    secure = start_registry(tmp_path / "tls", tls=(cert, key))
    try:
        path = cluster_file(tmp_path, secure.host)
        code, findings, _ = check(
            path, capsys, "--registry", f"https://{secure.host}", monkeypatch=monkeypatch
        )
        (untrusted,) = registry_findings(findings)
        assert untrusted["rule"] == "K0S209" and "--registry-ca" in str(untrusted["message"]) and code == 1
        code, findings, _ = check(
            path, capsys, "--registry", secure.host, "--registry-ca", str(ca), monkeypatch=monkeypatch
        )
        assert {f["rule"] for f in registry_findings(findings)} == {"K0S207"} and code == 1
    finally:
        secure.stop()
