"""`audit --publish-report`: the audit's PolicyReport applied through the API server with the real
kubernetes client, against a stand-in API server on 127.0.0.1 that serves the live fixtures (as in
tests/test_audit.py) and implements server-side apply of policyreports well enough to record it."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checker.cli.app import main
from conftest import REPO_ROOT

LIVE = REPO_ROOT / "tests" / "fixtures" / "live"
EXAMPLE = REPO_ROOT / "examples" / "airgap-upgrade-fixed"
SCHEMA_FILE = REPO_ROOT / "tests" / "fixtures" / "report-schemas" / "policyreport-v1alpha2.schema.json"
REPORTS = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/{namespace}/policyreports/"


class ApiServer:
    """GET of the k0s objects, PATCH (apply) of PolicyReports; every request recorded with its
    method, path, query, content type and body. ``refuse`` answers matching paths with 403."""

    def __init__(self, refuse: str = "", crd: bool = True) -> None:
        config = yaml.safe_load((LIVE / "clusterconfig-k0s.yaml").read_text(encoding="utf-8"))
        plans = yaml.safe_load((LIVE / "plans.yaml").read_text(encoding="utf-8"))["items"]
        nodes = yaml.safe_load((LIVE / "nodes.yaml").read_text(encoding="utf-8"))["items"]
        self.routes: dict[str, Any] = {
            "/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s": config,
            "/apis/autopilot.k0sproject.io/v1beta2/plans": {
                "kind": "PlanList",
                "metadata": {},
                "items": plans,
            },
            "/api/v1/nodes": {"kind": "NodeList", "metadata": {}, "items": nodes},
        }
        self.stored: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self.refuse, self.crd = refuse, crd
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": urllib.parse.parse_qs(url.query),
                        "content_type": self.headers.get("Content-Type", ""),
                        "authorization": self.headers.get("Authorization", ""),
                        "body": body,
                    }
                )
                if server.refuse and server.refuse in url.path:
                    return self._send(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
                if self.command == "GET" and url.path in server.routes:
                    return self._send(200, server.routes[url.path])
                if self.command == "PATCH" and "/policyreports/" in url.path and server.crd:
                    applied = yaml.safe_load(body)  # apply-patch+yaml: JSON is YAML too
                    created = url.path not in server.stored
                    server.stored[url.path] = applied
                    return self._send(201 if created else 200, applied)
                return self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

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
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def patches(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] != "GET"]


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
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "edge-prod")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with ApiServer() as server:
        yield server


def test_publish_applies_one_report_with_server_side_apply(
    repo: Path, api: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = kubeconfig(repo / "kubeconfig", api.url)
    argv = ["audit", "edge-prod", "--kubeconfig", str(config), "--publish-report", "--format", "policyreport"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1, err  # the example's live object needs action
    (apply,) = api.patches()
    assert apply["method"] == "PATCH"
    assert apply["path"] == REPORTS.format(namespace="k0s-policy") + "k0s-policy-audit"
    assert apply["content_type"] == "application/apply-patch+yaml"
    assert apply["query"]["fieldManager"] == ["k0s-policy"] and apply["query"]["force"] == ["true"]
    assert apply["authorization"] == "Bearer audit-token"
    applied = json.loads(apply["body"])
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(applied)
    assert applied["metadata"] == {
        **applied["metadata"],
        "name": "k0s-policy-audit",
        "namespace": "k0s-policy",
    }
    # what was applied is what --format policyreport printed, timestamps included
    assert applied == json.loads(out) | {"metadata": applied["metadata"]}
    assert applied["summary"]["fail"] > 0
    assert "published PolicyReport k0s-policy/k0s-policy-audit" in err
    # the live reads stay the three reads; the one write is the apply
    reads = {(r["method"], r["path"]) for r in api.requests if r["method"] == "GET"}
    assert reads == {
        ("GET", "/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s"),
        ("GET", "/apis/autopilot.k0sproject.io/v1beta2/plans"),
        ("GET", "/api/v1/nodes"),
    }


def test_each_run_replaces_the_last_report(
    repo: Path, api: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = kubeconfig(repo / "kubeconfig", api.url)
    argv = ["audit", "edge-prod", "--kubeconfig", str(config), "--publish-report"]
    assert main([*argv, "--report-namespace", "audits", "--report-name", "edge-prod"]) == 1
    first = dict(api.stored)
    # the cluster's object gets cleaned: the next run's report has fewer failures and replaces it
    del api.routes["/apis/k0s.k0sproject.io/v1beta1/namespaces/kube-system/clusterconfigs/k0s"]
    main([*argv, "--report-namespace", "audits", "--report-name", "edge-prod"])
    capsys.readouterr()
    path = REPORTS.format(namespace="audits") + "edge-prod"
    assert list(api.stored) == [path] == list(first)
    assert [r["path"] for r in api.patches()] == [path, path]
    assert api.stored[path]["results"] != first[path]["results"]


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"refuse": "/policyreports/"}, "create and patch on policyreports.wgpolicyk8s.io in k0s-policy"),
        ({"crd": False}, "install the PolicyReport CRD"),
    ],
)
def test_a_refused_or_impossible_publish_exits_2(
    repo: Path, capsys: pytest.CaptureFixture[str], server: dict[str, Any], message: str
) -> None:
    with ApiServer(**server) as refusing:
        config = kubeconfig(repo / "kubeconfig", refusing.url)
        code = main(["audit", "edge-prod", "--kubeconfig", str(config), "--publish-report"])
    _, err = capsys.readouterr()
    assert code == 2 and message in err


def test_publish_needs_a_cluster_to_write_to(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = str(LIVE / "clusterconfig-k0s.yaml")
    assert main(["audit", "edge-prod", "--live", live, "--publish-report"]) == 2
    assert "--publish-report writes to a cluster" in capsys.readouterr().err


def test_the_in_cluster_default_namespace_is_the_pods_own(tmp_path: Path) -> None:
    from checker.report.publish import default_namespace

    account = tmp_path / "namespace"
    account.write_text("platform-audits\n", encoding="utf-8")
    assert default_namespace(True, account) == "platform-audits"
    assert default_namespace(False, account) == "k0s-policy"
    assert default_namespace(True, tmp_path / "missing") == "k0s-policy"
