"""Mutations of the emitted text and bytes: escapes that hide "k0s", directives, encodings, byte noise."""

from __future__ import annotations

import json
import random
import re

import yaml

_API_VERSION = re.compile(r"^(\s*(?:- )?apiVersion:\s*)(\S.*)$", re.MULTILINE)
_ESCAPES = ("\\x6b", "\\u006b", "\\U0000006b")


def escape_k0s(rng: random.Random, text: str) -> tuple[str, str]:
    """apiVersion values written as double-quoted scalars whose "k0s" is an escape sequence: the raw
    bytes do not contain k0s, the parsed value does."""
    escape = rng.choice(_ESCAPES)

    def quoted(match: re.Match[str]) -> str:
        value = match.group(2).strip("'\"")
        return f'{match.group(1)}"{value.replace("k", escape)}"'

    return _API_VERSION.sub(quoted, text), f"apiVersion with {escape}"


def as_json(rng: random.Random, seed_text: str) -> tuple[str, str] | None:
    """The first document of the seed as JSON (JSON is YAML), with "k0s" as \\u006b0s."""
    try:
        data = yaml.safe_load_all(seed_text).__next__()
        text = json.dumps(data, default=str, indent=rng.choice((None, 2)))
    except (yaml.YAMLError, ValueError, TypeError, StopIteration):
        return None
    return text.replace("k0s", "\\u006b0s"), "JSON with \\u006b0s"


def directives(rng: random.Random, text: str) -> tuple[str, str]:
    head = rng.choice(
        (
            "%YAML 1.1\n---\n",
            "%YAML 1.2\n---\n",
            "%YAML 2.0\n---\n",
            "%TAG ! tag:yaml.org,2002:\n---\n",
            "%TAG !e! tag:example.com,2000:\n---\n",
            "%FOO bar\n---\n",
        )
    )
    if not text.startswith("---"):
        return head + text, head.splitlines()[0]
    return head.rsplit("---\n", 1)[0] + text, head.splitlines()[0]


ENCODINGS = (
    "utf-8-sig",
    "utf-16",
    "utf-16-be-bom",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "crlf",
    "cr",
    "invalid-utf8",
    "nul",
)
_INVALID = (b"\xff", b"\xfe", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80")


def encode(rng: random.Random, text: str) -> tuple[bytes, str]:
    """The text in an encoding other than plain UTF-8 (a BOM, UTF-16 with and without BOM, ...)."""
    how = rng.choice(ENCODINGS)
    if how == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass"), how
    if how == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8", "surrogatepass"), how
    if how == "cr":
        return text.replace("\n", "\r").encode("utf-8", "surrogatepass"), how
    raw = text.encode("utf-8", "surrogatepass")
    if how in ("invalid-utf8", "nul"):
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(raw) + 1)
            raw = raw[:at] + (rng.choice(_INVALID) if how == "invalid-utf8" else b"\x00") + raw[at:]
        return raw, how
    return text.encode(how, "replace" if how == "latin-1" else "surrogatepass"), how


_INDICATORS = b":-?[]{},&*!|>'\"%@`#\n\t \\"


def byte_noise(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    """A few random byte edits: flips, inserted YAML indicators, deleted or repeated ranges, truncation."""
    done = []
    for _ in range(rng.randint(1, 4)):
        if not raw:
            raw = b"k0s"
        at = rng.randrange(len(raw))
        roll = rng.random()
        if roll < 0.25:
            raw = raw[:at] + bytes([raw[at] ^ (1 << rng.randrange(8))]) + raw[at + 1 :]
            done.append("flip")
        elif roll < 0.5:
            raw = raw[:at] + bytes([rng.choice(_INDICATORS)]) + raw[at:]
            done.append("indicator")
        elif roll < 0.65:
            raw = raw[:at] + raw[at + rng.randint(1, 64) :]
            done.append("delete")
        elif roll < 0.8:
            end = min(len(raw), at + rng.randint(1, 200))
            raw = raw[:end] + raw[at:end] * rng.randint(1, 20) + raw[end:]
            done.append("repeat")
        elif roll < 0.9:
            raw = raw[:at]
            done.append("truncate")
        else:
            lines = raw.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = (
                rng.choice((b" ", b"  ", b"\t")) + lines[i] if rng.random() < 0.7 else lines[i].lstrip()
            )
            raw = b"\n".join(lines)
            done.append("indent")
    return raw, "bytes " + ",".join(done)
