"""A big `check` holds one cluster's documents at a time (checker.workflows.check, "Flat memory" in
docs/design-notes.md): its report is the report of the in-memory run, byte for byte, in every format
and with the worker pool. Streaming is forced here by lowering its threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.inputs.yamldoc import parse_text
from checker.k0s.envsubst import substitute_documents
from checker.workflows import check, pool
from conftest import REPO_ROOT, TYPO, write

K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: {name}
spec:
  hosts:
    - role: controller+worker
      ssh: {{address: "${{HOST_{index}}}"}}
      installFlags: [--debug]
      files:
        - {{name: bundle, src: bundle.tar, dstDir: /var/lib/k0s/images/}}
    - role: worker
      ssh: {{address: 10.0.0.2, user: "$DEPLOY_USER"}}
  k0s:
    version: {version}
    dynamicConfig: {dynamic}
    config:
      spec:
        images:
          default_pull_policy: Never
          kubeproxy:  # k0s-policy: ignore[K0S102] kept until the 1.30 bundle is out
            image: quay.io/k0sproject/kube-proxy
            version: v1.29.4
          coredns: {{image: quay.io/k0sproject/coredns, version: 1.11.1}}
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  network:
    kubeRouter: {{autoMTU: true}}
"""

EXPORTED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
  namespace: kube-system
  resourceVersion: "4711"
spec:
  images:
    konnectivity: {image: quay.io/k0sproject/apiserver-network-proxy-agent, version: v0.1.4}
    metricsserver: {image: registry.k8s.io/metrics-server/metrics-server, version: v0.6.4}
    kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4}
  podSecurityPolicy: {defaultPolicy: 00-k0s-privileged}
status: {}
"""

PLAN = """\
apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata: {{name: autopilot}}
spec:
  id: id-{index}
  timestamp: now
  commands:
    - k0supdate:
        version: {version}
        platforms: {{linux-amd64: {{url: https://example.com/k0s}}}}
        targets:
          controllers: {{discovery: {{selector: {{}}}}}}
"""

NEAR_MISS = """\
apiVersion: k0s.k0sproject.io/v1beta2s
kind: ClusterConfig
metadata:
  namespace: kube-system
  uid: 1234
spec: {images: {default_pull_policy: Always}}
"""


def fleet(root: Path, clusters: int = 8) -> Path:
    """Clusters of several shapes: k0sctl files with an embedded config, a ClusterConfig document
    beside it and `${VAR}`s (one set, others not), exported dynamic-config objects, Plans, a file of
    two k0sctl Clusters that share their folder's Plan, a syntax error, a near-miss, typos."""
    for index in range(clusters):
        base = f"clusters/c{index:02d}"
        version = ("v1.30.2+k0s.0", "v1.29.4+k0s.0", "${K0S_VERSION}", "v1.40.0+k0s.0")[index % 4]
        dynamic = "true" if index % 2 else "false"
        write(
            root,
            f"{base}/k0sctl.yaml",
            K0SCTL.format(name=f"c{index}", index=index, version=version, dynamic=dynamic),
        )
        if index % 2:
            write(root, f"{base}/system/clusterconfig-k0s.yaml", EXPORTED)
        write(root, f"{base}/system/autopilot-plan.yaml", PLAN.format(index=index, version="v1.30.4+k0s.0"))
        if index % 3 == 0:
            write(root, f"{base}/k0s.yaml", TYPO)
    pair = K0SCTL.format(name="a", index=90, version="v1.30.1+k0s.0", dynamic="false")
    pair += "---\n" + K0SCTL.format(name="b", index=91, version="v1.30.2+k0s.0", dynamic="true")
    write(root, "clusters/pair/k0sctl.yaml", pair)
    write(root, "clusters/pair/plan.yaml", PLAN.format(index=92, version="v1.31.1+k0s.0"))
    write(root, "broken/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [unclosed\n")
    write(root, "odd/clusterconfig.yaml", NEAR_MISS)
    return root


def report(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *, stream: bool
) -> tuple[int, str, str]:
    monkeypatch.setattr(check, "STREAM_FROM_BYTES", 0 if stream else 1 << 60)
    reads: list[str] = []
    real = check._read_again

    def counting(cluster: check.Cluster, *args: object) -> list[check.K0sObject]:
        reads.append(cluster.name)
        return real(cluster, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(check, "_read_again", counting)
    code = main(argv)
    out, err = capsys.readouterr()
    assert bool(reads) == stream
    return code, out, err


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(fleet(tmp_path))
    monkeypatch.setenv("HOST_1", "10.1.0.1")
    monkeypatch.delenv("K0S_VERSION", raising=False)
    monkeypatch.delenv("DEPLOY_USER", raising=False)
    for index in range(8):
        if index != 1:
            monkeypatch.delenv(f"HOST_{index}", raising=False)
    return tmp_path


def test_streaming_gives_the_in_memory_report(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for format_name in ("json", "text", "sarif"):
        argv = ["check", ".", "--jobs", "1", "--format", format_name, "-v"]
        in_memory = report(argv, capsys, monkeypatch, stream=False)
        streamed = report(argv, capsys, monkeypatch, stream=True)
        assert streamed == in_memory
        if format_name == "json":  # written in batches, laid out as json.dumps(indent=2) lays it out
            assert in_memory[1] == json.dumps(json.loads(in_memory[1]), indent=2) + "\n"
    found = json.loads(
        in_memory[1]
        if format_name == "json"
        else report(["check", ".", "--format", "json"], capsys, monkeypatch, stream=True)[1]
    )
    rules = {f["rule"] for f in found["findings"]}
    # the shapes the repository was built to have are all there
    assert {"K0S001", "K0S002", "K0S003", "K0S004", "K0S015", "K0S019", "K0S102"} <= rules
    assert any(f.get("suppressed") for f in found["findings"])
    assert any(c["dynamic_config"] for c in found["clusters"]) and not all(
        c["dynamic_config"] for c in found["clusters"]
    )
    assert any("Plan" in c["source"] or "k0sctl" in c["source"] for c in found["clusters"])


@pytest.mark.skipif(not pool.can_fork(), reason="the pool forks (Linux only)")
def test_streaming_with_the_pool_gives_the_one_process_report(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pool, "SMALL_RUN", 0)
    one = report(["check", ".", "--jobs", "1", "--format", "json"], capsys, monkeypatch, stream=False)
    two = report(["check", ".", "--jobs", "2", "--format", "json"], capsys, monkeypatch, stream=True)
    assert two == one


def test_only_plain_checks_stream(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rego policies need every document after the checks: such a run keeps them all."""
    pytest.importorskip("regopy")
    shutil.copytree(REPO_ROOT / "policies" / "rego", repository / "rego")
    argv = [
        "check",
        "clusters",
        "--jobs",
        "1",
        "--format",
        "json",
        "--policy",
        "rego",
        "--namespace",
        "k0s.images",
    ]
    monkeypatch.setattr(check, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(check, "_read_again", lambda *args: pytest.fail("a run with policies streamed"))
    main(argv)
    capsys.readouterr()


def test_substitution_keeps_a_document_without_variables() -> None:
    parsed = parse_text("k0sctl.yaml", "a: {b: [x, $$y]}\nc: {d: [1, 2]}\n")
    document = parsed.documents[0]
    before = document.data
    substitute_documents(parsed.documents, {})
    assert document.data == {"a": {"b": ["x", "$y"]}, "c": {"d": [1, 2]}}
    assert document.data is not before and document.data["c"] is before["c"]  # only the changed part is new
    unchanged = parse_text("k0sctl.yaml", "a: {b: [x, y]}\n").documents
    data = unchanged[0].data
    substitute_documents(unchanged, {})
    assert unchanged[0].data is data
