"""Generate what ``k0s config create`` prints for each k0s minor 1.21 .. 1.36, as test fixtures.

The output of ``k0s config create`` (``k0s default-config`` before 1.23) is the most common real k0s
file, and a valid configuration of its release. Lacking the binaries, this builds it from facts:

* one template of ``DefaultClusterConfig()`` (k0s-validation.md section 1, k0s docs/configuration.md),
  cut down to the fields the release has (its schema under ``schemas/<minor>/``);
* the nulls the release prints: ``creationTimestamp: null``, ``calico: null``, ``charts: null``,
  ``repositories: null``, ``externalCluster: null`` in 1.22-1.30 (Go fields without ``omitempty``;
  1.21 marshals its own metadata type with yaml.v2 and has no ``creationTimestamp``), none from 1.31;
* ``status: {}`` in 1.22-1.26 (a struct, not a pointer), ``namespace: kube-system`` from 1.36;
* the images of the minor's newest patch (``policies/releases/<minor>.yaml``) up to 1.26, when
  ``config create`` always printed them; from 1.27 only with ``--include-images``.

Writes ``<out>/<minor>/k0s.yaml``. Usage: ``python tools/gen_default_configs.py [--out DIR] [--check]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = REPO_ROOT / "schemas"
RELEASES = REPO_ROOT / "policies" / "releases"
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "k0s-config-create"
MINORS: tuple[str, ...] = tuple(f"1.{n}" for n in range(21, 37))

ADDRESS = "192.168.68.104"

TEMPLATE: dict[str, Any] = {
    "apiVersion": "k0s.k0sproject.io/v1beta1",
    "kind": "ClusterConfig",
    "metadata": {"name": "k0s"},
    "spec": {
        "api": {"address": ADDRESS, "k0sApiPort": 9443, "port": 6443, "sans": [ADDRESS, "fe80::1"]},
        "controllerManager": {},
        "extensions": {
            "helm": {"concurrencyLevel": 5},
            "storage": {"create_default_storage_class": False, "type": "external_storage"},
        },
        "installConfig": {
            "users": {
                "etcdUser": "etcd",
                "kineUser": "kube-apiserver",
                "konnectivityUser": "konnectivity-server",
                "kubeAPIserverUser": "kube-apiserver",
                "kubeSchedulerUser": "kube-scheduler",
            }
        },
        "konnectivity": {"adminPort": 8133, "agentPort": 8132},
        "network": {
            "clusterDomain": "cluster.local",
            "dualStack": {},
            "kubeProxy": {
                "iptables": {"minSyncPeriod": "0s", "syncPeriod": "0s"},
                "ipvs": {
                    "minSyncPeriod": "0s",
                    "syncPeriod": "0s",
                    "tcpFinTimeout": "0s",
                    "tcpTimeout": "0s",
                    "udpTimeout": "0s",
                },
                "metricsBindAddress": "0.0.0.0:10249",
                "mode": "iptables",
                "nftables": {"minSyncPeriod": "0s", "syncPeriod": "0s"},
            },
            "kuberouter": {
                "autoMTU": True,
                "hairpin": "Enabled",
                "ipMasq": False,
                "metricsPort": 8080,
                "mtu": 0,
                "peerRouterASNs": "",
                "peerRouterIPs": "",
            },
            "nodeLocalLoadBalancing": {
                "enabled": False,
                "envoyProxy": {"apiServerBindPort": 7443, "konnectivityServerBindPort": 7132},
                "type": "EnvoyProxy",
            },
            "podCIDR": "10.244.0.0/16",
            "provider": "kuberouter",
            "serviceCIDR": "10.96.0.0/12",
        },
        "podSecurityPolicy": {"defaultPolicy": "00-k0s-privileged"},
        "scheduler": {},
        "storage": {"etcd": {"peerAddress": ADDRESS}, "type": "etcd"},
        "telemetry": {"enabled": True},
    },
}

#: (path, first minor without the null) of the nulls ``config create`` prints.
NULLS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("spec", "network", "calico"), 31),
    (("spec", "extensions", "helm", "charts"), 31),
    (("spec", "extensions", "helm", "repositories"), 31),
    (("spec", "storage", "etcd", "externalCluster"), 31),
)


def minor_number(minor: str) -> int:
    return int(minor.split(".")[1])


def prune(data: Any, schema: Mapping[str, Any]) -> Any:
    """Drops keys the release's schema does not have (the template is the union of all releases)."""
    if not isinstance(data, dict):
        return data
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return data
    return {
        key: prune(value, properties[key])
        for key, value in data.items()
        if key in properties and not (isinstance(properties[key], Mapping) and _placeholder(properties[key]))
    }


def _placeholder(schema: Mapping[str, Any]) -> bool:
    # spec.interval / spec.podSecurityPolicy where the release has no such field.
    return not (set(schema) - {"description"})


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def images(minor: str) -> tuple[dict[str, Any], dict[str, Any]]:
    release = yaml.safe_load((RELEASES / f"{minor}.yaml").read_text(encoding="utf-8"))
    newest = release["patches"][-1]
    out: dict[str, Any] = {}
    for component, reference in newest["images"].items():
        path = release["image_paths"].get(component)
        if not path or not path.startswith("spec.images."):
            continue
        name, _, tag = reference.rpartition(":")
        if "@" in reference:
            name, _, digest = reference.partition("@")
            name, _, tag = name.rpartition(":")
            tag = f"{tag}@{digest}"
        set_path(out, tuple(path.split(".")[2:]), {"image": name, "version": tag})
    out["default_pull_policy"] = release.get("default_pull_policy", "IfNotPresent")
    return out, newest


def build(minor: str) -> tuple[dict[str, Any], str]:
    number = minor_number(minor)
    schema = json.loads((SCHEMAS / minor / "clusterconfig.schema.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(TEMPLATE)
    if number == 21:
        data["kind"] = "Cluster"  # 1.21's default kind
    if 22 <= number <= 30:
        data["metadata"] = {"creationTimestamp": None, "name": "k0s"}
    if number >= 36:
        data["metadata"]["namespace"] = "kube-system"
    image_block, newest = images(minor)
    if number <= 26:
        data["spec"]["images"] = image_block
    data = prune(data, schema)
    for path, until in NULLS:
        if number < until and _exists(schema, path[:-1]) and _exists(schema, path):
            set_path(data, path, None)
    if 22 <= number <= 26:
        data["status"] = {}
    return data, newest["version"]


def _exists(schema: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = schema
    for part in path:
        properties = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(properties, Mapping) or part not in properties:
            return False
        node = properties[part]
    return True


def render(minor: str) -> str:
    data, version = build(minor)
    command = "k0s default-config" if minor_number(minor) <= 22 else "k0s config create"
    header = (
        f"# What `{command}` of k0s {version} prints, rebuilt by tools/gen_default_configs.py from the\n"
        "# release data and the facts about k0s's defaults; regenerate instead of editing.\n"
    )
    body = yaml.safe_dump(data, sort_keys=True, default_flow_style=False)
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when a fixture is not current")
    args = parser.parse_args(argv)
    stale = []
    for minor in MINORS:
        path = args.out / minor / "k0s.yaml"  # the name users give it: k0s reads the node's own file
        text = render(minor)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    if stale:
        print("gen_default_configs: stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.check:
        print(f"gen_default_configs: wrote {len(MINORS)} fixtures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
