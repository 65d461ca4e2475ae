"""The "mentions k0s" pre-filter, and the one decoding step that makes it safe.

Every k0s, k0sctl and autopilot document names its apiVersion with "k0s" in it, so a file that
cannot spell those three letters is not parsed at all: that is what keeps a repository of ten
thousand ordinary manifests cheap. It must never skip a file that a YAML or JSON reader could decode
into "k0s", so the test runs on the bytes folded the way such a reader might see them:

- case: k0sctl matches apiVersion case-insensitively, and Go's case folding also takes the Kelvin
  sign (U+212A) for ``k`` and the long s (U+017F) for ``s``: the last UTF-8 byte of the one and the
  first of the other map to the letter, so both spellings are found as ``k0s`` (at the price of a
  rare false positive);
- wide encodings: UTF-16 and UTF-32 (with or without byte-order mark) put NUL bytes between the
  letters of ASCII text; dropping the NULs makes ``k\\0\\x000\\0s\\0`` read ``k0s``;
- escapes: YAML and JSON quoted scalars may write any of the letters as ``\\x6b``, ``\\u006b`` or
  ``\\U0000006b``, or split the word with an escaped line break; a backslash that starts such an
  escape makes the file a candidate.

The folding is one ``bytes.translate`` pass and one substring test; the escape test runs only on
files that have a backslash at all (``memchr``-fast).
"""

from __future__ import annotations

import re

_FOLD = bytearray(range(256))
_FOLD[ord("K")] = ord("k")
_FOLD[ord("S")] = ord("s")
_FOLD[0xAA] = ord("k")  # last byte of the Kelvin sign (U+212A, e2 84 aa)
_FOLD[0xC5] = ord("s")  # first byte of the long s (U+017F, c5 bf)
_FOLD_TABLE = bytes(_FOLD)

_HEX_LETTER = rb"(?:[46][bB]|30|[57]3|212[aA]|017[fF])"  # k K 0 s S, Kelvin sign, long s
_ESCAPE = re.compile(
    rb"\\(?:x(?:[46][bB]|30|[57]3)|u(?:00)?" + _HEX_LETTER + rb"|U0000(?:00)?" + _HEX_LETTER + rb"|[\r\n])"
)

# (prefix, codec): byte-order marks first, then the YAML spec's rule for text without one
# (YAML 1.2, 5.2: an ASCII first character gives the NUL pattern of the encoding).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def mentions_k0s(raw: bytes) -> bool:
    """False only when no reader could decode these bytes into a document that says "k0s"."""
    folded = raw.translate(_FOLD_TABLE, b"\x00")
    if b"k0s" in folded:
        return True
    return b"\\" in folded and _ESCAPE.search(folded) is not None


def wide_encoding(raw: bytes) -> tuple[str, int] | None:
    """The UTF-16/UTF-32 codec of ``raw`` and the length of its byte-order mark, or None for
    UTF-8 (and for everything else: such bytes are reported as not text when parsed)."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return codec, len(bom)
    head = raw[:4]
    if len(head) < 2 or b"\x00" not in head:
        return None
    if len(head) == 4 and head[:3] == b"\x00\x00\x00":
        return "utf-32-be", 0
    if len(head) == 4 and head[1:] == b"\x00\x00\x00":
        return "utf-32-le", 0
    if head[0] == 0 and head[1] != 0:
        return "utf-16-be", 0
    if head[0] != 0 and head[1] == 0:
        return "utf-16-le", 0
    return None


def as_utf8(raw: bytes) -> tuple[bytes, str]:
    """The bytes to parse and the encoding they were read in: UTF-16/UTF-32 text is decoded and
    handed on as UTF-8 (the parser reads UTF-8), so lines and columns stay those of the text.
    Anything that does not decode is handed on as it is, for the parser to report."""
    found = wide_encoding(raw)
    if found is None:
        return raw, "utf-8"
    codec, bom = found
    try:
        return raw[bom:].decode(codec).encode("utf-8"), codec
    except UnicodeError:
        return raw, "utf-8"
