"""The actions before a step, in the order that works: (a) clean the cluster object of persisted
defaults (the repository's copy first, then the live object), (b) put the images the cleaned config
needs into the registry or the bundle, (c) change the version (the k0sctl line, or an autopilot Plan),
(d) check the cluster after the step."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Sequence

from checker.findings import Finding
from checker.inputs.imageref import ImageRef, same_image
from checker.inputs.live import LiveState
from checker.inputs.registry import MISSING
from checker.k0s.cluster import Cluster, versions_differ
from checker.k0s.documents import K0sObject
from checker.k0s.needed import NeededImage, added_since, needed_images
from checker.k0s.pins import pull_policy_of, repository_of
from checker.k0s.releases import Catalog, Patch
from checker.records import dataclass, field
from checker.rules import Options
from checker.workflows.audit.model import Remediation
from checker.workflows.upgrade.autopilot import autopilot_plan, plan_targets, plan_text
from checker.workflows.upgrade.bundles import NamedBundles
from checker.workflows.upgrade.model import CLEAN_OBJECT, IMAGES, VERIFY, VERSION, Action
from checker.workflows.upgrade.path import Hop
from checker.workflows.upgrade.steps import FIXABLE_RULES, StepChecks, cleaned_cluster, persisted_pins

K0SCTL = "k0sctl"
AUTOPILOT = "autopilot"
METHODS = ("auto", K0SCTL, AUTOPILOT)


@dataclass
class Planner:
    """What every step's actions share: the command line to repeat, the method and the Plan inputs."""

    catalog: Catalog
    paths: Sequence[str]
    method: str = "auto"
    url_template: str = ""
    platforms: tuple[str, ...] = ("linux/amd64",)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    token: str = "0000"
    live_flags: str = ""  # how the command was given the live state, to repeat it in checks
    cleaned: set[str] = field(default_factory=set)  # clean-ups already asked for by an earlier step

    def shown_paths(self) -> str:
        return shlex.join(self.paths) if self.paths else "."

    def actions(
        self,
        number: int,
        hop: Hop,
        cluster: Cluster | None,
        name: str,
        checks: StepChecks,
        live: LiveState | None,
        options: Options,
        bundles: NamedBundles,
    ) -> list[Action]:
        actions: list[Action] = []
        actions += self._clean(hop, cluster, checks)
        images = self._images(hop, cluster, name, checks, options, bundles, cleaning=bool(actions))
        if images is not None:
            actions.append(images)
        actions.append(self._version(number, hop, cluster, live, bundles))
        actions.append(self._verify(hop, cluster, checks))
        return actions

    # --- (a) ------------------------------------------------------------------------------------------

    def _clean(self, hop: Hop, cluster: Cluster | None, checks: StepChecks) -> list[Action]:
        actions: list[Action] = []
        fixable = [f for f in checks.repository if f.rule in FIXABLE_RULES and not f.suppressed_by]
        items = sorted({f"{f.path}:{f.line}: {f.node}" for f in fixable})
        key = "repository:" + "|".join(items)
        if items and key not in self.cleaned:
            self.cleaned.add(key)
            actions.append(
                Action(
                    CLEAN_OBJECT,
                    "remove the default images the repository pins (persisted or stale)",
                    [f"k0s-policy fix {self.shown_paths()} --k0s-version {hop.target.version}"],
                    items,
                    notes=[
                        "commit the change and let Flux or Argo CD apply it before the live object is "
                        "cleaned: a sync of the old file puts the pins back"
                    ],
                )
            )
        live_obj = checks.live_object
        if live_obj is not None:
            remove = persisted_pins(live_obj, self.catalog, hop.target)
            fix = _live_remediation(live_obj, remove, cluster)
            key = "live:" + (fix.json_patch if fix else "")
            if fix is not None and key not in self.cleaned:
                self.cleaned.add(key)
                notes = [
                    "k0s never rewrites an existing object: the new controllers take every image left in "
                    "it for a deliberate pin"
                ]
                if fix.kept:
                    notes.append(
                        "the repository's object pins "
                        + ", ".join(".".join(map(str, p)) for p in fix.kept)
                        + " too: clean it first (above)"
                    )
                actions.append(
                    Action(
                        CLEAN_OBJECT,
                        f"remove the persisted default images from the live object {live_obj_ref(fix)}",
                        [fix.kubectl, fix.edit],
                        [".".join(map(str, p)) for p in fix.remove],
                        notes=notes,
                    )
                )
        return actions

    # --- (b) ------------------------------------------------------------------------------------------

    def _images(
        self,
        hop: Hop,
        cluster: Cluster | None,
        name: str,
        checks: StepChecks,
        options: Options,
        bundles: NamedBundles,
        *,
        cleaning: bool,
    ) -> Action | None:
        view = cleaned_cluster(cluster, checks.live_object, self.catalog, hop.target, name)
        after = needed_images(view, self.catalog, hop.target)
        gained = added_since(after, needed_images(view, self.catalog, hop.source))
        command = f"k0s-policy images {self.shown_paths()} --k0s-version {hop.target.version}"
        commands = [
            f"{command} --from {hop.source.version}   # what a mirror serving {hop.source.version} gains"
        ]
        lacking: list[NeededImage] = []
        where = ""
        notes: list[str] = []
        if options.registry is not None:
            from checker.workflows.registry import gather  # only runs that ask a registry pay

            answers = gather([view], self.catalog, options.registry)
            lacking = [n for n in after if (a := answers.answer(n.ref)) is not None and a.status == MISSING]
            where = "the registry lacks"
            commands.append(
                f"{command} --format skopeo-sync --output-dir sync/   # copy them into the mirror"
            )
        elif options.airgap_images is not None or bundles.images is not None:
            held = options.airgap_images if options.airgap_images is not None else bundles.images
            assert held is not None
            if _pulls_nothing(view, hop.target):
                lacking = [n for n in after if not _held(n.ref, held)]
            where = "the bundles lack"
            source = options.airgap_images_source or bundles.source
            notes.append(f"compared with {source}")
            if bundles.images is not None and source == bundles.source:
                arch = self.platforms[0].split("/")[1] if self.platforms else "amd64"
                notes.append(
                    f"upload the k0s {hop.target.version} bundle (k0s-airgap-bundle-{hop.target.version}-{arch} "
                    "from the k0s release page) to /var/lib/k0s/images/ on every worker before the step"
                )
            else:
                commands.append(f"{command} > images.txt   # then build the bundle from this list")
        if lacking:
            return Action(
                IMAGES,
                f"before the step: add the {len(lacking)} images {where}",
                commands,
                [n.image for n in lacking],
                notes=[*notes, *(["listed for the config after the clean-up above"] if cleaning else [])],
            )
        mirrored = any(repository_of(o) for o in view.configs)
        if gained and not where and (mirrored or _pulls_nothing(view, hop.target)):
            return Action(
                IMAGES,
                f"before the step: the nodes need {len(gained)} images {hop.source.version} did not run "
                "(mirror them or add them to the bundle)",
                commands,
                [n.image for n in gained],
                notes=notes,
            )
        return None

    # --- (c) ------------------------------------------------------------------------------------------

    def _version(
        self, number: int, hop: Hop, cluster: Cluster | None, live: LiveState | None, bundles: NamedBundles
    ) -> Action:
        version = hop.target.version
        k0sctl = cluster.k0sctl if cluster is not None else None
        method = self.method if self.method != "auto" else (K0SCTL if k0sctl is not None else AUTOPILOT)
        if method == K0SCTL and k0sctl is not None:
            node = ("spec", "k0s", "version")
            written = k0sctl.get(*node)
            mark = k0sctl.value_mark(node) if written is not None else k0sctl.start
            now = (
                f" (now {written})" if written is not None else " (not set: k0sctl would install the newest)"
            )
            notes = [
                "k0sctl replaces the controllers one at a time, then the workers in batches, draining each"
            ]
            if bundles.versions and version not in bundles.versions:
                notes.append(
                    f"the hosts upload the bundles of {', '.join(sorted(set(bundles.versions)))}: change each "
                    f"files[].src to the k0s {version} bundle in the same commit"
                )
            title = f"set spec.k0s.version: {version} in {k0sctl.path}:{mark.line}{now}"
            if isinstance(written, str) and not versions_differ(written, version):
                title = f"{k0sctl.path}:{mark.line} already says spec.k0s.version: {version}: apply it with k0sctl"
            return Action(
                VERSION,
                title,
                [f"k0sctl apply --config {shlex.quote(k0sctl.path)}"],
                [f"{k0sctl.path}:{mark.line}: spec.k0s.version: {version}"],
                notes=notes,
            )
        targets = plan_targets(k0sctl, live)
        plan = autopilot_plan(
            hop.target,
            targets,
            url_template=self.url_template,
            platforms=self.platforms,
            now=self.now,
            token=f"{self.token}{number}",
        )
        file = f"plan-{number:02d}-{version.replace('+', '-')}.yaml"
        header = (
            f"k0s-policy upgrade, step {number}: {hop.source.version} -> {version}.\n"
            "Write each platform's sha256 before applying: K0S305 reports the placeholder until then."
        )
        downloads = plan["spec"]["commands"][0]["k0supdate"]["platforms"]
        commands = [
            f"curl -fsSLO {shlex.quote(d['url'])} && sha256sum {shlex.quote(d['url'].rsplit('/', 1)[-1])}"
            for d in downloads.values()
        ]
        commands.append(f"kubectl apply -f {file}")
        notes = [f"targets from {targets.source}", *targets.notes]
        if cluster is not None and cluster.airgapped and "github.com" in self.url_template:
            notes.append("the nodes are air-gapped: point --url-template at a file server they reach")
        return Action(
            VERSION,
            f"apply an autopilot Plan that updates to {version} (controllers first)",
            commands,
            [],
            {file: plan_text(plan, header)},
            notes,
        )

    # --- (d) ------------------------------------------------------------------------------------------

    def _verify(self, hop: Hop, cluster: Cluster | None, checks: StepChecks) -> Action:
        kubernetes = hop.target.kubernetes
        commands = [
            "kubectl get nodes -o wide   # every node Ready with kubelet v" + kubernetes,
            "kubectl get pods -n kube-system   # every system pod Running, none in ImagePullBackOff",
        ]
        k0sctl = cluster.k0sctl if cluster is not None else None
        method = self.method if self.method != "auto" else (K0SCTL if k0sctl is not None else AUTOPILOT)
        if method == AUTOPILOT:
            commands.insert(0, "kubectl get plan autopilot -o jsonpath='{.status.state}'   # Completed")
        dynamic = checks.live_object is not None or (cluster is not None and cluster.dynamic_config)
        audit = f"k0s-policy audit {self.shown_paths()}{self.live_flags or ' --kubeconfig KUBECONFIG'}"
        commands.append(audit + "   # no drift, no persisted defaults, no version skew (K0S306)")
        notes = []
        if dynamic:
            notes.append(
                "with dynamic config, check that the new controllers wrote no images into the object "
                "(the audit reports K0S104 and K0S102 on it)"
            )
        return Action(
            VERIFY, f"after the step: every node runs k0s {hop.target.version}", commands, notes=notes
        )


def live_obj_ref(fix: Remediation) -> str:
    return f"clusterconfig/{fix.namespace}/{fix.name}"


def _live_remediation(
    live_obj: K0sObject, remove: Sequence[tuple[str | int, ...]], cluster: Cluster | None
) -> Remediation | None:
    if not remove:
        return None
    repository_objects = [o for o in cluster.configs if o.is_cluster_object] if cluster is not None else []
    kept = tuple(p for p in remove if any(o.get(*p) is not None for o in repository_objects))
    return Remediation.of(live_obj, remove, kept)


def _pulls_nothing(cluster: Cluster, patch: Patch) -> bool:
    """Nodes that must hold every image: air-gapped, or default_pull_policy Never on a release that honours it."""
    never = patch.pull_policy_honoured and any(pull_policy_of(o) == "Never" for o in cluster.configs)
    return cluster.airgapped or never


def _held(ref: ImageRef, held: frozenset[str]) -> bool:
    if str(ref) in held:
        return True
    for text in held:
        try:
            if same_image(ImageRef.parse(text), ref):
                return True
        except ValueError:
            continue
    return False


def blocking_summary(findings: Sequence[Finding]) -> list[str]:
    return [f"{f.path}:{f.line}: {f.rule} {f.message}" for f in findings]
