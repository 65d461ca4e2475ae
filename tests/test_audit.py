"""`k0s-policy audit`: the repository against the newest release data, stale pins named by the commit
that wrote them (a real git history), and the live state from exported files or from an API server
read with the real kubernetes client (a local HTTP server on 127.0.0.1)."""

from __future__ import annotations

import http.server
import json
import shlex
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.cli.app import main
from conftest import REPO_ROOT, git, write

LIVE = REPO_ROOT / "tests" / "fixtures" / "live"
LIVE_FILES = [str(LIVE / "clusterconfig-k0s.yaml"), str(LIVE / "plans.yaml"), str(LIVE / "nodes.yaml")]
EXAMPLE = REPO_ROOT / "examples" / "airgap-upgrade-fixed"
LIVE_CONFIG = "live:clusterconfig/kube-system/k0s"

PINNED = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  images:
    default_pull_policy: IfNotPresent
    kubeproxy:
      image: quay.io/k0sproject/kube-proxy
      version: v1.29.4
"""
UNPINNED = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  images:
    default_pull_policy: IfNotPresent
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(argv: list[str], capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, dict[str, Any]]:
    code, _, err = run([*argv, "--json", str(path)], capsys)
    assert code in (0, 1), err
    return code, json.loads(path.read_text(encoding="utf-8"))


# --- a real git history ---------------------------------------------------------------------------------


@pytest.fixture
def pinned_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A GitOps repository whose kube-proxy pin was right when committed (1.29.4 was the newest 1.29)
    and is stale against today's release data; an unrelated commit follows it."""
    repo = tmp_path / "gitops"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, ".k0s-policy.yaml", 'k0s_version: "1.29"   # we follow the newest 1.29 patch\n')
    write(repo, "clusters/edge/k0s.yaml", PINNED)
    git(repo, "add", ".")
    git(
        repo,
        "commit",
        "-q",
        "-m",
        "Pin kube-proxy for the 1.29.4 rollout",
        author="Dana Pinner <dana@example.com>",
        date="2024-05-02T10:00:00+00:00",
    )
    pin_commit = git(repo, "rev-parse", "HEAD")
    write(repo, "README.md", "# edge clusters\n")
    git(repo, "add", "README.md")
    git(
        repo,
        "commit",
        "-q",
        "-m",
        "Describe the clusters",
        author="Sam Other <sam@example.com>",
        date="2025-02-03T08:30:00+00:00",
    )
    return repo, pin_commit, git(repo, "rev-parse", "HEAD")


def test_stale_pin_names_the_commit_that_wrote_it(
    pinned_repo: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    repo, pin_commit, head = pinned_repo
    monkeypatch.chdir(repo)
    code, report = audit_json(["audit", "clusters", "--markdown", "audit.md"], capsys, repo / "audit.json")
    assert code == 1 and report["needs_action"] is True
    (stale,) = [f for f in report["findings"] if f["rule"] == "K0S102"]
    assert stale["origin"] == "repository"
    assert (stale["path"], stale["line"], stale["node"]) == (
        "clusters/edge/k0s.yaml",
        10,
        "spec.images.kubeproxy.version",
    )
    assert stale["introduced_by"] == {
        "sha": pin_commit,
        "date": "2024-05-02T10:00:00+00:00",
        "author": "Dana Pinner",
        "email": "dana@example.com",
        "subject": "Pin kube-proxy for the 1.29.4 rollout",
    }
    assert report["repository"] == {
        "paths": ["clusters"],
        "ref": None,
        "commit": head,
        "cluster": "clusters/edge",
        "target": report["repository"]["target"],
    }
    assert (
        report["repository"]["target"].startswith("v1.29.")
        and report["repository"]["target"] != "v1.29.4+k0s.0"
    )
    assert report["summary"]["stale_pins"] == 1 and report["live"] is None
    markdown = (repo / "audit.md").read_text(encoding="utf-8")
    assert markdown.startswith("# k0s-policy audit: action needed\n")
    assert f"{pin_commit[:12]} (2024-05-02, Dana Pinner): Pin kube-proxy for the 1.29.4 rollout" in markdown
    # the text report on stdout says the same
    code, out, _ = run(["audit", "clusters"], capsys)
    assert code == 1
    assert f"    introduced by {pin_commit[:12]} (2024-05-02, Dana Pinner)" in out
    # each finding's fix is indented under it, before the commit that introduced it
    stale = out.splitlines().index(next(line for line in out.splitlines() if " error K0S102 " in line))
    assert out.splitlines()[stale + 1].startswith("    fix: remove spec.images.kubeproxy")
    assert "is the default of" not in out  # the detail only on demand
    code, verbose, _ = run(["audit", "clusters", "-v"], capsys)
    lines = verbose.splitlines()
    stale = lines.index(next(line for line in lines if " error K0S102 " in line))
    assert lines[stale + 2].startswith("      quay.io/k0sproject/kube-proxy:v1.29.4 is the default of")


def test_ref_audits_that_revision(
    pinned_repo: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    repo, pin_commit, head = pinned_repo
    write(repo, "clusters/edge/k0s.yaml", UNPINNED)
    git(repo, "commit", "-q", "-am", "Drop the kube-proxy pin", author="Dana Pinner <dana@example.com>")
    monkeypatch.chdir(repo)
    assert run(["audit", "clusters"], capsys)[0] == 0  # the work tree is clean now
    code, report = audit_json(["audit", "clusters", "--ref", "HEAD~1"], capsys, repo / "at-ref.json")
    assert code == 1
    (stale,) = [f for f in report["findings"] if f["rule"] == "K0S102"]
    assert stale["introduced_by"]["sha"] == pin_commit
    assert report["repository"]["ref"] == "HEAD~1" and report["repository"]["commit"] == head
    assert (repo / "clusters/edge/k0s.yaml").read_text(encoding="utf-8").count("kubeproxy") == 0
    code, _, err = run(["audit", "clusters", "--ref", "no-such-branch"], capsys)
    assert code == 2 and "no-such-branch" in err


def test_uncommitted_pin_names_no_commit(
    pinned_repo: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    repo, _, _ = pinned_repo
    write(repo, "clusters/edge/k0s.yaml", PINNED.replace("v1.29.4", "v1.29.3"))
    monkeypatch.chdir(repo)
    code, report = audit_json(["audit", "clusters"], capsys, repo / "audit.json")
    (stale,) = [f for f in report["findings"] if f["rule"] == "K0S102"]
    assert code == 1 and stale["introduced_by"] is None


def test_outside_git_the_audit_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    write(tmp_path, ".k0s-policy.yaml", 'k0s_version: "1.29"\n')
    write(tmp_path, "edge/k0s.yaml", PINNED)
    monkeypatch.chdir(tmp_path)
    code, report = audit_json(["audit", "edge"], capsys, tmp_path / "audit.json")
    assert code == 1 and report["repository"]["commit"] is None
    assert [f["introduced_by"] for f in report["findings"] if f["rule"] == "K0S102"] == [None]
    assert any("not in a git repository" in note for note in report["notes"])


def test_repository_only_audit_of_a_clean_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write(tmp_path, ".k0s-policy.yaml", 'k0s_version: "1.30"\n')
    write(tmp_path, "edge/k0s.yaml", UNPINNED)
    monkeypatch.chdir(tmp_path)
    code, report = audit_json(["audit", "edge"], capsys, tmp_path / "audit.json")
    assert code == 0 and report["needs_action"] is False
    assert set(report) == {
        "version",
        "kind",
        "tool",
        "generated_at",
        "needs_action",
        "fail_on",
        "repository",
        "findings",
        "drift",
        "live",
        "remediation",
        "notes",
        "skipped",
        "input_errors",
        "summary",
    }
    assert (report["version"], report["kind"], report["live"], report["remediation"]) == (
        1,
        "audit",
        None,
        None,
    )
    assert any("live state not read" in note for note in report["notes"])


# --- live state from exported files ---------------------------------------------------------------------


@pytest.fixture
def fixed_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cleaned-up example repository: clean in Git, while the cluster's object is not."""
    shutil.copytree(EXAMPLE, tmp_path / "edge-prod")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def drift_at(report: dict[str, Any], obj: str, field: str) -> dict[str, Any]:
    (entry,) = [d for d in report["drift"] if d["object"] == obj and d["field"] == field]
    return entry


def test_live_files_show_drift_persisted_defaults_and_skew(fixed_example: Path, capsys) -> None:
    argv = ["audit", "edge-prod", *[a for f in LIVE_FILES for a in ("--live", f)], "--markdown", "audit.md"]
    code, report = audit_json(argv, capsys, fixed_example / "audit.json")
    assert code == 1
    assert report["summary"]["repository"]["error"] == 0  # the repository itself is clean
    live_rules = {(f["rule"], f["path"]) for f in report["findings"] if f["origin"] == "live"}
    assert ("K0S104", LIVE_CONFIG) in live_rules and ("K0S102", LIVE_CONFIG) in live_rules
    (persisted,) = [f for f in report["findings"] if f["rule"] == "K0S104"]
    assert "carries all 12 default images of k0s v1.29.4+k0s.0" in persisted["message"]
    assert report["live"]["clusterconfig"] == {
        "object": "clusterconfig/kube-system/k0s",
        "read": True,
        "present": True,
        "persisted_by": "k0s v1.29.4+k0s.0",
    }
    assert report["live"]["checked_against"]["version"] == "v1.30.5+k0s.0"

    kubeproxy = drift_at(report, "clusterconfig/kube-system/k0s", "spec.images.kubeproxy.version")
    assert kubeproxy | {"note": ""} == {
        "object": "clusterconfig/kube-system/k0s",
        "field": "spec.images.kubeproxy.version",
        "change": "only-in-cluster",
        "category": "image",
        "repository": None,
        "live": "v1.29.4",
        "needs_action": True,
        "note": "",
    }
    assert "k0s v1.29.4+k0s.0" in kubeproxy["note"]
    pod_cidr = drift_at(report, "clusterconfig/kube-system/k0s", "spec.network.podCIDR")
    assert pod_cidr["needs_action"] is False and "default" in pod_cidr["note"]
    # settings the repository states and the cluster holds alike are no drift
    assert not [
        d
        for d in report["drift"]
        if d["field"] in ("spec.images.default_pull_policy", "spec.network.provider")
    ]

    skew = {f["path"]: f["message"] for f in report["findings"] if f["rule"] == "K0S306"}
    assert set(skew) == {"live:node/edge-worker-1", "live:node/edge-worker-legacy"}
    assert "newer than the oldest control plane (edge-ctrl-2, v1.29.4+k0s)" in skew["live:node/edge-worker-1"]
    assert "4 minors behind the oldest control plane" in skew["live:node/edge-worker-legacy"]
    why = {f["path"]: f["detail"] for f in report["findings"] if f["rule"] == "K0S306"}
    assert "never be newer than the API server" in why["live:node/edge-worker-1"]
    behind = {d["object"] for d in report["drift"] if d["category"] == "version"}
    assert behind == {"node/edge-ctrl-2", "node/edge-ctrl-3", "node/edge-worker-legacy"}
    plan = drift_at(report, "plan/autopilot", "")
    assert (plan["change"], plan["needs_action"], plan["live"]) == (
        "only-in-cluster",
        False,
        "SchedulableWait",
    )
    assert [n["role"] for n in report["live"]["nodes"]] == ["control plane"] * 3 + ["worker"] * 2

    markdown = (fixed_example / "audit.md").read_text(encoding="utf-8")
    assert (
        "It carries the default images of k0s v1.29.4+k0s.0, persisted by a controller of that release."
        in markdown
    )
    assert (
        "| clusterconfig/kube-system/k0s | `spec.images.kubeproxy.version` | `unset` | `v1.29.4` |"
        in markdown
    )
    assert "kubectl patch clusterconfig k0s -n kube-system --type=json -p '" in markdown


def remove_pointer(document: dict[str, Any], pointer: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node: Any = document
    for part in parts[:-1]:
        node = node[part]
    del node[parts[-1]]


def test_remediation_patch_removes_the_persisted_defaults(fixed_example: Path, capsys) -> None:
    code, out, _ = run(["audit", "edge-prod", "--live", LIVE_FILES[0], "--remediate"], capsys)
    assert code == 1
    (command,) = [line.strip() for line in out.splitlines() if line.strip().startswith("kubectl patch")]
    words = shlex.split(command)
    assert words[:8] == ["kubectl", "patch", "clusterconfig", "k0s", "-n", "kube-system", "--type=json", "-p"]
    operations = json.loads(words[8])
    assert {op["op"] for op in operations} == {"remove"}
    assert "/spec/images/kubeproxy" in [op["path"] for op in operations]
    assert "/spec/network/nodeLocalLoadBalancing/envoyProxy/image" in [op["path"] for op in operations]
    assert "k0s config edit" in out and "spec.images.kubeproxy" in out

    # apply the patch to the exported object, as the API server would, and audit again
    live = yaml.safe_load(Path(LIVE_FILES[0]).read_text(encoding="utf-8"))
    for op in operations:
        remove_pointer(live, op["path"])
    assert live["spec"]["images"] == {"default_pull_policy": "Never", "calico": {}, "kuberouter": {}}
    patched = fixed_example / "patched.yaml"
    patched.write_text(yaml.safe_dump(live), encoding="utf-8")
    code, report = audit_json(
        ["audit", "edge-prod", "--live", str(patched)], capsys, fixed_example / "after.json"
    )
    assert code == 0, [d for d in report["drift"] if d["needs_action"]]
    assert not [f for f in report["findings"] if f["origin"] == "live" and f["severity"] != "info"]
    assert report["remediation"] is None and report["live"]["clusterconfig"]["persisted_by"] is None


def test_control_planes_two_minors_apart_and_the_old_kubelet_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def node(name: str, version: str, control_plane: bool) -> dict[str, Any]:
        labels = {"node-role.kubernetes.io/control-plane": "true"} if control_plane else {}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "status": {"nodeInfo": {"kubeletVersion": version}},
        }

    nodes = [
        node("cp-a", "v1.28.15+k0s", True),
        node("cp-b", "v1.30.2+k0s", True),
        node("w-old", "v1.24.17+k0s", False),  # 4 behind 1.28: before 1.25 only 2 are allowed
        node("w-ok", "v1.25.16+k0s", False),  # 3 behind 1.28: allowed from 1.25 on
    ]
    live = tmp_path / "nodes.json"
    live.write_text(json.dumps({"apiVersion": "v1", "kind": "NodeList", "items": nodes}), encoding="utf-8")
    write(tmp_path, "edge/k0s.yaml", UNPINNED)
    monkeypatch.chdir(tmp_path)
    code, report = audit_json(["audit", "edge", "--live", str(live)], capsys, tmp_path / "audit.json")
    skew = {f["path"]: f["message"] for f in report["findings"] if f["rule"] == "K0S306"}
    assert code == 1 and set(skew) == {"live:node/cp-b", "live:node/w-old"}
    assert "2 minors ahead of cp-a" in skew["live:node/cp-b"]
    why = {f["path"]: f["detail"] for f in report["findings"] if f["rule"] == "K0S306"}
    assert "may trail the control plane by at most 2" in why["live:node/w-old"]
    # no version declared in the repository: nodes are not compared with it
    assert not [d for d in report["drift"] if d["category"] == "version"]


def test_live_input_errors_exit_2(fixed_example: Path, capsys) -> None:
    write(fixed_example, "configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    write(fixed_example, "broken.yaml", "apiVersion: v1\nkind: [List\n")
    for argv, message in (
        (["--live", "configmap.yaml"], "holds no ClusterConfig, autopilot Plan or Node"),
        (["--live", "missing.yaml"], "cannot read file"),
        (["--live", "broken.yaml"], "broken.yaml:3:1: YAML syntax error"),
        (["--live", LIVE_FILES[0], "--kubeconfig", "kc.yaml"], "use it without --kubeconfig"),
    ):
        code, out, err = run(["audit", "edge-prod", *argv], capsys)
        assert code == 2 and message in err and out == "", (argv, err)


def test_several_clusters_need_the_folder_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write(tmp_path, "a/k0s.yaml", UNPINNED)
    write(tmp_path, "b/k0s.yaml", UNPINNED)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["audit", ".", "--live", LIVE_FILES[2]], capsys)
    assert code == 2 and "2 clusters" in err
    assert run(["audit", "a", "--live", LIVE_FILES[2]], capsys)[0] == 1  # the skewed nodes


# --- live state from an API server, read with the real kubernetes client --------------------------------


class FakeApiServer:
    """Serves the exported fixtures on the endpoints the kubernetes client calls, as JSON, and records
    every request. Bound to 127.0.0.1 on a free port; stopped when the `with` block ends."""

    def __init__(self, refuse: str = "") -> None:
        config = yaml.safe_load((LIVE / "clusterconfig-k0s.yaml").read_text(encoding="utf-8"))
        plans = yaml.safe_load((LIVE / "plans.yaml").read_text(encoding="utf-8"))["items"]
        nodes = yaml.safe_load((LIVE / "nodes.yaml").read_text(encoding="utf-8"))["items"]
        for item in nodes:  # typed list items come without apiVersion and kind from a real server
            item.pop("apiVersion"), item.pop("kind")
        self.routes: dict[str, Any] = {
            "/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s": config,
            "/apis/autopilot.k0sproject.io/v1beta2/plans": {
                "apiVersion": "autopilot.k0sproject.io/v1beta2",
                "kind": "PlanList",
                "metadata": {"resourceVersion": "918300"},
                "items": plans,
            },
            "/api/v1/nodes": {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": nodes},
        }
        self.refuse = refuse
        self.requests: list[tuple[str, str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
                path = self.path.split("?", 1)[0]
                if self.command != "GET" or path not in server.routes:
                    self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
                elif server.refuse and server.refuse in path:
                    self._send(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
                else:
                    self._send(200, server.routes[path])

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "edge-prod", "cluster": {"server": server}}],
        "users": [{"name": "auditor", "user": {"token": "audit-token"}}],
        "contexts": [{"name": "edge-prod-audit", "context": {"cluster": "edge-prod", "user": "auditor"}}],
        "current-context": "edge-prod-audit",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        yield server


def comparable(report: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    findings = sorted((f["rule"], f["path"], f["node"], f["message"]) for f in report["findings"])
    return findings, report["drift"]


def test_api_server_read_matches_the_exported_files(fixed_example: Path, api: FakeApiServer, capsys) -> None:
    config = kubeconfig(fixed_example / "kubeconfig", api.url)
    argv = ["audit", "edge-prod", "--kubeconfig", str(config), "--context", "edge-prod-audit"]
    code, from_api = audit_json(argv, capsys, fixed_example / "api.json")
    files_argv = ["audit", "edge-prod", *[a for f in LIVE_FILES for a in ("--live", f)]]
    _, from_files = audit_json(files_argv, capsys, fixed_example / "files.json")
    assert code == 1
    assert comparable(from_api) == comparable(from_files)
    assert from_api["live"]["source"].startswith(f"cluster {api.url} (kubeconfig ")
    assert from_api["live"]["nodes"] == from_files["live"]["nodes"]
    # read-only: one get and two lists, each with the kubeconfig's token
    assert {(method, path.split("?")[0]) for method, path, _ in api.requests} == {
        ("GET", "/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s"),
        ("GET", "/apis/autopilot.k0sproject.io/v1beta2/plans"),
        ("GET", "/api/v1/nodes"),
    }
    assert {auth for _, _, auth in api.requests} == {"Bearer audit-token"}


def test_api_refusal_and_unreachable_server_exit_2(fixed_example: Path, capsys) -> None:
    with FakeApiServer(refuse="/nodes") as refusing:
        config = kubeconfig(fixed_example / "kubeconfig", refusing.url)
        code, out, err = run(["audit", "edge-prod", "--kubeconfig", str(config)], capsys)
    assert code == 2 and out == ""
    assert "HTTP 403" in err
    # the permissions deploy/kubernetes/rbac.yaml grants: one object by name, two lists
    assert "get on clusterconfigs.k0s.k0sproject.io kube-system/k0s (by name)" in err
    assert "list on plans.autopilot.k0sproject.io and nodes" in err and "get/list" not in err
    # the server is stopped now: nothing listens on its port any more
    code, _, err = run(["audit", "edge-prod", "--kubeconfig", str(config)], capsys)
    assert code == 2 and "cannot reach the API server" in err
    code, _, err = run(["audit", "edge-prod", "--kubeconfig", str(fixed_example / "nope")], capsys)
    assert code == 2 and "cluster credentials" in err


def test_api_without_dynamic_config_or_autopilot(fixed_example: Path, api: FakeApiServer, capsys) -> None:
    del api.routes["/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s"]
    del api.routes["/apis/autopilot.k0sproject.io/v1beta2/plans"]
    config = kubeconfig(fixed_example / "kubeconfig", api.url)
    code, report = audit_json(
        ["audit", "edge-prod", "--kubeconfig", str(config)], capsys, fixed_example / "a.json"
    )
    assert code == 1
    assert report["live"]["clusterconfig"]["present"] is False
    whole = drift_at(report, "clusterconfig/kube-system/k0s", "")
    assert (whole["change"], whole["needs_action"]) == ("only-in-repository", True)
    assert any("autopilot not installed" in note for note in report["notes"])


def test_in_cluster_outside_a_pod_exits_2(
    fixed_example: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    code, out, err = run(["audit", "edge-prod", "--in-cluster"], capsys)
    assert code == 2 and out == "" and "cannot load the cluster credentials" in err


def test_markdown_to_stdout_replaces_the_text_report(fixed_example: Path, capsys) -> None:
    code, out, _ = run(["audit", "edge-prod", "--live", LIVE_FILES[0], "--markdown", "-"], capsys)
    assert code == 1 and out.startswith("# k0s-policy audit: action needed\n")
    assert "## Remediation" in out and "action needed: repository" not in out
