"""Multi-document YAML -> Documents that remember where every key and value was written.

Parsing uses libyaml's composer (:class:`checker.inputs.yamlscalar.Loader`) and builds plain Python
data from the node graph ourselves, so every mapping key and value keeps its 1-based line and
column. Scalars are typed as k0s types them (``checker.inputs.yamlscalar``); nothing is ever
constructed from a YAML tag, so parsing never executes anything.

A document that cannot be read (a tag that does not fit its value, a merge key on something that
is not a mapping, a limit) is skipped and reported at its line, and parsing goes on with the next
document of the file. A duplicate key is reported with both lines (k0s rejects the file); the
document is still checked with the last value, which is what PyYAML-based tools see.

Limits keep hostile input bounded: the size of a file, the number of documents in it, the number
of nodes a document may expand to (alias bombs share nodes; expanding them is what costs), the
nodes a whole file may expand to, and the nesting depth (libyaml itself refuses very deep nesting).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import Any, NamedTuple

import yaml

from checker.inputs.yamlscalar import MERGE, STR, Loader, ScalarError, scalar_value
from checker.records import dataclass, field

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DOCUMENTS = 10_000
MAX_NODES_PER_DOCUMENT = 500_000
MAX_ALIAS_NODES = 100_000  # nodes a document may build again through aliases and merge keys
MAX_DEPTH = 256
MAX_DUPLICATES_SHOWN = 20  # duplicate-key problems reported per document

PathKey = str | int
YamlPath = tuple[PathKey, ...]
Pair = tuple[yaml.Node, yaml.Node]

_DOCUMENT_START = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)


class Mark(NamedTuple):
    """A 1-based position in a file."""

    line: int
    column: int


_new_mark = partial(tuple.__new__, Mark)  # a Mark without NamedTuple's Python-level __new__


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
    """Why a document (or a whole file) could not be read, or was read other than k0s reads it."""

    path: str
    mark: Mark
    message: str
    detail: str = ""


@dataclass
class ParsedFile:
    path: str
    documents: list[Document]
    problems: list[ParseProblem]


class _DocumentError(Exception):
    """This document cannot be read; the next one can still be."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.mark = mark


class _FileLimit(_DocumentError):
    """Nothing more of this file is read."""


_DUPLICATE_DETAIL = (
    "k0s and k0sctl read YAML strictly and refuse a mapping that has the same key twice; keep one of them."
)


def _nearest(marks: dict[YamlPath, Mark], path: YamlPath, default: Mark) -> Mark:
    for end in range(len(path), -1, -1):
        mark = marks.get(path[:end])
        if mark is not None:
            return mark
    return default


class _Budget:
    """What expanding aliases may still cost in this file.

    Every node built a second time (through an alias, or copied in by a merge key) is spent from
    it; every node built for the first time adds one. So a file expands aliases to at most
    MAX_ALIAS_NODES more nodes than it has, and an alias bomb in one document (stopped at
    MAX_ALIAS_NODES) leaves every later document at least its own size.
    """

    def __init__(self) -> None:
        self.left = MAX_ALIAS_NODES


class _Builder:
    """Turns one composed node graph into Python data plus position maps."""

    def __init__(self, document: Document, line_offset: int, budget: _Budget, anchors: bool) -> None:
        self.document = document
        self.values = document.values
        self.offset = line_offset + 1
        self.budget = budget
        self.count = 0
        self.expanded = 0
        # Nodes built so far, to tell an alias's second build from a first one; without an anchor
        # (no ``&`` in the text) no node can be built twice.
        self.seen: set[int] | None = set() if anchors else None
        self.flat: dict[int, list[Pair]] = {}  # mapping node -> its entries with merges resolved
        self.problems: list[ParseProblem] = []
        self.duplicates = 0

    def mark(self, node: yaml.Node) -> Mark:
        start = node.start_mark
        return _new_mark((start.line + self.offset, start.column + 1))

    def expand(self, nodes: int, node: yaml.Node) -> None:
        """Spend nodes built again (aliases, merges) from the document's and the file's allowance."""
        self.expanded += nodes
        self.budget.left -= nodes
        if self.expanded > MAX_ALIAS_NODES:
            raise _DocumentError(
                f"document expands aliases to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                "it was not checked",
                self.mark(node),
            )
        if self.budget.left < 0:
            raise _FileLimit(
                "file expands aliases to more nodes than it has (alias bombs?); this document and the "
                "rest of the file were not checked",
                self.mark(node),
            )

    def build(self, node: yaml.Node, path: YamlPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES_PER_DOCUMENT:
            raise _DocumentError(
                f"document has more than {MAX_NODES_PER_DOCUMENT} nodes; it was not checked", self.mark(node)
            )
        if depth > MAX_DEPTH:
            raise _DocumentError(f"document is nested deeper than {MAX_DEPTH} levels", self.mark(node))
        seen = self.seen
        if seen is not None:
            if id(node) in seen:
                self.expand(1, node)
            else:
                seen.add(id(node))
                self.budget.left += 1
        start = node.start_mark
        self.values[path] = _new_mark((start.line + self.offset, start.column + 1))
        kind = type(node)
        if kind is yaml.ScalarNode:
            return node.value if node.tag == STR else self.scalar(node)
        if kind is yaml.MappingNode:
            return self._mapping(node, path, depth + 1)
        return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return scalar_value(node.tag, node.value)
        except ScalarError as err:
            raise _DocumentError(str(err), self.mark(node)) from None

    def key(self, node: yaml.Node) -> PathKey:
        if not isinstance(node, yaml.ScalarNode):
            return f"<complex key at line {self.mark(node).line}>"
        if node.tag == STR:
            return node.value  # type: ignore[no-any-return]
        key = self.scalar(node)
        return key if isinstance(key, str | int) else str(key)

    def _mapping(self, node: yaml.MappingNode, path: YamlPath, depth: int) -> dict[Any, Any]:
        pairs: list[Pair] = node.value
        winners: dict[PathKey, Pair] = {}
        if MERGE in [pair[0].tag for pair in pairs]:
            merged, pairs = self.entries(node)
            for key_node, value_node in merged:
                winners[self.key(key_node)] = (key_node, value_node)
        written: set[PathKey] = set()
        for pair in pairs:
            key_node = pair[0]
            key = (
                key_node.value
                if key_node.tag == STR and type(key_node) is yaml.ScalarNode
                else self.key(key_node)
            )
            if key in written:
                self.duplicate(key, winners[key][0], key_node)
            written.add(key)
            winners[key] = pair
        keys = self.document.keys
        offset = self.offset
        result: dict[Any, Any] = {}
        for key, (key_node, value_node) in winners.items():
            child = (*path, key)
            start = key_node.start_mark
            keys[child] = _new_mark((start.line + offset, start.column + 1))
            result[key] = self.build(value_node, child, depth)
        return result

    def duplicate(self, key: PathKey, first: yaml.Node, again: yaml.Node) -> None:
        self.duplicates += 1
        mark = self.mark(again)
        if self.duplicates > MAX_DUPLICATES_SHOWN:
            if self.duplicates == MAX_DUPLICATES_SHOWN + 1:
                message = (
                    f"more duplicate keys from here on; only the first {MAX_DUPLICATES_SHOWN} are listed"
                )
                self.problems.append(ParseProblem(self.document.path, mark, message, _DUPLICATE_DETAIL))
            return
        text = str(key)
        shown = text if len(text) <= 40 else text[:37] + "..."
        first_line = self.mark(first).line
        self.problems.append(
            ParseProblem(
                self.document.path,
                mark,
                f"duplicate key {shown!r} at lines {first_line} and {mark.line}",
                f"{_DUPLICATE_DETAIL} The rules checked the entry at line {mark.line}, the one PyYAML-based "
                f"tools keep; what the entry at line {first_line} holds was not checked.",
            )
        )

    def entries(self, node: yaml.MappingNode) -> tuple[list[Pair], list[Pair]]:
        """(entries merged in with ``<<``, entries written here), the merged ones in the order in
        which a later one wins, as PyYAML merges them."""
        self._flatten(node)
        merged: list[Pair] = []
        for source in _merge_sources(node, self):
            merged.extend(self.flat[id(source)])
        return merged, [pair for pair in node.value if pair[0].tag != MERGE]

    def _flatten(self, root: yaml.MappingNode) -> None:
        """Resolve the merge keys of root and of every mapping merged into it, without recursion:
        a chain of a thousand nested merges is as cheap as it is long."""
        stack: list[yaml.MappingNode] = [root]
        open_: set[int] = set()
        while stack:
            node = stack[-1]
            if id(node) in self.flat:
                stack.pop()
                continue
            pending = [s for s in _merge_sources(node, self) if id(s) not in self.flat]
            if pending:
                if id(node) in open_ or any(id(s) in open_ for s in pending):
                    raise _DocumentError("a merge key (<<) merges a mapping into itself", self.mark(node))
                open_.add(id(node))
                stack.extend(pending)
                continue
            stack.pop()
            open_.discard(id(node))
            entries: list[Pair] = []
            for source in _merge_sources(node, self):
                entries.extend(self.flat[id(source)])
            self.expand(len(entries), node)
            entries.extend(pair for pair in node.value if pair[0].tag != MERGE)
            self.flat[id(node)] = entries


def _merge_sources(node: yaml.MappingNode, builder: _Builder) -> list[yaml.MappingNode]:
    """The mappings merged into node, the one that wins last (``<<: [*a, *b]``: a wins over b)."""
    sources: list[yaml.MappingNode] = []
    for key_node, value_node in node.value:
        if key_node.tag != MERGE:
            continue
        items = (
            list(reversed(value_node.value)) if isinstance(value_node, yaml.SequenceNode) else [value_node]
        )
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                raise _DocumentError(
                    "a merge key (<<) needs a mapping or a list of mappings",
                    builder.mark(item),
                )
            sources.append(item)
    return sources


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
        for item in _compose(path, text, 0, 0, _Budget()):
            (documents if isinstance(item, Document) else problems).append(item)
    except yaml.YAMLError:
        # libyaml cannot resume after a syntax error: parse the documents one by one so the
        # others are still checked and the broken one is reported with its own line.
        documents, problems = _parse_chunks(path, text)
    except _DocumentError as err:
        problems.append(ParseProblem(path, err.mark, str(err)))
    return ParsedFile(path, documents, problems)


def _parse_chunks(path: str, text: str) -> tuple[list[Document], list[ParseProblem]]:
    documents: list[Document] = []
    problems: list[ParseProblem] = []
    starts = [0] + [m.start() for m in _DOCUMENT_START.finditer(text) if m.start() > 0]
    budget = _Budget()
    index = 0
    offset = 0
    previous = 0
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        offset += text.count("\n", previous, begin)
        previous = begin
        if index >= MAX_DOCUMENTS:
            problems.append(
                ParseProblem(path, Mark(offset + 1, 1), f"more than {MAX_DOCUMENTS} documents in one file")
            )
            break
        chunk = text[begin:end]
        found: list[Document] = []
        try:
            for item in _compose(path, chunk, offset, index, budget):
                (found if isinstance(item, Document) else problems).append(item)
        except yaml.YAMLError as err:
            problems.append(_syntax_problem(path, err, offset))
            index += 1
            continue
        except _FileLimit as err:
            problems.append(ParseProblem(path, err.mark, str(err)))
            break
        except _DocumentError as err:
            problems.append(ParseProblem(path, err.mark, str(err)))
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


def _compose(
    path: str, text: str, line_offset: int, first_index: int, budget: _Budget
) -> Iterator[Document | ParseProblem]:
    """The documents of text, and a problem in place of each one that cannot be read.

    Raises yaml.YAMLError on a syntax error (libyaml stops there) and _FileLimit when the file
    as a whole is over a limit.
    """
    loader = Loader(text)
    anchors = "&" in text
    try:
        index = first_index
        while loader.check_node():
            if index - first_index >= MAX_DOCUMENTS:
                raise _FileLimit(f"more than {MAX_DOCUMENTS} documents in one file", Mark(1, 1))
            node = loader.get_node()
            if node is None:
                continue
            start = Mark(node.start_mark.line + 1 + line_offset, node.start_mark.column + 1)
            document = Document(path, index, None, start)
            builder = _Builder(document, line_offset, budget, anchors)
            try:
                document.data = builder.build(node, (), 0)
            except _FileLimit:
                raise
            except _DocumentError as err:
                yield ParseProblem(path, err.mark, str(err))
            else:
                yield document
                yield from builder.problems
            index += 1
    finally:
        loader.dispose()


def format_path(path: YamlPath) -> str:
    """``("spec", "images", "kubeproxy", "version")`` -> ``spec.images.kubeproxy.version``; items as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
