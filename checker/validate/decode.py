"""Reading a document the way k0s and k0sctl decode it, before anything is validated.

k0s turns YAML into JSON and decodes it with Go's ``encoding/json`` (``sigs.k8s.io/yaml``, strict):

* ``null`` is "not set" for every field: the default stays (``calico: null``, ``charts: null``,
  ``externalCluster: null`` as ``k0s config create`` 1.21-1.30 prints them). k0sctl (yaml.v2) reads a
  null string as empty and the API server prunes nulls, so the same holds for every kind.
* keys match the Go field case-insensitively (``kubeRouter`` is ``kuberouter``); the decoded data
  carries the canonical key and the object remembers where the key was written.
* ``interval`` and ``podSecurityPolicy`` are forgiven wherever they would be unknown
  (``YamlUnmarshalStrictIgnoringFields``); from 1.25 ``podSecurityPolicy`` has no effect.
* an image's empty ``image`` or ``version`` is filled with the release default, like an absent one.

The result is a new ``K0sObject`` whose ``data`` is what k0s works with, plus notes (info and warning
findings) about what decoding did. Schema validation, the semantic checks and the rules all read the
decoded data; findings still point at the nodes as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.findings import Finding, Severity
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject, Kind
from checker.records import dataclass, replace
from checker.validate.schemas import load_schema, schema_minor_for

# Declared (name, summary, docs) in checker.rules.decoding; decoding reports them itself.
CASE_RULE_ID = "K0S015"
NO_EFFECT_RULE_ID = "K0S018"

DETAILS = {
    CASE_RULE_ID: "k0s decodes with Go's JSON decoder, which matches keys case-insensitively; editors, "
    "kubectl and other tools do not, so the canonical spelling keeps the file unambiguous.",
    NO_EFFECT_RULE_ID: "k0s forgives these keys when parsing and ignores them, so the setting does nothing "
    "in this release.",
}

IGNORED_KEYS = ("interval", "podSecurityPolicy")
#: podSecurityPolicy is a real ClusterConfig field up to 1.24; k0s 1.25 dropped it and ignores the key.
PSP_NO_EFFECT_SINCE = "1.25"
_IMAGE_PARTS = frozenset({"image", "version"})


@dataclass(frozen=True)
class Note:
    """Something decoding did that the user should know: at ``path`` (decoded) of the object."""

    rule: str
    severity: Severity
    path: YamlPath
    message: str
    fix: str = ""
    at_key: bool = True


class _Decoder:
    def __init__(self, minor: str, fold_case: bool) -> None:
        self.minor = minor
        self.fold_case = fold_case
        self.aliases: dict[YamlPath, YamlPath] = {}
        self.notes: list[Note] = []

    def walk(self, data: Any, schema: Any, path: YamlPath, written: YamlPath) -> Any:
        if isinstance(data, list):
            items = schema.get("items") if isinstance(schema, Mapping) else None
            return [
                self.walk(item, items, (*path, index), (*written, index))
                if isinstance(item, dict | list)
                else item
                for index, item in enumerate(data)
            ]
        if not isinstance(data, dict):
            return data
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        additional = schema.get("additionalProperties") if isinstance(schema, Mapping) else None
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if value is None:
                continue  # null: not set, the default stays
            name = key
            if properties is not None and isinstance(key, str) and self.ignored(key, properties, path):
                continue
            if properties is not None and isinstance(key, str) and key not in properties:
                name = self.canonical(key, properties, path, written) or key
                if name in out and name != key:
                    continue  # the exact spelling is there as well; it is the one reported on
            if not isinstance(value, dict | list):  # a leaf: no paths to build (most nodes are leaves)
                if value == "" and properties is not None and set(properties) == _IMAGE_PARTS:
                    continue  # k0s fills an empty image name or tag from the release default
                out[name] = value
                continue
            child = properties.get(name) if properties is not None and name in properties else additional
            out[name] = self.walk(value, child, (*path, name), (*written, key))
        return out

    def ignored(self, key: str, properties: Mapping[str, Any], path: YamlPath) -> bool:
        """Drops ``interval`` and ``podSecurityPolicy`` where the release has no such field (the
        schemas list them under ``spec`` as accept-anything placeholders)."""
        if not self.fold_case or key not in IGNORED_KEYS:
            return False
        declared = properties.get(key)
        if isinstance(declared, Mapping) and set(declared) - {"description"}:
            return False  # a real field of this release (podSecurityPolicy up to 1.24)
        where = ".".join(str(p) for p in (*path, key))
        if key == "podSecurityPolicy":
            message = (
                f"{where} has no effect since k0s {PSP_NO_EFFECT_SINCE}: k0s accepts the key and ignores it"
            )
            fix = "Remove podSecurityPolicy; use Pod Security Admission instead."
            self.notes.append(Note(NO_EFFECT_RULE_ID, Severity.WARNING, (*path, key), message, fix))
        else:
            message = f"{where} is a legacy key that k0s accepts and ignores"
            self.notes.append(Note(NO_EFFECT_RULE_ID, Severity.INFO, (*path, key), message, "Remove it."))
        return True

    def canonical(
        self, key: str, properties: Mapping[str, Any], path: YamlPath, written: YamlPath
    ) -> str | None:
        if not self.fold_case:
            return None
        matches = [name for name in properties if name.lower() == key.lower()]
        if len(matches) != 1:
            return None
        name = matches[0]
        self.aliases[(*path, name)] = (*written, key)
        where = ".".join(str(p) for p in (*path, key))
        self.notes.append(
            Note(
                CASE_RULE_ID,
                Severity.INFO,
                (*path, name),
                f"{where}: k0s reads `{key}` as `{name}` (it matches keys case-insensitively)",
                f"Write `{name}`.",
            )
        )
        return name


def decode(obj: K0sObject, minor: str | None) -> tuple[K0sObject, list[Note]]:
    """The object as k0s or k0sctl reads it for release ``minor`` (None: nulls only, no schema)."""
    schema: Any = None
    if minor is not None:
        schema_minor = schema_minor_for(minor)
        loaded = load_schema(schema_minor, obj.kind) if schema_minor else None
        schema = loaded[0] if loaded else None
    decoder = _Decoder(minor or "", fold_case=obj.kind is Kind.CLUSTER_CONFIG and schema is not None)
    data = decoder.walk(obj.data, schema, (), ())
    if not isinstance(data, dict):  # pragma: no cover - objects are mappings by construction
        return obj, []
    unknown = obj.unknown
    if decoder.aliases and unknown:
        reverse = {written: decoded for decoded, written in decoder.aliases.items()}
        unknown = {_rename(path, reverse): names for path, names in unknown.items()}
    return replace(obj, data=data, aliases=decoder.aliases, unknown=unknown), decoder.notes


def _rename(path: YamlPath, reverse: Mapping[YamlPath, YamlPath]) -> YamlPath:
    for end in range(len(path), 0, -1):
        decoded = reverse.get(path[:end])
        if decoded is not None:
            return (*decoded, *path[end:])
    return path


def decode_cluster(cluster: Cluster) -> list[Finding]:
    """Replaces the cluster's objects by their decoded form for its target release; the notes as findings.

    The k0sctl object is decoded first so that embedded configs keep it as their owner.
    """
    minor = cluster.patch.minor if cluster.patch is not None else None
    findings: list[Finding] = []
    decoded: dict[int, K0sObject] = {}
    for obj in sorted(cluster.objects, key=lambda o: o.owner is not None):
        source = obj
        if obj.owner is not None and id(obj.owner) in decoded:
            source = replace(obj, owner=decoded[id(obj.owner)])
        new, notes = decode(source, minor)
        decoded[id(obj)] = new
        for note in notes:
            mark = new.key_mark(note.path) if note.at_key else new.value_mark(note.path)
            findings.append(
                Finding(
                    note.rule,
                    note.severity,
                    note.message,
                    new.path,
                    mark.line,
                    mark.column,
                    cluster=cluster.name,
                    node=new.describe(note.path),
                    fix=note.fix,
                    detail=DETAILS[note.rule],
                )
            )
    cluster.objects = [decoded[id(o)] for o in cluster.objects]
    if cluster.k0sctl is not None and id(cluster.k0sctl) in decoded:
        cluster.k0sctl = decoded[id(cluster.k0sctl)]
    # Whatever points at an object points at its decoded form (the worker pool matches by identity).
    renamed = {
        id(s): replace(s, obj=decoded[id(s.obj)]) for s in cluster.version_sources if id(s.obj) in decoded
    }
    cluster.version_sources = [renamed.get(id(s), s) for s in cluster.version_sources]
    if cluster.target_source is not None:
        source = cluster.target_source
        cluster.target_source = renamed.get(id(source)) or (
            replace(source, obj=decoded[id(source.obj)]) if id(source.obj) in decoded else source
        )
    return findings
