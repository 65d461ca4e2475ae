"""K0S207-K0S209: the images a cluster runs against what its registries really hold.

The registries are asked before any rule runs (checker.workflows.registry, `check --registry`); these
rules only read the answers. An image is checked at the registry its name resolves to after the
``images.repository`` rewrite, so the rewrite decides which registry and which name are asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from checker.findings import Finding, Severity
from checker.k0s.needed import NeededImage, is_windows_component, needed_images
from checker.k0s.pins import component_label, effective_pull_policy
from checker.k0s.releases import Patch
from checker.rules.base import Context, Rule

if TYPE_CHECKING:
    from checker.inputs.registry import Answers

# checker.inputs.registry (ssl, threads) is imported only when registries were asked: every run loads
# this module, few use --registry.


def _answers(ctx: Context) -> Answers | None:
    return ctx.options.registry_answers


def _policy(needed: NeededImage, ctx: Context, patch: Patch) -> str:
    release = ctx.catalog.release(patch.minor)
    return effective_pull_policy(needed.obj, release, patch) if release is not None else "IfNotPresent"


def _why(ctx: Context, policy: str) -> str:
    if ctx.cluster.airgapped:
        return (
            f"This cluster is air-gapped ({ctx.cluster.airgap_reason}): this registry is the only place a node "
            "can get the image from, so its pods cannot start on a node that lacks it."
        )
    if policy == "Never":
        return (
            "With default_pull_policy: Never the nodes pull nothing; the image must reach them in a bundle, "
            "and a bundle built from this registry will not hold it."
        )
    return (
        f"With pull policy {policy} a node that lacks the image pulls this name from this registry; "
        "the pull fails and the pod does not start."
    )


def check_registry_images(ctx: Context) -> Iterator[Finding]:
    answers = _answers(ctx)
    patch = ctx.cluster.patch
    if answers is None or patch is None:
        return
    from checker.inputs.registry import MISSING

    for needed in needed_images(ctx.cluster, ctx.catalog):
        answer = answers.answer(needed.ref)
        if answer is None or answer.status != MISSING:
            continue
        policy = _policy(needed, ctx, patch)
        fix = f"copy {needed.upstream} into {answer.registry}"
        default = patch.images.get(needed.component)
        if needed.source != "default" and default is not None and default != str(needed.upstream):
            fix = f"remove the pin so k0s {patch.version} runs its own {default}, or {fix}"
        yield ctx.finding(
            IMAGE_MISSING,
            needed.obj,
            needed.anchor,
            f"{component_label(needed.component)} runs {needed.ref}, which registry {answer.registry} "
            f"does not have ({answer.detail}).",
            fix=fix,
            detail=(
                f"{_why(ctx, policy)} `k0s-policy images --format skopeo-sync` lists everything the "
                "mirror must hold."
            ),
            subject=needed.component,
            image=needed.image,
            registry=answer.registry,
        )


def check_registry_platforms(ctx: Context) -> Iterator[Finding]:
    answers = _answers(ctx)
    if answers is None or ctx.cluster.patch is None or not answers.platforms:
        return
    from checker.inputs.registry import PRESENT, platform_matches

    for needed in needed_images(ctx.cluster, ctx.catalog):
        answer = answers.answer(needed.ref)
        if answer is None or answer.status != PRESENT or answer.platforms is None:
            continue
        wanted = platforms_for(needed.component, answers.platforms)
        lacking = [p for p in wanted if not platform_matches(p, answer.platforms)]
        if not lacking:
            continue
        offered = ", ".join(sorted(answer.platforms)) or "none"
        yield ctx.finding(
            PLATFORM_MISSING,
            needed.obj,
            needed.anchor,
            f"{needed.ref} has no {', '.join(lacking)} image in {answer.registry} (it has {offered}).",
            fix=f"copy every platform: skopeo copy --all docker://{needed.upstream} docker://{needed.ref}",
            detail=(
                "The nodes need " + ", ".join(wanted) + " (--platform). A node whose platform "
                "the image lacks cannot run it: the pull fails with 'no matching manifest' and the pod "
                "does not start."
            ),
            subject=needed.component,
            image=needed.image,
            registry=answer.registry,
        )


def platforms_for(component: str, platforms: tuple[str, ...]) -> list[str]:
    """The platforms an image must have (with --platform): Windows images the Windows ones given,
    the rest the Linux ones; amd64 of that OS when --platform names none of it."""
    system = "windows" if is_windows_component(component) else "linux"
    return [p for p in platforms if p.startswith(system + "/")] or [f"{system}/amd64"]


def check_registry_problems(ctx: Context) -> Iterator[Finding]:
    answers = _answers(ctx)
    if answers is None or ctx.cluster.patch is None:
        return
    from checker.inputs.registry import MISSING, PRESENT, SKIPPED

    images = needed_images(ctx.cluster, ctx.catalog)
    skipped: dict[str, list[NeededImage]] = {}
    for needed in images:
        answer = answers.answer(needed.ref)
        if answer is None:
            continue
        if answer.status == SKIPPED:
            skipped.setdefault(answer.registry, []).append(needed)
        elif answer.status == PRESENT and answer.platforms is None and answers.platforms:
            yield ctx.finding(
                REGISTRY_UNAVAILABLE,
                needed.obj,
                needed.anchor,
                f"registry {answer.registry} has {needed.ref}, but its platforms could not be read",
                fix="check that the registry serves OCI or Docker v2 manifests and their config blobs",
                detail=f"The registry answered: {answer.detail}. K0S208 (missing platforms) was not checked "
                "for this image; the check does not pass it unseen.",
                subject=f"{answer.registry} {needed.image}",
                registry=answer.registry,
            )
        elif answer.status not in (PRESENT, MISSING):
            yield ctx.finding(
                REGISTRY_UNAVAILABLE,
                needed.obj,
                needed.anchor,
                f"registry {answer.registry} gave no answer for {needed.ref}: {answer.detail}.",
                fix="check the registry and the credentials, then run the check again",
                detail="K0S207 and K0S208 were not checked for this image; the check does not pass it unseen.",
                subject=f"{answer.registry} {needed.image}",
                registry=answer.registry,
            )
    for registry, affected in skipped.items():
        problem = answers.problems.get(registry)
        reason = problem.message if problem is not None else f"{registry} was not asked"
        first = affected[0]
        count = len(affected)
        yield ctx.finding(
            REGISTRY_UNAVAILABLE,
            first.obj,
            first.anchor,
            f"{reason}; {count} image{'s' if count != 1 else ''} of this cluster not checked.",
            fix=_problem_fix(problem.kind if problem is not None else ""),
            detail="K0S207 and K0S208 were skipped for: " + ", ".join(n.image for n in affected) + ".",
            subject=registry,
            registry=registry,
        )


def _problem_fix(kind: str) -> str:
    if kind == "credentials":
        return "log in (docker login writes config.json) or pass --registry-auth FILE with valid credentials"
    if kind == "unreachable":
        return "check the URL, the network path and TLS (--registry-ca, --registry-insecure HOST)"
    return "check that the URL names an OCI distribution registry (GET /v2/ must answer 200 or 401)"


IMAGE_MISSING = Rule(
    "K0S207",
    "image-missing-from-registry",
    Severity.ERROR,
    "An image the cluster runs is not in the registry its name resolves to (asked with check --registry).",
    check=check_registry_images,
)
PLATFORM_MISSING = Rule(
    "K0S208",
    "image-platform-missing",
    Severity.ERROR,
    "An image in the registry lacks a platform the cluster's nodes need (check --registry --platform).",
    check=check_registry_platforms,
)
REGISTRY_UNAVAILABLE = Rule(
    "K0S209",
    "registry-unavailable",
    Severity.ERROR,
    "A registry given with --registry cannot be reached or refuses the credentials; its checks were skipped.",
    check=check_registry_problems,
)

RULES = (IMAGE_MISSING, PLATFORM_MISSING, REGISTRY_UNAVAILABLE)
