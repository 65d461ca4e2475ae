"""Generate the per-release JSON Schemas under ``schemas/<minor>/``.

For every k0s minor release 1.21 .. 1.36 this writes:

* ``clusterconfig.schema.json``: the k0s ClusterConfig, converted from the release's CRD
  (``k0s-crds/<minor>/clusterconfigs.yaml``); 1.21 has no CRD and is derived from 1.22.
* ``autopilot-plan.schema.json``: the autopilot Plan, converted from ``k0s-crds/<minor>/plans.yaml``
  (only where that file exists, 1.24+).
* ``autopilot-updateconfig.schema.json``: the autopilot UpdateConfig, written by hand (same minors as
  the Plan).
* ``k0sctl-cluster.schema.json``: the k0sctl Cluster file, written by hand (same content for every minor).

The CRD conversion keeps the structure (types, enums, required keys, allowed properties, defaults and
bounds) and drops every upstream ``description``; the descriptions in the output are our own and come from
the ``*_DESCRIPTIONS`` tables below, keyed by property path (``a.b`` for properties, ``[]`` for array items,
``*`` for the values of a map).

Usage: ``python tools/gen_schemas.py [--reference DIR] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

Schema = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "schemas"

MINORS: tuple[str, ...] = tuple(f"1.{n}" for n in range(21, 37))
#: 1.21 has no ClusterConfig CRD; its schema is derived from this minor's CRD.
DERIVED_CLUSTERCONFIG: Mapping[str, str] = {"1.21": "1.22"}

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://k0s-policy.dev/schemas"

CLUSTERCONFIG_FILE = "clusterconfig.schema.json"
PLAN_FILE = "autopilot-plan.schema.json"
UPDATECONFIG_FILE = "autopilot-updateconfig.schema.json"
K0SCTL_FILE = "k0sctl-cluster.schema.json"

K0S_API_VERSION = "k0s.k0sproject.io/v1beta1"
AUTOPILOT_API_VERSION = "autopilot.k0sproject.io/v1beta2"
K0SCTL_API_VERSION = "k0sctl.k0sproject.io/v1beta1"

#: k0s validates image versions in Go (``ImageSpec.Validate``): a docker tag, from 1.27 optionally
#: followed by a digest (any algorithm, 32 or more hex digits, as the OCI reference grammar allows).
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
IMAGE_VERSION_PATTERN = (
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    r"(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
IMAGE_DIGEST_SINCE = (1, 27)
#: Subtrees of ``spec`` that hold ``{image, version}`` objects, and the first minor whose
#: ``Validate()`` checks their versions: the node-local load balancer's image since it exists (1.26),
#: ``spec.images`` only from 1.31 (1.26-1.30 ``ClusterImages.Validate`` checks the pull policy only).
IMAGE_SPEC_ROOTS: Mapping[str, tuple[int, int]] = {
    "spec.images.": (1, 31),
    "spec.network.nodeLocalLoadBalancing.": (1, 26),
}

#: Keys under ``spec`` that k0s accepts and silently ignores (strict parsing skips them).
IGNORED_SPEC_KEYS = ("interval", "podSecurityPolicy")

# CRD keywords and what happens to them.
KEPT_KEYWORDS = frozenset(
    {
        "type",
        "required",
        "enum",
        "default",
        "minimum",
        "maximum",
        "pattern",
        "format",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
    }
)
DROPPED_KEYWORDS = frozenset({"description", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"})
SPECIAL_KEYWORDS = frozenset(
    {
        "properties",
        "items",
        "additionalProperties",
        "nullable",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
    }
)

# ---------------------------------------------------------------------------------------------------------
# Our own descriptions, keyed by property path. Every key must match in at least one generated schema.

CLUSTERCONFIG_DESCRIPTIONS: Mapping[str, str] = {
    "apiVersion": "Group and version of the k0s configuration document.",
    "kind": "Document kind: ClusterConfig, or the legacy Cluster used by old k0s examples.",
    "metadata": "Object metadata; only the name matters to k0s.",
    "status": "Not used in configuration files.",
    "spec": "Cluster-wide settings of k0s.",
    "spec.api": "Settings of the Kubernetes API server: addresses, ports, certificate SANs and extra flags.",
    "spec.storage": "Datastore that keeps the cluster state: etcd (default) or kine.",
    "spec.network": "Pod and service networking, the CNI plugin and the node-local load balancer.",
    "spec.network.provider": "CNI plugin deployed by k0s; custom means you install your own.",
    "spec.network.nodeLocalLoadBalancing": (
        "A proxy on every worker that spreads traffic to the API server over all controllers (k0s 1.26+)."
    ),
    "spec.network.nodeLocalLoadBalancing.enabled": (
        "Turns the per-worker load balancer on; not allowed together with spec.api.externalAddress."
    ),
    "spec.network.nodeLocalLoadBalancing.type": "Which proxy implementation runs on the workers.",
    "spec.network.nodeLocalLoadBalancing.envoyProxy": "Settings used when the type is EnvoyProxy.",
    "spec.network.nodeLocalLoadBalancing.envoyProxy.image": (
        "Envoy image; a missing name or tag falls back to the release default."
    ),
    "spec.network.nodeLocalLoadBalancing.envoyProxy.imagePullPolicy": (
        "Pull policy of the Envoy image; when unset the cluster-wide default_pull_policy applies."
    ),
    "spec.network.nodeLocalLoadBalancing.envoyProxy.apiServerBindPort": (
        "Port on each worker's loopback where the balanced API server is reachable."
    ),
    "spec.network.nodeLocalLoadBalancing.envoyProxy.konnectivityServerBindPort": (
        "Port on each worker's loopback where the balanced konnectivity server is reachable."
    ),
    "spec.network.nodeLocalLoadBalancing.traefik": "Settings used when the type is Traefik (k0s 1.36+).",
    "spec.network.nodeLocalLoadBalancing.traefik.image": (
        "Traefik image; a missing name or tag falls back to the release default."
    ),
    "spec.network.nodeLocalLoadBalancing.traefik.imagePullPolicy": (
        "Pull policy of the Traefik image; when unset the cluster-wide default_pull_policy applies."
    ),
    "spec.network.nodeLocalLoadBalancing.traefik.apiServerBindPort": (
        "Port on each worker's loopback where the balanced API server is reachable."
    ),
    "spec.network.nodeLocalLoadBalancing.traefik.konnectivityServerBindPort": (
        "Port on each worker's loopback where the balanced konnectivity server is reachable."
    ),
    "spec.images": (
        "Overrides for the images of the system components that k0s runs; omitted ones use defaults."
    ),
    "spec.images.konnectivity": "Image of the konnectivity agent on the workers.",
    "spec.images.pushgateway": "Image of the push gateway that collects control plane metrics.",
    "spec.images.metricsserver": "Image of metrics-server.",
    "spec.images.kubeproxy": "Image of kube-proxy; its default tag follows the Kubernetes patch release.",
    "spec.images.coredns": "Image of CoreDNS.",
    "spec.images.pause": "Pod sandbox (pause) image; a key of spec.images only from k0s 1.28.",
    "spec.images.calico": "Images used when the network provider is calico.",
    "spec.images.calico.cni": "Image of the Calico CNI plugin installer.",
    "spec.images.calico.node": "Image of the calico-node agent.",
    "spec.images.calico.kubecontrollers": "Image of the Calico kube-controllers deployment.",
    "spec.images.calico.windows": "Calico images for Windows workers (k0s 1.34+).",
    "spec.images.calico.windows.cni": "Image of the Calico CNI plugin installer on Windows workers.",
    "spec.images.calico.windows.node": "Image of the calico-node agent on Windows workers.",
    "spec.images.kuberouter": "Images used when the network provider is kuberouter.",
    "spec.images.kuberouter.cni": "Image of kube-router itself.",
    "spec.images.kuberouter.cniInstaller": (
        "Image that copies the CNI plugin binaries onto the node for kube-router."
    ),
    "spec.images.windows": "Images for Windows workers (k0s 1.34+).",
    "spec.images.windows.kubeproxy": "Image of kube-proxy on Windows workers.",
    "spec.images.windows.pause": "Pod sandbox (pause) image on Windows workers.",
    "spec.images.repository": (
        "Registry (optionally with a path) that replaces the registry of every bundled image, e.g. a mirror."
    ),
    "spec.images.default_pull_policy": (
        "Pull policy for every bundled image; k0s before 1.26 accepts any value but always uses IfNotPresent."
    ),
    "spec.konnectivity": "Ports of the konnectivity server that agents on the workers dial.",
    "spec.telemetry": "Anonymous usage statistics sent to the k0s project.",
    "spec.featureGates": "Kubernetes feature gates, each switched on or off for a list of components.",
    "spec.interval": "Legacy key: k0s accepts it and silently ignores it.",
    "spec.podSecurityPolicy": (
        "Legacy PodSecurityPolicy defaults: used up to k0s 1.24, accepted and silently ignored by k0s 1.25+."
    ),
    "dataDir": "Legacy top-level data directory key found only in the k0s 1.22 CRD.",
}

_PLAN_TARGET = {
    "discovery": "How the nodes are found: a static list of node names, or label/field selectors.",
    "limits": "How many nodes of this group are updated at the same time.",
}

PLAN_DESCRIPTIONS: Mapping[str, str] = {
    "apiVersion": "Group and version of the autopilot Plan.",
    "kind": "Always Plan.",
    "metadata": "Object metadata; autopilot only executes the plan named autopilot.",
    "status": "Progress written by autopilot; never part of an authored plan.",
    "spec": "The update the plan performs: an id, a timestamp and an ordered list of commands.",
    "spec.id": "Identifier chosen by the plan author, echoed back in the status.",
    "spec.timestamp": "Free-form time stamp chosen by the plan author.",
    "spec.commands": "Update steps run one after another; each has to complete before the next one starts.",
    "spec.commands[].k0supdate": (
        "Replaces the k0s binary on the selected controllers, then on the selected workers."
    ),
    "spec.commands[].k0supdate.version": "k0s version that the nodes are moved to.",
    "spec.commands[].k0supdate.platforms": (
        "Download per platform, keyed by OS and architecture such as linux-amd64 or linux-arm64."
    ),
    "spec.commands[].k0supdate.platforms.*.url": "Download location of the k0s binary for this platform.",
    "spec.commands[].k0supdate.platforms.*.sha256": "Expected SHA-256 checksum of the downloaded file.",
    "spec.commands[].k0supdate.targets": "Nodes to update; all controllers finish before any worker starts.",
    "spec.commands[].k0supdate.targets.controllers": (
        "Controller nodes to update, strictly one after another."
    ),
    "spec.commands[].k0supdate.targets.workers": "Worker nodes to update.",
    "spec.commands[].k0supdate.targets.controllers.discovery": _PLAN_TARGET["discovery"],
    "spec.commands[].k0supdate.targets.controllers.limits": _PLAN_TARGET["limits"],
    "spec.commands[].k0supdate.targets.workers.discovery": _PLAN_TARGET["discovery"],
    "spec.commands[].k0supdate.targets.workers.limits": _PLAN_TARGET["limits"],
    "spec.commands[].k0supdate.forceupdate": (
        "Skips the pre-flight check for API versions removed in the target release and forces the update."
    ),
    "spec.commands[].airgapupdate": "Delivers an air-gap image bundle to the selected workers.",
    "spec.commands[].airgapupdate.version": "k0s version whose image bundle is delivered.",
    "spec.commands[].airgapupdate.platforms": (
        "Bundle download per platform, keyed by OS and architecture such as linux-amd64."
    ),
    "spec.commands[].airgapupdate.platforms.*.url": (
        "Download location of the image bundle for this platform."
    ),
    "spec.commands[].airgapupdate.platforms.*.sha256": "Expected SHA-256 checksum of the downloaded bundle.",
    "spec.commands[].airgapupdate.workers": "Worker nodes that receive the bundle (controllers never do).",
    "spec.commands[].airgapupdate.workers.discovery": _PLAN_TARGET["discovery"],
    "spec.commands[].airgapupdate.workers.limits": _PLAN_TARGET["limits"],
}

UPDATECONFIG_DESCRIPTIONS: Mapping[str, str] = {
    "apiVersion": "Group and version of the autopilot UpdateConfig.",
    "kind": "Always UpdateConfig.",
    "metadata": "Object metadata.",
    "spec": "Where autopilot looks for new k0s releases, when it may update, and the plan it creates.",
    "spec.channel": "Release channel polled on the update server.",
    "spec.updateServer": "Base URL of the update server.",
    "spec.upgradeStrategy": "When autopilot is allowed to start an update.",
    "spec.upgradeStrategy.type": "Scheduling mode: a cron expression or periodic maintenance windows.",
    "spec.upgradeStrategy.cron": "Cron expression for update checks (older form of the strategy).",
    "spec.upgradeStrategy.periodic": "Maintenance window: week days, a start time and a duration.",
    "spec.upgradeStrategy.periodic.days": "Week days on which the window opens.",
    "spec.upgradeStrategy.periodic.startTime": "Time of day at which the window opens, e.g. 13:00.",
    "spec.upgradeStrategy.periodic.length": "How long the window stays open, e.g. 2h.",
    "spec.planSpec": "Template of the Plan that is created when an update is available.",
}

K0SCTL_DESCRIPTIONS: Mapping[str, str] = {
    "apiVersion": "k0sctl file format version; k0sctl accepts only this value.",
    "kind": "Document kind; k0sctl accepts Cluster or cluster.",
    "metadata": "Name of the cluster and of the admin user in the generated kubeconfig.",
    "spec": "Hosts to manage, the k0s release and configuration to put on them, and k0sctl's own options.",
    "spec.hosts": "Machines that k0sctl connects to; at least one has to carry a controller role.",
    "spec.hosts[].role": (
        "Node role: controller, worker, controller+worker, or single for a one-node cluster."
    ),
    "spec.hosts[].ssh": "Connect through k0sctl's built-in SSH client.",
    "spec.hosts[].winRM": "Connect to a Windows host over WinRM.",
    "spec.hosts[].localhost": "Manage the machine k0sctl itself runs on.",
    "spec.hosts[].openSSH": "Connect through the system's OpenSSH client and its ssh_config.",
    "spec.hosts[].files": "Files to upload to the host, given inline or as a local path, glob or URL.",
    "spec.hosts[].hooks": "Shell commands run on the host before or after a k0sctl action.",
    "spec.hosts[].installFlags": "Extra command line flags for k0s install on this host.",
    "spec.k0s": "k0s release and configuration to deploy.",
    "spec.k0s.version": (
        "k0s version to run; when unset k0sctl keeps the running version or looks up the newest release."
    ),
    "spec.k0s.versionChannel": (
        "Channel used when looking up the newest release: stable, or latest with pre-releases."
    ),
    "spec.k0s.dynamicConfig": (
        "Run k0s with dynamic config (k0s 1.22.2+k0s.2 or newer); later cluster-wide changes are made with "
        "k0s config edit, not in this file."
    ),
    "spec.k0s.config": "Embedded k0s ClusterConfig, checked on its own against clusterconfig.schema.json.",
    "spec.options": "How k0sctl waits, drains nodes, limits concurrency and taints nodes before eviction.",
}


# ---------------------------------------------------------------------------------------------------------
# CRD conversion


def parse_minor(minor: str) -> tuple[int, int]:
    """ "1.30" -> (1, 30), for ordering minors."""
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def load_crd_schema(path: Path) -> Schema:
    """The ``openAPIV3Schema`` of the single version of the CRD in ``path``."""
    with path.open(encoding="utf-8") as handle:
        documents = [doc for doc in yaml.safe_load_all(handle) if doc]
    if len(documents) != 1 or documents[0].get("kind") != "CustomResourceDefinition":
        raise ValueError(f"{path}: expected exactly one CustomResourceDefinition")
    versions = documents[0]["spec"]["versions"]
    if len(versions) != 1:
        raise ValueError(f"{path}: expected exactly one version, found {len(versions)}")
    schema: Schema = versions[0]["schema"]["openAPIV3Schema"]
    return schema


def join(path: str, key: str) -> str:
    """The dotted path of a child key ("spec" + "api" -> "spec.api")."""
    return f"{path}.{key}" if path else key


def add_type(schema: Schema, extra: str) -> None:
    """Widen a schema's ``type`` by one more JSON type."""
    current = schema.get("type")
    types = [current] if isinstance(current, str) else list(current or [])
    if extra not in types:
        types.append(extra)
    schema["type"] = types[0] if len(types) == 1 else types


def is_image_spec(path: str, properties: Mapping[str, Any]) -> bool:
    """Whether a node is one of k0s's image specs (an ``image`` and a ``version`` under an image root)."""
    return path.startswith(tuple(IMAGE_SPEC_ROOTS)) and set(properties) == {"image", "version"}


def version_pattern(minor: tuple[int, int], path: str) -> str | None:
    """The pattern k0s's Validate() enforces on the image version at ``path`` in a release, if any."""
    since = next(since for root, since in IMAGE_SPEC_ROOTS.items() if path.startswith(root))
    if minor < since:
        return None
    return IMAGE_VERSION_PATTERN if minor >= IMAGE_DIGEST_SINCE else IMAGE_TAG_PATTERN


class Converter:
    """Converts one CRD ``openAPIV3Schema`` into JSON Schema 2020-12 for one minor release."""

    def __init__(self, minor: str, source: str) -> None:
        """A converter for one minor; ``source`` names the CRD file in error messages."""
        self.minor = minor
        self.source = source
        self.minor_key = parse_minor(minor)

    def convert(self, node: Mapping[str, Any], path: str) -> Schema:
        """One CRD node as our schema: the kept keywords, children converted, k0s's special cases applied."""
        unknown = set(node) - KEPT_KEYWORDS - DROPPED_KEYWORDS - SPECIAL_KEYWORDS
        if unknown:
            raise ValueError(f"{self.source}: {path or '<root>'}: unsupported keywords {sorted(unknown)}")
        out: Schema = {key: copy.deepcopy(value) for key, value in node.items() if key in KEPT_KEYWORDS}
        if "properties" in node:
            out["properties"] = {
                name: self.convert(child, join(path, name)) for name, child in node["properties"].items()
            }
        if "items" in node:
            out["items"] = self.convert(node["items"], f"{path}[]")
        additional = node.get("additionalProperties")
        if isinstance(additional, Mapping):
            out["additionalProperties"] = self.convert(additional, f"{path}.*")
        elif additional is not None:
            out["additionalProperties"] = bool(additional)
        if node.get("x-kubernetes-int-or-string"):
            out["type"] = ["integer", "string"]
        if node.get("nullable"):
            add_type(out, "null")
        if node.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", True)
        elif "properties" in out and "additionalProperties" not in out:
            # k0s unmarshals its configuration strictly: unknown keys are errors.
            out["additionalProperties"] = False
        return self.special_cases(out, path)

    def special_cases(self, out: Schema, path: str) -> Schema:
        """Where k0s accepts something other than what its CRD says, the schema follows k0s."""
        if path == "spec.network.provider" and "enum" not in out:
            # The CRD has a free string, but k0s's Network.Validate accepts only these three providers.
            return {**out, "enum": ["kuberouter", "calico", "custom"]}
        if path == "spec.workerProfiles[].values":
            # Raw kubelet configuration (json.RawMessage): the 1.22-1.24 CRDs call it a base64 string, but k0s
            # reads a YAML mapping here in every release.
            return {"type": "object", "additionalProperties": True}
        if is_image_spec(path, out.get("properties", {})):
            # k0s fills a missing image name or tag from its defaults before parsing, so neither is required
            # in a configuration file (the 1.31+ CRDs list both as required).
            out.pop("required", None)
            version = out["properties"]["version"]
            pattern = version_pattern(self.minor_key, path)
            # Replaces the 1.31+ CRD pattern too: it uses a POSIX class ([[:xdigit:]]) that ECMA-262
            # regular expressions do not support.
            version.pop("pattern", None)
            if pattern is not None:
                version["pattern"] = pattern
        return out


# ---------------------------------------------------------------------------------------------------------
# Walking schemas by property path


def iter_paths(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Schema]]:
    """Yield ``(path, sub-schema)`` for every property, array item and map value below ``schema``."""
    for name, child in (schema.get("properties") or {}).items():
        child_path = join(path, name)
        yield child_path, child
        yield from iter_paths(child, child_path)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield f"{path}[]", items
        yield from iter_paths(items, f"{path}[]")
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping):
        yield f"{path}.*", additional
        yield from iter_paths(additional, f"{path}.*")


def apply_descriptions(schema: Schema, descriptions: Mapping[str, str], used: set[str]) -> None:
    """Put our own description on every path that has one, and record which were used."""
    for path, sub in iter_paths(schema):
        text = descriptions.get(path)
        if text is not None:
            sub["description"] = text
            used.add(path)


# ---------------------------------------------------------------------------------------------------------
# Documents


def header(minor: str, filename: str, title: str, comment: str) -> Schema:
    """The keys every generated schema starts with: dialect, id, title and the generator's comment."""
    return {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}/{minor}/{filename}",
        "title": title,
        "$comment": comment,
    }


def clusterconfig_schema(crd: Mapping[str, Any], minor: str, crd_minor: str) -> Schema:
    """The ClusterConfig schema of one minor, from its CRD plus what k0s's decoder does beyond it."""
    converter = Converter(minor, f"k0s-crds/{crd_minor}/clusterconfigs.yaml")
    crd_properties: Mapping[str, Any] = crd["properties"]
    spec = converter.convert(crd_properties["spec"], "spec")
    spec_properties: Schema = spec.setdefault("properties", {})
    for key in IGNORED_SPEC_KEYS:
        spec_properties.setdefault(key, {})
    properties: Schema = {
        # What the API server and kubeconform require. `k0s --config` checks neither: the check
        # ignores these two for ClusterConfigs, whose recognition decides (checker/k0s/documents.py).
        "apiVersion": {"type": "string", "const": K0S_API_VERSION},
        "kind": {"type": "string", "enum": ["ClusterConfig", "Cluster"]},
        "metadata": {"type": "object"},
        "spec": spec,
        "status": {},
    }
    for name, child in crd_properties.items():
        if name not in properties:
            properties[name] = converter.convert(child, name)
    if minor == crd_minor:
        comment = (
            f"Generated by tools/gen_schemas.py from the k0s {minor} ClusterConfig CRD "
            f"(k0s-crds/{crd_minor}/clusterconfigs.yaml). Regenerate instead of editing."
        )
    else:
        comment = (
            f"Generated by tools/gen_schemas.py. Derived from the k0s {crd_minor} ClusterConfig CRD: "
            f"k0s {minor} has no ClusterConfig CRD (no dynamic config) but reads the same configuration "
            "keys. Regenerate instead of editing."
        )
    schema = header(minor, CLUSTERCONFIG_FILE, f"k0s ClusterConfig (k0s {minor})", comment)
    schema.update({"type": "object", "properties": properties, "additionalProperties": False})
    return schema


def plan_schema(crd: Mapping[str, Any], minor: str) -> Schema:
    """The autopilot Plan schema of one minor, from its CRD."""
    converter = Converter(minor, f"k0s-crds/{minor}/plans.yaml")
    root = converter.convert(crd, "")
    properties: Schema = root["properties"]
    properties["apiVersion"] = {"type": "string", "const": AUTOPILOT_API_VERSION}
    properties["kind"] = {"type": "string", "const": "Plan"}
    required = [key for key in ("apiVersion", "kind") if key not in root.get("required", [])]
    root["required"] = required + list(root.get("required", []))
    comment = (
        f"Generated by tools/gen_schemas.py from the k0s {minor} autopilot Plan CRD "
        f"(k0s-crds/{minor}/plans.yaml). Regenerate instead of editing."
    )
    schema = header(minor, PLAN_FILE, f"k0s autopilot Plan (k0s {minor})", comment)
    schema.update(root)
    return schema


def obj(properties: Schema, *, closed: bool = True, required: list[str] | None = None) -> Schema:
    """An object schema; ``closed`` forbids keys that are not listed."""
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": not closed}
    if required:
        out["required"] = required
    return out


def string(**extra: Any) -> Schema:
    """A string schema with extra keywords."""
    return {"type": "string", **extra}


def boolean(**extra: Any) -> Schema:
    """A boolean schema with extra keywords."""
    return {"type": "boolean", **extra}


def integer(**extra: Any) -> Schema:
    """An integer schema with extra keywords."""
    return {"type": "integer", **extra}


def string_list() -> Schema:
    """An array of strings."""
    return {"type": "array", "items": string()}


def string_map() -> Schema:
    """An object of string values."""
    return {"type": "object", "additionalProperties": string()}


def updateconfig_body() -> Schema:
    """UpdateConfig (k0s-facts 5.3). The facts are thin, so unknown keys are allowed below ``spec``."""
    periodic = obj(
        {"days": string_list(), "startTime": string(), "length": string()},
        closed=False,
    )
    strategy = obj(
        {"type": string(enum=["cron", "periodic"]), "cron": string(), "periodic": periodic},
        closed=False,
    )
    spec = obj(
        {
            "channel": string(),
            "updateServer": string(default="https://updates.k0sproject.io"),
            "upgradeStrategy": strategy,
            "planSpec": {"type": "object"},
        },
        closed=False,
    )
    return obj(
        {
            "apiVersion": string(const=AUTOPILOT_API_VERSION),
            "kind": string(const="UpdateConfig"),
            "metadata": {"type": "object"},
            "spec": spec,
            "status": {},
        },
        required=["apiVersion", "kind", "spec"],
    )


def k0sctl_body() -> Schema:
    """k0sctl Cluster file (k0sctl-cluster-format.md, k0sctl v0.32.2)."""
    ssh = obj(
        {
            "address": string(),
            "user": string(default="root"),
            "port": integer(default=22),
            "keyPath": string(),
            "bastion": {"type": "object"},
        },
        closed=False,  # the notes do not list every SSH option
    )
    winrm = obj(
        {
            "address": string(),
            "user": string(default="Administrator"),
            "port": integer(default=5985),
            "password": string(),
            "useHTTPS": boolean(),
            "insecure": boolean(),
            "useNTLM": boolean(),
            "caCertPath": string(),
            "certPath": string(),
            "keyPath": string(),
            "tlsServerName": string(),
            "bastion": {"type": "object"},
        }
    )
    openssh = obj(
        {
            "address": string(),
            "user": string(),
            "port": integer(),
            "keyPath": string(),
            "configPath": string(),
            "disableMultiplexing": boolean(),
            "options": {"type": "object"},
        }
    )
    permission: Schema = {"type": ["string", "integer"]}
    upload = obj(
        {
            "name": string(),
            "src": string(),
            "data": string(),
            "dstDir": string(),
            "dst": string(),
            "perm": permission,
            "dirPerm": {**permission, "default": "0755"},
            "user": string(),
            "group": string(),
        }
    )
    upload["anyOf"] = [{"required": ["src"]}, {"required": ["data"]}]
    before_after = obj({"before": string_list(), "after": string_list()})
    hooks = obj(
        {
            "connect": obj({"after": string_list()}),
            "apply": before_after,
            "upgrade": before_after,
            "install": before_after,
            "backup": before_after,
            "reset": before_after,
        }
    )
    host = obj(
        {
            "ssh": ssh,
            "winRM": winrm,
            "localhost": obj({"enabled": boolean()}),
            "openSSH": openssh,
            "role": string(enum=["controller", "worker", "controller+worker", "single"]),
            "reset": boolean(default=False),
            "privateInterface": string(),
            "privateAddress": string(),
            "dataDir": string(default="/var/lib/k0s"),
            "kubeletRootDir": string(),
            "environment": string_map(),
            "uploadBinary": boolean(default=False),
            "useExistingK0s": boolean(default=False),
            "k0sBinaryPath": string(),
            "k0sInstallPath": string(),
            "k0sDownloadURL": string(),
            "installFlags": string_list(),
            "files": {"type": "array", "items": upload},
            "os": string(),
            "hostname": string(),
            "noTaints": boolean(default=False),
            "hooks": hooks,
        },
        required=["role"],
    )
    k0s = obj(
        {
            "version": string(),
            "versionChannel": string(enum=["stable", "latest"], default="stable"),
            "dynamicConfig": boolean(default=False),
            "config": {"type": "object"},
        }
    )
    options = obj(
        {
            "wait": obj({"enabled": boolean(default=True)}),
            "drain": obj(
                {
                    "enabled": boolean(default=True),
                    "gracePeriod": string(default="120s"),
                    "timeout": string(default="300s"),
                    "force": boolean(default=True),
                    "ignoreDaemonSets": boolean(default=True),
                    "deleteEmptyDirData": boolean(default=True),
                    "podSelector": string(default=""),
                    "skipWaitForDeleteTimeout": string(default="0s"),
                }
            ),
            "concurrency": obj(
                {
                    "limit": integer(default=30, minimum=1),
                    "workerDisruptionPercent": integer(default=10, minimum=0, maximum=100),
                    "uploads": integer(default=5, minimum=1),
                }
            ),
            "evictTaint": obj(
                {
                    "enabled": boolean(default=False),
                    "taint": string(default="k0sctl.k0sproject.io/evict=true"),
                    "effect": string(default="NoExecute"),
                    "controllerWorkers": boolean(default=False),
                }
            ),
        }
    )
    spec = obj(
        {"hosts": {"type": "array", "items": host, "minItems": 1}, "k0s": k0s, "options": options},
        required=["hosts"],
    )
    return obj(
        {
            "apiVersion": string(const=K0SCTL_API_VERSION),
            "kind": string(enum=["Cluster", "cluster"]),
            "metadata": obj({"name": string(default="k0s-cluster"), "user": string(default="admin")}),
            "spec": spec,
        },
        required=["apiVersion", "kind", "spec"],
    )


# ---------------------------------------------------------------------------------------------------------
# Output


def render(schema: Mapping[str, Any]) -> str:
    """The schema as the committed file holds it: sorted keys, two-space indent, one final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, schema: Mapping[str, Any]) -> None:
    """Write one schema file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(schema), encoding="utf-8", newline="\n")


def build(reference: Path) -> dict[str, Schema]:
    """All schemas, keyed by ``<minor>/<file name>``."""
    crds = reference / "k0s-crds"
    if not crds.is_dir():
        raise FileNotFoundError(f"{crds}: no such directory (pass --reference)")
    used: dict[str, set[str]] = {
        "clusterconfig": set(),
        "plan": set(),
        "updateconfig": set(),
        "k0sctl": set(),
    }
    result: dict[str, Schema] = {}

    def clusterconfig(minor: str) -> Schema:
        """The ClusterConfig schema of ``minor`` (or of the minor whose CRD it shares)."""
        crd_minor = DERIVED_CLUSTERCONFIG.get(minor, minor)
        return clusterconfig_schema(
            load_crd_schema(crds / crd_minor / "clusterconfigs.yaml"), minor, crd_minor
        )

    def plan(minor: str) -> Schema | None:
        """The Plan schema of ``minor``, or None where that release has no autopilot CRDs."""
        path = crds / minor / "plans.yaml"
        return plan_schema(load_crd_schema(path), minor) if path.is_file() else None

    def updateconfig(minor: str) -> Schema | None:
        """The UpdateConfig schema of ``minor``, or None where that release has no autopilot CRDs."""
        if not (crds / minor / "plans.yaml").is_file():
            return None
        comment = (
            "Generated by tools/gen_schemas.py (updateconfig_body, modelled on notes about the autopilot "
            "UpdateConfig; lenient where the notes are incomplete). Regenerate instead of editing."
        )
        title = f"k0s autopilot UpdateConfig (k0s {minor})"
        return {**header(minor, UPDATECONFIG_FILE, title, comment), **updateconfig_body()}

    def k0sctl(minor: str) -> Schema:
        """The k0sctl Cluster schema, the same for every minor (k0sctl is versioned on its own)."""
        comment = (
            "Generated by tools/gen_schemas.py (k0sctl_body, modelled on notes about the k0sctl Cluster file "
            "format, k0sctl v0.32.2). k0sctl is versioned separately, so every k0s minor gets the same "
            "content; spec.k0s.config is checked against clusterconfig.schema.json. "
            "Regenerate instead of editing."
        )
        return {**header(minor, K0SCTL_FILE, f"k0sctl Cluster (k0s {minor})", comment), **k0sctl_body()}

    described: list[tuple[str, Mapping[str, str], Callable[[str], Schema | None]]] = [
        ("clusterconfig", CLUSTERCONFIG_DESCRIPTIONS, clusterconfig),
        ("plan", PLAN_DESCRIPTIONS, plan),
        ("updateconfig", UPDATECONFIG_DESCRIPTIONS, updateconfig),
        ("k0sctl", K0SCTL_DESCRIPTIONS, k0sctl),
    ]
    filenames = {
        "clusterconfig": CLUSTERCONFIG_FILE,
        "plan": PLAN_FILE,
        "updateconfig": UPDATECONFIG_FILE,
        "k0sctl": K0SCTL_FILE,
    }
    for minor in MINORS:
        for name, descriptions, make in described:
            schema = make(minor)
            if schema is None:
                continue
            apply_descriptions(schema, descriptions, used[name])
            result[f"{minor}/{filenames[name]}"] = schema
    for name, descriptions, _ in described:
        unused = sorted(set(descriptions) - used[name])
        if unused:
            raise ValueError(f"{name}: description keys that match no property: {unused}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Regenerate every schema under schemas/ from the reference CRDs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help="directory with k0s-crds/ (default: ../shared/reference next to the repository)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: schemas/)")
    args = parser.parse_args(argv)
    try:
        schemas = build(args.reference)
    except (OSError, ValueError) as error:
        print(f"gen_schemas: {error}", file=sys.stderr)
        return 1
    for relative, schema in sorted(schemas.items()):
        write(args.out / relative, schema)
    print(f"gen_schemas: wrote {len(schemas)} schemas to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
