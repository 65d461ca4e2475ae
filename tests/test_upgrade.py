"""`k0s-policy upgrade --to VERSION` end to end on real files, live exports and a real registry.

The seed story: a 1.29.4 cluster with dynamic config, controller+worker nodes (--enable-worker),
node-local load balancing, default_pull_policy: Never and an object carrying every 1.29.4 default
image, upgrading to 1.30.5 through a mirror that holds only the 1.30 images.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.cli.app import main
from checker.k0s.releases import Catalog
from checker.workflows.upgrade.path import plan_path
from conftest import REPO_ROOT, write

TARGET = "v1.30.5+k0s.0"


def nodes_yaml(*nodes: tuple[str, bool, str]) -> str:
    """A `kubectl get nodes -o yaml` export: (name, control plane, kubelet version) per node."""
    items = []
    for name, plane, kubelet in nodes:
        labels = {"node-role.kubernetes.io/control-plane": "true"} if plane else {}
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "status": {"nodeInfo": {"kubeletVersion": kubelet}},
            }
        )
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})


SEED_NODES = nodes_yaml(
    ("edge-1", True, "v1.29.4+k0s"), ("edge-2", True, "v1.29.4+k0s"), ("edge-3", True, "v1.29.4+k0s")
)


def seed_repository(root: Path, repository: str = "") -> tuple[Path, Path, Path]:
    """examples/airgap-upgrade before the version bump (k0sctl at 1.29.4), its object exported as the
    live state, and the nodes; with ``repository`` the nodes pull through that mirror."""
    repo = root / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", repo)
    k0sctl = repo / "k0sctl.yaml"
    k0sctl.write_text(k0sctl.read_text().replace("version: v1.30.5+k0s.0", "version: v1.29.4+k0s.0"))
    if repository:
        for path in repo.rglob("*.yaml"):
            text = re.sub(
                r"^( *)default_pull_policy: Never$",
                rf"\g<0>\n\1repository: {repository}",
                path.read_text(),
                flags=re.MULTILINE,
            )
            path.write_text(text)
    live = root / "live-clusterconfig.yaml"
    shutil.copy(repo / "manifests" / "clusterconfig-k0s.yaml", live)
    nodes = write(root, "live-nodes.yaml", SEED_NODES)
    return repo, live, nodes


def upgrade(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["upgrade", "--format", "json", *args])
    captured = capsys.readouterr()
    assert captured.out.strip(), captured.err
    report = json.loads(captured.out)
    assert report["format"] == "k0s-policy-upgrade" and report["version"] == 1
    assert report["exit_code"] == code
    return code, report


def json_patch_of(report: dict[str, Any]) -> list[dict[str, str]]:
    (kubectl,) = [
        c
        for a in report["actions"]
        if a["kind"] == "clean-object"
        for c in a["commands"]
        if c.startswith("kubectl")
    ]
    words = shlex.split(kubectl)
    return list(json.loads(words[words.index("-p") + 1]))


def apply_json_patch(path: Path, operations: list[dict[str, str]]) -> None:
    """What `kubectl patch --type=json` does to the object, done to the exported file."""
    data = yaml.safe_load(path.read_text())
    for operation in operations:
        assert operation["op"] == "remove"
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# --- the path ----------------------------------------------------------------------------------------------


def test_path_goes_one_minor_at_a_time_to_the_newest_patches(catalog: Catalog) -> None:
    current, target = catalog.patch("v1.28.4+k0s.0"), catalog.patch("v1.31.2+k0s.0")
    assert current is not None and target is not None
    path = plan_path(catalog, current, target)
    newest = [catalog.release(m).newest.version for m in ("1.29", "1.30")]  # type: ignore[union-attr]
    assert [(h.source.version, h.target.version) for h in path.hops] == [
        ("v1.28.4+k0s.0", newest[0]),
        (newest[0], newest[1]),
        (newest[1], "v1.31.2+k0s.0"),
    ]
    assert path.blockers == [] and "newest patch of 1.28" in path.notes[0]
    same_minor = plan_path(catalog, current, catalog.release("1.28").newest)  # type: ignore[union-attr]
    assert len(same_minor.hops) == 1 and same_minor.notes == []


def test_downgrade_blocks_and_unknown_versions_do_not_run(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    repo, _, _nodes = seed_repository(tmp_path)
    code, report = upgrade(capsys, "--to", "v1.28.15+k0s.0", str(repo), "--from", "v1.29.4+k0s.0")
    (cluster,) = report["clusters"]
    assert code == 1 and cluster["verdict"] == "blocked" and report["steps"] == []
    assert "does not support downgrades" in cluster["blockers"][0]
    assert main(["upgrade", "--to", "v1.99.0+k0s.0", str(repo)]) == 2
    assert "not in the release data" in capsys.readouterr().err
    assert main(["upgrade", "--to", "v1.3x", str(repo)]) == 2
    assert "invalid k0s version 'v1.3x'" in capsys.readouterr().err
    # nodes on a release the data does not know: a clear blocker, not a guess
    old = write(tmp_path, "old-nodes.yaml", nodes_yaml(("edge-1", True, "v1.19.3+k0s")))
    code, report = upgrade(capsys, "--to", TARGET, str(repo), "--live", str(old))
    assert code == 1 and "v1.19.3" in report["clusters"][0]["blockers"][0]


def test_the_current_release_must_be_known(tmp_path: Path, capsys, monkeypatch) -> None:
    """A repository that already declares the target cannot say what runs: exit 2 with the way out."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade-fixed", tmp_path / "fixed")
    code, report = upgrade(capsys, "--to", TARGET, "fixed")
    assert code == 2 and report["verdict"] == "could not run"
    assert "--from" in report["clusters"][0]["error"]
    code, report = upgrade(capsys, "--to", TARGET, "fixed", "--from", "v1.29.4+k0s.0")
    assert code == 0 and report["clusters"][0]["current"]["source"] == "--from"


# --- the seed story against a real registry ---------------------------------------------------------------


def images_of(path: Path) -> list[str]:
    """What `k0s-policy images PATH` lists: every image the cluster's nodes run on its target."""
    from checker.config import Config
    from checker.inputs.sources import collect
    from checker.workflows.images import run_images

    result = run_images(collect([str(path)]), Catalog.load(), Config())
    assert not result.blocking and not result.input_errors
    return list(dict.fromkeys(n.image for entry in result.clusters for n in entry.images))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """A real distribution registry holding exactly the images the cleaned 1.30.5 cluster runs."""
    from ociregistry import oci_layout, push, start_registry

    work = tmp_path_factory.mktemp("upgrade-registry")
    registry = start_registry(work / "registry")
    try:
        repository = f"{registry.host}/story"
        fixed = work / "fixed"
        shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade-fixed", fixed)
        for path in fixed.rglob("*.yaml"):
            path.write_text(
                re.sub(
                    r"^( *)default_pull_policy: Never$",
                    rf"\g<0>\n\1repository: {repository}",
                    path.read_text(),
                    flags=re.MULTILINE,
                )
            )
        names = images_of(fixed)
        layout = oci_layout(work / "layout", ("amd64",))
        for name in names:
            push(layout, registry, name.split("/", 1)[1], cwd=work)
        yield repository, names
    finally:
        registry.stop()


def test_seed_story_blocked_then_ready(mirror, tmp_path: Path, capsys, monkeypatch) -> None:
    repository, held = mirror
    host = repository.split("/")[0]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    _repo, live, nodes = seed_repository(tmp_path, repository)
    args = ["--to", TARGET, "repo", "--live", live.name, "--live", nodes.name]
    args += ["--registry", host, "--registry-insecure", host]
    code, report = upgrade(capsys, *args)
    (cluster,) = report["clusters"]
    assert cluster["current"] == {
        "version": "v1.29.4+k0s",
        "release": "v1.29.4+k0s.0",
        "source": "live node edge-1 (kubelet version)",
    }
    (step,) = report["steps"]
    assert (
        code == 1 and step["verdict"] == "blocked" and (step["from"], step["to"]) == ("v1.29.4+k0s.0", TARGET)
    )
    blocking = [f for f in report["findings"] if f["blocking"]]
    # the persisted set, in the repository's object and in the live one
    persisted = {f["path"] for f in blocking if f["rule"] == "K0S104"}
    assert persisted == {"repo/manifests/clusterconfig-k0s.yaml", "live:clusterconfig/kube-system/k0s"}
    # the 1.29 images the new controllers would try to run, which the mirror (1.30 only) lacks
    missing = set(step["missing_images"])
    old_images = {f"{repository}/k0sproject/kube-proxy:v1.29.4", f"{repository}/k0sproject/coredns:1.11.1"}
    assert old_images <= missing and not missing & set(held)
    registry = [f for f in blocking if f["rule"] == "K0S207"]
    assert len(registry) >= len(old_images) and all(f["path"] in persisted for f in registry)
    kinds = [a["kind"] for a in report["actions"]]
    assert kinds == ["clean-object", "clean-object", "version", "verify"]  # the mirror holds the 1.30 images
    fix_action, live_action = report["actions"][0], report["actions"][1]
    assert fix_action["commands"] == [f"k0s-policy fix repo --k0s-version {TARGET}"]
    assert "spec.images.kubeproxy" in live_action["items"] and live_action["commands"][1].startswith(
        "k0s config edit"
    )
    version = report["actions"][2]
    assert version["title"].startswith(f"set spec.k0s.version: {TARGET} in repo/k0sctl.yaml:")

    # only the live object cleaned: the repository's object still pins 1.29 (Flux would put it back)
    apply_json_patch(live, json_patch_of(report))
    code, report = upgrade(capsys, *args)
    still = {f["path"] for f in report["findings"] if f["blocking"]}
    assert (
        code == 1
        and "repo/manifests/clusterconfig-k0s.yaml" in still
        and not any("live:" in p for p in still)
    )
    # `fix` on the repository's object too: ready
    assert main(["fix", "repo", "--k0s-version", TARGET]) == 0
    capsys.readouterr()
    code, report = upgrade(capsys, *args)
    assert code == 0, [f["message"] for f in report["findings"] if f["blocking"]]
    (step,) = report["steps"]
    assert step["verdict"] == "ready" and step["missing_images"] == [] and report["verdict"] == "ready"
    assert [a["kind"] for a in report["actions"]] == ["version", "verify"]


def test_seed_story_text_and_markdown(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _repo, live, nodes = seed_repository(tmp_path)
    args = ["upgrade", "--to", TARGET, "repo", "--live", live.name, "--live", nodes.name]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert text.startswith(f"k0s-policy upgrade to {TARGET}: BLOCKED\n")
    assert f"step 1: v1.29.4+k0s.0 -> {TARGET} (Kubernetes 1.30.5): BLOCKED" in text
    assert "$ kubectl patch clusterconfig k0s -n kube-system --type=json -p '[" in text
    assert text.index("a1) ") < text.index("a2) ") < text.index("c) ") < text.index("d) ")
    # judged by the bundle's file name, and said so
    assert "judged by the k0s version in their file names" in text
    assert main([*args, "--format", "markdown"]) == 1
    markdown = capsys.readouterr().out
    assert markdown.startswith(f"# Upgrade to k0s {TARGET}: blocked")
    assert "| 1 | v1.29.4+k0s.0 | v1.30.5+k0s.0 | 1.30.5 | blocked |" in markdown


# --- three minors, one blocked in the middle ---------------------------------------------------------------

THREE_MINORS = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: factory
spec:
  hosts:
    - role: controller
      hostname: ctrl-1
      ssh: {address: 10.1.0.1}
    - role: worker
      hostname: worker-1
      ssh: {address: 10.1.0.2}
      files:
        - {name: b129, src: bundles/k0s-airgap-bundle-v1.29.15+k0s.0-amd64, dstDir: /var/lib/k0s/images/}
        - {name: b131, src: bundles/k0s-airgap-bundle-v1.31.14+k0s.0-amd64, dstDir: /var/lib/k0s/images/}
  k0s:
    version: v1.28.15+k0s.0
    config:
      spec:
        images:
          default_pull_policy: Never
"""


def test_three_minors_with_one_blocked_middle_step(tmp_path: Path, capsys, monkeypatch) -> None:
    """1.28 -> 1.31: the hosts upload the 1.29 and 1.31 bundles but none for 1.30."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "factory/k0sctl.yaml", THREE_MINORS)
    code, report = upgrade(capsys, "--to", "v1.31.14+k0s.0", "factory")
    assert report["clusters"][0]["current"]["source"] == "k0sctl spec.k0s.version (factory/k0sctl.yaml:17)"
    steps = report["steps"]
    assert [(s["to"], s["verdict"]) for s in steps] == [
        ("v1.29.15+k0s.0", "ready"),
        ("v1.30.14+k0s.0", "blocked"),
        ("v1.31.14+k0s.0", "ready"),
    ]
    assert code == 1
    catalog = Catalog.load()
    release = catalog.release("1.30")
    assert release is not None
    assert (
        set(steps[1]["missing_images"]) <= set(release.newest.images.values()) and steps[1]["missing_images"]
    )
    images = [a for a in report["actions"] if a["step"] == 2 and a["kind"] == "images"]
    assert images and images[0]["items"] == steps[1]["missing_images"]
    assert any("k0s-airgap-bundle-v1.30.14+k0s.0-amd64" in n for n in images[0]["notes"])
    with_content_note = report["clusters"][0]["notes"]
    assert any("--airgap-bundle" in n for n in with_content_note)


# --- no dynamic config ------------------------------------------------------------------------------------

STATIC = """
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: plain
spec:
  hosts:
    - role: controller
      hostname: ctrl-1
      ssh: {address: 10.2.0.1}
    - role: worker
      hostname: worker-1
      ssh: {address: 10.2.0.2}
  k0s:
    version: v1.29.4+k0s.0
    config:
      spec:
        network:
          provider: kuberouter
"""


def test_cluster_without_dynamic_config(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "plain/k0sctl.yaml", STATIC)
    nodes = write(tmp_path, "nodes.yaml", nodes_yaml(("worker-1", False, "v1.29.4+k0s")))
    code, report = upgrade(capsys, "--to", TARGET, "plain", "--live", "nodes.yaml")
    assert code == 0 and report["verdict"] == "ready" and nodes.exists()
    assert "oldest worker" in " ".join(report["clusters"][0]["notes"])  # controllers run no kubelet here
    assert [a["kind"] for a in report["actions"]] == ["version", "verify"]  # nothing to clean
    # a kube-proxy pin of 1.29 in the static config blocks the step (K0S301, K0S102)
    text = (tmp_path / "plain/k0sctl.yaml").read_text()
    text += "        images:\n          kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4}\n"
    (tmp_path / "plain/k0sctl.yaml").write_text(text)
    code, report = upgrade(capsys, "--to", TARGET, "plain", "--live", "nodes.yaml")
    assert code == 1 and {f["rule"] for f in report["findings"] if f["blocking"]} >= {"K0S301", "K0S102"}
    (clean,) = [a for a in report["actions"] if a["kind"] == "clean-object"]
    assert clean["commands"] == [f"k0s-policy fix plain --k0s-version {TARGET}"]


# --- autopilot Plans ---------------------------------------------------------------------------------------

OBJECT_ONLY = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  network:
    provider: kuberouter
"""


def test_generated_plan_parses_back_and_passes_the_plan_rules_but_the_placeholder(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "cluster/k0s.yaml", OBJECT_ONLY)
    nodes = nodes_yaml(
        ("ctrl-1", True, "v1.29.4+k0s"), ("ctrl-2", True, "v1.29.4+k0s"), ("w-1", False, "v1.29.4+k0s")
    )
    write(tmp_path, "nodes.yaml", nodes)
    template = "https://files.internal/k0s/{version}/k0s-{version}-{arch}"
    args = ["--to", TARGET, "cluster", "--live", "nodes.yaml", "--url-template", template]
    code, report = upgrade(
        capsys, *args, "--plan-dir", "plans", "--platform", "linux/amd64", "--platform", "linux/arm64"
    )
    assert code == 0, report
    (version,) = [a for a in report["actions"] if a["kind"] == "version"]
    ((name, content),) = version["files"].items()
    assert (tmp_path / "plans" / name).read_text() == content
    plan = yaml.safe_load(content)
    assert plan["apiVersion"] == "autopilot.k0sproject.io/v1beta2" and plan["kind"] == "Plan"
    assert plan["metadata"] == {"name": "autopilot"}
    assert plan["spec"]["id"].startswith("upgrade-v1-30-5-k0s-0-") and plan["spec"]["timestamp"].endswith("Z")
    (command,) = plan["spec"]["commands"]
    update = command["k0supdate"]
    assert update["version"] == TARGET
    assert (
        update["platforms"]["linux-arm64"]["url"] == f"https://files.internal/k0s/{TARGET}/k0s-{TARGET}-arm64"
    )
    assert update["platforms"]["linux-amd64"]["sha256"] == f"REPLACE-WITH-SHA256-OF-k0s-{TARGET}-amd64"
    assert list(update["targets"]) == ["controllers", "workers"]  # controllers first
    assert update["targets"]["controllers"]["discovery"]["static"]["nodes"] == ["ctrl-1", "ctrl-2"]
    assert update["targets"]["workers"]["discovery"]["static"]["nodes"] == ["w-1"]
    # the checker's own rules: the schema and K0S305 accept the Plan except for the placeholder
    code = main(["check", "plans", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["rule"], f["node"]) for f in findings if f["severity"] != "info"} == {
        ("K0S305", "spec.commands[0].k0supdate.platforms.linux-amd64.sha256"),
        ("K0S305", "spec.commands[0].k0supdate.platforms.linux-arm64.sha256"),
    }
    assert code == 1
    # with the real checksums written the Plan checks clean
    plan_file = tmp_path / "plans" / name
    plan_file.write_text(re.sub(r"REPLACE-WITH-SHA256-OF-\S+", "ab" * 32, plan_file.read_text()))
    assert main(["check", "plans"]) == 0
    capsys.readouterr()
    # two runs give two fresh ids
    _, again = upgrade(capsys, *args)
    (other,) = [a for a in again["actions"] if a["kind"] == "version"]
    assert yaml.safe_load(next(iter(other["files"].values())))["spec"]["id"] != plan["spec"]["id"]


def test_bad_url_template_is_a_usage_error(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "cluster/k0s.yaml", OBJECT_ONLY)
    assert (
        main(
            [
                "upgrade",
                "--to",
                TARGET,
                "cluster",
                "--from",
                "v1.29.4+k0s.0",
                "--url-template",
                "https://x/{arch}",
            ]
        )
        == 2
    )
    assert "{version}" in capsys.readouterr().err
    assert (
        main(
            [
                "upgrade",
                "--to",
                TARGET,
                "cluster",
                "--from",
                "1.29",
                "--url-template",
                "https://x/{version}/{cpu}",
            ]
        )
        == 2
    )
    assert "unknown field {cpu}" in capsys.readouterr().err


def test_a_step_that_fails_unexpectedly_is_never_ready(tmp_path: Path, capsys, monkeypatch) -> None:
    """Fail closed: an exception inside a step's checks is exit 2 with the reason, no traceback."""
    from checker.workflows.upgrade import remediation

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "plain/k0sctl.yaml", STATIC)
    monkeypatch.setattr(remediation, "needed_images", broken)
    code, report = upgrade(capsys, "--to", TARGET, "plain", "--from", "v1.29.4+k0s.0")
    (cluster,) = report["clusters"]
    assert code == 2 and cluster["verdict"] == "could not run" and "KeyError" in cluster["error"]
