"""Autofix: remove image pins that equal a k0s release's default, and nothing else.

What goes is decided by the check itself: ``fix`` runs the engine with K0S101, K0S102 and K0S104
selected and removes the pin behind each active finding (a suppressed finding's pin stays, and so
does every custom pin, K0S103). Blocks that the removal leaves empty go too (``spec.images`` or
``calico:`` without children, ``envoyProxy`` without its image), up to but never including ``spec``.

How the text is edited. A YAML round-trip library (ruamel.yaml) re-emits the whole file: in our
trials it normalised spacing after colons, re-indented block sequences to one style per file and
dropped the comment line above the entry that followed a deleted key, because it keeps such a
comment with the key before it. So the file is edited as text instead, from the positions of the
YAML nodes: a block-style entry is removed as whole lines (from its key to the end of its last
value, with the comment lines directly above it at the same indentation and the more indented
comment lines right after it); an entry inside a flow mapping or JSON object is cut out with its
comma. Every other byte (comments, quoting, key order, indentation, CRLF line ends, a BOM) stays as
it was. The result is parsed again and must equal the original data minus the removed nodes;
otherwise the file is left alone. Nodes that are shared through YAML anchors or merged with ``<<``
are not touched at all: removing their text would change other places.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from checker.findings import Finding, plural
from checker.inputs.sources import Collected
from checker.inputs.yamldoc import YamlPath, format_path, parse_text
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject
from checker.k0s.pins import image_paths
from checker.k0s.releases import Catalog
from checker.k0s.userdata import write_atomically
from checker.records import dataclass, field
from checker.workflows.check import Result

FIX_RULES = frozenset({"K0S101", "K0S102", "K0S104"})
PIN_RULES = frozenset({"K0S101", "K0S102"})
PERSISTED_DEFAULTS_RULE = "K0S104"

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOM = "\ufeff"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SPACE = " \t"
_WHITESPACE = " \t\r\n"


# --- what to remove --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One pin to remove: the object that holds it and its node, relative to the object."""

    obj: K0sObject
    node: YamlPath
    rule: str


@dataclass
class FileFix:
    """The outcome for one file."""

    path: str
    original: bytes
    fixed: bytes | None = None  # None: the file is left unchanged
    pins: list[str] = field(default_factory=list)  # removed pins, as written paths
    emptied: list[str] = field(default_factory=list)  # blocks removed because they became empty
    live_patches: list[str] = field(default_factory=list)  # kubectl commands for exported objects
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed is not None and self.fixed != self.original


@dataclass
class FixPlan:
    files: list[FileFix] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # pins left alone because their finding is suppressed
    persisted: int = 0  # K0S104 findings acted on

    @property
    def changed(self) -> list[FileFix]:
        return [f for f in self.files if f.changed]

    @property
    def problems(self) -> list[str]:
        return [f"{f.path}: {p}" for f in self.files for p in f.problems]


def _pin_node(cluster: Cluster, obj: K0sObject, finding: Finding, catalog: Catalog) -> YamlPath | None:
    """The pin a K0S101/K0S102 finding points at, if it lies in ``obj``."""
    if obj.path != finding.path or cluster.patch is None:
        return None
    release = catalog.release(cluster.patch.minor)
    component = finding.data.get("subject")
    if release is None or not isinstance(component, str):
        return None
    node = image_paths(release).get(component)
    if node is None:
        return None
    for anchor in (node, (*node, "version"), (*node, "image")):
        mark = obj.value_mark(anchor)
        # several objects of one file share node paths: the position tells them apart
        if obj.describe(anchor) == finding.node and (mark.line, mark.column) == (
            finding.line,
            finding.column,
        ):
            return node
    return None


def targets_of(result: Result, catalog: Catalog) -> tuple[list[Target], list[str], int]:
    """The pins to remove, the suppressed pins left alone, and how many K0S104 findings were seen.

    A K0S104 finding names the pins that make up a persisted default set; each of them is also a
    K0S101 or K0S102 finding of its own, which is what decides (and what a suppression is written
    against).
    """
    targets: list[Target] = []
    kept: list[str] = []
    persisted = 0
    for cluster in result.clusters:
        for finding in result.findings:
            if finding.cluster != cluster.name:
                continue
            if finding.rule == PERSISTED_DEFAULTS_RULE and not finding.suppressed_by:
                persisted += 1
            if finding.rule not in PIN_RULES:
                continue
            for obj in cluster.configs:
                node = _pin_node(cluster, obj, finding, catalog)
                if node is None:
                    continue
                if finding.suppressed_by:
                    kept.append(
                        f"{finding.path}:{finding.line}: {obj.describe(node)} "
                        f"({finding.rule} suppressed by {finding.suppressed_by})"
                    )
                else:
                    targets.append(Target(obj, node, finding.rule))
                break
    return targets, kept, persisted


def plan(result: Result, collected: Collected, catalog: Catalog) -> FixPlan:
    """Work out the new content of every file that holds pins to remove (nothing is written)."""
    targets, kept, persisted = targets_of(result, catalog)
    fix_plan = FixPlan(kept=kept, persisted=persisted)
    by_path: dict[str, list[Target]] = {}
    for target in targets:
        by_path.setdefault(target.obj.path, []).append(target)
    sources = {source.path: source for source in collected.sources}
    for path, file_targets in by_path.items():
        source = sources.get(path)
        if source is None:  # stdin: nothing to write back to
            file_fix = FileFix(path, b"", problems=["input from stdin cannot be fixed in place"])
        elif source.encoding != "utf-8":  # its bytes were decoded for the check; fixes write UTF-8
            problem = f"left unchanged: the file is {source.encoding.upper()} text; remove the pins by hand"
            file_fix = FileFix(path, b"", problems=[problem])
        else:
            file_fix = edit_file(path, source.raw, file_targets)
        fix_plan.files.append(file_fix)
    return fix_plan


# --- editing the text ------------------------------------------------------------------------------------


class _Refused(Exception):
    """A node that cannot be removed without touching something else."""


@dataclass(frozen=True)
class _Entry:
    parent: yaml.MappingNode
    index: int

    @property
    def key(self) -> yaml.Node:
        return self.parent.value[self.index][0]

    @property
    def value(self) -> yaml.Node:
        return self.parent.value[self.index][1]


def _compose(text: str) -> list[yaml.Node]:
    """The document nodes, indexed like checker.inputs.yamldoc indexes documents."""
    loader = _Loader(text)
    nodes: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    finally:
        loader.dispose()
    return nodes


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _shared_nodes(roots: Iterable[yaml.Node]) -> set[int]:
    """Nodes reached more than once: an anchor and its aliases are one node object."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        stack.extend(_children(node))
    return shared


def _subtree_shared(node: yaml.Node, shared: set[int]) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in shared:
            return True
        stack.extend(_children(current))
    return False


def _locate(root: yaml.Node, path: YamlPath, shared: set[int]) -> _Entry:
    """The mapping entry at ``path``, written directly (not through an alias or a merge key)."""
    node = root
    entry: _Entry | None = None
    for part in path:
        if id(node) in shared:
            raise _Refused("it lies inside a node shared through a YAML anchor and aliases")
        if isinstance(part, int):
            if not isinstance(node, yaml.SequenceNode) or not 0 <= part < len(node.value):
                raise _Refused("it is not where the check found it")
            node, entry = node.value[part], None
            continue
        if not isinstance(node, yaml.MappingNode):
            raise _Refused("it is not where the check found it")
        matches = [
            i
            for i, (key, _) in enumerate(node.value)
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG and key.value == part
        ]
        if len(matches) > 1:
            raise _Refused(f"the key {part!r} is written more than once in the same mapping")
        if not matches:
            raise _Refused("it comes from a YAML merge key (<<), not from text of its own")
        entry = _Entry(node, matches[0])
        node = entry.value
    if entry is None:
        raise _Refused("it is not a mapping entry")
    if any(key.tag == _MERGE_TAG for key, _ in entry.parent.value):
        raise _Refused("its mapping also merges entries with <<, which removing it could bring back")
    if _subtree_shared(entry.value, shared):
        raise _Refused("it uses a YAML anchor or alias")
    return entry


def _is_empty_plain(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == "" and not node.style


def _entry_end(key: yaml.Node, value: yaml.Node, text: str) -> int:
    """Where the text of a mapping entry ends (after its last character, trailing space excluded)."""
    if _is_empty_plain(value):
        end = key.end_mark.index
    elif isinstance(value, yaml.MappingNode | yaml.SequenceNode) and not value.flow_style and value.value:
        end = _last_end(value, text)
    else:
        end = value.end_mark.index
    start = key.start_mark.index
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    return end


def _last_end(collection: yaml.MappingNode | yaml.SequenceNode, text: str) -> int:
    """Where the last entry or item of a block collection ends."""
    if isinstance(collection, yaml.MappingNode):
        key, value = collection.value[-1]
        return _entry_end(key, value, text)
    return _item_end(collection.value[-1], text)


def _item_end(item: yaml.Node, text: str) -> int:
    if isinstance(item, yaml.MappingNode | yaml.SequenceNode) and not item.flow_style and item.value:
        return _last_end(item, text)
    end = item.end_mark.index
    while end > item.start_mark.index and text[end - 1] in _WHITESPACE:
        end -= 1
    return end


def _line_start(text: str, pos: int) -> int:
    return max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1


def _line_end(text: str, pos: int) -> int:
    """The position after the line break that ends the line holding ``pos`` (or the end of the text)."""
    match = _LINE_BREAK.search(text, pos)
    return match.end() if match else len(text)


def _lines_before(text: str, pos: int) -> Iterable[tuple[int, str]]:
    """(start, content) of each line above the one that starts at ``pos``, nearest first."""
    while pos > 0:
        content_end = pos - 2 if text[pos - 2 : pos] == "\r\n" else pos - 1
        start = _line_start(text, content_end)
        yield start, text[start:content_end]
        pos = start


def _is_comment_at(content: str, indent: int, deeper: bool) -> bool:
    stripped = content.lstrip(" ")
    if not stripped.startswith("#"):
        return False
    column = len(content) - len(stripped)
    return column > indent if deeper else column == indent


def _block_span(entry: _Entry, text: str) -> tuple[int, int]:
    """Whole lines of a block-style entry, with the comments that belong to it."""
    key_pos = entry.key.start_mark.index
    start = _line_start(text, key_pos)
    if text[start:key_pos].strip(" "):
        raise _Refused("its key does not start its line")
    indent = key_pos - start
    for line_start, content in _lines_before(text, start):
        if not _is_comment_at(content, indent, deeper=False):
            break
        start = line_start
    end = _line_end(text, _entry_end(entry.key, entry.value, text))
    while end < len(text):
        following = _line_end(text, end)
        if not _is_comment_at(text[end:following].rstrip("\r\n"), indent, deeper=True):
            break
        end = following
    return start, end


def _flow_spans(mapping: yaml.MappingNode, removed: set[int], text: str) -> list[tuple[int, int]]:
    """Spans that cut entries out of a flow mapping (or JSON object) together with their commas."""
    entries = mapping.value
    if len(removed) == len(entries):
        return [(mapping.start_mark.index + 1, mapping.end_mark.index - 1)]
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(entries):
        if index not in removed:
            index += 1
            continue
        first = index
        while index + 1 < len(entries) and index + 1 in removed:
            index += 1
        last = index
        if last + 1 < len(entries):
            spans.append((entries[first][0].start_mark.index, entries[last + 1][0].start_mark.index))
        else:
            before_key, before_value = entries[first - 1]
            last_key, last_value = entries[last]
            spans.append((_entry_end(before_key, before_value, text), _entry_end(last_key, last_value, text)))
        index += 1
    return spans


def _empty_value_insert(entry: _Entry, text: str) -> int:
    """Where ``{}`` goes after the key of a kept block mapping whose entries were all removed."""
    pos = entry.key.end_mark.index
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    if pos >= len(text) or text[pos] != ":":
        raise _Refused(f"cannot find the colon after {entry.key.value!r}")
    rest = text[pos + 1 : _line_end(text, pos)].strip()
    if rest and not rest.startswith("#"):
        raise _Refused(f"{entry.key.value!r} carries a tag or anchor on its line")
    return pos + 1


def _cascades(relative: YamlPath) -> bool:
    """Containers that go once empty: anything below ``spec`` of the object, never ``spec`` itself."""
    return len(relative) >= 2 and relative[0] == "spec"


def _delete(data: Any, path: YamlPath) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


def _set_empty(data: Any, path: YamlPath) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = {}


def _json_pointer(path: YamlPath) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def live_patch(obj: K0sObject, removed: Sequence[YamlPath]) -> str:
    """The kubectl command that removes the same nodes from the live ClusterConfig object."""
    operations = [{"op": "remove", "path": _json_pointer(path)} for path in removed]
    metadata = obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    patch = json.dumps(operations, separators=(",", ":"))
    return (
        f"kubectl patch clusterconfig {obj.name or 'k0s'} -n {namespace or 'kube-system'} "
        f"--type=json -p '{patch}'"
    )


def edit_file(path: str, raw: bytes, targets: Sequence[Target]) -> FileFix:
    """The new content of one file with the targets' pins removed (FileFix.fixed is None on failure)."""
    result = FileFix(path, raw)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.problems.append("UTF-16 files are not fixed; remove the pins by hand")
        return result
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        result.problems.append("the file is not UTF-8 text")
        return result
    bom = text.startswith(_BOM)
    if bom:
        text = text[1:]
    parsed = parse_text(path, text)
    if parsed.problems:
        result.problems.append("the file has YAML errors (K0S001); fix those first")
        return result
    try:
        roots = _compose(text)
    except yaml.YAMLError as err:
        result.problems.append(f"the file cannot be read for editing: {err}")
        return result
    shared = _shared_nodes(roots)

    # 1. the pins, each located as written in the text
    by_object: dict[int, tuple[K0sObject, set[YamlPath]]] = {}
    for target in targets:
        obj = target.obj
        full = (*obj.base, *target.node)
        try:
            _locate(roots[obj.document.index], full, shared)
        except (_Refused, IndexError) as err:
            result.problems.append(f"{format_path(full)} left in place: {err}")
            continue
        by_object.setdefault(id(obj), (obj, set()))[1].add(target.node)

    # 2. the blocks those removals empty, per object, deepest first
    removals: list[tuple[K0sObject, YamlPath]] = []  # (object, path relative to it)
    kept_empty: list[tuple[K0sObject, YamlPath]] = []
    for obj, nodes in by_object.values():
        root = roots[obj.document.index]
        removed = set(nodes)
        changed = True
        while changed:
            changed = False
            for parent in sorted({n[:-1] for n in removed}, key=len, reverse=True):
                children = {n for n in removed if n[:-1] == parent}
                container = obj.get(*parent)
                if not isinstance(container, dict) or {c[-1] for c in children} != set(container):
                    continue
                if not _cascades(parent):
                    continue
                try:
                    _locate(root, (*obj.base, *parent), shared)
                except _Refused:
                    continue
                removed = (removed - children) | {parent}
                changed = True
                break
        for parent in {n[:-1] for n in removed}:
            container = obj.get(*parent)
            if isinstance(container, dict) and {n[-1] for n in removed if n[:-1] == parent} == set(container):
                kept_empty.append((obj, parent))
        in_order = sorted(removed, key=lambda n: (obj.key_mark(n).line, obj.key_mark(n).column))
        removals.extend((obj, node) for node in in_order)
        position = {n: (obj.key_mark(n).line, obj.key_mark(n).column) for n in nodes}
        result.pins.extend(obj.describe(n) for n in sorted(nodes, key=position.__getitem__))
        result.emptied.extend(obj.describe(n) for n in in_order if n not in nodes)
        if obj.is_cluster_object:
            result.live_patches.append(live_patch(obj, in_order))
    if not removals:
        return result

    # 3. the text spans
    try:
        spans, inserts = _spans(text, roots, removals, kept_empty, shared)
    except _Refused as err:
        result.problems.append(f"left unchanged: {err}")
        result.pins.clear()
        result.emptied.clear()
        result.live_patches.clear()
        return result
    new_text = _apply(text, spans, inserts)

    # 4. the new text must hold exactly the old data minus the removed nodes
    expected = [copy.deepcopy(document.data) for document in parsed.documents]
    for obj, node in removals:
        _delete(expected[obj.document.index], (*obj.base, *node))
    for obj, node in kept_empty:
        _set_empty(expected[obj.document.index], (*obj.base, *node))
    reparsed = parse_text(path, new_text)
    if reparsed.problems or [d.data for d in reparsed.documents] != expected:
        result.problems.append(
            "left unchanged: removing the pins as text would have changed other content "
            "(please report this file); remove them by hand"
        )
        result.pins.clear()
        result.emptied.clear()
        result.live_patches.clear()
        return result
    result.fixed = ((_BOM if bom else "") + new_text).encode("utf-8")
    return result


def _spans(
    text: str,
    roots: list[yaml.Node],
    removals: Sequence[tuple[K0sObject, YamlPath]],
    kept_empty: Sequence[tuple[K0sObject, YamlPath]],
    shared: set[int],
) -> tuple[list[tuple[int, int]], list[int]]:
    by_mapping: dict[int, tuple[yaml.MappingNode, set[int]]] = {}
    for obj, node in removals:
        entry = _locate(roots[obj.document.index], (*obj.base, *node), shared)
        by_mapping.setdefault(id(entry.parent), (entry.parent, set()))[1].add(entry.index)
    spans: list[tuple[int, int]] = []
    for mapping, indexes in by_mapping.values():
        if mapping.flow_style:
            spans.extend(_flow_spans(mapping, indexes, text))
        else:
            spans.extend(_block_span(_Entry(mapping, i), text) for i in sorted(indexes))
    inserts: list[int] = []
    for obj, node in kept_empty:
        entry = _locate(roots[obj.document.index], (*obj.base, *node), shared)
        if not (isinstance(entry.value, yaml.MappingNode) and entry.value.flow_style):
            inserts.append(_empty_value_insert(entry, text))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise _Refused("two removals overlap")
    return spans, inserts


def _apply(text: str, spans: Sequence[tuple[int, int]], inserts: Sequence[int]) -> str:
    edits: list[tuple[int, int, str]] = [(start, end, "") for start, end in spans]
    edits.extend((pos, pos, " {}") for pos in inserts)
    out: list[str] = []
    cursor = 0
    for start, end, replacement in sorted(edits):
        out.append(text[cursor:start])
        out.append(replacement)
        cursor = max(cursor, end)
    out.append(text[cursor:])
    return "".join(out)


# --- writing and reporting -------------------------------------------------------------------------------


def apply(fix_plan: FixPlan, cwd: Path) -> None:
    """Write every changed file; a file that changed on disk since it was read is left alone."""
    for file_fix in fix_plan.changed:
        assert file_fix.fixed is not None
        target = cwd / file_fix.path
        try:
            if target.is_symlink():
                raise OSError("it is a symbolic link; fix the file it points to instead")
            if target.read_bytes() != file_fix.original:
                raise OSError("it changed on disk while it was being checked")
            write_atomically(target, file_fix.fixed)
        except OSError as err:
            file_fix.problems.append(f"not written: {err.strerror or err}")
            file_fix.fixed = None


def write_diff(fix_plan: FixPlan, out: TextIO) -> None:
    """A unified diff of every change (the --dry-run output)."""
    for file_fix in fix_plan.changed:
        assert file_fix.fixed is not None
        before = file_fix.original.decode("utf-8").splitlines(keepends=True)
        after = file_fix.fixed.decode("utf-8").splitlines(keepends=True)
        for line in difflib.unified_diff(before, after, f"a/{file_fix.path}", f"b/{file_fix.path}"):
            out.write(line)
            if not line.endswith(("\n", "\r")):
                out.write("\n\\ No newline at end of file\n")


def write_summary(fix_plan: FixPlan, dry_run: bool, out: TextIO, *, quiet: bool = False) -> None:
    """What changed, file by file, then one summary line; ``quiet``: only the pins not fixed."""
    if quiet:
        for problem in fix_plan.problems:
            out.write(f"not fixed: {problem}\n")
        return
    verb = "would remove" if dry_run else "removed"
    for file_fix in fix_plan.changed:
        out.write(
            f"{file_fix.path}: {verb} {plural(len(file_fix.pins), 'pin')}: {', '.join(file_fix.pins)}\n"
        )
        if file_fix.emptied:
            out.write(f"  and the blocks left empty: {', '.join(file_fix.emptied)}\n")
        if file_fix.live_patches:
            out.write(
                "  this file holds an exported ClusterConfig object: the cluster keeps the pins until the "
                "file is applied; patch the live object too:\n"
            )
        for command in file_fix.live_patches:
            out.write(f"    {command}\n")
    for line in fix_plan.kept:
        out.write(f"left alone: {line}\n")
    for problem in fix_plan.problems:
        out.write(f"not fixed: {problem}\n")
    files = len(fix_plan.changed)
    pins = sum(len(f.pins) for f in fix_plan.changed)
    persisted = (
        f" ({plural(fix_plan.persisted, 'persisted default image set')} among them, K0S104)"
        if fix_plan.persisted and files
        else ""
    )
    if not files:
        out.write("nothing to fix\n" if not fix_plan.problems else "nothing fixed\n")
    elif dry_run:
        out.write(
            f"{plural(files, 'file')} would be changed, {plural(pins, 'pin')} removed{persisted} (dry run)\n"
        )
    else:
        out.write(f"{plural(files, 'file')} changed, {plural(pins, 'pin')} removed{persisted}\n")
