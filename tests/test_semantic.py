"""k0s's Validate() checks (K0S020-K0S031) and the hazards (K0S040-K0S042): a hit, a clean case and the
release range of every check, on real files run through the whole check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import check_paths, only, write

V121, V122, V123, V124, V126, V130, V131, V133, V134, V135, V136 = (
    "v1.21.14+k0s.0",
    "v1.22.17+k0s.0",
    "v1.23.17+k0s.1",
    "v1.24.17+k0s.0",
    "v1.26.15+k0s.0",
    "v1.30.14+k0s.0",
    "v1.31.14+k0s.0",
    "v1.33.13+k0s.1",
    "v1.34.10+k0s.0",
    "v1.35.7+k0s.0",
    "v1.36.3+k0s.2",
)
ALL = (V121, V124, V126, V130, V131, V134, V136)

# (rule, failing spec, fixed spec, releases where it fails, releases where the failing spec passes)
CASES = [
    ("K0S020", "api: {address: node-1}", "api: {address: 10.0.0.10}", ALL, ()),
    ("K0S020", "api: {address: 0.0.0.0}", "api: {address: 10.0.0.10}", (V131, V136), (V130, V124)),
    ("K0S020", "api: {sans: [10.0.0.1, 'not a name']}", "api: {sans: [10.0.0.1, api.example.com]}", ALL, ()),
    ("K0S020", "api: {externalAddress: 'lb example'}", "api: {externalAddress: lb.example.com}", ALL, ()),
    (
        "K0S020",
        "api: {externalAddress: 'lb.example.com:6443'}",
        "api: {externalAddress: lb.example.com}",
        (V130,),
        (V131, V136),
    ),
    ("K0S021", "network: {podCIDR: 10.244.0.0}", "network: {podCIDR: 10.244.0.0/16}", ALL, ()),
    (
        "K0S021",
        "network: {podCIDR: 'fd00::/108'}",
        "network: {podCIDR: 10.244.0.0/16}",
        (V134, V136),
        (V133,),
    ),
    (
        "K0S021",
        "network: {clusterDomain: 'cluster..local'}",
        "network: {clusterDomain: cluster.local}",
        (V124, V136),
        (),
    ),
    (
        "K0S021",
        "network: {serviceCIDR: 'fd01::/112', podCIDR: 'fd00::/64', dualStack: {enabled: false}}",
        "network: {serviceCIDR: 10.96.0.0/12, podCIDR: 10.244.0.0/16}",
        (V135, V136),
        (V133,),
    ),
    (
        "K0S021",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 10.1.0.0/16, IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        (V135, V136),
        (V130,),
    ),
    (
        "K0S021",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}}",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        (V121, V122),
        (V123, V136),
    ),
    (
        "K0S021",
        "network: {provider: calico, calico: {mode: vxlan}, dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        "network: {provider: calico, calico: {mode: bird}, dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        ALL,
        (),
    ),
    (
        "K0S022",
        "network: {kubeProxy: {mode: nftables}}",
        "network: {kubeProxy: {mode: iptables}}",
        (V130, V121),
        (V131, V136),
    ),
    (
        "K0S022",
        "network: {kubeProxy: {mode: ebpf}}",
        "network: {kubeProxy: {mode: ebpf, disabled: true}}",
        ALL,
        (),
    ),
    (
        "K0S023",
        "api: {externalAddress: lb.example.com}\n  network: {nodeLocalLoadBalancing: {enabled: true}}",
        "api: {externalAddress: lb.example.com}\n  network: {nodeLocalLoadBalancing: {enabled: false}}",
        (V126, V136),
        (),
    ),
    (
        "K0S024",
        "network: {nodeLocalLoadBalancing: {envoyProxy: {image: {image: ' quay.io/k0sproject/envoy-distroless'}}}}",
        "network: {nodeLocalLoadBalancing: {envoyProxy: {image: {image: quay.io/k0sproject/envoy-distroless}}}}",
        (V126, V136),
        (),
    ),
    (
        "K0S024",
        "images: {coredns: {image: 'quay.io/k0sproject/coredns '}}",
        "images: {coredns: {image: quay.io/k0sproject/coredns}}",
        (V131, V136),
        (V130,),
    ),
    (
        "K0S025",
        "storage: {type: etcd, etcd: {externalCluster: {endpoints: [https://e:2379], etcdPrefix: k0s, caFile: /ca.pem}}}",
        "storage: {type: etcd, etcd: {externalCluster: {endpoints: [https://e:2379], etcdPrefix: k0s}}}",
        (V124, V130, V136),
        (),
    ),
    (
        "K0S025",
        "storage: {type: etcd, etcd: {externalCluster: {endpoints: [https://e:2379]}}}",
        "storage: {type: etcd, etcd: {externalCluster: {endpoints: [https://e:2379], etcdPrefix: k0s}}}",
        (V124, V136),
        (),
    ),
    (
        "K0S026",
        "extensions: {helm: {charts: [{name: My_App, chartname: repo/app, namespace: apps}]}}",
        "extensions: {helm: {charts: [{name: my-app, chartname: repo/app, namespace: apps}]}}",
        (V124, V136),
        (V122,),
    ),
    (
        "K0S026",
        "extensions: {helm: {charts: [{name: app, chartname: repo/app}], repositories: [{name: repo}]}}",
        "extensions: {helm: {charts: [{name: app, chartname: repo/app, namespace: apps}], repositories: [{name: repo, url: 'https://charts.example.com'}]}}",
        (V122, V130),
        (),
    ),
    (
        "K0S027",
        "workerProfiles: [{name: big, values: {clusterDomain: example.org}}]",
        "workerProfiles: [{name: big, values: {maxPods: 200}}]",
        ALL,
        (),
    ),
    (
        "K0S027",
        "workerProfiles: [{name: big, values: {kind: KubeletConfiguration}}]",
        "workerProfiles: [{name: big, values: {maxPods: 200}}]",
        (V124, V133),
        (V134, V136),
    ),
    (
        "K0S027",
        "workerProfiles: [{name: Big_Nodes, values: {maxPods: 200}}]",
        "workerProfiles: [{name: big-nodes, values: {maxPods: 200}}]",
        (V134, V136),
        (V133,),
    ),
    (
        "K0S028",
        "network: {controlPlaneLoadBalancing: {enabled: true, type: Keepalived, keepalived: {vrrpInstances: [{virtualIPs: [192.168.1.100], authPass: secret}]}}}",
        "network: {controlPlaneLoadBalancing: {enabled: true, type: Keepalived, keepalived: {vrrpInstances: [{virtualIPs: [192.168.1.100/24], authPass: secret}]}}}",
        (V130, V136),
        (),
    ),
    (
        "K0S028",
        "api: {externalAddress: lb.example.com}\n  network: {controlPlaneLoadBalancing: {enabled: true, type: Keepalived, keepalived: {virtualServers: [{ipAddress: 192.168.1.100}]}}}",
        "network: {controlPlaneLoadBalancing: {enabled: true, type: Keepalived, keepalived: {virtualServers: [{ipAddress: 192.168.1.100}]}}}",
        (V130,),
        (V131, V136),
    ),
    ("K0S040", "network: {podCIDR: 10.96.0.0/16}", "network: {podCIDR: 10.244.0.0/16}", ALL, ()),
    (
        "K0S040",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd00::/108'}, kubeProxy: {mode: ipvs}}",
        "network: {dualStack: {enabled: true, IPv6podCIDR: 'fd00::/64', IPv6serviceCIDR: 'fd01::/108'}, kubeProxy: {mode: ipvs}}",
        ALL,
        (),
    ),
    ("K0S041", "network: {serviceCIDR: 10.43.0.0/12}", "network: {serviceCIDR: 10.32.0.0/12}", ALL, ()),
    ("K0S042", "api: {sans: ['<LB_DNS_NAME>']}", "api: {sans: [lb.example.com]}", ALL, ()),
]


def config(spec: str) -> str:
    return "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  " + spec + "\n"


def rules_for(tmp_path: Path, text: str, version: str, name: str = "k0s.yaml") -> list[str]:
    write(tmp_path, f"c/{name}", text)
    return [f.rule for f in check_paths(["c"], cwd=tmp_path, k0s_version=version).findings if f.severity >= 2]


@pytest.mark.parametrize(
    ("rule", "bad", "good", "hits", "passes"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_hit_clean_and_release_range(
    tmp_path: Path, rule: str, bad: str, good: str, hits: tuple[str, ...], passes: tuple[str, ...]
) -> None:
    for version in hits:
        assert rule in rules_for(tmp_path, config(bad), version), (version, bad)
        assert rule not in rules_for(tmp_path, config(good), version), (version, good)
    for version in passes:
        assert rule not in rules_for(tmp_path, config(bad), version), (version, bad)


def test_finding_points_at_the_node_and_says_what_k0s_uses(tmp_path: Path) -> None:
    write(
        tmp_path, "c/k0s.yaml", config("network:\n    serviceCIDR: 10.43.0.0/12\n    podCIDR: 10.244.0.0/16")
    )
    findings = check_paths(["c"], cwd=tmp_path, k0s_version=V130).findings
    (bits,) = only(findings, "K0S041")
    assert (bits.line, bits.column, bits.node) == (5, 18, "spec.network.serviceCIDR")
    assert "10.32.0.0/12" in bits.message


def test_placeholder_address_is_one_finding_not_two(tmp_path: Path) -> None:
    write(tmp_path, "c/k0s.yaml", config("api:\n    address: <LAN_IP>"))
    findings = check_paths(["c"], cwd=tmp_path, k0s_version=V136).findings
    assert [f.rule for f in findings if f.severity >= 2] == ["K0S042"]
    assert only(findings, "K0S042")[0].line == 5


def test_embedded_config_is_checked_too(tmp_path: Path) -> None:
    text = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  hosts:
    - role: controller
      ssh: {address: 10.0.0.1}
  k0s:
    version: v1.30.14+k0s.0
    config:
      spec:
        network:
          kubeProxy: {mode: nftables}
"""
    write(tmp_path, "c/k0sctl.yaml", text)
    (finding,) = only(check_paths(["c"], cwd=tmp_path).findings, "K0S022")
    assert finding.line == 12 and finding.node == "spec.k0s.config.spec.network.kubeProxy.mode"


K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
spec:
  hosts:
{hosts}
  k0s:
    version: {version}
{extra}"""


@pytest.mark.parametrize(
    ("rule", "bad_hosts", "good_hosts"),
    [
        (
            "K0S030",
            "    - role: worker\n      ssh: {address: 10.0.0.2}",
            "    - role: controller\n      ssh: {address: 10.0.0.2}",
        ),
        (
            "K0S030",
            "    - role: single\n      ssh: {address: 10.0.0.1}\n    - role: worker\n      ssh: {address: 10.0.0.2}",
            "    - role: controller+worker\n      ssh: {address: 10.0.0.1}\n    - role: worker\n      ssh: {address: 10.0.0.2}",
        ),
        ("K0S030", "    - role: single", "    - role: single\n      localhost: {enabled: true}"),
        (
            "K0S030",
            "    - role: single\n      ssh: {address: 10.0.0.1}\n      localhost: {enabled: true}",
            "    - role: single\n      ssh: {address: 10.0.0.1}",
        ),
        (
            "K0S030",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      privateAddress: node-1",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      privateAddress: 10.1.0.1",
        ),
        (
            "K0S030",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      noTaints: true",
            "    - role: controller+worker\n      ssh: {address: 10.0.0.1}\n      noTaints: true",
        ),
        (
            "K0S030",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      useExistingK0s: true\n      uploadBinary: true",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      useExistingK0s: true",
        ),
        (
            "K0S030",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      installFlags: ['--labels=\"a=b']",
            "    - role: controller\n      ssh: {address: 10.0.0.1}\n      installFlags: ['--labels=\"a=b\"']",
        ),
        (
            "K0S042",
            "    - role: controller\n      ssh: {address: <CONTROLLER_IP>}",
            "    - role: controller\n      ssh: {address: 10.0.0.1}",
        ),
    ],
)
def test_k0sctl_hosts(tmp_path: Path, rule: str, bad_hosts: str, good_hosts: str) -> None:
    bad = K0SCTL.format(hosts=bad_hosts, version=V130, extra="")
    good = K0SCTL.format(hosts=good_hosts, version=V130, extra="")
    assert rule in rules_for(tmp_path, bad, V130, "k0sctl.yaml"), bad
    assert rule not in rules_for(tmp_path, good, V130, "k0sctl.yaml"), good


def test_k0sctl_version_floors(tmp_path: Path) -> None:
    hosts = "    - role: single\n      localhost: {enabled: true}"
    dynamic = "    dynamicConfig: true\n"
    old = K0SCTL.format(hosts=hosts, version="v1.22.1+k0s.0", extra=dynamic)
    write(tmp_path, "c/k0sctl.yaml", old)
    (finding,) = only(check_paths(["c"], cwd=tmp_path).findings, "K0S031")
    assert finding.node == "spec.k0s.dynamicConfig" and "1.22.2+k0s.2" in finding.message
    fine = K0SCTL.format(hosts=hosts, version="v1.22.2+k0s.2", extra=dynamic)
    write(tmp_path, "c/k0sctl.yaml", fine)
    assert only(check_paths(["c"], cwd=tmp_path).findings, "K0S031") == []


def test_semantic_unit_grammar() -> None:
    from checker.validate.semantic import is_go_dns_name, is_ip, is_rfc1123_name, parse_cidr

    assert is_ip("10.0.0.1") and is_ip("fd00::1") and not is_ip("10.0.0.1/8") and not is_ip("fe80::1%eth0")
    assert is_go_dns_name("my_host.example.com") and not is_rfc1123_name("my_host.example.com")
    assert is_go_dns_name("api.example.com.") and is_rfc1123_name("api.example.com.")
    assert not is_go_dns_name("10.0.0.1") and not is_go_dns_name("a..b") and not is_go_dns_name("")
    assert parse_cidr("10.43.0.0/12") is not None and str(parse_cidr("10.43.0.0/12")) == "10.32.0.0/12"
    assert parse_cidr("10.0.0.0") is None and parse_cidr("10.0.0.0/33") is None
    assert textwrap.dedent("x") == "x"
