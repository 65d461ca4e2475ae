"""The live state of a cluster: its ClusterConfig object, autopilot Plans and nodes.

Read either from exported files (``kubectl get clusterconfig -n kube-system k0s -o yaml``,
``kubectl get plans -o yaml``, ``kubectl get nodes -o yaml``; YAML or JSON, ``kind: List`` wrappers
included) or from the API server with the official ``kubernetes`` client, imported only then. The API
path only reads: one get and two lists, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from checker.inputs.yamldoc import parse_bytes
from checker.records import dataclass, field

K0S_GROUP = "k0s.k0sproject.io"
K0S_VERSION = "v1beta1"
AUTOPILOT_GROUP = "autopilot.k0sproject.io"
AUTOPILOT_VERSION = "v1beta2"
CONFIG_NAMESPACE = "kube-system"
CONFIG_NAME = "k0s"

CLUSTER_CONFIG = "ClusterConfig"
PLAN = "Plan"
NODE = "Node"
_KINDS = {
    (f"{K0S_GROUP}/{K0S_VERSION}", "ClusterConfig"): CLUSTER_CONFIG,
    (f"{K0S_GROUP}/{K0S_VERSION}", "Cluster"): CLUSTER_CONFIG,  # the legacy kind
    (f"{AUTOPILOT_GROUP}/{AUTOPILOT_VERSION}", "Plan"): PLAN,
    ("v1", "Node"): NODE,
}

# Labels that mark a node as part of the control plane. k0s sets both on controllers started with
# --enable-worker; controllers without it run no kubelet and are no Node objects at all.
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
K0S_ROLE_LABEL = "node.k0sproject.io/role"

DEFAULT_TIMEOUT = 20.0  # seconds per request (connect, read)
PAGE_SIZE = 500
MAX_PAGES = 200

_KUBE_VERSION = re.compile(r"v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)")


class LiveError(Exception):
    """The live state cannot be read: a missing or broken file, an unreachable or refusing API server."""


@dataclass(frozen=True)
class KubeVersion:
    """A Kubernetes version as a kubelet reports it (``v1.30.5+k0s``): the text and its numbers."""

    text: str
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: Any) -> KubeVersion | None:
        if not isinstance(text, str):
            return None
        match = _KUBE_VERSION.match(text.strip())
        if match is None:
            return None
        return cls(text.strip(), int(match["major"]), int(match["minor"]), int(match["patch"]))

    @property
    def minor_key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def minor_name(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)


@dataclass(frozen=True)
class LiveNode:
    name: str
    kubelet: KubeVersion | None
    kubelet_text: str
    control_plane: bool
    k0s_version: str = ""  # from a `*/k0s-version` label or annotation, when the node has one
    k0s_version_key: str = ""

    @property
    def version(self) -> KubeVersion | None:
        """The most precise version the node states: its k0s version label, else its kubelet."""
        return KubeVersion.parse(self.k0s_version) or self.kubelet

    @property
    def role(self) -> str:
        return "control plane" if self.control_plane else "worker"


@dataclass
class LiveState:
    """What was read, and from where. ``read`` names the kinds the source could have held: an exported
    file of nodes says nothing about the ClusterConfig object, an API read says everything."""

    source: str
    cluster_config: dict[str, Any] | None = None
    plans: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[LiveNode] = field(default_factory=list)
    read: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    @property
    def config_ref(self) -> str:
        metadata = (self.cluster_config or {}).get("metadata") or {}
        namespace = metadata.get("namespace") or CONFIG_NAMESPACE
        return f"clusterconfig/{namespace}/{metadata.get('name') or CONFIG_NAME}"


# --- nodes ---------------------------------------------------------------------------------------------


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def node_from(data: dict[str, Any]) -> LiveNode:
    metadata = _mapping(data.get("metadata"))
    labels = _mapping(metadata.get("labels"))
    annotations = _mapping(metadata.get("annotations"))
    kubelet_text = _mapping(_mapping(data.get("status")).get("nodeInfo")).get("kubeletVersion")
    control_plane = any(key in labels for key in CONTROL_PLANE_LABELS) or (
        labels.get(K0S_ROLE_LABEL) == "control-plane"
    )
    k0s_version, key = "", ""
    for source in (labels, annotations):
        for name, value in source.items():
            if isinstance(name, str) and name.rsplit("/", 1)[-1] == "k0s-version" and isinstance(value, str):
                k0s_version, key = value, name
                break
        if k0s_version:
            break
    return LiveNode(
        name=str(metadata.get("name") or "?"),
        kubelet=KubeVersion.parse(kubelet_text),
        kubelet_text=kubelet_text if isinstance(kubelet_text, str) else "",
        control_plane=control_plane,
        k0s_version=k0s_version,
        k0s_version_key=key,
    )


# --- files ---------------------------------------------------------------------------------------------


def _objects(data: Any, list_kind: str = "", list_api: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(our kind, object) for every object in a document, looking into List wrappers.

    Items of typed lists (NodeList, PlanList) may lack apiVersion and kind; they take the list's.
    """
    if not isinstance(data, dict):
        return
    kind = data.get("kind") or list_kind
    api = data.get("apiVersion") or list_api
    items = data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        item_kind = kind.removesuffix("List") if kind != "List" else ""
        for item in items:
            yield from _objects(item, item_kind, api if item_kind else "")
        return
    known = _KINDS.get((str(api), str(kind)))
    if known is not None:
        yield known, data


def load_files(paths: Sequence[str], cwd: Path | None = None) -> LiveState:
    """The live state from exported files; LiveError for an unreadable or unrecognised file."""
    cwd = cwd or Path.cwd()
    state = LiveState(source="files: " + ", ".join(paths))
    for shown in paths:
        path = Path(shown) if Path(shown).is_absolute() else cwd / shown
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise LiveError(f"--live {shown}: cannot read file: {err.strerror or err}") from None
        parsed = parse_bytes(shown, raw)
        if parsed.problems:
            problem = parsed.problems[0]
            raise LiveError(f"--live {shown}:{problem.mark.line}:{problem.mark.column}: {problem.message}")
        found = 0
        empty_list = False
        for document in parsed.documents:
            data = document.data
            if (
                isinstance(data, dict)
                and data.get("items") == []
                and str(data.get("kind", "")).endswith("List")
            ):
                empty_list = True  # `kubectl get plans -o yaml` when there are none
            for kind, obj in _objects(data):
                found += 1
                _add(state, kind, obj, shown)
        if not found and not empty_list:
            raise LiveError(
                f"--live {shown}: holds no ClusterConfig, autopilot Plan or Node; expected the output of "
                "`kubectl get clusterconfig -n kube-system k0s -o yaml`, `kubectl get plans -o yaml` or "
                "`kubectl get nodes -o yaml`"
            )
    return state


def _add(state: LiveState, kind: str, obj: dict[str, Any], origin: str) -> None:
    state.read.add(kind)
    if kind == NODE:
        state.nodes.append(node_from(obj))
    elif kind == PLAN:
        state.plans.append(obj)
    else:
        metadata = _mapping(obj.get("metadata"))
        name = metadata.get("name")
        namespace = metadata.get("namespace") or CONFIG_NAMESPACE
        if name != CONFIG_NAME or namespace != CONFIG_NAMESPACE:
            state.notes.append(
                f"{origin}: ClusterConfig {namespace}/{name} ignored; k0s only reads {CONFIG_NAMESPACE}/{CONFIG_NAME}"
            )
        elif state.cluster_config is not None:
            state.notes.append(f"{origin}: a second {CONFIG_NAMESPACE}/{CONFIG_NAME} ignored")
        else:
            state.cluster_config = obj


# --- the API server ------------------------------------------------------------------------------------


def read_cluster(
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> LiveState:
    """The live state from the API server: get the ClusterConfig object, list Plans and nodes.

    Credentials come from the kubeconfig (``kubeconfig``/``context``; the client's defaults otherwise)
    or, with ``in_cluster``, from the pod's service account.
    """
    configuration, where = client_configuration(kubeconfig, context, in_cluster)
    from kubernetes import client  # present: client_configuration imported it

    configuration.retries = 1  # fail fast: a scheduled audit reports, it does not wait out an outage
    state = LiveState(source=f"cluster {configuration.host} ({where})", read={CLUSTER_CONFIG, PLAN, NODE})
    with client.ApiClient(configuration) as api:
        custom = client.CustomObjectsApi(api)
        core = client.CoreV1Api(api)
        request = _Requester(configuration.host, timeout)
        state.cluster_config = request.one(
            lambda **kw: custom.get_namespaced_custom_object(
                K0S_GROUP, K0S_VERSION, CONFIG_NAMESPACE, "clusterconfigs", CONFIG_NAME, **kw
            ),
            f"clusterconfigs.{K0S_GROUP} {CONFIG_NAMESPACE}/{CONFIG_NAME}",
        )
        if state.cluster_config is None:
            state.notes.append(
                f"the cluster has no ClusterConfig object {CONFIG_NAMESPACE}/{CONFIG_NAME} (no dynamic config)"
            )
        plans = request.all(
            lambda **kw: custom.list_cluster_custom_object(AUTOPILOT_GROUP, AUTOPILOT_VERSION, "plans", **kw),
            f"plans.{AUTOPILOT_GROUP}",
        )
        if plans is None:
            state.notes.append("the cluster serves no autopilot Plans (autopilot not installed)")
        state.plans = plans or []
        nodes = request.all(lambda **kw: core.list_node(**kw), "nodes") or []
        state.nodes = [node_from(node) for node in nodes]
    return state


def client_configuration(
    kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False
) -> tuple[Any, str]:
    """The kubernetes client's configuration and a description of where the credentials came from:
    the kubeconfig (``kubeconfig``/``context``; the client's defaults otherwise) or, with
    ``in_cluster``, the pod's service account. LiveError when the client or the credentials are missing."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise LiveError(
            "reading a cluster needs the kubernetes client: pip install 'k0s-policy[live]' "
            "(or export the objects with kubectl and pass them with --live)"
        ) from None

    configuration = client.Configuration()
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            where = "the pod's service account"
        else:
            config.load_kube_config(
                config_file=kubeconfig,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            where = f"kubeconfig {kubeconfig or '(default)'}" + (f", context {context}" if context else "")
    except (config.ConfigException, OSError, ValueError, TypeError) as err:
        raise LiveError(f"cannot load the cluster credentials: {err}") from None
    return configuration, where


class _Requester:
    """Runs one read call at a time with a timeout and turns client errors into LiveErrors."""

    def __init__(self, host: str, timeout: float) -> None:
        self.host = host
        self.timeout = (timeout, timeout)

    def _call(self, call: Callable[..., Any], what: str, **params: Any) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = call(_preload_content=False, _request_timeout=self.timeout, **params)
        except ApiException as err:
            if err.status == 404:
                return None
            if err.status in (401, 403):
                raise LiveError(
                    f"the API server refused to let us read {what} (HTTP {err.status}); the audit needs "
                    f"get on clusterconfigs.{K0S_GROUP} {CONFIG_NAMESPACE}/{CONFIG_NAME} (by name) and list "
                    "on plans.autopilot.k0sproject.io and nodes (deploy/kubernetes/rbac.yaml)"
                ) from None
            raise LiveError(
                f"reading {what} from {self.host} failed: HTTP {err.status} {err.reason}"
            ) from None
        except (HTTPError, OSError) as err:
            raise LiveError(f"cannot reach the API server at {self.host}: {err}") from None
        try:
            data = json.loads(response.data)
        except (ValueError, UnicodeDecodeError) as err:
            raise LiveError(f"reading {what} from {self.host}: the answer is not JSON ({err})") from None
        if not isinstance(data, dict):
            raise LiveError(f"reading {what} from {self.host}: unexpected answer")
        return data

    def one(self, call: Callable[..., Any], what: str) -> dict[str, Any] | None:
        return self._call(call, what)

    def all(self, call: Callable[..., Any], what: str) -> list[dict[str, Any]] | None:
        """Every item of a list, page by page; None when the server does not serve the resource."""
        items: list[dict[str, Any]] = []
        token = ""
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if token:
                params["_continue"] = token
            page = self._call(call, what, **params)
            if page is None:
                return None
            items += [item for item in page.get("items") or [] if isinstance(item, dict)]
            token = _mapping(page.get("metadata")).get("continue") or ""
            if not token:
                return items
        raise LiveError(f"reading {what}: more than {MAX_PAGES} pages of {PAGE_SIZE}")
