"""One check, end to end: sources -> documents -> clusters -> schemas and rules -> findings."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from checker.config import Config, matching_ignore
from checker.findings import Finding, Severity, Suppression, apply_suppressions, parse_suppressions
from checker.inputs.roots import Tree
from checker.inputs.sources import STDIN_LABEL, Collected, Source, named_like_k0s
from checker.inputs.yamldoc import Document, ParsedFile, YamlPath, format_path, parse_bytes
from checker.k0s.cluster import Cluster, VersionSource, declared_by, group, resolve_airgap, resolve_target
from checker.k0s.documents import K0sObject, NearMiss, Recognition, classify_file, is_k0sctl_file
from checker.k0s.envsubst import Unknown, substitute_documents, unknown_paths
from checker.k0s.releases import Catalog
from checker.records import dataclass, field, replace
from checker.rules import ALL_RULES, Context, Options, Rule
from checker.rules.base import Check
from checker.rules.core import EXPIRED_IGNORE, INTERNAL_ERROR, NEAR_MISS, SCHEMA_VIOLATION, YAML_ERROR
from checker.rules.decoding import NOT_RECOGNISED, RECOGNISED_LOOSELY, UNSET_VARIABLE, recognition_message
from checker.validate.decode import decode_cluster
from checker.validate.schemas import validate
from checker.workflows.shard import Splitter


@dataclass
class Selection:
    """Which rules run: --select / --ignore on the command line plus severities from the config."""

    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def wants(self, rule_id: str) -> bool:
        rule_id = rule_id.upper()  # ids are case-insensitive (Rego policies name their own)
        if self.select and not any(rule_id.startswith(s) for s in self.select):
            return False
        return not any(rule_id.startswith(s) for s in self.ignore)


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    files_read: int = 0
    documents: int = 0
    objects: int = 0
    clusters: list[Cluster] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    context: set[str] = field(default_factory=set)  # files read as context: their findings are not reported
    rules_run: dict[str, set[str]] = field(default_factory=dict)  # cluster name -> ids of rules that ran

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed_by]


class Policies(Protocol):
    """Checks from outside the rule catalogue, such as conftest-style Rego policies (checker.rego.policies).

    Called once per run with every cluster; returns findings, which then go through suppressions,
    selection and configuration like the rules' own, and problems of the policies themselves, which
    end the run with exit code 2 like unreadable input.
    """

    def evaluate(self, clusters: Sequence[Cluster]) -> tuple[list[Finding], list[str]]: ...


_UNREAD = "What could not be read here was not checked: no rule ran on it, so it can hide other problems."


#: Streaming (``run_check(stream=True)``) starts at this many bytes of input that may hold k0s documents,
#: about 800 documents: below it, holding every document costs little and one parse per file is faster.
STREAM_FROM_BYTES = 1024 * 1024


def run_check(
    collected: Collected,
    catalog: Catalog,
    config: Config,
    *,
    cli_version: str | None = None,
    options: Options | None = None,
    selection: Selection | None = None,
    today: dt.date | None = None,
    policies: Policies | None = None,
    shard: Splitter | None = None,
    stream: bool = False,
) -> Result:
    """``stream``: a big run (``STREAM_FROM_BYTES``) may check one cluster at a time, reading its files
    again, so that peak memory does not grow with the repository (docs/design-notes.md, "Flat
    memory"). The report is the same; ``Result.clusters`` then holds light objects
    (``K0sObject.light``), enough for the report but not for further checks, so only callers that
    just report the result ask for it. Runs with policies, registry look-ups or stdin never stream:
    those need every document at once."""
    options = options or Options()
    selection = selection or Selection()
    today = today or dt.date.today()
    tree = collected.tree or Tree.at(Path.cwd())
    environ = options.environ if options.environ is not None else os.environ
    streaming = (
        stream
        and policies is None
        and options.registry is None
        and sum(len(source.raw) for source in collected.sources) >= STREAM_FROM_BYTES
        and all(source.path != STDIN_LABEL for source in collected.sources)
    )
    result = Result(files_read=collected.files_seen)
    result.input_errors = [f"{e.path}: {e.message}" for e in collected.errors]
    findings: list[Finding] = []
    objects: list[K0sObject] = []
    suppressions: dict[str, dict[int, Suppression]] = {}
    documents_by_path: dict[str, list[Document]] = {}  # files with suppression comments: owner keys
    streams: list[tuple[bytes, ParsedFile]] = []  # stdin: findings move to the origin files
    sources: dict[str, Source] = {}  # streaming: the files with k0s objects, read again per cluster
    for unread in collected.unread:  # found but not read (checker.inputs.walk): never silence
        findings.append(
            Finding(YAML_ERROR.id, YAML_ERROR.severity, unread.message, unread.path, 1, 1, detail=_UNREAD)
        )

    for source in collected.sources:
        read = _read(source, environ)
        findings.extend(read.findings)
        parsed = read.parsed
        if parsed is None:
            continue
        if source.explicit and not source.raw.strip() and not parsed.problems and source.path != STDIN_LABEL:
            findings.append(
                Finding(YAML_ERROR.id, Severity.INFO, "file is empty: nothing to check", source.path, 1, 1)
            )
        if source.context:
            result.context.add(source.path)
        else:
            result.documents += len(parsed.documents)
        if source.path == STDIN_LABEL:
            streams.append((source.raw, parsed))
            if not parsed.problems and all(document.data is None for document in parsed.documents):
                # fail closed: `render | k0s-policy check -` must not pass when the render failed
                result.input_errors.append(f"{STDIN_LABEL}: no documents on stdin (did the render fail?)")
        if streaming and read.objects:
            sources[source.path] = source
            objects.extend(_lighten(read.objects))
        else:
            objects.extend(read.objects)
        if not read.objects and not read.near_miss and parsed.documents and named_like_k0s(source.path):
            findings.append(
                Finding(
                    NOT_RECOGNISED.id,
                    NOT_RECOGNISED.severity,
                    "named like a k0s or k0sctl config, but no document in it is one that k0s or k0sctl reads",
                    source.path,
                    1,
                    1,
                    fix="Add apiVersion and kind, or a spec with ClusterConfig sections; or rename the file.",
                    detail="A file with this name is meant to configure k0s; skipping it silently would let "
                    "a broken configuration pass.",
                )
            )
        if read.objects or findings:
            text = source.raw.decode("utf-8", errors="replace")
            suppressions[source.path] = parse_suppressions(text)
            if suppressions[source.path]:
                documents_by_path[source.path] = (
                    [_positions_only(d) for d in parsed.documents] if streaming else parsed.documents
                )

    clusters = group(objects, tree)
    if shard is not None:  # check --shard K/N: this shard's clusters and files (checker.workflows.shard)
        clusters, findings = shard.keep(clusters, findings)
        objects = [obj for cluster in clusters for obj in cluster.objects]
    result.objects = sum(1 for obj in objects if obj.path not in result.context)
    result.clusters = clusters
    steps = _Steps(catalog, config, cli_version, options, selection, result)
    if streaming:
        # One cluster at a time: its files parsed again, checked, and dropped back to light objects.
        # The findings keep the order of the in-memory run (every cluster resolved, then checked).
        checked: list[Finding] = []
        texts = _SharedTexts()
        for cluster in clusters:
            try:
                full = _read_again(cluster, sources, environ)
            except Exception as err:  # the same bytes read the same way; should it fail, fail closed
                findings.append(_cluster_error("reading the cluster's files again", cluster, err))
                continue
            with _in_full(cluster, full):
                findings.extend(texts.share(steps.resolve(cluster)))
                checked.extend(texts.share(steps.check(cluster)))
            del full
        findings.extend(checked)
    else:
        for cluster in clusters:
            findings.extend(steps.resolve(cluster))
        if options.registry is not None and clusters:
            from checker.workflows.registry import gather, unused_registries  # only runs that ask one pay

            options.registry_answers = gather(clusters, catalog, options.registry)
            result.input_errors.extend(unused_registries(options.registry, options.registry_answers))
        for cluster in clusters:
            findings.extend(steps.check(cluster))
    if policies is not None:
        found, problems = policies.evaluate(clusters)
        findings.extend(found)
        result.input_errors.extend(problems)

    findings.extend(_expired_ignores(config))

    # Suppressions first: a reasonless suppression comment is itself a finding (K0S009) that
    # selection and configuration must be able to switch off like any other.
    findings = apply_suppressions(findings, suppressions, _OwnerKeys(documents_by_path).line)
    if streams:
        from checker.inputs.origin import relocate  # only runs that read stdin pay for it

        findings = relocate(findings, streams)
    if result.context:
        # context files shaped the clusters; only the named files are reported on
        findings = [f for f in findings if f.path not in result.context]
        result.clusters = [c for c in clusters if any(o.path not in result.context for o in c.objects)]
    # One canonical name per file: fingerprints, baselines and the configuration's patterns use it.
    # In place, so that the findings of a big run are not held twice.
    for index, finding in enumerate(findings):
        findings[index] = replace(finding, repo_path=tree.canonical(finding.path))  # memoised per path
    findings = [
        _apply_config(f, config, today)
        for f in findings
        if selection.wants(f.rule) and config.severities.get(f.rule.upper(), 0) is not None
    ]
    if any(f.rule == INTERNAL_ERROR.id and not f.suppressed_by for f in findings):
        # fail closed: a check that did not run is no pass, whatever --fail-on says (exit code 2)
        result.input_errors.append("a check failed on input it did not expect (K0S008): findings are missing")
    findings.sort(key=Finding.sort_key)
    result.findings = findings
    return result


@dataclass
class _Read:
    """One file as phase one of a check reads it: its parse, its file-level findings, its objects."""

    parsed: ParsedFile | None  # None: reading it failed (the K0S008 finding says so)
    findings: list[Finding] = field(default_factory=list)
    objects: list[K0sObject] = field(default_factory=list)
    near_miss: bool = False


def _read(source: Source, environ: Mapping[str, str]) -> _Read:
    """Parse, substitute (k0sctl files) and classify one file; the findings that need no cluster."""
    try:
        parsed = parse_bytes(source.path, source.raw)
    except Exception as err:  # a reader bug costs this file's findings, not every file's
        message = f"reading this file failed ({type(err).__name__}); the other files were checked"
        missing = "nothing in this file was checked, every other file was."
        return _Read(None, [internal_error("reading the file", message, err, missing, source.path)])
    read = _Read(parsed)
    findings = read.findings
    for problem in parsed.problems:
        findings.append(
            Finding(
                YAML_ERROR.id,
                YAML_ERROR.severity,
                problem.message,
                problem.path,
                problem.mark.line,
                problem.mark.column,
                detail=problem.detail or _UNREAD,
            )
        )
    unknown: dict[int, Unknown] = {}
    if is_k0sctl_file(parsed.documents):
        uses = substitute_documents(parsed.documents, environ)
        unknown = {id(d): unknown_paths(uses, d) for d in parsed.documents}
        for use in uses:
            mark = use.document.value_mark(use.path)
            names = ", ".join(f"${{{name}}}" for name in use.variables)
            findings.append(
                Finding(
                    UNSET_VARIABLE.id,
                    UNSET_VARIABLE.severity,
                    f"{format_path(use.path)} uses {names}, not set here: its value is unknown and checks "
                    "that need it are skipped",
                    use.document.path,
                    mark.line,
                    mark.column,
                    node=format_path(use.path),
                    fix="Set the variable in the environment of the check, as k0sctl will see it.",
                    detail="k0sctl substitutes environment variables before parsing; without the value "
                    "the check cannot judge this field and skips what needs it.",
                )
            )
    for item in classify_file(parsed.documents, unknown):
        if isinstance(item, NearMiss):
            read.near_miss = True
            mark = item.document.value_mark((*item.base, "apiVersion"))
            findings.append(
                Finding(
                    NEAR_MISS.id,
                    NEAR_MISS.severity,
                    item.message,
                    item.document.path,
                    mark.line,
                    mark.column,
                    node=".".join(map(str, (*item.base, "apiVersion"))),
                    fix=f"write {item.suggestion}",
                    detail="k0s and k0sctl skip a document whose apiVersion and kind they do not "
                    "read, so nothing in this one takes effect.",
                )
            )
            continue
        read.objects.append(item)
        if item.recognised is not Recognition.EXACT:
            node: tuple[str | int, ...] = ("kind",) if "kind" in item.data else ()
            mark = item.value_mark(node)
            findings.append(
                Finding(
                    RECOGNISED_LOOSELY.id,
                    RECOGNISED_LOOSELY.severity,
                    recognition_message(item),
                    item.path,
                    mark.line,
                    mark.column,
                    node=item.describe(node),
                    detail="k0s --config checks neither apiVersion nor kind, and k0sctl matches them "
                    "case-insensitively, so this document is read and was checked as such.",
                )
            )
    return read


def _lighten(objects: Sequence[K0sObject]) -> list[K0sObject]:
    """The light forms of one file's objects (owners light too), keeping the marks of the version
    nodes the report names (``VersionSource.where``)."""
    light: dict[int, K0sObject] = {}
    for obj in sorted(objects, key=lambda o: o.owner is not None):
        owner = light.get(id(obj.owner)) if obj.owner is not None else None
        light[id(obj)] = obj.light(owner, [source.node for source in declared_by(obj)])
    return [light[id(obj)] for obj in objects]


def _positions_only(document: Document) -> Document:
    return Document(document.path, document.index, None, document.start, document.values, document.keys)


def _read_again(
    cluster: Cluster, sources: Mapping[str, Source], environ: Mapping[str, str]
) -> list[K0sObject]:
    """The cluster's objects in full, parsed again from their files: the same objects by position
    (file, document, path in it), in the same order."""
    found: dict[tuple[str, int, YamlPath], K0sObject] = {}
    for path in dict.fromkeys(obj.path for obj in cluster.objects):
        for obj in _read(sources[path], environ).objects:
            found[(path, obj.document.index, obj.base)] = obj
    return [found[(obj.path, obj.document.index, obj.base)] for obj in cluster.objects]


@contextmanager
def _in_full(cluster: Cluster, full: list[K0sObject]) -> Iterator[None]:
    """The cluster with its objects in full for the duration of the block, then light again: whatever
    the checks set on the cluster that points at an object then points at its light form."""
    light, light_k0sctl = cluster.objects, cluster.k0sctl
    cluster.objects = full
    cluster.k0sctl = next((f for f, o in zip(full, light, strict=True) if o is light_k0sctl), None)
    try:
        yield
    finally:
        position = {id(obj): index for index, obj in enumerate(full)}
        position.update((id(obj), index) for index, obj in enumerate(cluster.objects))

        def back(source: VersionSource) -> VersionSource:
            index = position.get(id(source.obj), -1)
            return replace(source, obj=light[index]) if index >= 0 else source

        cluster.version_sources = [back(source) for source in cluster.version_sources]
        if cluster.target_source is not None:
            cluster.target_source = back(cluster.target_source)
        cluster.objects, cluster.k0sctl = light, light_k0sctl


class _SharedTexts:
    """One string object for equal messages and details: the clusters of a fleet are alike, so most of
    a big run's finding texts repeat (on the 3,200-document fleet, 1.5 of 4.6 MB of details are
    distinct)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def share(self, findings: list[Finding]) -> list[Finding]:
        texts = self.texts
        for index, finding in enumerate(findings):
            message = texts.setdefault(finding.message, finding.message)
            detail = texts.setdefault(finding.detail, finding.detail)
            if message is not finding.message or detail is not finding.detail:
                findings[index] = replace(finding, message=message, detail=detail)
        return findings


class _Steps:
    """The checks of one cluster, in two steps: resolving (target release, air gap, decoding) and
    checking (schemas and rules). An in-memory run resolves every cluster before it checks any."""

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        cli_version: str | None,
        options: Options,
        selection: Selection,
        result: Result,
    ) -> None:
        self.catalog = catalog
        self.config = config
        self.cli_version = cli_version
        self.options = options
        self.selection = selection
        self.result = result
        self.checks = _checks_to_run(selection, config)
        self.validating = (
            selection.wants(SCHEMA_VIOLATION.id) and config.severities.get(SCHEMA_VIOLATION.id, 0) is not None
        )

    def resolve(self, cluster: Cluster) -> list[Finding]:
        catalog, config = self.catalog, self.config
        return [
            *_guarded(
                "resolving the target release",
                cluster,
                resolve_target,
                cluster,
                catalog,
                config,
                self.cli_version,
            ),
            *_guarded("resolving the air gap", cluster, resolve_airgap, cluster, config),
            *_guarded("decoding like k0s", cluster, decode_cluster, cluster),
        ]

    def check(self, cluster: Cluster) -> list[Finding]:
        findings: list[Finding] = []
        result = self.result
        ran = result.rules_run.setdefault(cluster.name, set())
        if cluster.patch is not None and self.validating:
            ran.add(SCHEMA_VIOLATION.id)
            for obj in cluster.objects:
                findings.extend(
                    _guarded("schema validation", cluster, validate, obj, cluster.patch.minor, cluster.name)
                )
        elif self.validating:
            why = cluster.target_unknown or "no release data"
            result.skipped.append(f"schema validation for cluster {cluster.name}: {why}")
        context = Context(cluster, self.catalog, self.config, self.options)
        for check, rules in self.checks:
            waiting = [rule for rule in rules if rule.needs_release]
            if waiting and cluster.patch is None:
                for rule in waiting:
                    context.skip(rule, cluster.target_unknown or "the target release is unknown")
                continue
            label = "the check of " + ", ".join(rule.id for rule in rules)
            findings.extend(_guarded(label, cluster, check, context))
            ran.update(rule.id for rule in rules)
        result.skipped.extend(context.skipped)
        return findings


class _OwnerKeys:
    """The line of the mapping key that owns a finding's node, from the parsed document positions."""

    def __init__(self, documents_by_path: dict[str, list[Document]]) -> None:
        self.documents_by_path = documents_by_path
        self.paths: dict[int, dict[str, YamlPath]] = {}

    def line(self, finding: Finding) -> int | None:
        documents = self.documents_by_path.get(finding.path)
        if not documents or not finding.node:
            return None
        # the document the finding lies in: the last one that starts at or before its line
        document = next((d for d in reversed(documents) if d.start.line <= finding.line), documents[0])
        paths = self.paths.get(id(document))
        if paths is None:
            paths = self.paths[id(document)] = {format_path(p): p for p in (*document.keys, *document.values)}
        path = paths.get(finding.node)
        if not path:
            return None
        owner = path[:-1]  # for an item of a list, the key that holds the list
        if not owner or isinstance(owner[-1], int):
            return None  # a key of a mapping inside a list: that mapping has no key of its own
        mark = document.keys.get(owner)
        return mark.line if mark is not None else None


def _guarded(what: str, cluster: Cluster, action: Callable[..., Any], *args: Any) -> list[Finding]:
    """Runs one step for one cluster; a step that fails on input it did not expect becomes a K0S008
    finding at the cluster's first document, and every other step still runs."""
    try:
        produced = action(*args)
        return list(produced) if produced is not None else []
    except Exception as err:  # the one place that must never let a rule take the run down
        return [_cluster_error(what, cluster, err)]


def _cluster_error(what: str, cluster: Cluster, err: Exception) -> Finding:
    """The K0S008 finding of a step that failed on one cluster, at the cluster's first document."""
    anchor = cluster.objects[0] if cluster.objects else None
    mark = anchor.start if anchor is not None else None
    return internal_error(
        what,
        f"{what} failed on this cluster's documents ({type(err).__name__}); the other checks ran",
        err,
        "its findings for this cluster are missing, every other check ran.",
        anchor.path if anchor is not None else "",
        mark.line if mark else 1,
        mark.column if mark else 1,
        cluster=cluster.name,
    )


def internal_error(
    what: str,
    message: str,
    err: BaseException,
    missing: str,
    path: str = "",
    line: int = 1,
    column: int = 1,
    *,
    cluster: str = "",
) -> Finding:
    """The K0S008 finding of a step that failed on input it did not expect: ``missing`` says which
    findings that cost."""
    return Finding(
        INTERNAL_ERROR.id,
        INTERNAL_ERROR.severity,
        message,
        path,
        line,
        column,
        cluster=cluster,
        fix="report this bug in k0s-policy together with the document",
        detail=f"{type(err).__name__}: {err}. The check stopped on input it did not expect; {missing}",
        data={"subject": what},
    )


def _expired_ignores(config: Config) -> list[Finding]:
    """An ignore entry past its date no longer suppresses; say so where it is written."""
    return [
        Finding(
            EXPIRED_IGNORE.id,
            EXPIRED_IGNORE.severity,
            f"the ignore entry for {entry.rule} expired on {entry.expires}: its findings are reported again",
            str(config.path),
            entry.line,
            entry.column,
            node=f"ignore[{entry.rule}]",
            fix="fix the findings and remove the entry, or move expires: to a later date",
            detail=(
                f"Entries with expires: stop suppressing after that date, so {entry.rule} findings in "
                f"the paths it names count again towards --fail-on. An expired entry that stays in "
                ".k0s-policy.yaml only hides that the deadline passed."
            ),
            data={"subject": f"{entry.rule} {entry.expires}"},
        )
        for entry in config.expired
        if config.path
    ]


def _checks_to_run(selection: Selection, config: Config) -> list[tuple[Check, list[Rule]]]:
    """Each check function once, with the wanted rules it reports (several rules may share a pass)."""
    checks: dict[Check, list[Rule]] = {}
    for rule in ALL_RULES:
        if rule.check is None or not selection.wants(rule.id) or config.severities.get(rule.id, 0) is None:
            continue
        checks.setdefault(rule.check, []).append(rule)
    return list(checks.items())


def _apply_config(finding: Finding, config: Config, today: dt.date) -> Finding:
    override = config.severities.get(finding.rule.upper())
    if override is not None:
        finding = replace(finding, severity=override)
    entry = matching_ignore(config, finding.rule.upper(), finding.file, today)
    if entry is not None and not finding.suppressed_by:
        finding = replace(finding, suppressed_by=f"{config.path} ignore (line {entry.line}): {entry.reason}")
    return finding
