"""What a YAML scalar means, decided the way k0s (go-yaml v2 under sigs.k8s.io/yaml) decides it.

Plain scalars are typed by :class:`Loader`'s own resolver: PyYAML's YAML 1.1 rules (bools, ints,
floats, null, timestamps, ``<<``) without base-60 numbers, which go-yaml never supported, so
``1:30`` stays the text k0s sees. A plain number longer than :data:`MAX_NUMBER_CHARS` stays text
too: go-yaml reads a number beyond float64 (over 309 digits) as text, and converting such numbers
costs time that grows with the square of their length.

An explicit core tag (``!!int``, ``!!bool``, ...) on a value that does not fit it is an error, as in
go-yaml (``cannot decode !!str `k0s` as a !!int``): :func:`scalar_value` raises
:class:`ScalarError`. ``!!binary`` is decoded to text as go-yaml does, so ``version: !!binary
MS4xMS4x`` is the version ``1.11.1``. Other tags (``!custom``, ``!!python/...``) keep the written
text: nothing is ever constructed from a tag.

Values are converted by plain functions, never by a PyYAML constructor, which would keep every
value it ever built.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import yaml

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_NUMBER_CHARS = 400

CORE = "tag:yaml.org,2002:"
STR = CORE + "str"
MERGE = CORE + "merge"
_INT = CORE + "int"
_FLOAT = CORE + "float"
_BOOL = CORE + "bool"
_NULL = CORE + "null"
_TIMESTAMP = CORE + "timestamp"
_BINARY = CORE + "binary"
# Tags our resolver gives plain scalars, so an implicit type is never mistaken for an explicit tag.
_IMPLICIT = "tag:k0s-policy.invalid,implicit:"
IMPLICIT_INT = _IMPLICIT + "int"
IMPLICIT_FLOAT = _IMPLICIT + "float"
IMPLICIT_BOOL = _IMPLICIT + "bool"
IMPLICIT_NULL = _IMPLICIT + "null"

_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_INT_TEXT = re.compile(r"[-+]?(?:0b[0-1_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)")
_FLOAT_TEXT = re.compile(
    r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
# What an explicit !!float also accepts (go-yaml's float syntax: integers, exponents without a sign).
_GO_FLOAT_TEXT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_TIMESTAMP_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
_NUMBER_START = frozenset("-+0123456789.")


class ScalarError(Exception):
    """A scalar's explicit tag does not fit its text; the message says how."""


def implicit_tag(value: str) -> str:
    """The tag of a plain (unquoted, untagged) scalar."""
    if value in _NULLS:
        return IMPLICIT_NULL
    if value in _BOOLS:
        return IMPLICIT_BOOL
    first = value[0]
    if first in _NUMBER_START and len(value) <= MAX_NUMBER_CHARS:
        if value.isdecimal() and value.isascii() and (first != "0" or len(value) == 1):
            return IMPLICIT_INT
        if _FLOAT_TEXT.fullmatch(value):
            return IMPLICIT_FLOAT
        if _INT_TEXT.fullmatch(value):
            return IMPLICIT_INT
    if value == "<<":
        return MERGE
    return STR  # timestamps included: go-yaml gives them to k0s as the text


_COLLECTION_TAGS = {
    yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
}


class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The libyaml composer with :func:`implicit_tag` as its resolver of plain scalars."""

    # libyaml asks for every untagged node; PyYAML's general resolver, with its path resolvers
    # (none are registered here), costs 12 ms per 200 documents more than answering directly.
    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return implicit_tag(value) if implicit[0] else STR
        return _COLLECTION_TAGS[kind]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def scalar_value(tag: str, text: str) -> Any:
    """The value of a scalar node; ScalarError when an explicit core tag does not fit the text."""
    if tag == STR:
        return text
    if tag == IMPLICIT_INT:
        if text.isdecimal() and text[0] != "0":
            return int(text)
        return _int(text, fallback=text)
    if tag == IMPLICIT_FLOAT:
        return _float(text, fallback=text)
    if tag == IMPLICIT_BOOL:
        return _BOOLS[text]
    if tag == IMPLICIT_NULL:
        return None
    if tag.startswith(CORE):
        return _explicit(tag, text)
    return text  # custom and unknown tags: the text as written


def _explicit(tag: str, text: str) -> Any:
    if tag in (_INT, _FLOAT) and len(text) > MAX_NUMBER_CHARS:
        raise ScalarError(
            f"{_short(tag)} value of {len(text)} characters is over the {MAX_NUMBER_CHARS} limit"
        )
    if tag == _INT:
        value = _int(text, fallback=None) if _INT_TEXT.fullmatch(text) else None
        return _fits(value, tag, text, "not an integer")
    if tag == _FLOAT:
        plain = text.replace("_", "")
        fits = _FLOAT_TEXT.fullmatch(text) or _GO_FLOAT_TEXT.fullmatch(plain)
        return _fits(_float(text, fallback=None) if fits else None, tag, text, "not a number")
    if tag == _BOOL:
        return _fits(_BOOLS.get(text.lower().capitalize()), tag, text, "not true/false, yes/no or on/off")
    if tag == _NULL:
        if text not in _NULLS:
            raise _misfit(tag, text, "not null or ~")
        return None
    if tag == _TIMESTAMP:
        if not _TIMESTAMP_TEXT.fullmatch(text):
            raise _misfit(tag, text, "not a date or time")
        return text
    if tag == _BINARY:
        return _binary(text)
    return text  # !!seq, !!map, !!set ... on a scalar: go-yaml keeps the text


def _fits(value: Any, tag: str, text: str, why: str) -> Any:
    if value is None:
        raise _misfit(tag, text, why)
    return value


def _misfit(tag: str, text: str, why: str) -> ScalarError:
    shown = text if len(text) <= 30 else text[:27] + "..."
    return ScalarError(f"tag {_short(tag)} does not fit the value {shown!r}: {why}")


def _short(tag: str) -> str:
    return "!!" + tag[len(CORE) :]


def _int(text: str, fallback: Any) -> Any:
    plain = text.replace("_", "")
    sign = -1 if plain.startswith("-") else 1
    plain = plain.lstrip("+-")
    try:
        if plain.startswith("0b"):
            return sign * int(plain[2:], 2)
        if plain.startswith("0x"):
            return sign * int(plain[2:], 16)
        if len(plain) > 1 and plain.startswith("0"):
            return sign * int(plain, 8)
        return sign * int(plain)
    except ValueError:  # "0b_": the pattern allows digits that are only underscores
        return fallback


def _float(text: str, fallback: Any) -> Any:
    plain = text.replace("_", "").lower()
    sign = -1.0 if plain.startswith("-") else 1.0
    plain = plain.lstrip("+-")
    if plain == ".inf":
        return sign * float("inf")
    if plain == ".nan":
        return float("nan")
    try:
        return sign * float(plain)
    except ValueError:
        return fallback


def _binary(text: str) -> str:
    try:
        data = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ScalarError(f"!!binary value is not valid base64 ({err})") from None
    return data.decode("utf-8", errors="replace")
