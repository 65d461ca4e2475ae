"""``schema export``: the per-release schemas (schemas/<minor>/, read at run time) written where other
validators look for them.

Layouts:

- ``kubeconform``: one file per kind and apiVersion under both names kubeconform's
  ``-schema-location`` templates use: ``{{ .ResourceKind }}{{ .KindSuffix }}.json``
  (``clusterconfig-k0s-v1beta1.json``: the lower-case kind, the first label of the group and the
  version) and, as its CRDs-catalog lays schemas out, ``{{ .Group }}/{{ .ResourceKind }}_{{
  .ResourceAPIVersion }}.json`` (``k0s.k0sproject.io/clusterconfig_v1beta1.json``). The kinds and
  versions come from each schema's own ``apiVersion`` and ``kind`` properties, so a legacy kind that
  a schema accepts (``Cluster`` beside ``ClusterConfig``) gets its file too.
- ``plain``: the schema files under their own names, for editors (docs/integrations/editors.md).

The files are copied byte for byte: what another tool validates with is what k0s-policy validates
with.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from checker.records import dataclass
from checker.validate.schemas import SCHEMA_FILES, available_minors, schema_minor_for

LAYOUTS = ("kubeconform", "plain")


class ExportError(Exception):
    """The schemas cannot be exported as asked (exit code 2)."""


@dataclass(frozen=True)
class Exported:
    minor: str  # the schema set written (the newest at or below the requested release)
    written: list[Path]


def _values(schema: dict[str, Any], name: str) -> list[str]:
    prop = (schema.get("properties") or {}).get(name) or {}
    if isinstance(prop.get("const"), str):
        return [prop["const"]]
    return [v for v in prop.get("enum") or [] if isinstance(v, str)]


def kubeconform_names(schema: dict[str, Any]) -> list[str]:
    """The relative paths kubeconform looks this schema up under, one pair per (kind, apiVersion)."""
    names: list[str] = []
    for api_version in _values(schema, "apiVersion"):
        group, _, version = api_version.rpartition("/")
        if not group:
            continue  # a core-group kind: not ours
        suffix = f"-{group.split('.')[0].lower()}-{version.lower()}"
        for kind in dict.fromkeys(k.lower() for k in _values(schema, "kind")):
            names += [f"{kind}{suffix}.json", f"{group}/{kind}_{version}.json"]
    return names


def export(minor: str, layout: str, directory: Path) -> Exported:
    if layout not in LAYOUTS:
        raise ExportError(f"unknown layout {layout!r} (use {' or '.join(LAYOUTS)})")
    schema_minor = schema_minor_for(minor)
    if schema_minor is None:
        raise ExportError(f"no schemas for k0s {minor} (schemas exist for {', '.join(available_minors())})")
    root = files("checker.jsonschemas") / schema_minor
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for filename in sorted(set(SCHEMA_FILES.values())):
            resource = root / filename
            if not resource.is_file():
                continue  # older releases have no autopilot schemas
            data = resource.read_bytes()
            names = [filename] if layout == "plain" else kubeconform_names(json.loads(data))
            for name in names:
                target = directory / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                written.append(target)
    except OSError as err:
        raise ExportError(f"cannot write to {directory}: {err.strerror or err}") from None
    return Exported(schema_minor, written)
