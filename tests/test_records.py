"""checker.records makes the same classes dataclasses does, for the subset the package uses: the same
constructor, repr, equality, hash, frozenness and docstring, and the dataclasses functions work on them."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from checker import records


def _classes(make: Callable[..., Any], field: Callable[..., Any]) -> dict[str, type]:
    @make(frozen=True)
    class Point:
        """A frozen one."""

        x: int
        y: int = 0
        tags: Mapping[str, str] = field(default_factory=dict)
        cached: Mapping[str, int] = field(default=None, hash=False)
        secret: str = field(default="", repr=False)

        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

    @make
    class Bag:
        name: str
        items: list[int] = field(default_factory=list)

    @make(frozen=True)
    class Labelled(Point):
        label: str = "?"

    @make(frozen=True)
    class Shown:
        value: str

        def __repr__(self) -> str:
            return f"<{self.value}>"

    @make
    class Empty:
        pass

    return {"Point": Point, "Bag": Bag, "Labelled": Labelled, "Shown": Shown, "Empty": Empty}


REAL = _classes(dataclasses.dataclass, dataclasses.field)
OURS = _classes(records.dataclass, records.field)


def _same(name: str, action: Callable[[type], Any]) -> None:
    def outcome(cls: type) -> Any:
        try:
            return ("value", action(cls))
        except (TypeError, AttributeError, ValueError) as err:
            frozen = isinstance(err, (dataclasses.FrozenInstanceError, records.FrozenInstanceError))
            return ("error", "frozen" if frozen else type(err).__name__)

    assert outcome(OURS[name]) == outcome(REAL[name])


CASES: list[tuple[str, Callable[[type], Any]]] = [
    ("Point", lambda c: repr(c(1))),
    ("Point", lambda c: repr(c(1, 2, {"a": "b"}, {"z": 1}, "hidden"))),
    ("Point", lambda c: repr(c(y=3, x=1))),
    ("Point", lambda c: c(1, 2) == c(1, 2)),
    ("Point", lambda c: c(1, 2) == c(1, 3)),
    ("Point", lambda c: c(1) == (1, 0)),
    ("Point", lambda c: hash(c(1, 2)) == hash(c(1, 2, cached={"q": 1}))),
    ("Point", lambda c: c(1, 2, cached={"a": 1}).cached),
    ("Point", lambda c: c(1).norm()),
    ("Point", lambda c: c(1).tags is c(1).tags),
    ("Point", lambda c: c()),
    ("Point", lambda c: c(1, 2, 3, 4, 5, 6)),
    ("Point", lambda c: c(1, z=2)),
    ("Point", lambda c: setattr(c(1), "x", 2)),
    ("Point", lambda c: delattr(c(1), "x")),
    ("Point", lambda c: c.__doc__),
    ("Point", lambda c: c.__match_args__),
    ("Point", lambda c: (c.y, hasattr(c, "tags"), c.cached, c.secret)),
    ("Point", lambda c: [f.name for f in dataclasses.fields(c)]),
    ("Point", lambda c: repr(dataclasses.replace(c(1, 2), y=5))),
    ("Point", lambda c: dataclasses.astuple(c(1, 2, {"k": "v"}))),
    ("Point", lambda c: dataclasses.asdict(c(1, 2))),
    ("Point", lambda c: dataclasses.is_dataclass(c(1))),
    ("Point", lambda c: repr(copy.deepcopy(c(1, 2, {"a": "b"})))),
    ("Bag", lambda c: repr(c("a"))),
    ("Bag", lambda c: c("a").items is not c("a").items),
    ("Bag", lambda c: c("a") == c("a", [])),
    ("Bag", lambda c: c.__hash__ is None),
    ("Bag", lambda c: hash(c("a"))),
    ("Bag", lambda c: c.__doc__),
    ("Bag", lambda c: (lambda b: (setattr(b, "name", "z"), b.name))(c("a"))),
    ("Labelled", lambda c: repr(c(1, label="x"))),
    ("Labelled", lambda c: c.__doc__),
    ("Labelled", lambda c: [f.name for f in dataclasses.fields(c)]),
    ("Labelled", lambda c: c(1, 2) == c(1, 2) and hash(c(1, 2)) == hash(c(1, 2))),
    ("Shown", lambda c: repr(c("v"))),
    ("Empty", lambda c: (repr(c()), c() == c(), c.__doc__)),
]


@pytest.mark.parametrize(("name", "action"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_a_record_behaves_as_the_dataclass(name: str, action: Callable[[type], Any]) -> None:
    _same(name, action)


def test_the_own_helpers_agree_with_the_dataclasses_functions() -> None:
    point = OURS["Point"](1, 2, {"k": "v"})
    assert records.replace(point, y=7) == dataclasses.replace(point, y=7)
    assert records.astuple(point) == dataclasses.astuple(point)
    assert [f.name for f in records.fields(point)] == [f.name for f in dataclasses.fields(point)]
    real = REAL["Point"](1, 2)
    assert records.replace(real, y=3) == REAL["Point"](1, 3)
    assert records.astuple(real) == dataclasses.astuple(real)


def test_records_pickle_and_compare_before_any_instance_was_made() -> None:
    """An instance unpickled in a process that never called the constructor still compares and hashes."""
    from checker.findings import Finding, Severity

    finding = Finding("K0S101", Severity.ERROR, "m", "p.yaml", 1, 2, data={"a": 1})
    probe = (
        "import pickle, sys\n"
        "a, b = pickle.loads(sys.stdin.buffer.read())\n"
        "print(a == b, repr(a) == repr(b), a.severity.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input=pickle.dumps((finding, Finding("K0S101", Severity.ERROR, "m", "p.yaml", 1, 2, data={"a": 1}))),
        capture_output=True,
        check=True,
    )
    assert done.stdout.split() == [b"True", b"True", b"ERROR"]


def test_definition_errors_are_those_of_dataclasses() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @records.dataclass
        class Mutable:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @records.dataclass
        class Order:
            a: int = 0
            b: int

    @records.dataclass(frozen=True)
    class Frozen:
        a: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):

        @records.dataclass
        class Thawed(Frozen):
            b: int = 0

    with pytest.raises(records.FrozenInstanceError, match="cannot assign to field 'a'"):
        Frozen(1).a = 2  # type: ignore[misc]


def test_the_package_defines_its_classes_without_the_dataclasses_module() -> None:
    """A one-file check makes ~40 classes: none of them may import dataclasses (and inspect) to do it."""
    probe = (
        "import sys\n"
        "import checker.findings, checker.config, checker.k0s.cluster, checker.report.model, checker.rules\n"
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
