"""``@dataclass`` without the start-up cost of the dataclasses module: the methods are written on use.

Python 3.11's ``dataclasses.dataclass`` compiles the source of ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` of every class when the class is defined, about 0.7 ms
a class, and the module imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``). The ~40 classes a
one-file check defines cost a third of its run before it reads a byte. This decorator takes the same
arguments for the subset this package uses (``frozen``; fields with a default, ``field(default=...,
default_factory=..., repr=..., hash=..., compare=...)``), checks the class at once (field order,
mutable defaults) and writes each method the first time it is called, with the same source the
dataclasses module would write, so a class pays only for the methods a run calls and calls them at
the same speed afterwards.

The classes stay dataclasses for everyone else: ``dataclasses.fields``, ``replace``, ``astuple``,
``asdict`` and ``is_dataclass`` work on them (``__dataclass_fields__`` is built when first read, which
imports dataclasses then). ``replace``, ``fields`` and ``astuple`` here do the same for these classes
without that import, and hand any other class to the dataclasses module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _HasDefaultFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _HasDefaultFactory()
_OWN = "__record_fields__"  # the class's fields, in order: {name: Field}


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record (what dataclasses.FrozenInstanceError says)."""


class Field:
    """One field: what ``field()`` was given, and its ``name`` and ``type`` once its class is made."""

    __slots__ = ("compare", "default", "default_factory", "hash", "name", "repr", "type")

    def __init__(
        self, default: Any, default_factory: Any, repr: bool, hash: bool | None, compare: bool
    ) -> None:
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.hash = hash
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"

    @property
    def init(self) -> bool:
        return True

    def in_hash(self) -> bool:
        return self.compare if self.hash is None else self.hash


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, hash, compare)


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """Like ``dataclasses.dataclass`` (init, repr and eq on; ``frozen`` as asked)."""

    def wrap(cls: type[T]) -> type[T]:
        return _make(cls, frozen)

    return wrap if cls is None else wrap(cls)


def _make(cls: type[T], frozen: bool) -> type[T]:
    fields: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get(_OWN)
        if inherited is not None:
            if base.__dict__["__record_frozen__"] != frozen:
                kind = "frozen" if frozen else "non-frozen"
                raise TypeError(f"cannot inherit {kind} dataclass from a {'non-' * frozen}frozen one")
            fields.update(inherited)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 - no inspect
        if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        made = value if isinstance(value, Field) else Field(value, MISSING, True, None, True)
        made.name, made.type = name, annotation
        default = made.default
        if default is not MISSING and type(default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(default)} for field {name} is not allowed: use default_factory"
            )
        if isinstance(value, Field):
            if default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, default)
        fields[name] = made
    seen_default = False
    for made in fields.values():
        if made.default is not MISSING or made.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {made.name!r} follows default argument")
    setattr(cls, _OWN, fields)
    cls.__record_frozen__ = frozen
    cls.__dataclass_fields__ = _DataclassFields()
    cls.__match_args__ = tuple(fields)
    own = cls.__dict__
    methods = ["__init__", "__repr__", "__eq__"]
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    if frozen and not explicit_hash:
        methods.append("__hash__")
    elif not frozen and not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as dataclasses
    for name in methods:
        if name not in own:
            setattr(cls, name, _on_first_call(cls, name))
    if frozen:
        for name, method in (("__setattr__", _frozen_setattr(cls)), ("__delattr__", _frozen_delattr(cls))):
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
    if cls.__doc__ is None:
        cls.__doc__ = cls.__name__ + "(" + ", ".join(_parameter(f) for f in fields.values()) + ")"
    return cls


def _parameter(made: Field) -> str:
    """One parameter as inspect.signature shows it (the docstring dataclasses gives a class without one)."""
    text = f"{made.name}: {made.type!r}" if made.type is not None else made.name
    if made.default_factory is not MISSING:
        return f"{text} = <factory>"
    return text if made.default is MISSING else f"{text} = {made.default!r}"


def _on_first_call(cls: type, name: str) -> Callable[..., Any]:
    def first_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        method = _build(cls, name)
        setattr(cls, name, method)
        return method(self, *args, **kwargs)

    first_call.__qualname__ = f"{cls.__qualname__}.{name}"
    return first_call


def _build(cls: type, name: str) -> Callable[..., Any]:
    """The method ``name`` of ``cls``, compiled from the source dataclasses would write for it."""
    fields: dict[str, Field] = cls.__dict__[_OWN]
    frozen = cls.__dict__["__record_frozen__"]
    scope: dict[str, Any] = {"MISSING": MISSING, "_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY}
    if name == "__init__":
        params, lines = ["self"], []
        for f in fields.values():
            if f.default_factory is not MISSING:
                scope[f"_dflt_{f.name}"] = f.default_factory
                params.append(f"{f.name}=_HAS_DEFAULT_FACTORY")
                value = f"_dflt_{f.name}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}"
            else:
                if f.default is not MISSING:
                    scope[f"_dflt_{f.name}"] = f.default
                    params.append(f"{f.name}=_dflt_{f.name}")
                else:
                    params.append(f.name)
                value = f.name
            lines.append(
                f"__object_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}"
            )
        scope["__object_setattr"] = object.__setattr__
        source = f"def __init__({', '.join(params)}) -> None:\n " + "\n ".join(lines or ["pass"])
    elif name == "__repr__":
        shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in fields.values() if f.repr)
        source = f'def __repr__(self):\n return self.__class__.__qualname__ + f"({shown})"'
    elif name == "__eq__":
        own = "".join(f"self.{f.name}," for f in fields.values() if f.compare)
        other = "".join(f"other.{f.name}," for f in fields.values() if f.compare)
        source = (
            "def __eq__(self, other):\n if other.__class__ is self.__class__:\n"
            f"  return ({own}) == ({other})\n return NotImplemented"
        )
    else:
        hashed = "".join(f"self.{f.name}," for f in fields.values() if f.in_hash())
        source = f"def __hash__(self):\n return hash(({hashed}))"
    exec(source, scope)
    method: Callable[..., Any] = scope[name]
    if name == "__repr__":
        method = _recursive_repr(method)
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    return method


def _recursive_repr(method: Callable[[Any], str]) -> Callable[[Any], str]:
    """'...' for a record met again inside its own repr (as dataclasses' repr does)."""
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = (id(self), _thread_id())
        if key in running:
            return "..."
        running.add(key)
        try:
            return method(self)
        finally:
            running.discard(key)

    return __repr__


def _thread_id() -> int:
    import threading

    return threading.get_ident()


def _frozen_setattr(cls: type) -> Callable[[Any, str, Any], None]:
    names = frozenset(cls.__dict__[_OWN])

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: type) -> Callable[[Any, str], None]:
    names = frozenset(cls.__dict__[_OWN])

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__


class _DataclassFields:
    """``__dataclass_fields__``, made of dataclasses.Field objects when something first reads it."""

    def __get__(self, instance: Any, owner: type) -> dict[str, Any]:
        import dataclasses

        made: dict[str, Any] = {}
        for f in owner.__dict__[_OWN].values():
            real = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=dataclasses.MISSING if f.default_factory is MISSING else f.default_factory,
                repr=f.repr,
                hash=f.hash,
                compare=f.compare,
            )
            real.name, real.type, real.kw_only = f.name, f.type, False
            real._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # what _process_class sets
            made[f.name] = real
        type.__setattr__(owner, "__dataclass_fields__", made)
        return made


def _own_fields(value: Any) -> dict[str, Field] | None:
    cls = value if isinstance(value, type) else type(value)
    found: dict[str, Field] | None = getattr(cls, _OWN, None)
    return found


def fields(class_or_instance: Any) -> tuple[Any, ...]:
    """The fields of a record or dataclass, in order."""
    own = _own_fields(class_or_instance)
    if own is None:
        import dataclasses

        return dataclasses.fields(class_or_instance)
    return tuple(own.values())


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of a record (or dataclass) with ``changes``, made by its ``__init__``."""
    own = _own_fields(obj)
    if own is None or isinstance(obj, type):
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    for name in own:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)


def astuple(obj: Any) -> tuple[Any, ...]:
    """The fields' values, nested records, lists, tuples and dicts copied as dataclasses.astuple does."""
    if _own_fields(obj) is None or isinstance(obj, type):
        import dataclasses

        return dataclasses.astuple(obj)
    return tuple(_copied(getattr(obj, name)) for name in _own_fields(obj) or ())


def _copied(value: Any) -> Any:
    if isinstance(value, type):
        return value
    if _own_fields(value) is not None:
        return astuple(value)
    if hasattr(type(value), "__dataclass_fields__"):
        import dataclasses

        return dataclasses.astuple(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_copied(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_copied(k), _copied(v)) for k, v in value.items())
    if isinstance(value, (str, int, float, bool, bytes, type(None))):
        return value
    import copy

    return copy.deepcopy(value)


__all__ = ["MISSING", "Field", "FrozenInstanceError", "astuple", "dataclass", "field", "fields", "replace"]
