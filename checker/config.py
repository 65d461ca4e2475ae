"""`.k0s-policy.yaml`: target version, severities, ignores, air gap and registries.

Example::

    k0s_version: v1.30.14+k0s.0        # target for every cluster unless a cluster entry says otherwise
    exclude: ["vendor/**"]             # paths never read
    airgapped: true                    # clusters pull nothing from the internet
    airgap_images: airgap/images.txt   # `k0s airgap list-images` output
    registries:                        # private registries the clusters may pull from; an entry
      - registry.example.com           # with url: is also asked whether it holds the images
      - url: https://mirror.example.com:5000   # (check --registry, docs/registry.md)
    rules:
      K0S103: {severity: info}         # or `K0S103: off`
    ignore:
      - rule: K0S101
        paths: ["clusters/legacy/**"]
        reason: legacy cluster, retired in Q1
        expires: 2027-03-31
    clusters:
      "clusters/edge-*": {k0s_version: "1.31", airgapped: false}

Every pattern (``exclude``, ``ignore[].paths``, the ``clusters:`` keys) is relative to the folder
that holds the file, wherever the tool is started from; matching uses canonical, repository-relative
paths (``checker.inputs.roots``) and ``base``, the folder's canonical name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.findings import Severity
from checker.inputs.roots import under
from checker.inputs.sources import Exclude, is_ignored
from checker.records import dataclass, field, replace

if TYPE_CHECKING:
    from checker.inputs.yamldoc import Document

CONFIG_NAME = ".k0s-policy.yaml"
_TOP_KEYS = {
    "k0s_version",
    "exclude",
    "airgapped",
    "airgap_images",
    "registries",
    "rules",
    "ignore",
    "clusters",
}
_CLUSTER_KEYS = {"k0s_version", "airgapped", "registries"}


class ConfigError(Exception):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class IgnoreEntry:
    rule: str
    paths: tuple[str, ...]
    reason: str
    expires: dt.date | None
    line: int
    column: int = 1

    def matches(self, rule: str, relative: str | None, today: dt.date) -> bool:
        """``relative``: the finding's path relative to the configuration's folder (None: outside it)."""
        if self.rule not in (rule, "*"):
            return False
        if self.expires is not None and today > self.expires:
            return False
        if not self.paths:
            return True
        return relative is not None and is_ignored(relative, self.paths)


@dataclass(frozen=True)
class ClusterSettings:
    pattern: str
    k0s_version: str | None = None
    airgapped: bool | None = None
    registries: tuple[str, ...] = ()


@dataclass
class Config:
    path: str | None = None
    k0s_version: str | None = None
    exclude: tuple[str, ...] = ()
    airgapped: bool = False
    airgap_images: str | None = None
    registries: tuple[str, ...] = ()
    registry_urls: tuple[str, ...] = ()  # `registries:` entries with url: the registries check asks
    severities: dict[str, Severity | None] = field(default_factory=dict)
    ignore: tuple[IgnoreEntry, ...] = ()
    clusters: tuple[ClusterSettings, ...] = ()
    expired: tuple[IgnoreEntry, ...] = ()
    base: str = ""  # canonical name of the folder its patterns are relative to ("" the root)
    rule_names: tuple[tuple[str, int], ...] = ()  # (rule id as written, line): checked against the registry

    def relative(self, canonical: str) -> str | None:
        """A canonical path relative to the configuration's folder, or None when outside it."""
        return under(canonical, self.base)

    def for_cluster(self, cluster_root: str) -> ClusterSettings | None:
        """The first ``clusters:`` entry whose pattern matches the cluster's canonical root."""
        relative = self.relative(cluster_root)
        if relative is None:
            return None
        for settings in self.clusters:
            if is_ignored(relative, (settings.pattern,)):
                return settings
        return None

    @property
    def exclusion(self) -> Exclude:
        return Exclude(self.base, self.exclude)


def find_config(start: Path) -> Path | None:
    """The nearest `.k0s-policy.yaml` in start or one of its parents (stopping at a git root)."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
        if (candidate / ".git").exists():
            return None
    return None


def load_config(path: Path, shown: str, today: dt.date | None = None, base: str = "") -> Config:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(shown, 1, f"cannot read the configuration: {err.strerror or err}") from None
    return parse_config(raw, shown, today, base)


def parse_config(raw: bytes, shown: str, today: dt.date | None = None, base: str = "") -> Config:
    """``base``: the canonical name of the folder that holds the file ("" the repository root)."""
    today = today or dt.date.today()
    from checker.inputs.yamldoc import parse_bytes  # a run without a configuration file never parses one

    parsed = parse_bytes(shown, raw)
    if parsed.problems:
        problem = parsed.problems[0]
        raise ConfigError(shown, problem.mark.line, problem.message)
    if not parsed.documents or parsed.documents[0].data is None:
        return Config(path=shown, base=base)
    if len(parsed.documents) > 1:
        raise ConfigError(
            shown, parsed.documents[1].start.line, "the configuration must be one YAML document"
        )
    config = _Reader(parsed.documents[0], shown).read(today)
    config.base = base
    return config


class _Reader:
    def __init__(self, document: Document, shown: str) -> None:
        self.document = document
        self.shown = shown

    def fail(self, path: tuple[str | int, ...], message: str) -> ConfigError:
        return ConfigError(self.shown, self.document.key_mark(path).line, message)

    def expect(
        self, value: Any, kind: type | tuple[type, ...], path: tuple[str | int, ...], what: str
    ) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(path, f"{'.'.join(map(str, path))} must be {what}")
        return value

    def strings(self, value: Any, path: tuple[str | int, ...]) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        items = self.expect(value, list, path, "a list of strings")
        for index, item in enumerate(items):
            self.expect(item, str, (*path, index), "a string")
        return tuple(items)

    def registries(self, value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Names (strings) and, for ``{url: ...}`` entries, the URL to ask; a url entry is a name too."""
        path: tuple[str | int, ...] = ("registries",)
        items = [value] if isinstance(value, str) else self.expect(value, list, path, "a list")
        names: list[str] = []
        urls: list[str] = []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                unknown = set(item) - {"url"}
                if unknown:
                    raise self.fail((*path, index), f"unknown key {sorted(unknown)[0]!r} in a registry entry")
                url = self.expect(item.get("url"), str, (*path, index, "url"), "a registry URL")
                urls.append(url)
                names.append(url.split("://", 1)[-1].rstrip("/"))
            else:
                names.append(self.expect(item, str, (*path, index), "a registry name or {url: ...}"))
        return tuple(names), tuple(urls)

    def version(self, value: Any, path: tuple[str | int, ...]) -> str:
        if isinstance(value, float):
            raise self.fail(
                path, f'write the version as a string ("{value}"): YAML reads {value} as a number'
            )
        return self.expect(value, str, path, "a k0s version string such as v1.30.14+k0s.0")

    def read(self, today: dt.date) -> Config:
        data = self.expect(self.document.data, dict, (), "a mapping")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.fail((key,), f"unknown setting {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
        config = Config(path=self.shown)
        if "k0s_version" in data:
            config.k0s_version = self.version(data["k0s_version"], ("k0s_version",))
        if "exclude" in data:
            config.exclude = self.strings(data["exclude"], ("exclude",))
        if "airgapped" in data:
            config.airgapped = self.expect(data["airgapped"], bool, ("airgapped",), "true or false")
        if "airgap_images" in data:
            config.airgap_images = self.expect(data["airgap_images"], str, ("airgap_images",), "a file path")
        if "registries" in data:
            config.registries, config.registry_urls = self.registries(data["registries"])
        config.severities = self.severities(data.get("rules", {}))
        ignores = self.ignores(data.get("ignore", []))
        config.ignore = tuple(e for e in ignores if e.expires is None or e.expires >= today)
        config.expired = tuple(e for e in ignores if e.expires is not None and e.expires < today)
        config.clusters = self.clusters(data.get("clusters", {}))
        config.rule_names = (
            *((str(rule), self.document.key_mark(("rules", rule)).line) for rule in data.get("rules", {})),
            *((entry.rule, entry.line) for entry in ignores if entry.rule != "*"),
        )
        return config

    def severities(self, rules: Any) -> dict[str, Severity | None]:
        rules = self.expect(rules, dict, ("rules",), "a mapping of rule id to settings")
        result: dict[str, Severity | None] = {}
        for rule, setting in rules.items():
            path = ("rules", rule)
            rule_id = str(rule).upper()
            if setting in (False, "off", "disable", "disabled"):
                result[rule_id] = None
                continue
            if isinstance(setting, str):
                setting = {"severity": setting}
            setting = self.expect(setting, dict, path, "off or a mapping with severity")
            try:
                result[rule_id] = Severity.parse(str(setting.get("severity", "")))
            except ValueError as err:
                raise self.fail(path, str(err)) from None
        return result

    def ignores(self, entries: Any) -> list[IgnoreEntry]:
        entries = self.expect(entries, list, ("ignore",), "a list of {rule, paths, reason, expires}")
        result = []
        for index, entry in enumerate(entries):
            path: tuple[str | int, ...] = ("ignore", index)
            entry = self.expect(entry, dict, path, "a mapping with rule, paths and reason")
            unknown = set(entry) - {"rule", "paths", "reason", "expires"}
            if unknown:
                raise self.fail(path, f"unknown key {sorted(unknown)[0]!r} in an ignore entry")
            rule = self.expect(entry.get("rule"), str, (*path, "rule"), "a rule id such as K0S101 (or *)")
            reason = entry.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise self.fail(path, f"the ignore entry for {rule} needs a reason")
            expires = entry.get("expires")
            if expires is not None:
                try:
                    expires = dt.date.fromisoformat(str(expires))
                except ValueError:
                    raise self.fail((*path, "expires"), "expires must be a date such as 2027-03-31") from None
            paths = self.strings(entry.get("paths", []), (*path, "paths"))
            mark = self.document.key_mark(path)
            result.append(IgnoreEntry(rule.upper(), paths, reason.strip(), expires, mark.line, mark.column))
        return result

    def clusters(self, clusters: Any) -> tuple[ClusterSettings, ...]:
        clusters = self.expect(clusters, dict, ("clusters",), "a mapping of path pattern to settings")
        result = []
        for pattern, settings in clusters.items():
            path = ("clusters", pattern)
            settings = self.expect(settings, dict, path, "a mapping")
            unknown = set(settings) - _CLUSTER_KEYS
            if unknown:
                raise self.fail(path, f"unknown key {sorted(unknown)[0]!r} for a cluster")
            version = settings.get("k0s_version")
            airgapped = settings.get("airgapped")
            result.append(
                ClusterSettings(
                    str(pattern),
                    self.version(version, (*path, "k0s_version")) if version is not None else None,
                    self.expect(airgapped, bool, (*path, "airgapped"), "true or false")
                    if airgapped is not None
                    else None,
                    self.strings(settings.get("registries", []), (*path, "registries")),
                )
            )
        return tuple(result)


def strict(config: Config, defaults: Mapping[str, Severity]) -> tuple[Config, list[str]]:
    """The configuration without what switches checks off: ``rules:`` entries that disable a rule or
    set a severity below its default (``defaults``; a rule without one cannot be judged, so its
    entry goes too), ``ignore:`` entries and ``exclude:``. Also what was left out, one line each."""
    dropped: list[str] = []
    severities: dict[str, Severity | None] = {}
    for rule, severity in config.severities.items():
        default = defaults.get(rule)
        if severity is not None and default is not None and severity >= default:
            severities[rule] = severity
        else:
            lowered = "off" if severity is None else f"severity {severity}"
            dropped.append(f"rules: {rule}: {lowered}")
    dropped += [f"ignore (line {entry.line}): {entry.rule}" for entry in config.ignore]
    dropped += [f"exclude: {pattern}" for pattern in config.exclude]
    return replace(config, severities=severities, ignore=(), exclude=()), dropped


def unknown_rules(config: Config, unknown: Callable[[str], str | None]) -> list[str]:
    """Problems with the rule ids the configuration names, each with its file and line (``unknown``
    says why one names no rule: ``checker.rules.unknown_rule``)."""
    problems = []
    for name, line in config.rule_names:
        why = unknown(name)
        if why is not None:
            problems.append(f"{config.path}:{line}: {why}")
    return problems


def matching_ignore(config: Config, rule: str, canonical: str, today: dt.date) -> IgnoreEntry | None:
    """The first ignore entry for this rule and canonical path."""
    relative = config.relative(canonical)
    for entry in config.ignore:
        if entry.matches(rule, relative, today):
            return entry
    return None
