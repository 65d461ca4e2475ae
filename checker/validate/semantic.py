"""k0s's own ``Validate()`` checks, release by release, and k0sctl's ``Cluster.Validate``.

The JSON Schemas say which fields exist and their types; what k0s checks in Go on top of that lives
here, each check with the releases it applies to (read at the newest patch of every minor in
``k0sproject/k0s``: ``pkg/apis/k0s/v1beta1/{api,network,kubeproxy,storage,extensions,workerprofile,
cplb,nllb,images,clusterconfig_types}.go`` and their older homes; k0sctl ``pkg/apis/k0sctl.k0sproject.io/
v1beta1/{cluster,cluster/host,cluster/hosts,cluster/k0s}.go``).

Each problem is a ``Problem``: the rule id (declared in ``checker.rules.semantic``), the path of the
node in the decoded object, and a short message. Values that come from an unset environment variable
are skipped (their value is unknown). Hazards that k0s accepts but the cluster will not survive are in
``checker.validate.hazards``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from checker.inputs.yamldoc import YamlPath, format_path
from checker.k0s.documents import K0sObject
from checker.records import dataclass

# Rule ids, declared with name, severity and summary in checker.rules.semantic.
API_ADDRESS = "K0S020"
NETWORK = "K0S021"
KUBE_PROXY_MODE = "K0S022"
NLLB_EXTERNAL_ADDRESS = "K0S023"
IMAGE_NAME = "K0S024"
EXTERNAL_ETCD = "K0S025"
HELM = "K0S026"
WORKER_PROFILE = "K0S027"
CPLB = "K0S028"
K0SCTL_HOSTS = "K0S030"
K0SCTL_VERSION = "K0S031"

Minor = tuple[int, int]


@dataclass(frozen=True)
class Problem:
    rule: str
    path: YamlPath
    message: str
    fix: str = ""
    #: "warning" where k0s accepts the value but the check is deliberately stricter; "" = the rule's own.
    severity: str = ""
    at_key: bool = False


# --- grammar ------------------------------------------------------------------------------------------

# govalidator.IsDNSName, which k0s uses: labels of letters, digits, "_" and "-" (not first), dots between.
_GO_DNS = re.compile(r"^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$")
# RFC 1123 host names: letters, digits and inner hyphens per label, at most 63 characters each.
_RFC1123_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Helm's ValidateReleaseName: lower-case RFC 1123 subdomain, at most 53 characters.
_HELM_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HELM_RELEASE_MAX = 53
PLACEHOLDER = re.compile(r"<[^<>]*>")


@lru_cache(maxsize=4096)  # the same addresses are asked about by several checks of every object
def is_ip(text: str) -> bool:
    """Go's ``net.ParseIP``: dotted IPv4 or IPv6, no zone, no prefix."""
    if "%" in text:
        return False  # Python accepts IPv6 scope ids; Go's ParseIP does not
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_go_dns_name(text: str) -> bool:
    """govalidator.IsDNSName, as k0s checks SANs, externalAddress and clusterDomain."""
    if text == "" or len(text.replace(".", "")) > 255 or is_ip(text):
        return False
    return bool(_GO_DNS.match(text))


def is_rfc1123_name(text: str) -> bool:
    name = text[:-1] if text.endswith(".") else text
    return 0 < len(name) <= 253 and all(_RFC1123_LABEL.match(label) for label in name.split("."))


@lru_cache(maxsize=4096)
def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Go's ``net.ParseCIDR``: an address, a slash and a prefix length; host bits may be set."""
    if "/" not in text or "%" in text:  # Go's ParseCIDR takes no IPv6 zone
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def minor_of(version: str) -> Minor:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# --- ClusterConfig ------------------------------------------------------------------------------------


def clusterconfig_problems(obj: K0sObject, minor: Minor, cli_flags: str = "") -> Iterator[Problem]:
    """What ``ClusterConfig.Validate()`` of release ``minor`` rejects in this object.

    ``cli_flags``: k0s command-line flags known for the controllers (k0sctl ``installFlags``)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    checks = (
        _api(obj, minor),
        _network(obj, minor, cli_flags),
        _kube_proxy(obj, minor),
        _nllb(obj, minor),
        _images(obj, minor),
        _storage(obj, minor),
        _helm(obj, minor),
        _worker_profiles(obj, minor),
        _cplb(obj, minor),
    )
    for check in checks:
        for problem in check:
            if not obj.unknown_at(problem.path):
                yield problem


#: From 1.31 the CRDs (and so our schemas) mark chart, repository, worker-profile and external-etcd
#: fields required: an absent one is a K0S002 there, and only an empty one is left to these checks.
SCHEMA_REQUIRES_SINCE = (1, 31)


def _missing(node: dict[str, Any], key: str, minor: Minor) -> bool:
    if key not in node:
        return minor < SCHEMA_REQUIRES_SINCE
    return not node[key] and node[key] is not False


def _str(obj: K0sObject, *path: str | int) -> str | None:
    value = obj.get(*path)
    return value if isinstance(value, str) else None


def _list(obj: K0sObject, *path: str | int) -> list[Any]:
    value = obj.get(*path)
    return value if isinstance(value, list) else []


def _address_or_name(value: str, path: YamlPath, what: str) -> Iterator[Problem]:
    if PLACEHOLDER.search(value):
        return  # an unfilled template placeholder: K0S042 says so
    if is_ip(value):
        return
    if not is_go_dns_name(value):
        yield Problem(
            API_ADDRESS, path, f"{what} {value!r} is neither an IP address nor a DNS name; k0s rejects it"
        )
    elif not is_rfc1123_name(value):
        yield Problem(
            API_ADDRESS,
            path,
            f"{what} {value!r} is no RFC 1123 host name (k0s accepts it; certificates and clients may not)",
            severity="warning",
        )


def _api(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    address = _str(obj, "spec", "api", "address")
    if address and not PLACEHOLDER.search(address):
        if not is_ip(address):
            yield Problem(
                API_ADDRESS,
                ("spec", "api", "address"),
                f"spec.api.address {address!r} is not an IP address; k0s rejects it",
                "Set the controller's own IP address, or remove the key to use its first public address.",
            )
        elif minor >= (1, 31) and ipaddress.ip_address(address).is_unspecified:
            yield Problem(
                API_ADDRESS,
                ("spec", "api", "address"),
                f"spec.api.address {address} is the unspecified address; k0s 1.31+ rejects it",
                "Set the controller's own IP address.",
            )
    external = _str(obj, "spec", "api", "externalAddress")
    if external:
        host = external
        if minor >= (1, 31):
            host = _split_host(external)  # 1.31 checks the host of host:port
        yield from _address_or_name(host, ("spec", "api", "externalAddress"), "spec.api.externalAddress")
        if minor >= (1, 31) and is_ip(host) and ipaddress.ip_address(host).is_unspecified:
            yield Problem(
                API_ADDRESS,
                ("spec", "api", "externalAddress"),
                f"spec.api.externalAddress {external} is the unspecified address; k0s 1.31+ rejects it",
            )
    for index, san in enumerate(_list(obj, "spec", "api", "sans")):
        if isinstance(san, str):
            yield from _address_or_name(san, ("spec", "api", "sans", index), f"spec.api.sans[{index}]")


def _split_host(value: str) -> str:
    if value.startswith("[") and "]" in value:
        return value[1 : value.index("]")]
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host if port.isdigit() else value
    return value


def _network(obj: K0sObject, minor: Minor, cli_flags: str) -> Iterator[Problem]:
    network = obj.get("spec", "network")
    if not isinstance(network, dict):
        network = {}
    base = ("spec", "network")
    nets: dict[str, Any] = {}
    for key, default in (("podCIDR", "10.244.0.0/16"), ("serviceCIDR", "10.96.0.0/12")):
        value = network.get(key, default)
        if not isinstance(value, str) or PLACEHOLDER.search(value):
            continue
        parsed = parse_cidr(value)
        if parsed is None:
            yield Problem(
                NETWORK, (*base, key), f"spec.network.{key} {value!r} is not a CIDR; k0s rejects it"
            )
        nets[key] = parsed
    pod, service = nets.get("podCIDR"), nets.get("serviceCIDR")
    dual = network.get("dualStack") if isinstance(network.get("dualStack"), dict) else {}
    dual_enabled = dual.get("enabled") is True
    if pod is not None and service is not None and minor >= (1, 34) and pod.version != service.version:
        yield Problem(
            NETWORK,
            (*base, "podCIDR"),
            f"podCIDR {network.get('podCIDR', '10.244.0.0/16')} and serviceCIDR "
            f"{network.get('serviceCIDR', '10.96.0.0/12')} are of different IP families; k0s 1.34+ rejects it",
        )
    if service is not None and service.version == 6 and minor >= (1, 35) and service.prefixlen > 108:
        yield Problem(
            NETWORK,
            (*base, "serviceCIDR"),
            f"IPv6 serviceCIDR {service} is smaller than /108; k0s 1.35+ rejects it",
        )
    if (
        pod is not None
        and pod.version == 6
        and not dual_enabled
        and minor >= (1, 34)
        and "IPv6SingleStack=true" not in cli_flags
    ):
        yield Problem(
            NETWORK,
            (*base, "podCIDR"),
            "IPv6 single stack needs k0s to run with --feature-gates=IPv6SingleStack=true (k0s 1.34+)",
            "Add --feature-gates=IPv6SingleStack=true to the controllers' k0s flags.",
            severity="warning",
        )
    domain = network.get("clusterDomain")
    if minor >= (1, 24) and isinstance(domain, str) and not is_go_dns_name(domain):
        yield Problem(
            NETWORK,
            (*base, "clusterDomain"),
            f"spec.network.clusterDomain {domain!r} is not a DNS name; k0s rejects it",
        )
    if dual_enabled:
        yield from _dual_stack(network, dual, pod, service, minor)


def _dual_stack(
    network: dict[str, Any], dual: dict[str, Any], pod: Any, service: Any, minor: Minor
) -> Iterator[Problem]:
    base = ("spec", "network")
    calico = network.get("calico") if isinstance(network.get("calico"), dict) else {}
    if network.get("provider") == "calico" and calico.get("mode", "vxlan") != "bird":
        yield Problem(
            NETWORK,
            (*base, "calico", "mode") if "mode" in calico else (*base, "provider"),
            "dual-stack with calico needs calico mode bird; k0s rejects other modes",
        )
    for key in ("IPv6podCIDR", "IPv6serviceCIDR"):
        value = dual.get(key)
        text = value if isinstance(value, str) else ""
        parsed = parse_cidr(text)
        path = (*base, "dualStack", key)
        if parsed is None:
            yield Problem(
                NETWORK,
                path,
                f"dualStack.{key} {text!r} is not a CIDR; k0s rejects it with dual-stack enabled",
            )
        elif parsed.version == 4 and minor >= (1, 35):
            yield Problem(
                NETWORK, path, f"dualStack.{key} {text} must be an IPv6 CIDR; k0s 1.35+ rejects IPv4 here"
            )
        elif key == "IPv6serviceCIDR" and parsed.version == 6 and minor >= (1, 35) and parsed.prefixlen < 108:
            yield Problem(
                NETWORK, path, f"dualStack.IPv6serviceCIDR {text} is larger than /108; k0s 1.35+ rejects it"
            )
    if minor >= (1, 35):
        for key, parsed in (("podCIDR", pod), ("serviceCIDR", service)):
            if parsed is not None and parsed.version == 6:
                yield Problem(
                    NETWORK, (*base, key), f"with dual-stack, {key} must be IPv4; k0s 1.35+ rejects IPv6 here"
                )
    proxy = network.get("kubeProxy") if isinstance(network.get("kubeProxy"), dict) else {}
    if minor <= (1, 22) and proxy.get("disabled") is not True and proxy.get("mode", "iptables") != "ipvs":
        yield Problem(
            NETWORK,
            (*base, "kubeProxy", "mode") if "mode" in proxy else (*base, "dualStack", "enabled"),
            f"k0s {minor[0]}.{minor[1]} needs kube-proxy in ipvs mode for dual-stack",
        )


def kube_proxy_modes(minor: Minor) -> tuple[str, ...]:
    return (
        ("iptables", "ipvs", "userspace", "nftables")
        if minor >= (1, 31)
        else ("iptables", "ipvs", "userspace")
    )


def _kube_proxy(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    proxy = obj.get("spec", "network", "kubeProxy")
    if not isinstance(proxy, dict) or proxy.get("disabled") is True:
        return
    mode = proxy.get("mode")
    modes = kube_proxy_modes(minor)
    if isinstance(mode, str) and mode and mode not in modes:
        since = " (nftables from k0s 1.31)" if mode == "nftables" else ""
        yield Problem(
            KUBE_PROXY_MODE,
            ("spec", "network", "kubeProxy", "mode"),
            f"kube-proxy mode {mode!r} is not one k0s {minor[0]}.{minor[1]} supports{since}",
            f"Use one of {', '.join(modes)}.",
        )


def _nllb(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    if minor < (1, 26) or obj.get("spec", "network", "nodeLocalLoadBalancing", "enabled") is not True:
        return
    external = _str(obj, "spec", "api", "externalAddress")
    if external:
        yield Problem(
            NLLB_EXTERNAL_ADDRESS,
            ("spec", "network", "nodeLocalLoadBalancing", "enabled"),
            "node-local load balancing cannot be enabled together with spec.api.externalAddress; k0s rejects it",
            "Use either the external address or node-local load balancing.",
        )


def _image_specs(obj: K0sObject, minor: Minor) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    nllb = ("spec", "network", "nodeLocalLoadBalancing")
    if minor >= (1, 26):
        for proxy in ("envoyProxy", "traefik"):
            image = obj.get(*nllb, proxy, "image")
            if isinstance(image, dict):
                yield (*nllb, proxy, "image"), image
    if minor >= (1, 31):
        yield from _walk_images(obj.get("spec", "images"), ("spec", "images"))


def _walk_images(node: Any, path: YamlPath) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    if set(node) <= {"image", "version"} and node:
        yield path, node
        return
    for key, value in node.items():
        yield from _walk_images(value, (*path, key))


def _images(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    for path, image in _image_specs(obj, minor):
        name = image.get("image")
        if isinstance(name, str) and name != name.strip():
            yield Problem(
                IMAGE_NAME,
                (*path, "image"),
                f"image {name!r} has leading or trailing whitespace; k0s rejects it",
            )


def _storage(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    external = obj.get("spec", "storage", "etcd", "externalCluster")
    if minor < (1, 23) or not isinstance(external, dict):
        return
    base = ("spec", "storage", "etcd", "externalCluster")
    endpoints = external.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        if minor < SCHEMA_REQUIRES_SINCE:  # from 1.31 the schema requires a non-empty list
            yield Problem(
                EXTERNAL_ETCD, base, "external etcd needs at least one endpoint; k0s rejects the config"
            )
    elif any(e == "" for e in endpoints):
        yield Problem(EXTERNAL_ETCD, (*base, "endpoints"), "external etcd endpoints contain an empty string")
    if not external.get("etcdPrefix"):
        yield Problem(EXTERNAL_ETCD, base, "external etcd needs an etcdPrefix; k0s rejects an empty one")
    tls = ("caFile", "clientCertFile", "clientKeyFile")
    given = [key for key in tls if external.get(key)]
    if given and len(given) != len(tls):
        missing = ", ".join(key for key in tls if key not in given)
        yield Problem(
            EXTERNAL_ETCD,
            (*base, given[0]),
            f"external etcd TLS files are all set or none; {missing} missing",
            "Set caFile, clientCertFile and clientKeyFile together.",
        )


def _helm(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    if minor < (1, 22):
        return
    base = ("spec", "extensions", "helm")
    for index, chart in enumerate(_list(obj, *base, "charts")):
        if not isinstance(chart, dict):
            continue
        path = (*base, "charts", index)
        name = chart.get("name")
        if _missing(chart, "name", minor):
            yield Problem(HELM, path, f"chart [{index}] has no name; k0s rejects it")
        elif (
            isinstance(name, str)
            and minor >= (1, 23)
            and (len(name) > HELM_RELEASE_MAX or not _HELM_RELEASE.match(name))
        ):
            yield Problem(
                HELM,
                (*path, "name"),
                f"chart name {name!r} is no valid Helm release name (lower-case RFC 1123, at most 53 characters)",
            )
        for key, what in (("chartname", "chartname"), ("namespace", "namespace")):
            if _missing(chart, key, minor):
                yield Problem(HELM, path, f"chart {name or index!s} has no {what}; k0s rejects it")
    for index, repository in enumerate(_list(obj, *base, "repositories")):
        if not isinstance(repository, dict):
            continue
        for key in ("name", "url"):
            if _missing(repository, key, minor):
                yield Problem(
                    HELM, (*base, "repositories", index), f"repository [{index}] has no {key}; k0s rejects it"
                )


def _worker_profiles(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    for index, profile in enumerate(_list(obj, "spec", "workerProfiles")):
        if not isinstance(profile, dict):
            continue
        path: YamlPath = ("spec", "workerProfiles", index)
        name = profile.get("name")
        if minor >= (1, 34):
            if not name:
                yield Problem(
                    WORKER_PROFILE, path, f"worker profile [{index}] has no name; k0s 1.34+ rejects it"
                )
            elif isinstance(name, str) and not _DNS1123_LABEL.match(name):
                yield Problem(
                    WORKER_PROFILE,
                    (*path, "name"),
                    f"worker profile name {name!r} is no RFC 1123 label; k0s 1.34+ rejects it",
                )
        values = profile.get("values")
        if not isinstance(values, dict):
            continue
        for key in _locked_keys(minor):
            if key in values:
                yield Problem(
                    WORKER_PROFILE,
                    (*path, "values", key),
                    f"worker profile value {key} is set by k0s itself and may not be overridden",
                    at_key=True,
                )
        if minor >= (1, 34):
            for key, expected in (
                ("apiVersion", "kubelet.config.k8s.io/v1beta1"),
                ("kind", "KubeletConfiguration"),
            ):
                if key in values and values[key] not in ("", expected):
                    yield Problem(
                        WORKER_PROFILE,
                        (*path, "values", key),
                        f"worker profile {key} must be {expected!r}, not {values[key]!r}",
                    )


def _locked_keys(minor: Minor) -> tuple[str, ...]:
    if minor >= (1, 34):
        return ("clusterDNS", "clusterDomain", "staticPodURL")
    if minor >= (1, 24):
        return ("clusterDNS", "clusterDomain", "apiVersion", "kind", "staticPodURL")
    return ("clusterDNS", "clusterDomain", "apiVersion", "kind")


def _cplb(obj: K0sObject, minor: Minor) -> Iterator[Problem]:
    base = ("spec", "network", "controlPlaneLoadBalancing")
    keepalived = obj.get(*base, "keepalived")
    if minor < (1, 30) or not isinstance(keepalived, dict):
        return
    for index, instance in enumerate(_list(obj, *base, "keepalived", "vrrpInstances")):
        if not isinstance(instance, dict):
            continue
        path = (*base, "keepalived", "vrrpInstances", index)
        vips = instance.get("virtualIPs")
        if not isinstance(vips, list) or not vips:
            yield Problem(CPLB, path, f"vrrpInstances[{index}] has no virtualIPs; k0s rejects it")
        for vip_index, vip in enumerate(vips if isinstance(vips, list) else []):
            if isinstance(vip, str) and parse_cidr(vip) is None and not PLACEHOLDER.search(vip):
                yield Problem(
                    CPLB,
                    (*path, "virtualIPs", vip_index),
                    f"virtual IP {vip!r} must be a CIDR such as 192.168.1.100/24; k0s rejects it",
                )
        if _missing(instance, "authPass", minor):
            yield Problem(CPLB, path, f"vrrpInstances[{index}] has no authPass; k0s rejects it")
        # Its length (at most 8) is in the schema.
    servers = _list(obj, *base, "keepalived", "virtualServers")
    for index, server in enumerate(servers):
        if not isinstance(server, dict):
            continue
        address = server.get("ipAddress")
        path = (*base, "keepalived", "virtualServers", index)
        if not isinstance(address, str) or not address:
            yield Problem(CPLB, path, f"virtualServers[{index}] has no ipAddress; k0s rejects it")
        elif not is_ip(address) and not PLACEHOLDER.search(address):
            yield Problem(
                CPLB, (*path, "ipAddress"), f"virtual server address {address!r} is not an IP address"
            )
    if minor == (1, 30) and servers and _str(obj, "spec", "api", "externalAddress"):
        yield Problem(
            CPLB,
            (*base, "keepalived", "virtualServers"),
            "k0s 1.30 rejects keepalived virtualServers together with spec.api.externalAddress",
        )


# --- k0sctl -------------------------------------------------------------------------------------------

CONTROLLER_ROLES = ("controller", "controller+worker", "single")
CONNECTIONS = ("ssh", "winRM", "localhost", "openSSH")
K0S_VERSION_FLOOR = (0, 11, 0)
DYNAMIC_CONFIG_SINCE = "v1.22.2+k0s.2"


def k0sctl_problems(obj: K0sObject) -> Iterator[Problem]:
    """What k0sctl's ``Cluster.Validate`` rejects (static checks; apply-time ones need the hosts)."""
    for problem in (*_hosts(obj), *_k0s_version(obj)):
        if not obj.unknown_at(problem.path):
            yield problem


def _hosts(obj: K0sObject) -> Iterator[Problem]:
    hosts = obj.get("spec", "hosts")
    if not isinstance(hosts, list) or not hosts:
        return  # the schema requires at least one host
    roles = [h.get("role") if isinstance(h, dict) else None for h in hosts]
    if not any(role in CONTROLLER_ROLES for role in roles) and not any(
        obj.unknown_at(("spec", "hosts", i, "role")) for i in range(len(hosts))
    ):
        yield Problem(
            K0SCTL_HOSTS, ("spec", "hosts"), "no host has a controller role; k0sctl rejects the file"
        )
    if len(hosts) > 1:
        for index, role in enumerate(roles):
            if role == "single":
                yield Problem(
                    K0SCTL_HOSTS,
                    ("spec", "hosts", index, "role"),
                    f"{len(hosts)} hosts are defined but this one has role single; k0sctl rejects it",
                    "Use controller+worker, or keep a single host.",
                )
    seen: dict[str, int] = {}
    for index, host in enumerate(hosts):
        if not isinstance(host, dict):
            continue
        path: YamlPath = ("spec", "hosts", index)
        connections = [key for key in CONNECTIONS if isinstance(host.get(key), dict)]
        target = _connection_target(host, connections)
        if target is not None and not obj.unknown_at(path):
            if target in seen:
                yield Problem(
                    K0SCTL_HOSTS,
                    path,
                    f"host [{index}] connects to {target} like host [{seen[target]}]; k0sctl needs unique hosts",
                )
            seen.setdefault(target, index)
        if len(connections) != 1:
            found = ", ".join(connections) or "none"
            yield Problem(
                K0SCTL_HOSTS,
                path,
                f"host [{index}] needs exactly one connection (ssh, winRM, localhost or openSSH), has {found}",
            )
        private = host.get("privateAddress")
        if isinstance(private, str) and private and not is_ip(private):
            yield Problem(
                K0SCTL_HOSTS, (*path, "privateAddress"), f"privateAddress {private!r} is not an IP address"
            )
        if host.get("noTaints") is True and host.get("role") != "controller+worker":
            yield Problem(
                K0SCTL_HOSTS, (*path, "noTaints"), "noTaints is only allowed with role controller+worker"
            )
        if host.get("useExistingK0s") is True:
            for key in ("uploadBinary", "k0sBinaryPath", "k0sDownloadURL"):
                if host.get(key) not in (None, False, ""):
                    yield Problem(
                        K0SCTL_HOSTS,
                        (*path, key),
                        f"{key} cannot be used together with useExistingK0s: true",
                        at_key=True,
                    )
        flags = host.get("installFlags")
        for flag_index, flag in enumerate(flags if isinstance(flags, list) else []):
            if isinstance(flag, str) and not _quotes_balanced(flag):
                yield Problem(
                    K0SCTL_HOSTS,
                    (*path, "installFlags", flag_index),
                    f"install flag {flag!r} has unbalanced quotes",
                )


@lru_cache(maxsize=4096)  # fleets repeat the same install flags on every host
def _quotes_balanced(flag: str) -> bool:
    import shlex  # only k0sctl files with install flags pay for it

    try:
        shlex.split(flag)
    except ValueError:
        return False
    return True


def _connection_target(host: dict[str, Any], connections: list[str]) -> str | None:
    """The address and port a host is reached at (k0sctl compares hosts by their connection)."""
    if len(connections) != 1 or connections[0] == "localhost":
        return "localhost" if connections == ["localhost"] else None
    connection = host[connections[0]]
    address = connection.get("address")
    if not isinstance(address, str) or not address:
        return None
    default_port = 5985 if connections[0] == "winRM" else 22
    return f"{address}:{connection.get('port', default_port)}"


_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+k0s\.(\d+))?$")


def _version_key(text: str) -> tuple[int, int, int, int, int] | None:
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    major, minor, patch, pre, build = match.groups()
    # A pre-release sorts before its release; "rc1" of 0.11.0 is the floor k0sctl names.
    return int(major), int(minor), int(patch), 0 if pre else 1, int(build or 0)


def _k0s_version(obj: K0sObject) -> Iterator[Problem]:
    version = obj.get("spec", "k0s", "version")
    if not isinstance(version, str) or not version:
        return
    key = _version_key(version)
    if key is None:
        return  # K0S003 reports versions that are no k0s version
    path = ("spec", "k0s", "version")
    if key[:3] < K0S_VERSION_FLOOR:
        yield Problem(
            K0SCTL_VERSION, path, f"k0s {version} is older than 0.11.0-rc1, the oldest k0sctl supports"
        )
    floor = _version_key(DYNAMIC_CONFIG_SINCE)
    if obj.get("spec", "k0s", "dynamicConfig") is True and floor is not None and key < floor:
        yield Problem(
            K0SCTL_VERSION,
            ("spec", "k0s", "dynamicConfig"),
            f"dynamicConfig needs k0s {DYNAMIC_CONFIG_SINCE} or newer; this cluster runs {version}",
        )


__all__ = ["Problem", "clusterconfig_problems", "format_path", "k0sctl_problems", "minor_of"]
