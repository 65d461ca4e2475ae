"""Where a document of a rendered stream came from, so findings on stdin point at source files.

``kustomize build`` (with ``buildMetadata: [originAnnotations]`` in the kustomization) writes a
``config.kubernetes.io/origin`` annotation with the source ``path`` (and ``repo``/``ref`` for
remote bases; ``configuredIn`` for generated objects); kpt and kyaml functions write
``config.kubernetes.io/path`` (older: ``internal.config.kubernetes.io/path``). ``helm template``
puts a ``# Source: chart/templates/file.yaml`` comment above every document. kustomize's older
``config.k8s.io/id`` and ``kustomize.config.k8s.io/id`` annotations name an object, not a file,
so they are not used.

How a finding in such a document is placed (the engine calls :func:`relocate` after the checks,
so clusters are still formed from the stream as a whole):

1. The origin file is read (only a relative path inside the repository that holds the current
   directory, or inside the current directory when there is no repository). When one of its
   documents holds the same data as the rendered one (labels, annotations and namespace aside:
   renderers add those), the finding gets the file, line and column of the same YAML node in
   that file: an exact location.
2. When a document of the file is the same object (apiVersion, kind and name) but the rendering
   changed it (a patch), the finding points at the same YAML node in the file, or the nearest
   enclosing node the file has, and the message says where the rendered document was in the
   stream.
3. Otherwise (a template, a remote base, a file that cannot be read) the finding names the origin
   file at line 1 and the message gives the document's position in the stream.

Findings outside any document with an origin stay on ``<stdin>`` with their stream position.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from checker.findings import Finding
from checker.inputs.sources import STDIN_LABEL, YAML_SUFFIXES
from checker.inputs.yamldoc import Document, Mark, ParsedFile, YamlPath, format_path, parse_bytes, parse_text
from checker.records import dataclass, field, replace

ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
PATH_ANNOTATIONS = ("config.kubernetes.io/path", "internal.config.kubernetes.io/path")
_HELM_SOURCE = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$")
_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")
_MAX_ORIGIN_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Origin:
    path: str
    repo: str = ""
    ref: str = ""

    @property
    def local(self) -> bool:
        return not self.repo

    @property
    def shown(self) -> str:
        if self.repo:
            return f"{self.repo}//{self.path}" + (f"@{self.ref}" if self.ref else "")
        return self.path


def annotation_origin(data: Any) -> Origin | None:
    """The origin a document's annotations declare, if any."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        return None
    value = annotations.get(ORIGIN_ANNOTATION)
    if isinstance(value, str) and value.strip():
        parsed = parse_text(ORIGIN_ANNOTATION, value)
        fields = parsed.documents[0].data if parsed.documents and not parsed.problems else None
        if isinstance(fields, dict):
            path = fields.get("path") or fields.get("configuredIn")
            if isinstance(path, str) and path.strip():
                return Origin(path.strip(), str(fields.get("repo") or ""), str(fields.get("ref") or ""))
    for key in PATH_ANNOTATIONS:
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            return Origin(value.strip().strip("'\""))
    return None


# What renderers add or rewrite without the author writing it: labels (kustomize commonLabels,
# Flux's ownership labels), annotations (origins, build metadata) and the namespace. A document
# that differs from its source only there is the source, and every other node keeps its place.
_RENDERER_METADATA = ("labels", "annotations", "namespace")


def comparable(data: Any) -> Any:
    """A document's data without the metadata a renderer may add (see ``_RENDERER_METADATA``)."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(metadata, dict) or not any(k in metadata for k in _RENDERER_METADATA):
        return data
    data = dict(data)
    data["metadata"] = {k: v for k, v in metadata.items() if k not in _RENDERER_METADATA}
    return data


@dataclass
class _StreamDocument:
    document: Document
    number: int  # 1-based position in the stream
    begin: int  # first line of its part of the stream (after the separator)
    end: int  # first line after it
    origin: Origin | None
    _at: dict[tuple[int, int], list[tuple[YamlPath, bool]]] = field(default_factory=dict)

    def node_at(self, line: int, column: int, node: str) -> tuple[YamlPath, bool] | None:
        """The YAML path at this position, and whether the position is its key (else its value).

        Several nodes can start at one place (a block mapping's value starts at its first key);
        the finding's own node name decides, else a value goes first.
        """
        if not self._at:
            for path, mark in self.document.values.items():
                self._at.setdefault((mark.line, mark.column), []).append((path, False))
            for path, mark in self.document.keys.items():
                self._at.setdefault((mark.line, mark.column), []).append((path, True))
        candidates = self._at.get((line, column), [])
        for path, at_key in candidates:
            if node and format_path(path) == node:
                return path, at_key
        return candidates[0] if candidates else None


def stream_documents(raw: bytes, parsed: ParsedFile) -> list[_StreamDocument]:
    """The documents of a stream with the lines each one owns and its declared origin."""
    text = raw.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    separators = [number for number, line in enumerate(lines, start=1) if _SEPARATOR.match(line)]
    out: list[_StreamDocument] = []
    for number, document in enumerate(parsed.documents, start=1):
        start = document.start.line
        before = [s for s in separators if s <= start]
        begin = (before[-1] + (0 if before[-1] == start else 1)) if before else 1
        after = [s for s in separators if s > start]
        end = after[0] if after else len(lines) + 1
        origin = annotation_origin(document.data)
        if origin is None:
            for line in lines[begin - 1 : start - 1]:
                match = _HELM_SOURCE.match(line.strip())
                if match:
                    origin = Origin(match.group(1))
        out.append(_StreamDocument(document, number, begin, end, origin))
    return out


class _OriginFiles:
    """Origin files read from disk, each once, only from inside the allowed tree."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = Path(os.path.realpath(cwd))
        self.root = _repository_root(self.cwd) or self.cwd
        self.cache: dict[str, list[Document]] = {}

    def documents(self, origin: Origin) -> list[Document]:
        if not origin.local or os.path.isabs(origin.path):
            return []
        if origin.path not in self.cache:
            self.cache[origin.path] = self._read(origin.path)
        return self.cache[origin.path]

    def _read(self, relative: str) -> list[Document]:
        if not relative.lower().endswith(YAML_SUFFIXES):
            return []
        candidate = os.path.realpath(self.cwd / relative)
        if os.path.commonpath([candidate, self.root]) != str(self.root):
            return []  # never read outside the repository
        try:
            if os.path.getsize(candidate) > _MAX_ORIGIN_BYTES:
                return []
            with open(candidate, "rb") as handle:
                raw = handle.read()
        except OSError:
            return []
        parsed = parse_bytes(relative, raw)
        return parsed.documents if not parsed.problems else []


def _repository_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _identity(data: Any) -> tuple[Any, ...] | None:
    if not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (data.get("apiVersion"), data.get("kind"), name)


def _source_document(stream: _StreamDocument, candidates: Sequence[Document]) -> tuple[Document, bool] | None:
    """The file's document this rendered one came from, and whether it is unchanged."""
    written = comparable(stream.document.data)
    for candidate in candidates:
        if comparable(candidate.data) == written:
            return candidate, True
    identity = _identity(written)
    for candidate in candidates:
        if identity is not None and _identity(candidate.data) == identity:
            return candidate, False
    return None


def _place(finding: Finding, stream: _StreamDocument, files: _OriginFiles) -> Finding:
    assert stream.origin is not None
    origin = stream.origin
    where = f"{STDIN_LABEL} document {stream.number}, line {finding.line}:{finding.column}"
    found = _source_document(stream, files.documents(origin))
    node = stream.node_at(finding.line, finding.column, finding.node) if found else None
    if found is not None and node is not None:
        source, unchanged = found
        path, at_key = node
        mark = source.key_mark(path) if at_key else source.value_mark(path)
        if unchanged and path in (source.keys if at_key else source.values):
            return replace(finding, path=origin.shown, line=mark.line, column=mark.column)
        note = f" [rendered: {where}; the rendered object differs from {origin.shown}]"
        return replace(
            finding, path=origin.shown, line=mark.line, column=mark.column, message=finding.message + note
        )
    if found is not None and finding.line < stream.document.start.line:
        # a comment above the document (a suppression): keep its distance to the document's start
        source, _ = found
        offset = stream.document.start.line - finding.line
        mark = Mark(max(source.start.line - offset, 1), finding.column)
        return replace(finding, path=origin.shown, line=mark.line, column=mark.column)
    return replace(
        finding, path=origin.shown, line=1, column=1, message=f"{finding.message} [rendered: {where}]"
    )


def relocate(
    findings: Iterable[Finding], streams: Sequence[tuple[bytes, ParsedFile]], cwd: Path | None = None
) -> list[Finding]:
    """Findings on stdin moved to the files their documents declare as origin (see the module doc)."""
    findings = list(findings)
    if not streams or not any(f.path == STDIN_LABEL for f in findings):
        return findings
    documents = [doc for raw, parsed in streams for doc in stream_documents(raw, parsed)]
    if not any(doc.origin for doc in documents):
        return findings
    files = _OriginFiles(cwd or Path.cwd())
    out: list[Finding] = []
    for finding in findings:
        owner = None
        if finding.path == STDIN_LABEL:
            owner = next((d for d in documents if d.begin <= finding.line < d.end), None)
        out.append(_place(finding, owner, files) if owner is not None and owner.origin else finding)
    return out
