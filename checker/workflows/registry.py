"""The network step of `check --registry`: ask the registries about every image the clusters run,
once per distinct image per run, before any rule runs (so the K0S207-K0S209 rules stay pure and only
read the answers from ``Options.registry_answers``)."""

from __future__ import annotations

from collections.abc import Sequence

from checker.inputs.imageref import ImageRef
from checker.inputs.registry import (
    PROTOCOL,
    SKIPPED,
    Answer,
    Answers,
    Asker,
    Problem,
    Settings,
    ask,
)
from checker.k0s.cluster import Cluster
from checker.k0s.needed import needed_images
from checker.k0s.releases import Catalog


def gather(clusters: Sequence[Cluster], catalog: Catalog, settings: Settings, asker: Asker = ask) -> Answers:
    """The registries' answers for every image of these clusters. Answers are kept on ``settings``, so
    an image asked once in a run (PR mode checks two revisions) is not asked again."""
    images: dict[str, ImageRef] = {}
    known = settings.asked
    fresh: list[ImageRef] = []
    try:
        for cluster in clusters:
            if cluster.patch is not None:
                for needed in needed_images(cluster, catalog):
                    images.setdefault(needed.image, needed.ref)
        fresh = [ref for text, ref in images.items() if known is None or text not in known.answers]
        answers = asker(settings, fresh)
    except Exception as err:  # never a traceback and never a silent pass: every registry gets K0S209
        answers = Answers(settings.registries, settings.platforms, auth_source=settings.auth_source)
        for registry in settings.registries:
            answers.problems[registry.name] = Problem(
                registry.name, PROTOCOL, f"asking {registry.name} failed ({type(err).__name__}: {err})"
            )
        for ref in fresh or images.values():
            holder = answers.registry_for(ref)
            if holder is not None:
                answers.answers[str(ref)] = Answer(str(ref), holder.name, SKIPPED)
    if known is not None:
        for name, problem in known.problems.items():
            answers.problems.setdefault(name, problem)
        for text, answer in known.answers.items():
            answers.answers.setdefault(text, answer)
    settings.asked = answers
    return answers


def unused_registries(settings: Settings, answers: Answers) -> list[str]:
    """A registry named with --registry that no image resolves to checked nothing: a typo in its name
    or a missing ``images.repository`` must not look like a clean mirror."""
    used = {answer.registry for answer in answers.answers.values()} | set(answers.problems)
    return [
        f"--registry {registry.name}: no image of the checked clusters resolves to it, so nothing was "
        "asked; check the name against spec.images.repository and the image names"
        for registry in settings.registries
        if registry.name in settings.named and registry.name not in used
    ]
