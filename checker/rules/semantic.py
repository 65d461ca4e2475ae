"""K0S020-K0S031: what k0s's ``Validate()`` and k0sctl's ``Cluster.Validate`` reject, release by
release; K0S040-K0S042: hazards k0s accepts but the cluster will not survive.

The checks themselves are in checker/validate/semantic.py and checker/validate/hazards.py; this module
declares the rules and turns each problem into a finding at its node. All rules share one pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.findings import Finding, Severity
from checker.k0s.cluster import host_install_flags
from checker.k0s.documents import K0sObject, Kind
from checker.rules.base import Context, Rule
from checker.validate import hazards, semantic
from checker.validate.semantic import Problem


def check_semantics(ctx: Context) -> Iterator[Finding]:
    """ClusterConfig.Validate() of the target release."""
    patch = ctx.cluster.patch
    if patch is None:
        return
    minor = semantic.minor_of(patch.minor)
    flags = " ".join(host_install_flags(ctx.cluster.k0sctl)) if ctx.cluster.k0sctl is not None else ""
    for obj in ctx.cluster.configs:
        yield from _findings(ctx, obj, semantic.clusterconfig_problems(obj, minor, flags))


def check_release_free(ctx: Context) -> Iterator[Finding]:
    """k0sctl's Cluster.Validate and the hazards: the same in every release, so they also run when
    the target release is unknown."""
    for obj in ctx.cluster.objects:
        if obj.kind is Kind.CLUSTER_CONFIG:
            yield from _findings(ctx, obj, hazards.clusterconfig_hazards(obj))
        elif obj.kind is Kind.K0SCTL_CLUSTER:
            yield from _findings(ctx, obj, semantic.k0sctl_problems(obj))
            yield from _findings(ctx, obj, hazards.k0sctl_hazards(obj))


def _findings(ctx: Context, obj: K0sObject, problems: Iterator[Problem]) -> Iterator[Finding]:
    for problem in problems:
        rule = RULES_BY_ID[problem.rule]
        severity = Severity.parse(problem.severity) if problem.severity else None
        yield ctx.finding(
            rule,
            obj,
            problem.path,
            problem.message,
            at_key=problem.at_key,
            fix=problem.fix,
            severity=severity,
            detail=DETAILS[problem.rule],
        )


def _rule(rule_id: str, name: str, severity: Severity, summary: str) -> Rule:
    if rule_id in _RELEASE_FREE:
        return Rule(rule_id, name, severity, summary, check=check_release_free, needs_release=False)
    return Rule(rule_id, name, severity, summary, check=check_semantics)


_RELEASE_FREE = {
    semantic.K0SCTL_HOSTS,
    semantic.K0SCTL_VERSION,
    hazards.CIDR_OVERLAP,
    hazards.HOST_BITS,
    hazards.PLACEHOLDER_VALUE,
}


RULES = (
    _rule(
        semantic.API_ADDRESS,
        "api-address",
        Severity.ERROR,
        "spec.api address, externalAddress or a SAN that k0s rejects.",
    ),
    _rule(
        semantic.NETWORK,
        "network-ranges",
        Severity.ERROR,
        "Pod/service CIDRs, families, dual-stack or cluster domain that k0s rejects.",
    ),
    _rule(
        semantic.KUBE_PROXY_MODE,
        "kube-proxy-mode",
        Severity.ERROR,
        "A kube-proxy mode the target k0s release does not support.",
    ),
    _rule(
        semantic.NLLB_EXTERNAL_ADDRESS,
        "nllb-with-external-address",
        Severity.ERROR,
        "Node-local load balancing enabled together with spec.api.externalAddress.",
    ),
    _rule(
        semantic.IMAGE_NAME,
        "image-name-whitespace",
        Severity.ERROR,
        "An image name with leading or trailing whitespace, which k0s rejects.",
    ),
    _rule(
        semantic.EXTERNAL_ETCD,
        "external-etcd",
        Severity.ERROR,
        "External etcd without endpoints or prefix, or with only some TLS files.",
    ),
    _rule(
        semantic.HELM,
        "helm-extension",
        Severity.ERROR,
        "A Helm chart or repository k0s rejects: missing fields or a bad release name.",
    ),
    _rule(
        semantic.WORKER_PROFILE,
        "worker-profile",
        Severity.ERROR,
        "A worker profile with a bad name or a kubelet key k0s sets itself.",
    ),
    _rule(
        semantic.CPLB,
        "control-plane-load-balancing",
        Severity.ERROR,
        "Control-plane load balancing addresses or settings that k0s rejects.",
    ),
    _rule(
        semantic.K0SCTL_HOSTS,
        "k0sctl-hosts",
        Severity.ERROR,
        "k0sctl hosts that k0sctl rejects: roles, connections, addresses, flags.",
    ),
    _rule(
        semantic.K0SCTL_VERSION,
        "k0sctl-k0s-version",
        Severity.ERROR,
        "A k0s version below what k0sctl or its dynamicConfig supports.",
    ),
    _rule(
        hazards.CIDR_OVERLAP,
        "overlapping-cidrs",
        Severity.ERROR,
        "Pod and service ranges overlap; k0s accepts it but the cluster breaks.",
    ),
    _rule(
        hazards.HOST_BITS,
        "cidr-host-bits",
        Severity.WARNING,
        "A CIDR written with host bits set; k0s silently uses its network.",
    ),
    _rule(
        hazards.PLACEHOLDER_VALUE,
        "unfilled-placeholder",
        Severity.ERROR,
        "An address, SAN or range is still a template placeholder like <LAN_IP>.",
    ),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}

_REJECTS = (
    "k0s refuses a configuration that fails this check: the controller does not start and the rollout stops."
)
DETAILS: dict[str, str] = {
    semantic.API_ADDRESS: "spec.api is checked by k0s's APISpec.Validate; " + _REJECTS,
    semantic.NETWORK: "spec.network is checked by k0s's Network.Validate of the target release; " + _REJECTS,
    semantic.KUBE_PROXY_MODE: "Each k0s release supports a fixed set of kube-proxy modes; " + _REJECTS,
    semantic.NLLB_EXTERNAL_ADDRESS: "Both decide how workers reach the API server; " + _REJECTS,
    semantic.IMAGE_NAME: "k0s's ImageSpec.Validate rejects names with surrounding whitespace; " + _REJECTS,
    semantic.EXTERNAL_ETCD: "k0s needs endpoints and a prefix for external etcd, and TLS files all or none; "
    + _REJECTS,
    semantic.HELM: "k0s's Chart.Validate and Repository.Validate require these in every release; " + _REJECTS,
    semantic.WORKER_PROFILE: "k0s sets these kubelet values itself and checks profile names; " + _REJECTS,
    semantic.CPLB: "k0s validates keepalived's VRRP instances and virtual servers; " + _REJECTS,
    semantic.K0SCTL_HOSTS: "k0sctl's Cluster.Validate refuses the file before it connects to any host.",
    semantic.K0SCTL_VERSION: "k0sctl refuses k0s versions below its floors before it connects to any host.",
    hazards.CIDR_OVERLAP: "k0s accepts overlapping ranges, but Service IPs then collide with pod IPs and "
    "traffic reaches the wrong place.",
    hazards.HOST_BITS: "Go's net.ParseCIDR drops the host bits silently, so the cluster uses another range "
    "than the one written.",
    hazards.PLACEHOLDER_VALUE: "A copied template value was never filled in; k0s or k0sctl cannot use it.",
}
