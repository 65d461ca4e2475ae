"""The benchmark repository: 50 clusters of k0s documents among 10,000 ordinary manifests,
generated deterministically from a seed (bench/README.md describes its layout)."""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "policies" / "releases"

CLUSTERS = 50
MANIFESTS = 10_000
MARKER = ".bench-generated"
# The checker's pre-filter (checker/sources.py): ordinary manifests must not match it.
K0S_MENTION = re.compile(r"[kK]0[sS]")

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it


def dump(*documents: Any) -> str:
    text = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    return text if len(documents) > 1 else text.removeprefix("---\n")


# --------------------------------------------------------------------------------------------------
# Release data


@dataclass(frozen=True)
class Release:
    minor: str
    image_paths: dict[str, str | None]
    patches: list[dict[str, Any]]

    @classmethod
    def load(cls, minor: str) -> Release:
        data = yaml.safe_load((RELEASES / f"{minor}.yaml").read_text(encoding="utf-8"))
        return cls(minor, dict(data["image_paths"]), list(data["patches"]))


def split_image(reference: str) -> tuple[str, str]:
    """``quay.io/k0sproject/coredns:1.11.3`` -> (``quay.io/k0sproject/coredns``, ``1.11.3``)."""
    name, _, tag = reference.rpartition(":")
    if "/" in tag or not name:
        raise ValueError(f"image without a tag in the release data: {reference}")
    return name, tag


def set_path(root: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = root
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


# --------------------------------------------------------------------------------------------------
# The synthetic repository

# fmt: off
WORDS = (
    "api", "web", "worker", "billing", "search", "auth", "gateway", "orders", "catalog", "inventory",
    "payments", "notify", "reports", "ledger", "profile", "media", "events", "metrics", "cache",
    "queue", "cart", "shipping", "pricing", "review", "chat", "feed", "geo", "identity", "mailer",
    "scheduler", "audit", "export", "importer", "render", "thumbnails", "invoices", "quotes", "tenants",
    "sessions", "checkout", "loyalty", "coupons", "banners", "analytics", "recommender", "frontend",
    "backend", "admin", "portal",
)
# fmt: on
TEAMS = ("storefront", "payments", "platform", "data", "growth", "risk", "ops", "mobile")
INFRA = ("ingress-nginx", "cert-manager", "external-dns", "prometheus", "loki", "velero", "sealed-secrets")
CRD_COMPONENTS = ("cert-manager", "prometheus")
REGISTRIES = ("ghcr.io/acme", "registry.example.com/apps", "docker.io/acme", "europe-docker.pkg.dev/acme")
ENVS = ("staging", "prod")


@dataclass
class Repo:
    root: Path
    k0s_files: list[str] = field(default_factory=list)
    clusterconfig_files: list[str] = field(default_factory=list)
    typo_files: list[str] = field(default_factory=list)
    manifests: int = 0
    documents: int = 0
    size: int = 0  # bytes written

    def write(self, relative: str, text: str, *, k0s: bool) -> None:
        if not k0s and K0S_MENTION.search(text):
            text = K0S_MENTION.sub("kos", text)  # never happens with the word lists above; stay safe
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        self.size += len(data)
        if k0s:
            self.k0s_files.append(relative)
        else:
            self.manifests += 1
            self.documents += text.count("\n---\n") + 1


class ManifestFactory:
    """Ordinary Kubernetes manifests of plausible shape and size; none mentions k0s."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _labels(self, app: str, team: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/part-of": team,
            "app.kubernetes.io/managed-by": "flux",
        }

    def _env(self, app: str) -> list[dict[str, Any]]:
        rng = self.rng
        env: list[dict[str, Any]] = [
            {
                "name": f"{rng.choice(WORDS).upper()}_{rng.choice(WORDS).upper()}_{i}",
                "value": rng.choice(WORDS),
            }
            for i in range(rng.randint(4, 18))
        ]
        env.append({"name": "LOG_LEVEL", "value": rng.choice(("info", "debug", "warn"))})
        env.append(
            {
                "name": "DATABASE_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}},
            }
        )
        return env

    def deployment(self, app: str, team: str, namespace: str) -> dict[str, Any]:
        rng = self.rng
        labels = self._labels(app, team)
        port = rng.choice((8080, 8000, 3000, 9000))
        image = (
            f"{rng.choice(REGISTRIES)}/{app}:v{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        )
        containers: list[dict[str, Any]] = [
            {
                "name": app,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "args": [f"--port={port}", f"--config=/etc/{app}/config.yaml"],
                "ports": [
                    {"name": "http", "containerPort": port},
                    {"name": "metrics", "containerPort": 9090},
                ],
                "env": self._env(app),
                "resources": {
                    "requests": {
                        "cpu": f"{rng.choice((50, 100, 250, 500))}m",
                        "memory": f"{rng.choice((64, 128, 256, 512))}Mi",
                    },
                    "limits": {"memory": f"{rng.choice((256, 512, 1024))}Mi"},
                },
                "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 15},
                "securityContext": {
                    "runAsNonRoot": True,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "config", "mountPath": f"/etc/{app}"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ]
        if rng.random() < 0.3:
            containers.append(
                {
                    "name": "log-shipper",
                    "image": "docker.io/fluent/fluent-bit:3.0.7",
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                }
            )
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": app,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"reloader.stakater.com/auto": "true"},
            },
            "spec": {
                "replicas": rng.randint(1, 6),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}},
                    "spec": {
                        "serviceAccountName": app,
                        "securityContext": {"fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": containers,
                        "volumes": [
                            {"name": "config", "configMap": {"name": f"{app}-config"}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "topology.kubernetes.io/zone",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
                            }
                        ],
                    },
                },
            },
        }

    def service(self, app: str, team: str, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, "namespace": namespace, "labels": self._labels(app, team)},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app.kubernetes.io/name": app},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"name": "metrics", "port": 9090, "targetPort": "metrics"},
                ],
            },
        }

    def configmap(self, app: str, team: str, namespace: str) -> dict[str, Any]:
        rng = self.rng
        # Log-normal sizes: most a few hundred bytes to a few KiB, a long tail up to ~60 KiB.
        lines = max(4, min(1500, int(rng.lognormvariate(3.3, 1.0))))
        properties = "\n".join(
            f"{rng.choice(WORDS)}.{rng.choice(WORDS)}.{rng.choice(WORDS)}_{i}={rng.choice(WORDS)}-{rng.randint(1, 9999)}"
            for i in range(lines)
        )
        settings = {
            "server": {"port": 8080, "shutdownTimeout": "30s"},
            "features": {w: rng.random() < 0.5 for w in rng.sample(WORDS, 6)},
            "upstreams": [f"http://{w}.{rng.choice(TEAMS)}.svc:80" for w in rng.sample(WORDS, 4)],
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-config", "namespace": namespace, "labels": self._labels(app, team)},
            "data": {
                "config.yaml": yaml.dump(settings, Dumper=_Dumper),
                "application.properties": properties + "\n",
            },
        }

    def ingress(self, app: str, team: str, namespace: str, cluster: str) -> dict[str, Any]:
        host = f"{app}.{cluster}.example.com"
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": app,
                "namespace": namespace,
                "labels": self._labels(app, team),
                "annotations": {
                    "cert-manager.io/cluster-issuer": "letsencrypt",
                    "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
                },
            },
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": [host], "secretName": f"{app}-tls"}],
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": app, "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }

    def kustomization(
        self, resources: Sequence[str], namespace: str, patches: Sequence[str] = ()
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": namespace,
            "resources": list(resources),
        }
        if patches:
            doc["patches"] = [{"path": p} for p in patches]
        return doc

    def replicas_patch(self, app: str, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {"replicas": self.rng.randint(2, 12)},
        }

    def hpa(self, app: str, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": 2,
                "maxReplicas": self.rng.randint(6, 30),
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        }

    def rbac(self, name: str, namespace: str) -> list[dict[str, Any]]:
        return [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["pods", "services", "endpoints"],
                        "verbs": ["get", "list", "watch"],
                    },
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            },
        ]

    def app_files(self, base: str, app: str, cluster: str) -> Iterator[tuple[str, str]]:
        """One application: a kustomize base with overlays (most) or a flat multi-document file."""
        rng = self.rng
        team = rng.choice(TEAMS)
        namespace = team
        if rng.random() < 0.3:
            docs = [self.deployment(app, team, namespace), self.service(app, team, namespace)]
            docs.append(self.configmap(app, team, namespace))
            if rng.random() < 0.5:
                docs.append(self.ingress(app, team, namespace, cluster))
            yield f"{base}/{app}/{app}.yaml", dump(*docs)
            yield f"{base}/{app}/kustomization.yaml", dump(self.kustomization([f"{app}.yaml"], namespace))
            return
        resources = ["deployment.yaml", "service.yaml", "configmap.yaml"]
        yield f"{base}/{app}/base/deployment.yaml", dump(self.deployment(app, team, namespace))
        yield f"{base}/{app}/base/service.yaml", dump(self.service(app, team, namespace))
        yield f"{base}/{app}/base/configmap.yaml", dump(self.configmap(app, team, namespace))
        if rng.random() < 0.5:
            resources.append("ingress.yaml")
            yield f"{base}/{app}/base/ingress.yaml", dump(self.ingress(app, team, namespace, cluster))
        yield f"{base}/{app}/base/kustomization.yaml", dump(self.kustomization(resources, namespace))
        for env in ENVS:
            extra = ["hpa.yaml"] if env == "prod" and rng.random() < 0.4 else []
            overlay = f"{base}/{app}/overlays/{env}"
            yield (
                f"{overlay}/kustomization.yaml",
                dump(self.kustomization(["../../base", *extra], f"{namespace}-{env}", ["replicas.yaml"])),
            )
            yield f"{overlay}/replicas.yaml", dump(self.replicas_patch(app, f"{namespace}-{env}"))
            if extra:
                yield f"{overlay}/hpa.yaml", dump(self.hpa(app, f"{namespace}-{env}"))

    def _schema(self, depth: int) -> dict[str, Any]:
        rng = self.rng
        properties: dict[str, Any] = {}
        for word in rng.sample(WORDS, rng.randint(3, 9)):
            description = " ".join(rng.choices(WORDS, k=rng.randint(6, 24))).capitalize() + "."
            if depth > 0 and rng.random() < 0.25:
                properties[word] = {**self._schema(depth - 1), "description": description}
            else:
                kind = rng.choice(("string", "integer", "boolean"))
                properties[word] = {"type": kind, "description": description}
        return {"type": "object", "properties": properties}

    def crds(self, component: str) -> list[dict[str, Any]]:
        """Vendored CustomResourceDefinitions: the large files of a real GitOps repository."""
        group = f"{component.replace('-', '')}.example.io"
        documents = []
        for word in self.rng.sample(WORDS, self.rng.randint(3, 8)):
            version = {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {"spec": self._schema(3), "status": self._schema(2)},
                    }
                },
            }
            documents.append(
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{word}s.{group}"},
                    "spec": {
                        "group": group,
                        "names": {"kind": word.capitalize(), "plural": f"{word}s", "singular": word},
                        "scope": "Namespaced",
                        "versions": [version],
                    },
                }
            )
        return documents

    def infra_files(self, component: str) -> Iterator[tuple[str, str]]:
        namespace = component
        base = f"infrastructure/{component}"
        resources = ["namespace.yaml", "rbac.yaml", "deployment.yaml", "service.yaml", "configmap.yaml"]
        yield (
            f"{base}/namespace.yaml",
            dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        )
        if component in CRD_COMPONENTS:
            resources.insert(1, "crds.yaml")
            yield f"{base}/crds.yaml", dump(*self.crds(component))
        yield f"{base}/rbac.yaml", dump(*self.rbac(component, namespace))
        yield f"{base}/deployment.yaml", dump(self.deployment(component, "platform", namespace))
        yield f"{base}/service.yaml", dump(self.service(component, "platform", namespace))
        yield f"{base}/configmap.yaml", dump(self.configmap(component, "platform", namespace))
        yield f"{base}/kustomization.yaml", dump(self.kustomization(resources, namespace))

    def cluster_files(self, cluster: str, count: int) -> Iterator[tuple[str, str]]:
        """Exactly ``count`` manifest files for one cluster folder."""
        if count <= 0:
            return
        produced = 0
        names: Counter[str] = Counter()

        def bundles() -> Iterator[Iterator[tuple[str, str]]]:
            for component in INFRA:
                yield self.infra_files(component)
            while True:
                word = self.rng.choice(WORDS)
                names[word] += 1
                app = word if names[word] == 1 else f"{word}-{names[word]}"
                yield self.app_files("apps", app, cluster)

        for bundle in bundles():
            for relative, text in bundle:
                yield relative, text
                produced += 1
                if produced == count:
                    return


@dataclass(frozen=True)
class ClusterPlan:
    """What the k0s documents of one cluster look like."""

    index: int
    name: str
    target: dict[str, Any]  # a 1.30 patch
    plan_version: str
    stale: dict[str, Any] | None  # a 1.29 patch whose full default image set the exported object pins
    current_pins: bool  # the exported object pins a few images equal to the target's defaults
    airgapped: bool
    provider: str
    typo: str  # "", "standalone", "exported", "embedded"


class K0sFactory:
    def __init__(self, rng: random.Random, old: Release, new: Release) -> None:
        self.rng = rng
        self.old = old
        self.new = new

    def plan_for(self, index: int) -> ClusterPlan:
        rng = self.rng
        patches = self.new.patches
        target_at = rng.randrange(len(patches))
        plan_at = target_at + 1 if index % 10 == 9 and target_at + 1 < len(patches) else target_at
        typos = {7: "standalone", 19: "standalone", 33: "standalone", 26: "embedded", 41: "exported"}
        return ClusterPlan(
            index=index,
            name=f"c{index:02d}",
            target=patches[target_at],
            plan_version=patches[plan_at]["version"],
            stale=rng.choice(self.old.patches) if index % 5 in (0, 2) else None,
            current_pins=index % 5 == 3,
            airgapped=index % 4 == 0,
            provider=rng.choice(("calico", "kuberouter")),
            typo=typos.get(index, ""),
        )

    def _network(self, plan: ClusterPlan) -> dict[str, Any]:
        network: dict[str, Any] = {
            "provider": plan.provider,
            "podCIDR": "10.244.0.0/16",
            "serviceCIDR": "10.96.0.0/12",
            "clusterDomain": "cluster.local",
        }
        if plan.provider == "calico":
            network["calico"] = {"mode": "vxlan", "mtu": 1450}
        else:
            network["kuberouter"] = {"autoMTU": True, "hairpin": "Enabled", "metricsPort": 8080}
        network["nodeLocalLoadBalancing"] = {"enabled": True, "type": "EnvoyProxy"}
        return network

    def k0sctl(self, plan: ClusterPlan) -> dict[str, Any]:
        rng = self.rng
        version = plan.target["version"]
        hosts: list[dict[str, Any]] = []
        controllers = 3
        for n in range(controllers + rng.randint(2, 6)):
            role = "controller" if n < controllers else "worker"
            address = f"10.{plan.index}.0.{10 + n}"
            host: dict[str, Any] = {
                "role": role,
                "ssh": {"address": address, "user": "ops", "port": 22, "keyPath": f"~/.ssh/{plan.name}"},
                "privateAddress": address,
            }
            if role == "controller":
                host["installFlags"] = ["--enable-dynamic-config", "--debug"]
            if plan.airgapped:
                host["uploadBinary"] = True
                host["files"] = [
                    {
                        "name": "image-bundle",
                        "src": f"bundles/k0s-airgap-bundle-{version}-amd64",
                        "dstDir": "/var/lib/k0s/images/",
                        "perm": "0640",
                    }
                ]
            hosts.append(host)
        spec: dict[str, Any] = {"network": self._network(plan)}
        spec["images"] = {"default_pull_policy": "Never" if plan.airgapped else "IfNotPresent"}
        if plan.typo == "embedded":
            spec["network"]["podCIRD"] = spec["network"].pop("podCIDR")
        return {
            "apiVersion": "k0sctl.k0sproject.io/v1beta1",
            "kind": "Cluster",
            "metadata": {"name": plan.name},
            "spec": {
                "hosts": hosts,
                "k0s": {
                    "version": version,
                    "dynamicConfig": True,
                    "config": {
                        "apiVersion": "k0s.k0sproject.io/v1beta1",
                        "kind": "ClusterConfig",
                        "metadata": {"name": plan.name},
                        "spec": spec,
                    },
                },
                "options": {"drain": {"enabled": True, "gracePeriod": "120s"}, "concurrency": {"limit": 10}},
            },
        }

    def standalone(self, plan: ClusterPlan) -> dict[str, Any]:
        address = f"10.{plan.index}.0.10"
        network = self._network(plan)
        network["nodeLocalLoadBalancing"]["envoyProxy"] = {
            "apiServerBindPort": 7443,
            "konnectivityServerBindPort": 7132,
        }
        network["kubeProxy"] = {"mode": "iptables"}
        if plan.typo == "standalone":
            network["nodeLocalLoadBalancer"] = network.pop("nodeLocalLoadBalancing")  # k0s issue #5258
        return {
            "apiVersion": "k0s.k0sproject.io/v1beta1",
            "kind": "ClusterConfig",
            "metadata": {"name": "k0s"},
            "spec": {
                "api": {
                    "address": address,
                    "port": 6443,
                    "k0sApiPort": 9443,
                    "sans": [address, f"api.{plan.name}.example.internal"],
                    "extraArgs": {"audit-log-maxage": "30"},
                },
                "storage": {"type": "etcd", "etcd": {"peerAddress": address}},
                "network": network,
                "konnectivity": {"agentPort": 8132, "adminPort": 8133},
                "telemetry": {"enabled": False},
                "workerProfiles": [{"name": "default", "values": {"maxPods": 150}}],
            },
        }

    def _pins(self, patch: dict[str, Any], components: Sequence[str]) -> dict[str, Any]:
        pinned: dict[str, Any] = {}
        for component in components:
            path = self.old.image_paths.get(component)
            reference = patch["images"].get(component)
            if path is None or reference is None:
                continue
            image, version = split_image(reference)
            set_path(pinned, path, {"image": image, "version": version})
        return pinned

    def exported(self, plan: ClusterPlan) -> dict[str, Any]:
        """The kube-system/k0s object as `kubectl get clusterconfig -o yaml` prints it."""
        rng = self.rng
        spec: dict[str, Any] = {
            "extensions": {"helm": {"concurrencyLevel": 5}},
            "images": {"default_pull_policy": "Never" if plan.airgapped else "IfNotPresent"},
            "network": self._network(plan),
            "telemetry": {"enabled": False},
        }
        pins: dict[str, Any] = {}
        if plan.stale is not None:
            pins = self._pins(plan.stale, list(self.old.image_paths))
        elif plan.current_pins:
            pins = self._pins(plan.target, ["coredns", "pause", "metricsserver"])
        for key, value in pins.get("spec", {}).items():
            _merge(spec.setdefault(key, {}), value)
        if plan.typo == "exported":
            images = spec["images"]
            images["default_pull_polcy"] = images.pop("default_pull_policy")
        return {
            "apiVersion": "k0s.k0sproject.io/v1beta1",
            "kind": "ClusterConfig",
            "metadata": {
                "creationTimestamp": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T09:14:11Z",
                "generation": rng.randint(1, 9),
                "name": "k0s",
                "namespace": "kube-system",
                "resourceVersion": str(rng.randint(300, 90000)),
                "uid": f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                f"9{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
            },
            "spec": spec,
        }

    def autopilot(self, plan: ClusterPlan) -> dict[str, Any]:
        version = plan.plan_version
        commands: list[dict[str, Any]] = []
        workers = {"discovery": {"selector": {"labels": f"cluster={plan.name}"}}, "limits": {"concurrent": 3}}
        if plan.airgapped:
            commands.append(
                {
                    "airgapupdate": {
                        "version": version,
                        "platforms": {
                            "linux-amd64": {
                                "url": f"https://mirror.example.internal/k0s-airgap-bundle-{version}-amd64"
                            }
                        },
                        "workers": {"discovery": workers["discovery"]},
                    }
                }
            )
        commands.append(
            {
                "k0supdate": {
                    "version": version,
                    "forceupdate": False,
                    "platforms": {
                        "linux-amd64": {
                            "url": f"https://mirror.example.internal/k0s-{version}-amd64",
                            "sha256": f"{self.rng.getrandbits(256):064x}",
                        }
                    },
                    "targets": {
                        "controllers": {
                            "discovery": {
                                "static": {"nodes": [f"{plan.name}-controller-{n}" for n in range(3)]}
                            }
                        },
                        "workers": workers,
                    },
                }
            }
        )
        return {
            "apiVersion": "autopilot.k0sproject.io/v1beta2",
            "kind": "Plan",
            "metadata": {"name": "autopilot"},
            "spec": {"id": f"upgrade-{version}", "timestamp": "now", "commands": commands},
        }


def _merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(into.get(key), dict):
            _merge(into[key], item)
        else:
            into[key] = item


def clear_generated(root: Path) -> bool:
    """Remove an earlier generated repository at ``root``; False (and nothing removed) when
    ``root`` exists but was not generated here."""
    if not root.exists():
        return True
    if not (root / MARKER).exists():
        return False
    shutil.rmtree(root)
    return True


def generate(root: Path, seed: int, clusters: int = CLUSTERS, manifest_count: int = MANIFESTS) -> Repo:
    """``clusters`` clusters of 4 k0s documents each among ``manifest_count`` ordinary manifests."""
    rng = random.Random(seed)
    repo = Repo(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(f"generated by bench/bench_check.py --seed {seed}\n", encoding="utf-8")
    manifests = ManifestFactory(rng)
    k0s = K0sFactory(rng, Release.load("1.29"), Release.load("1.30"))
    per_cluster = [
        manifest_count // clusters + (1 if i < manifest_count % clusters else 0) for i in range(clusters)
    ]
    for index in range(clusters):
        plan = k0s.plan_for(index)
        base = f"clusters/{plan.name}"
        for relative, text in manifests.cluster_files(plan.name, per_cluster[index]):
            repo.write(f"{base}/{relative}", text, k0s=False)
        typo_path = {
            "embedded": f"{base}/k0sctl.yaml",
            "standalone": f"{base}/k0s.yaml",
            "exported": f"{base}/system/clusterconfig-k0s.yaml",
        }.get(plan.typo)
        documents = (
            (f"{base}/k0sctl.yaml", k0s.k0sctl(plan), False),
            (f"{base}/k0s.yaml", k0s.standalone(plan), True),
            (f"{base}/system/clusterconfig-k0s.yaml", k0s.exported(plan), True),
            (f"{base}/system/autopilot-plan.yaml", k0s.autopilot(plan), False),
        )
        for relative, document, clusterconfig in documents:
            repo.write(relative, dump(document), k0s=True)
            if clusterconfig:
                repo.clusterconfig_files.append(relative)
            if relative == typo_path:
                repo.typo_files.append(relative)
    return repo
