"""Multi-document YAML -> Documents that remember where every key and value was written.

Parsing uses libyaml's composer (``yaml.CSafeLoader``) and builds plain Python data from the node
graph ourselves, so every mapping key and value keeps its 1-based line and column. Nothing is ever
constructed from a YAML tag other than the core schema ones: parsing never executes anything.

Limits keep hostile input bounded: the size of a file, the number of documents in it, the number
of nodes a document may expand to (alias bombs share nodes; expanding them is what costs) and the
nesting depth (libyaml itself refuses very deep flow nesting).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DOCUMENTS = 10_000
MAX_NODES_PER_DOCUMENT = 500_000
MAX_DEPTH = 256

PathKey = str | int
YamlPath = tuple[PathKey, ...]

_DOCUMENT_START = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)
_SCALAR_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    column: int


@dataclass
class Document:
    """One YAML document of a file: its data and the position of every node in it."""

    path: str
    index: int
    data: Any
    start: Mark
    values: dict[YamlPath, Mark] = field(default_factory=dict)
    keys: dict[YamlPath, Mark] = field(default_factory=dict)

    def value_mark(self, path: YamlPath) -> Mark:
        """Where the value at ``path`` starts; the nearest existing ancestor when it is absent."""
        return _nearest(self.values, path, self.start)

    def key_mark(self, path: YamlPath) -> Mark:
        """Where the key of the mapping entry ``path`` starts (the value's mark for list items)."""
        if path in self.keys:
            return self.keys[path]
        return self.value_mark(path)


@dataclass(frozen=True)
class ParseProblem:
    """Why a document (or a whole file) could not be read."""

    path: str
    mark: Mark
    message: str


@dataclass
class ParsedFile:
    path: str
    documents: list[Document]
    problems: list[ParseProblem]


class _LimitExceeded(Exception):
    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.mark = mark


def _nearest(marks: dict[YamlPath, Mark], path: YamlPath, default: Mark) -> Mark:
    for end in range(len(path), -1, -1):
        mark = marks.get(path[:end])
        if mark is not None:
            return mark
    return default


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns one composed node graph into Python data plus position maps."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.count = 0

    def build(self, node: yaml.Node, path: YamlPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES_PER_DOCUMENT:
            raise _LimitExceeded(
                f"document expands to more than {MAX_NODES_PER_DOCUMENT} nodes "
                "(an alias bomb?); it was not checked",
                _mark(node),
            )
        if depth > MAX_DEPTH:
            raise _LimitExceeded(f"document is nested deeper than {MAX_DEPTH} levels", _mark(node))
        self.document.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: YamlPath, depth: int) -> dict[Any, Any]:
        _SCALAR_CONSTRUCTOR.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else _flow_key(key_node)
            if not isinstance(key, str | int):
                key = str(key)
            child = (*path, key)
            self.document.keys.setdefault(child, _mark(key_node))
            result[key] = self.build(value_node, child, depth + 1)
        return result


def _flow_key(node: yaml.Node) -> str:
    return f"<complex key at line {node.start_mark.line + 1}>"


def _scalar(node: yaml.Node) -> Any:
    tag = node.tag
    if tag == "tag:yaml.org,2002:str":
        return node.value
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"):
        return _SCALAR_CONSTRUCTOR.construct_object(node)
    if tag == "tag:yaml.org,2002:null":
        return None
    # Timestamps, binary and custom tags stay the text that was written.
    return node.value


def _decode(path: str, raw: bytes) -> tuple[str | None, ParseProblem | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError as err:
            return None, ParseProblem(path, Mark(1, 1), f"file is not valid UTF-16 text ({err.reason})")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        return None, ParseProblem(path, Mark(line, 1), "file is binary (contains NUL bytes), not YAML")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        column = err.start - raw.rfind(b"\n", 0, err.start)
        return None, ParseProblem(
            path, Mark(line, column), f"file is not UTF-8 text (invalid byte 0x{raw[err.start]:02x})"
        )


def parse_bytes(path: str, raw: bytes) -> ParsedFile:
    """Parse every document of a file; problems are returned, never raised."""
    if len(raw) > MAX_FILE_BYTES:
        message = (
            f"file is {len(raw) // (1024 * 1024)} MiB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
        )
        return ParsedFile(path, [], [ParseProblem(path, Mark(1, 1), f"{message}; it was not checked")])
    text, problem = _decode(path, raw)
    if text is None:
        assert problem is not None
        return ParsedFile(path, [], [problem])
    return parse_text(path, text)


def parse_text(path: str, text: str) -> ParsedFile:
    documents: list[Document] = []
    problems: list[ParseProblem] = []
    try:
        for document in _compose(path, text, line_offset=0, first_index=0):
            documents.append(document)
    except yaml.YAMLError:
        # libyaml cannot resume after a syntax error: parse the documents one by one so the
        # others are still checked and the broken one is reported with its own line.
        documents, problems = _parse_chunks(path, text)
    except _LimitExceeded as err:
        problems.append(ParseProblem(path, err.mark, str(err)))
    return ParsedFile(path, documents, problems)


def _parse_chunks(path: str, text: str) -> tuple[list[Document], list[ParseProblem]]:
    documents: list[Document] = []
    problems: list[ParseProblem] = []
    starts = [0] + [m.start() for m in _DOCUMENT_START.finditer(text) if m.start() > 0]
    index = 0
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        offset = text.count("\n", 0, begin)
        try:
            found = list(_compose(path, chunk, line_offset=offset, first_index=index))
        except yaml.YAMLError as err:
            problems.append(_syntax_problem(path, err, offset))
            index += 1
            continue
        except _LimitExceeded as err:
            problems.append(ParseProblem(path, err.mark, str(err)))
            index += 1
            continue
        documents.extend(found)
        index += max(len(found), 1) if chunk.strip() else 0
    return documents, problems


def _syntax_problem(path: str, err: yaml.YAMLError, line_offset: int) -> ParseProblem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = (mark.line + 1 + line_offset) if mark is not None else line_offset + 1
    column = (mark.column + 1) if mark is not None else 1
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return ParseProblem(path, Mark(line, column), message)


def _compose(path: str, text: str, line_offset: int, first_index: int) -> Iterator[Document]:
    loader = _Loader(text)
    try:
        index = first_index
        while loader.check_node():
            if index - first_index >= MAX_DOCUMENTS:
                raise _LimitExceeded(f"more than {MAX_DOCUMENTS} documents in one file", Mark(1, 1))
            node = loader.get_node()
            if node is None:
                continue
            start = Mark(node.start_mark.line + 1 + line_offset, node.start_mark.column + 1)
            document = Document(path, index, None, start)
            document.data = _Builder(document).build(node, (), 0)
            if line_offset:
                _shift(document, line_offset)
            yield document
            index += 1
    finally:
        loader.dispose()


def _shift(document: Document, lines: int) -> None:
    document.values = {k: Mark(m.line + lines, m.column) for k, m in document.values.items()}
    document.keys = {k: Mark(m.line + lines, m.column) for k, m in document.keys.items()}


def format_path(path: YamlPath) -> str:
    """``("spec", "images", "kubeproxy", "version")`` -> ``spec.images.kubeproxy.version``; items as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
