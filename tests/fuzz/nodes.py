"""Mutations of a composed YAML node graph: each picks nodes with the input's random generator and
changes them in place, returning a short label that names what it did (kept with a crashing input)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yaml import MappingNode, Node, ScalarNode, SequenceNode

from . import values

STR = values.CORE_TAG + "str"
INT = values.CORE_TAG + "int"
MAP = values.CORE_TAG + "map"
SEQ = values.CORE_TAG + "seq"
MERGE = values.CORE_TAG + "merge"

# Keys whose values the checks read first: mutations prefer them.
INTERESTING = frozenset(
    (
        "apiVersion",
        "kind",
        "metadata",
        "name",
        "spec",
        "images",
        "image",
        "version",
        "repository",
        "default_pull_policy",
        "k0s",
        "config",
        "hosts",
        "role",
        "files",
        "network",
        "provider",
        "api",
        "address",
        "k0supdate",
        "plans",
        "coredns",
        "kubeproxy",
        "pause",
        "items",
        "dynamicConfig",
        "storage",
        "workerProfiles",
    )
)


class Raw:
    """Placeholders for raw YAML fragments, put in as plain scalars and replaced after emitting."""

    def __init__(self) -> None:
        self.fragments: dict[str, str] = {}

    def node(self, fragment: str) -> ScalarNode:
        token = f"FUZZRAW{len(self.fragments)}X"
        self.fragments[token] = fragment
        return ScalarNode(STR, token)

    def apply(self, text: str) -> str:
        for token, fragment in self.fragments.items():
            text = text.replace(token, fragment)
        return text


@dataclass
class Slot:
    """A place that holds a node: a document root, a mapping key or value, a sequence item."""

    holder: Any  # list of documents, MappingNode or SequenceNode
    index: int
    part: str  # "doc", "key", "value", "item"
    key: str = ""  # for a mapping value: its key's text

    def get(self) -> Node:
        if self.part in ("doc", "item"):
            return self.holder[self.index] if self.part == "doc" else self.holder.value[self.index]
        key, value = self.holder.value[self.index]
        return key if self.part == "key" else value

    def set(self, node: Node) -> None:
        if self.part == "doc":
            self.holder[self.index] = node
        elif self.part == "item":
            self.holder.value[self.index] = node
        else:
            key, value = self.holder.value[self.index]
            self.holder.value[self.index] = (node, value) if self.part == "key" else (key, node)


def clone(node: Node, memo: dict[int, Node] | None = None) -> Node:
    """A deep copy that keeps shared nodes shared (aliases stay aliases) and survives cycles."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, ScalarNode):
        copy: Node = ScalarNode(node.tag, node.value, style=node.style)
        memo[id(node)] = copy
        return copy
    if isinstance(node, SequenceNode):
        seq = SequenceNode(node.tag, [], flow_style=node.flow_style)
        memo[id(node)] = seq
        seq.value = [clone(item, memo) for item in node.value]
        return seq
    mapping = MappingNode(node.tag, [], flow_style=node.flow_style)
    memo[id(node)] = mapping
    mapping.value = [(clone(k, memo), clone(v, memo)) for k, v in node.value]
    return mapping


def slots(documents: list[Node]) -> list[Slot]:
    """Every slot of the graph, each node visited once (aliases and cycles do not repeat)."""
    found = [Slot(documents, i, "doc") for i in range(len(documents))]
    seen: set[int] = set()
    stack = list(documents)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for i, (key, value) in enumerate(node.value):
                text = key.value if isinstance(key, ScalarNode) else ""
                found += [Slot(node, i, "key"), Slot(node, i, "value", text)]
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            found += [Slot(node, i, "item") for i in range(len(node.value))]
            stack += node.value
    return found


def pick(
    rng: random.Random, documents: list[Node], want: Callable[[Slot], bool] = lambda s: True
) -> Slot | None:
    """A slot that ``want`` accepts, preferring the values of keys the checks read."""
    candidates = [s for s in slots(documents) if want(s)]
    if not candidates:
        return None
    interesting = [s for s in candidates if s.key in INTERESTING]
    if interesting and rng.random() < 0.6:
        return rng.choice(interesting)
    return rng.choice(candidates)


def _scalar_value(slot: Slot) -> bool:
    return slot.part in ("value", "item") and isinstance(slot.get(), ScalarNode)


def _value(slot: Slot) -> bool:
    return slot.part in ("value", "item", "doc")


def _mappings(documents: list[Node]) -> list[MappingNode]:
    return [n for n in (s.get() for s in slots(documents)) if isinstance(n, MappingNode)]


def scalar(node: Node) -> ScalarNode:
    return node if isinstance(node, ScalarNode) else ScalarNode(STR, "x")


class Mutator:
    """The node mutations of one input; ``others`` gives documents of other seeds to splice in."""

    def __init__(self, rng: random.Random, raw: Raw, others: Callable[[], list[Node]], big: bool) -> None:
        self.rng = rng
        self.raw = raw
        self.others = others
        self.big = big  # a large round: megabyte scalars, bombs over the node limit

    def _replace(self, documents: list[Node], node: Node, want: Callable[[Slot], bool] = _value) -> str:
        slot = pick(self.rng, documents, want)
        if slot is None:
            documents.append(node)
            return "appended"
        slot.set(node)
        return slot.key or slot.part

    def hostile_scalar(self, documents: list[Node]) -> str:
        tag, value = values.scalar_value(self.rng)
        want = _scalar_value if self.rng.random() < 0.9 else (lambda s: s.part == "key")
        return f"scalar {value[:20]!r} at " + self._replace(documents, ScalarNode(tag, value), want)

    def core_tag(self, documents: list[Node]) -> str:
        name, value = self.rng.choice(values.MISFIT_TAGS)
        slot = pick(self.rng, documents, _value)
        if slot is None:
            return "no slot"
        node = slot.get()
        if isinstance(node, ScalarNode):
            keep = self.rng.random() < 0.4
            slot.set(ScalarNode(values.CORE_TAG + name, node.value if keep else value))
        else:  # a collection with a tag that does not fit it (!!int {a: 1}, !!omap [a])
            node.tag = values.CORE_TAG + self.rng.choice(
                ("int", "str", "omap", "set", "pairs", "binary", "seq", "map")
            )
        return f"!!{name} at {slot.key or slot.part}"

    def binary(self, documents: list[Node]) -> str:
        node = ScalarNode(values.CORE_TAG + "binary", values.binary_value(self.rng))
        versions = lambda s: s.key in ("version", "image", "apiVersion") and _scalar_value(s)  # noqa: E731
        return "!!binary at " + self._replace(
            documents, node, versions if self.rng.random() < 0.8 else _scalar_value
        )

    def big_int(self, documents: list[Node]) -> str:
        return "big int at " + self._replace(documents, ScalarNode(INT, values.big_int(self.rng, self.big)))

    def sexagesimal(self, documents: list[Node]) -> str:
        return "sexagesimal at " + self._replace(
            documents, ScalarNode(INT, values.sexagesimal(self.rng, self.big))
        )

    def long_string(self, documents: list[Node]) -> str:
        return "long string at " + self._replace(documents, ScalarNode(STR, values.long_string(self.rng)))

    def duplicate_key(self, documents: list[Node]) -> str:
        mappings = [m for m in _mappings(documents) if m.value]
        if not mappings:
            return "no mapping"
        mapping = self.rng.choice(mappings)
        key, value = self.rng.choice(mapping.value)
        if self.rng.random() < 0.5:
            other = pick(self.rng, documents, _value)
            value = clone(other.get()) if other is not None else ScalarNode(STR, "x")
        mapping.value.insert(self.rng.randrange(len(mapping.value) + 1), (clone(key), value))
        return f"duplicate key {scalar(key).value[:20]!r}"

    def deep_nesting(self, documents: list[Node]) -> str:
        if self.rng.random() < 0.3:  # nesting built as nodes: the emitter writes it in block style
            node: Node = ScalarNode(STR, "x")
            for _ in range(self.rng.choice((100, 300))):
                node = (
                    MappingNode(MAP, [(ScalarNode(STR, "a"), node)])
                    if self.rng.random() < 0.5
                    else SequenceNode(SEQ, [node])
                )
            return "deep nodes at " + self._replace(documents, node)
        return "deep flow at " + self._replace(documents, self.raw.node(values.deep_nesting(self.rng)))

    def aliases(self, documents: list[Node]) -> str:
        every = slots(documents)
        source, target = self.rng.choice(every), self.rng.choice(every)
        if target.part == "key" or source.part == "key":
            return "no alias"
        if self.rng.random() < 0.2:  # a cycle: a collection that contains itself
            mappings = _mappings(documents)
            if mappings:
                mapping = self.rng.choice(mappings)
                mapping.value.append((ScalarNode(STR, "fzself"), mapping))
                return "cycle"
        target.set(source.get())
        return f"alias of {source.key or source.part} at {target.key or target.part}"

    def alias_bomb(self, documents: list[Node]) -> str:
        if self.rng.random() < 0.5:
            bomb = self.raw.node(values.alias_bomb(self.rng, self.big))
            return "raw bomb at " + self._replace(documents, bomb)
        node: Node = ScalarNode(STR, "lol")
        width = self.rng.choice((3, 10)) if self.big else 3
        for _ in range(self.rng.choice((6, 12, 20)) if self.big else self.rng.choice((3, 6))):
            node = SequenceNode(SEQ, [node] * width)
        return "node bomb at " + self._replace(documents, node)

    def merge_keys(self, documents: list[Node]) -> str:
        mappings = _mappings(documents)
        if not mappings:
            return "no mapping"
        target = self.rng.choice(mappings)
        roll = self.rng.random()
        if roll < 0.35:
            value: Node = self.rng.choice(mappings)  # shared: an alias, maybe of an ancestor
            what = "alias"
        elif roll < 0.55:
            value = SequenceNode(SEQ, [self.rng.choice(mappings) for _ in range(self.rng.randint(1, 4))])
            what = "list"
        elif roll < 0.7:
            value = ScalarNode(STR, self.rng.choice(("x", "1", "")))
            what = "scalar"
        elif roll < 0.8:
            value = SequenceNode(SEQ, [ScalarNode(STR, "x"), self.rng.choice(mappings)])
            what = "bad list"
        else:
            value = clone(self.rng.choice(mappings))
            what = "copy"
        target.value.insert(self.rng.randrange(len(target.value) + 1), (ScalarNode(MERGE, "<<"), value))
        return f"merge key ({what})"

    def deep_merge(self, documents: list[Node]) -> str:
        return "deep merge at " + self._replace(documents, self.raw.node(values.deep_merge(self.rng)))

    def wrong_type(self, documents: list[Node]) -> str:
        slot = pick(self.rng, documents, _value)
        if slot is None:
            return "no slot"
        node = slot.get()
        if isinstance(node, ScalarNode):
            tag, value = values.scalar_value(self.rng)
            replacement: Node = self.rng.choice(
                (
                    MappingNode(MAP, [(ScalarNode(tag, value), clone(node))]),
                    SequenceNode(SEQ, [clone(node)]),
                    MappingNode(MAP, []),
                    SequenceNode(SEQ, []),
                )
            )
        elif isinstance(node, MappingNode):
            replacement = self.rng.choice(
                (
                    ScalarNode(*values.scalar_value(self.rng)),
                    SequenceNode(SEQ, [v for _, v in node.value]),
                    SequenceNode(SEQ, [clone(node)]),
                    ScalarNode(values.CORE_TAG + "null", "~"),
                )
            )
        else:
            items = node.value
            replacement = self.rng.choice(
                (
                    ScalarNode(*values.scalar_value(self.rng)),
                    MappingNode(MAP, [(ScalarNode(STR, str(i)), item) for i, item in enumerate(items)]),
                    MappingNode(MAP, [(ScalarNode(INT, str(i)), item) for i, item in enumerate(items)]),
                )
            )
        slot.set(replacement)
        return f"{type(node).__name__} -> {type(replacement).__name__} at {slot.key or slot.part}"

    def key(self, documents: list[Node]) -> str:
        slot = pick(self.rng, documents, lambda s: s.part == "key")
        if slot is None:
            return "no key"
        old = scalar(slot.get()).value
        roll = self.rng.random()
        if roll < 0.3 and len(old) > 1:  # a typo
            i = self.rng.randrange(len(old) - 1)
            new: Node = ScalarNode(STR, old[:i] + old[i + 1] + old[i] + old[i + 2 :])
        elif roll < 0.45:
            new = ScalarNode(
                STR, self.rng.choice((old.upper(), old.lower(), old + "s", old.replace("o", "\u043e")))
            )
        elif roll < 0.6:
            new = ScalarNode(*values.scalar_value(self.rng))
        elif roll < 0.7:
            new = SequenceNode(SEQ, [ScalarNode(STR, old), ScalarNode(STR, "x")], flow_style=True)
        elif roll < 0.8:
            new = MappingNode(MAP, [(ScalarNode(STR, old), ScalarNode(STR, "x"))], flow_style=True)
        elif roll < 0.9:
            new = ScalarNode(INT, str(self.rng.choice((0, 1, -1, 10**20))))
        else:
            holder: MappingNode = slot.holder
            del holder.value[slot.index]
            return f"deleted key {old[:20]!r}"
        slot.set(new)
        return f"key {old[:20]!r} -> {type(new).__name__}"

    def structure(self, documents: list[Node]) -> str:
        roll = self.rng.random()
        if roll < 0.3:
            slot = pick(self.rng, documents, lambda s: s.part in ("value", "item"))
            if slot is not None:  # a mapping entry or a list item: both live in holder.value
                del slot.holder.value[slot.index]
                return f"deleted {slot.key or 'item'}"
        if roll < 0.6:  # a subtree of another seed spliced in under a key the checks read
            mappings = _mappings(documents)
            donors = _mappings(self.others())
            if mappings and donors:
                donor = self.rng.choice(donors)
                if donor.value:
                    key, value = self.rng.choice(donor.value)
                    self.rng.choice(mappings).value.append((clone(key), clone(value)))
                    return f"spliced {scalar(key).value[:20]!r}"
        if roll < 0.8:
            slot = pick(self.rng, documents, lambda s: s.part == "doc")
            if slot is not None:
                slot.set(
                    self.rng.choice(
                        (
                            ScalarNode(STR, "k0s"),
                            SequenceNode(SEQ, [slot.get()]),
                            ScalarNode(values.CORE_TAG + "null", ""),
                        )
                    )
                )
                return "document root replaced"
        every = [s for s in slots(documents) if s.part in ("value", "item")]
        if len(every) >= 2:
            a, b = self.rng.sample(every, 2)
            first, second = a.get(), b.get()
            a.set(second)
            b.set(first)
            return f"swapped {a.key or 'item'} and {b.key or 'item'}"
        return "no change"

    def multi_doc(self, documents: list[Node]) -> str:
        roll = self.rng.random()
        if roll < 0.3 or self.big:  # a bomb first, a real document after it
            documents.insert(0, self.raw.node(values.alias_bomb(self.rng, self.big)))
            documents.extend(self.others())
            return "alias bomb, then documents"
        if roll < 0.5:
            wrapper = MappingNode(
                MAP,
                [
                    (ScalarNode(STR, "apiVersion"), ScalarNode(STR, "v1")),
                    (ScalarNode(STR, "kind"), ScalarNode(STR, "List")),
                    (ScalarNode(STR, "items"), SequenceNode(SEQ, list(documents) + self.others())),
                ],
            )
            documents[:] = [wrapper]
            return "kind: List wrapper"
        if roll < 0.7:
            for _ in range(self.rng.randint(1, 3)):
                documents.insert(
                    self.rng.randrange(len(documents) + 1), ScalarNode(values.CORE_TAG + "null", "")
                )
            return "empty documents"
        if roll < 0.85:
            documents.extend(clone(d) for d in documents * self.rng.choice((2, 50)))
            return "repeated documents"
        documents.extend(self.others())
        return "documents of another seed"

    def injection(self, documents: list[Node]) -> str:
        names = lambda s: s.key in ("name", "image", "version", "address", "role") and _scalar_value(s)  # noqa: E731
        done = []
        for _ in range(self.rng.randint(1, 3)):
            done.append(self._replace(documents, ScalarNode(STR, self.rng.choice(values.INJECTIONS)), names))
        if self.rng.random() < 0.3:
            slot = pick(self.rng, documents, lambda s: s.part == "key")
            if slot is not None:
                slot.set(ScalarNode(STR, self.rng.choice(values.INJECTIONS)))
                done.append("a key")
        return "injection at " + ", ".join(done)

    def raw_fragment(self, documents: list[Node]) -> str:
        return "raw fragment at " + self._replace(documents, self.raw.node(values.raw_fragment(self.rng)))
