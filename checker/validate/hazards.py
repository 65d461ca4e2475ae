"""What k0s accepts although the cluster will not survive it (no ``Validate()`` check catches these).

* pod and service ranges that overlap, also across the dual-stack ranges: Service IPs and pod IPs
  collide, routing breaks in ways that show up late;
* a CIDR written with host bits set (``10.43.0.0/12``): Go's ``net.ParseCIDR`` silently uses the
  network (``10.32.0.0/12``), which is rarely what the author meant;
* unfilled template placeholders (``<LAN_IP>``) in addresses, SANs and CIDRs, in a ClusterConfig or in
  a k0sctl file's host connections.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from checker.inputs.yamldoc import YamlPath, format_path
from checker.k0s.documents import K0sObject
from checker.validate.semantic import PLACEHOLDER, Problem, parse_cidr

# Rule ids, declared in checker.rules.semantic.
CIDR_OVERLAP = "K0S040"
HOST_BITS = "K0S041"
PLACEHOLDER_VALUE = "K0S042"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _cidrs(obj: K0sObject) -> list[tuple[str, YamlPath, str, Network]]:
    """(pod|service, path, text, network) of every range the cluster uses."""
    network = obj.get("spec", "network")
    network = network if isinstance(network, dict) else {}
    found: list[tuple[str, YamlPath, str, Network]] = []
    for role, key, default in (
        ("pod", "podCIDR", "10.244.0.0/16"),
        ("service", "serviceCIDR", "10.96.0.0/12"),
    ):
        value = network.get(key, default)
        parsed = parse_cidr(value) if isinstance(value, str) else None
        if parsed is not None:
            found.append((role, ("spec", "network", key), value, parsed))
    dual = network.get("dualStack")
    if isinstance(dual, dict) and dual.get("enabled") is True:
        for role, key in (("pod", "IPv6podCIDR"), ("service", "IPv6serviceCIDR")):
            value = dual.get(key)
            parsed = parse_cidr(value) if isinstance(value, str) else None
            if parsed is not None:
                found.append((role, ("spec", "network", "dualStack", key), value, parsed))
    return found


def clusterconfig_hazards(obj: K0sObject) -> Iterator[Problem]:
    for problem in (*_overlaps(obj), *_host_bits(obj), *_placeholders(obj, _CLUSTERCONFIG_PLACES)):
        if not obj.unknown_at(problem.path):
            yield problem


def k0sctl_hazards(obj: K0sObject) -> Iterator[Problem]:
    for problem in _placeholders(obj, _K0SCTL_PLACES):
        if not obj.unknown_at(problem.path):
            yield problem


def _overlaps(obj: K0sObject) -> Iterator[Problem]:
    ranges = _cidrs(obj)
    pods = [r for r in ranges if r[0] == "pod"]
    services = [r for r in ranges if r[0] == "service"]
    for _, pod_path, pod_text, pod in pods:
        for _, service_path, service_text, service in services:
            if pod.version == service.version and pod.overlaps(service):  # type: ignore[arg-type]
                written = (
                    pod_path
                    if len(pod_path) > len(service_path) or "podCIDR" in pod_path[-1]
                    else service_path
                )
                yield Problem(
                    CIDR_OVERLAP,
                    written,
                    f"pod range {pod_text} overlaps service range {service_text}; k0s accepts it, the cluster breaks",
                    "Choose pod and service ranges that do not overlap (defaults 10.244.0.0/16 and 10.96.0.0/12).",
                )


def _host_bits(obj: K0sObject) -> Iterator[Problem]:
    for _, path, text, network in _cidrs(obj):
        if not _written(obj, path):
            continue  # a default
        address = ipaddress.ip_address(text.split("/", 1)[0])
        if address != network.network_address:
            yield Problem(
                HOST_BITS,
                path,
                f"{text} has host bits set; k0s silently uses {network}",
                f"Write {network} if that is the range you mean.",
            )
    # Virtual IPs of control-plane load balancing are addresses with a prefix on purpose: not checked.


def _written(obj: K0sObject, path: YamlPath) -> bool:
    node: Any = obj.data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


_CLUSTERCONFIG_PLACES: tuple[YamlPath, ...] = (
    ("spec", "api", "address"),
    ("spec", "api", "externalAddress"),
    ("spec", "api", "sans", "*"),
    ("spec", "storage", "etcd", "peerAddress"),
    ("spec", "storage", "etcd", "externalCluster", "endpoints", "*"),
    ("spec", "network", "podCIDR"),
    ("spec", "network", "serviceCIDR"),
    ("spec", "network", "dualStack", "IPv6podCIDR"),
    ("spec", "network", "dualStack", "IPv6serviceCIDR"),
    ("spec", "network", "controlPlaneLoadBalancing", "keepalived", "vrrpInstances", "*", "virtualIPs", "*"),
    ("spec", "network", "controlPlaneLoadBalancing", "keepalived", "virtualServers", "*", "ipAddress"),
)
_K0SCTL_PLACES: tuple[YamlPath, ...] = (
    ("spec", "hosts", "*", "ssh", "address"),
    ("spec", "hosts", "*", "openSSH", "address"),
    ("spec", "hosts", "*", "winRM", "address"),
    ("spec", "hosts", "*", "ssh", "bastion", "address"),
    ("spec", "hosts", "*", "privateAddress"),
    ("spec", "hosts", "*", "hostname"),
)


def _expand(node: Any, pattern: YamlPath, path: YamlPath = ()) -> Iterator[tuple[YamlPath, Any]]:
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        items = enumerate(node) if isinstance(node, list) else ()
        for index, item in items:
            yield from _expand(item, rest, (*path, index))
    elif isinstance(node, dict) and head in node:
        yield from _expand(node[head], rest, (*path, head))


def _placeholders(obj: K0sObject, places: tuple[YamlPath, ...]) -> Iterator[Problem]:
    for pattern in places:
        for path, value in _expand(obj.data, pattern):
            if isinstance(value, str):
                match = PLACEHOLDER.search(value)
                if match:
                    yield Problem(
                        PLACEHOLDER_VALUE,
                        path,
                        f"{path[-1] if isinstance(path[-1], str) else format_path(path[-2:])} is still the "
                        f"template placeholder {match.group(0)}",
                        "Put the real value in, or generate the file with the values filled in.",
                    )
