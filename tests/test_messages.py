"""Short findings: every rule's hit case, the test corpus and the demo, held to the message shape.

A finding's ``message`` is one sentence of at most MESSAGE_LIMIT characters with the facts at the
node, its ``fix`` one line that the message does not repeat, its ``detail`` the why. The demo output
must fit a terminal: measured as the rows a finding takes when a 100-column terminal wraps its lines.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.config import Config, load_config
from checker.findings import Finding
from checker.inputs.live import KubeVersion, LiveNode
from checker.rules import ALL_RULES
from checker.workflows.audit.drift import node_skew
from checker.workflows.check import _guarded
from conftest import REPO_ROOT, assert_short, check_paths, write

CLUSTER_CONFIG = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"
PLAN = """\
apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata:
  name: NAME
spec:
  id: upgrade-1
  timestamp: now
  commands:
    - k0supdate:
        version: VERSION
        platforms:
          linux-amd64:
            url: https://files.example.com/k0s-amd64
"""
K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: prod
spec:
  hosts:
    - role: controller+worker
      ssh: {address: 10.0.0.1}
  k0s:
    version: VERSION
"""
IMAGES = CLUSTER_CONFIG + "spec:\n  images:\n"

# One case per rule: the files of a repository, the --k0s-version, the config. Each must hit its rule.
CASES: dict[str, tuple[dict[str, str], str | None, Config | None]] = {
    "K0S001": ({"k0s.yaml": CLUSTER_CONFIG + "spec: [\n"}, "1.30", None),
    "K0S002": (
        {"k0s.yaml": CLUSTER_CONFIG + "spec:\n  network:\n    nodeLocalLoadBalancer: {}\n"},
        "1.30",
        None,
    ),
    "K0S003": ({"k0s.yaml": CLUSTER_CONFIG}, "v1.99.1+k0s.0", None),
    "K0S004": ({"k0s.yaml": "apiVersion: k0s.sh/v1beta1\nkind: ClusterConfig\n"}, "1.30", None),
    "K0S005": ({"k0s.yaml": CLUSTER_CONFIG}, None, None),
    "K0S009": (
        {"k0s.yaml": CLUSTER_CONFIG + "spec:\n  imagez: {}  # k0s-policy: ignore[K0S002]\n"},
        "1.30",
        None,
    ),
    "K0S015": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  Network: {}\n"}, "1.30", None),
    "K0S016": ({"k0s.yaml": "spec:\n  network: {provider: calico}\n"}, "1.30", None),
    "K0S017": ({"k0s.yaml": "config: {}\n"}, "1.30", None),
    "K0S018": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  podSecurityPolicy: {}\n"}, "1.30", None),
    "K0S019": (
        {
            "k0sctl.yaml": "apiVersion: k0sctl.k0sproject.io/v1beta1\nkind: Cluster\nspec:\n  hosts:\n"
            "    - role: single\n      localhost: {enabled: true}\n  k0s: {version: $K0S_TEST_UNSET_VERSION}\n"
        },
        None,
        None,
    ),
    "K0S020": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  api: {address: node-1}\n"}, "1.30", None),
    "K0S021": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  network: {podCIDR: 10.244.0.0}\n"}, "1.30", None),
    "K0S022": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  network: {kubeProxy: {mode: ebpf}}\n"}, "1.30", None),
    "K0S023": (
        {
            "k0s.yaml": CLUSTER_CONFIG + "spec:\n  api: {externalAddress: lb.example.com}\n"
            "  network: {nodeLocalLoadBalancing: {enabled: true}}\n"
        },
        "1.30",
        None,
    ),
    "K0S024": ({"k0s.yaml": IMAGES + "    coredns: {image: 'quay.io/k0sproject/coredns '}\n"}, "1.31", None),
    "K0S025": (
        {
            "k0s.yaml": CLUSTER_CONFIG + "spec:\n  storage:\n    etcd:\n      externalCluster:\n"
            "        endpoints: [https://e:2379]\n        etcdPrefix: k0s\n        caFile: /ca.pem\n"
        },
        "1.30",
        None,
    ),
    "K0S026": (
        {
            "k0s.yaml": CLUSTER_CONFIG + "spec:\n  extensions:\n    helm:\n      charts:\n"
            "        - {name: My_App, chartname: repo/app, namespace: apps}\n"
        },
        "1.30",
        None,
    ),
    "K0S027": (
        {
            "k0s.yaml": CLUSTER_CONFIG
            + "spec:\n  workerProfiles:\n    - {name: big, values: {clusterDNS: [10.0.0.1]}}\n"
        },
        "1.30",
        None,
    ),
    "K0S028": (
        {
            "k0s.yaml": CLUSTER_CONFIG
            + "spec:\n  network:\n    controlPlaneLoadBalancing:\n      enabled: true\n"
            "      keepalived:\n        vrrpInstances: [{virtualIPs: [192.168.1.100], authPass: pw}]\n"
        },
        "1.30",
        None,
    ),
    "K0S030": (
        {
            "k0sctl.yaml": "apiVersion: k0sctl.k0sproject.io/v1beta1\nkind: Cluster\nspec:\n  hosts:\n"
            "    - role: worker\n      ssh: {address: 10.0.0.2}\n  k0s: {version: v1.30.14+k0s.0}\n"
        },
        None,
        None,
    ),
    "K0S031": (
        {
            "k0sctl.yaml": "apiVersion: k0sctl.k0sproject.io/v1beta1\nkind: Cluster\nspec:\n  hosts:\n"
            "    - role: single\n      localhost: {enabled: true}\n  k0s: {version: v1.22.1+k0s.0, dynamicConfig: true}\n"
        },
        None,
        None,
    ),
    "K0S040": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  network: {podCIDR: 10.96.0.0/16}\n"}, "1.30", None),
    "K0S041": (
        {"k0s.yaml": CLUSTER_CONFIG + "spec:\n  network: {serviceCIDR: 10.43.0.0/12}\n"},
        "1.30",
        None,
    ),
    "K0S042": ({"k0s.yaml": CLUSTER_CONFIG + "spec:\n  api: {sans: ['<LB_DNS_NAME>']}\n"}, "1.30", None),
    "K0S101": ({"k0s.yaml": IMAGES + "    kubeproxy:\n      version: v1.30.5\n"}, "v1.30.5+k0s.0", None),
    "K0S102": ({"k0s.yaml": IMAGES + "    kubeproxy:\n      version: v1.29.4\n"}, "v1.30.5+k0s.0", None),
    "K0S103": (
        {"k0s.yaml": IMAGES + "    coredns:\n      image: registry.example.com/mirror/coredns\n"},
        "v1.30.5+k0s.0",
        None,
    ),
    "K0S104": ({}, None, None),  # the story example below
    "K0S105": ({"k0s.yaml": IMAGES + "    coredns:\n      image: Quay.io/CoreDNS\n"}, "1.30", None),
    "K0S201": ({}, None, None),
    "K0S202": ({"k0s.yaml": IMAGES + "    repository: registry.example.com\n"}, "1.27", None),
    "K0S203": (
        {"k0s.yaml": IMAGES + "    default_pull_policy: Always\n"},
        "1.30",
        Config(path=".k0s-policy.yaml", airgapped=True),
    ),
    "K0S204": (
        {
            "k0s.yaml": IMAGES
            + "    default_pull_policy: Never\n  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n"
            "      envoyProxy:\n        imagePullPolicy: Always\n"
        },
        "1.30",
        Config(path=".k0s-policy.yaml", airgapped=True),
    ),
    "K0S205": (
        {
            "k0sctl.yaml": K0SCTL.replace("VERSION", "v1.30.14+k0s.0")
            + "    config:\n      spec:\n        images:\n          default_pull_policy: Never\n"
        },
        None,
        None,
    ),
    "K0S206": ({"k0s.yaml": IMAGES + "    default_pull_policy: Never\n"}, "v1.25.16+k0s.0", None),
    "K0S301": ({}, None, None),
    "K0S302": (
        {
            "k0sctl.yaml": K0SCTL.replace("VERSION", "v1.29.4+k0s.0"),
            "plan.yaml": PLAN.replace("NAME", "autopilot").replace("VERSION", "v1.32.5+k0s.0"),
        },
        None,
        None,
    ),
    "K0S303": (
        {
            "k0sctl.yaml": K0SCTL.replace("VERSION", "v1.29.4+k0s.0"),
            "plan.yaml": PLAN.replace("NAME", "autopilot").replace("VERSION", "v1.28.15+k0s.0"),
        },
        None,
        None,
    ),
    "K0S304": (
        {
            "k0sctl.yaml": K0SCTL.replace("VERSION", "v1.29.4+k0s.0"),
            "plan.yaml": PLAN.replace("NAME", "autopilot").replace("VERSION", "v1.30.5+k0s.0"),
            "later/plan.yaml": PLAN.replace("NAME", "autopilot").replace("VERSION", "v1.30.4+k0s.0"),
        },
        None,
        None,
    ),
    "K0S305": (
        {
            "k0sctl.yaml": K0SCTL.replace("VERSION", "v1.29.4+k0s.0"),
            "plan.yaml": PLAN.replace("NAME", "upgrade-to-130").replace("VERSION", "v1.30.5+k0s.0"),
        },
        None,
        None,
    ),
    "K0S010": (
        {
            "k0s.yaml": IMAGES + "    coredns: {image: registry.example.com/coredns, version: 9.9.9}\n",
            ".k0s-policy.yaml": "ignore:\n  - rule: K0S103\n    reason: patched\n    expires: 2020-01-31\n",
        },
        "1.30",
        None,
    ),
    "K0S401": ({}, None, None),
    "K0S402": (
        {
            "object.yaml": CLUSTER_CONFIG
            + "metadata: {name: k0s, namespace: kube-system}\nspec:\n  api:\n    port: 6443\n"
        },
        "v1.30.5+k0s.0",
        None,
    ),
    "K0S403": ({}, None, None),
}
STORY = {"K0S104", "K0S201", "K0S301", "K0S401", "K0S403"}  # hit by examples/airgap-upgrade
# a failing step and live nodes: their own tests below; the registry rules need a registry server:
# tests/test_registry.py hits each against the real one and tests/test_registry_client.py holds them short
ELSEWHERE = {"K0S008", "K0S306", "K0S207", "K0S208", "K0S209"}


def test_every_rule_has_a_hit_case() -> None:
    missing = {rule.id for rule in ALL_RULES} - set(CASES) - ELSEWHERE
    assert not missing, f"add a hit case for {sorted(missing)} to tests/test_messages.py CASES"


@pytest.mark.parametrize("rule", sorted(set(CASES) - STORY))
def test_the_hit_case_of_each_rule_is_short(rule: str, tmp_path: Path) -> None:
    files, version, config = CASES[rule]
    for relative, text in files.items():
        write(tmp_path, f"repo/{relative}", text)
    if config is None and ".k0s-policy.yaml" in files:
        config = load_config(tmp_path / "repo" / ".k0s-policy.yaml", "repo/.k0s-policy.yaml")
    findings = check_paths(["repo"], cwd=tmp_path, k0s_version=version, config=config).findings
    hits = [f for f in findings if f.rule == rule]
    assert hits, [f.rule for f in findings]
    for finding in findings:
        assert_short(finding)
        assert finding.detail, finding


def test_the_story_example_hits_its_rules_with_short_findings() -> None:
    findings = check_paths(["examples/airgap-upgrade"], cwd=REPO_ROOT).findings
    assert {f.rule for f in findings} >= STORY
    for finding in findings:
        assert_short(finding)
        assert finding.detail and finding.fix, finding


def test_a_failing_step_is_a_short_k0s008(tmp_path: Path) -> None:
    write(tmp_path, "c/k0s.yaml", CLUSTER_CONFIG)
    cluster = check_paths(["c"], cwd=tmp_path, k0s_version="1.30").clusters[0]

    def step() -> list[Finding]:
        raise KeyError("x" * 300)  # a long exception text goes to the detail, not the message

    (finding,) = _guarded("the check of K0S999", cluster, step)
    assert finding.rule == "K0S008"
    assert_short(finding)
    assert "x" * 300 in finding.detail and "KeyError" in finding.message


def test_live_node_skew_is_short() -> None:
    def node(name: str, kubelet: str, control_plane: bool) -> LiveNode:
        return LiveNode(name, KubeVersion.parse(kubelet), kubelet, control_plane)

    nodes = [
        node("controller-a", "v1.28.15+k0s", True),
        node("controller-b", "v1.30.2+k0s", True),
        node("worker-new", "v1.31.1+k0s", False),
        node("worker-legacy", "v1.24.3+k0s", False),
    ]
    findings, _ = node_skew(nodes, "prod")
    assert {f.data["subject"] for f in findings} == {
        "control-plane",
        "newer-than-control-plane",
        "behind-control-plane",
    }
    for finding in findings:
        assert finding.rule == "K0S306"
        assert_short(finding)
        assert finding.detail


@pytest.mark.parametrize("corpus", ["examples", "tests/fixtures"])
def test_no_finding_in_the_fixture_corpus_is_long(corpus: str) -> None:
    for directory in sorted(p for p in (REPO_ROOT / corpus).iterdir() if p.is_dir()):
        for version in ("1.24", "1.30", None):
            result = check_paths([directory], cwd=REPO_ROOT, k0s_version=version)
            for finding in result.findings:
                if finding.data.get("engine") != "rego":  # custom policies write their own messages
                    assert_short(finding)


# --- the demo in a terminal --------------------------------------------------------------------------

COLUMNS = 100
MAX_ROWS = 3
_FINDING_LINE = re.compile(r"^\S+:\d+:\d+: (error|warning|info) \S+ ")


def finding_blocks(text: str) -> list[list[str]]:
    """The lines of each finding in the text report: its `path:line:col:` line and the indented
    lines under it."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if _FINDING_LINE.match(line):
            current = [line]
            blocks.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line)
        else:
            current = None
    return blocks


def rows(lines: list[str]) -> int:
    """Terminal rows the lines take when a COLUMNS-wide terminal wraps them."""
    return sum(max(1, math.ceil(len(line) / COLUMNS)) for line in lines)


def test_the_demo_fits_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`k0s-policy check examples/airgap-upgrade`: every finding (its line and its fix line) takes at
    most MAX_ROWS rows of a COLUMNS-column terminal."""
    monkeypatch.chdir(REPO_ROOT)
    assert main(["check", "examples/airgap-upgrade"]) == 1
    blocks = finding_blocks(capsys.readouterr().out)
    assert len(blocks) == 23
    for block in blocks:
        assert len(block) == 2 and block[1].startswith("    fix: "), block
        assert rows(block) <= MAX_ROWS, block


def test_verbose_shows_the_detail_wrapped_under_each_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert main(["check", "examples/airgap-upgrade", "--verbose"]) == 1
    verbose = finding_blocks(capsys.readouterr().out)
    assert main(["check", "examples/airgap-upgrade", "--format", "json"]) == 1
    details = [f["detail"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert len(verbose) == len(details) == 23
    for block, detail in zip(verbose, details, strict=True):
        wrapped = block[2:]
        assert wrapped and all(line.startswith("      ") for line in wrapped)
        # wrapped at COLUMNS; a command or JSON patch without spaces is kept whole on its own line
        assert all(len(line) <= COLUMNS or " " not in line.strip() for line in wrapped), wrapped
        assert " ".join(line.strip() for line in wrapped) == " ".join(detail.split())
    # -v is the short spelling
    assert main(["check", "examples/airgap-upgrade", "-v"]) == 1
    assert len(finding_blocks(capsys.readouterr().out)[0]) > 2
