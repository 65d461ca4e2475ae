"""What an attacker writes into a YAML node: hostile scalars, tags that do not fit, and raw fragments.

Raw fragments are YAML text that the emitter cannot produce from a node graph (deep flow nesting, alias
bombs, nested merge keys, undefined aliases); they stand on one line, so they fit any value position.
"""

from __future__ import annotations

import base64
import random

# A workflow command a value may try to smuggle into CI output; the oracle looks for it at a line start.
INJECTED = "FUZZ-INJECTED"
INJECTIONS = (
    f"x\n::error file={INJECTED},line=1::pwned",
    f"\r::warning file={INJECTED}::pwned",
    f"x\u2028::error file={INJECTED}::pwned",
    "\x1b[2J\x1b]0;title\x07\x1b[31mred",
    "<script>alert(1)</script>",
    "[click](javascript:alert(1)) ![t](https://track.example/p.png)",
    "| a | b |\n|---|---|",
)

STRINGS = (
    "",
    " ",
    "~",
    "null",
    "true",
    "yes",
    "on",
    "off",
    "n",
    "0",
    "-1",
    "0x10",
    "0o17",
    "017",
    "1e3",
    ".inf",
    "-.nan",
    "1:30",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "v1.30.0+k0s.0",
    "v1.29.4+k0s.0",
    "1.11.1",
    "v1.29.4",
    "k0s",
    "v0.0.0",
    "v99999999999999999999.0.0",
    "1.30",
    "quay.io/k0sproject/coredns:1.11.1",
    "quay.io/k0sproject/kube-proxy@sha256:" + "0" * 64,
    "registry.example.com:5000/a/b:latest",
    "localhost:99999999999/x",
    "Never",
    "Always",
    "IfNotPresent",
    "never",
    "a" * 300,
    "\x1b[31mred\x1b[0m",
    "line1\nline2",
    "\r",
    "\t",
    "\x00",
    "\x7f",
    "\u0085",
    "\u2028",
    "\u202etxt",
    "\ufeff",
    "\U0001f980",
    "k\u200b0s",
    "%(x)s{}{0}",
    "$(id)",
    "${HOME}",
    "${FUZZ_UNSET_VARIABLE}",
    "$$",
    "../../../../etc/passwd",
    "/dev/zero",
    "*",
    "-",
    "--ignore=K0S",
    "\\",
    "'",
    '"',
    "# k0s-policy: ignore[*] fuzz",
    *INJECTIONS,
)

# (tag, value) pairs where the value does not fit the core tag: constructors raise on them.
CORE_TAG = "tag:yaml.org,2002:"
MISFIT_TAGS = (
    ("int", "k0s"),
    ("int", "1.2.3"),
    ("int", "0x"),
    ("int", ""),
    ("int", "0b2"),
    ("int", "1:2:x"),
    ("float", "abc"),
    ("float", "1.2.3"),
    ("float", ""),
    ("bool", "maybe"),
    ("bool", ""),
    ("null", "x"),
    ("timestamp", "2001-13-45"),
    ("timestamp", "notadate"),
    ("timestamp", "2001-12-14 25:61:61"),
    ("binary", "!!!"),
    ("binary", "a"),
    ("binary", "MS4xMS4x"),
    ("str", "k0s"),
    ("map", "x"),
    ("seq", "x"),
    ("set", "x"),
    ("omap", "x"),
    ("pairs", "x"),
    ("merge", "x"),
    ("value", "x"),
    ("yaml", "x"),
)
FOREIGN_TAGS = (
    "!k0s",
    "!",
    "tag:yaml.org,2002:python/object/apply:os.system",
    "tag:yaml.org,2002:python/name:os.system",
    "tag:example.com,2000:app/foo",
    "!<!>",
)


def scalar_value(rng: random.Random) -> tuple[str, str]:
    """A hostile (tag, value) for a scalar node; tag is a full tag or "" for a plain string."""
    roll = rng.random()
    if roll < 0.55:
        return CORE_TAG + "str", rng.choice(STRINGS)
    if roll < 0.7:
        value = rng.choice(("0", "-1", str(2**63), str(2**64), str(-(2**63) - 1), str(10**30), "1.5", "-0.0"))
        return CORE_TAG + ("float" if "." in value else "int"), value
    if roll < 0.8:
        return CORE_TAG + rng.choice(("bool", "null")), rng.choice(("true", "false", "~", "null", "yes"))
    if roll < 0.9:
        name, value = rng.choice(MISFIT_TAGS)
        return CORE_TAG + name, value
    return rng.choice(FOREIGN_TAGS), rng.choice(("k0s", "ls", "1.11.1"))


def binary_value(rng: random.Random) -> str:
    """Base64 that hides a version or an image reference, or that is not base64 at all."""
    payload = rng.choice(
        (
            b"1.11.1",
            b"v1.29.4",
            b"quay.io/k0sproject/coredns",
            b"\xff\xfe\x00",
            bytes(rng.randrange(256) for _ in range(9)),
        )
    )
    if rng.random() < 0.2:
        return rng.choice(("!!!", "a", "===", "MS4x\nMS4x"))
    return base64.b64encode(payload).decode()


def big_int(rng: random.Random, big: bool) -> str:
    digits = rng.choice((4300, 4301, 5000, 20_000)) if not big else 400_000
    sign = rng.choice(("", "-", "+"))
    if rng.random() < 0.3:  # other bases convert without Python's digit limit; printing the int then fails
        return sign + rng.choice(("0x" + "f" * digits, "0o" + "7" * digits, "0b" + "1" * (4 * digits)))
    return sign + "1" + "0" * digits


def sexagesimal(rng: random.Random, big: bool) -> str:
    groups = 350_000 if big else rng.choice((1, 2, 10, 1000, 20_000))
    value = "1" + ":59" * groups
    return value + rng.choice(("", ".5")) if groups < 100 else value


def long_string(rng: random.Random) -> str:
    return rng.choice(("A", "k0s ", "\u00e9", "\\x6b")) * rng.choice((10_000, 100_000, 400_000))


def deep_nesting(rng: random.Random) -> str:
    depth = rng.choice((50, 255, 256, 257, 1000, 5000))
    if rng.random() < 0.5:
        return "[" * depth + "x" + "]" * depth
    return "{a: " * depth + "x" + "}" * depth


def deep_merge(rng: random.Random) -> str:
    depth = rng.choice((10, 300, 990, 3000))
    return "{<<: " * depth + "{a: 1}" + "}" * depth


def alias_bomb(rng: random.Random, over_limit: bool) -> str:
    """Billion laughs: each level holds ``width`` aliases of the one below. Over the node limit it
    costs the parser its whole node budget, so those stay in the large rounds."""
    width = rng.choice((2, 10)) if over_limit else 3
    if over_limit:
        levels = rng.choice((5, 9)) if width == 10 else rng.choice((20, 30))
    else:
        levels = rng.choice((3, 5, 8))
    parts = [f"fz0: &fz0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        parts.append(f"fz{level}: &fz{level} [{', '.join([f'*fz{level - 1}'] * width)}]")
    if rng.random() < 0.5:  # merge keys over the bomb: flattening copies what the aliases share
        parts.append(f"fzm: {{<<: [*fz{levels - 1}]}}")
    return "{" + ", ".join(parts) + "}"


def raw_fragment(rng: random.Random) -> str:
    """Deep nesting or merges, or a small broken fragment (bombs have their own family)."""
    return rng.choice(
        (
            lambda: deep_nesting(rng),
            lambda: deep_merge(rng),
            lambda: "*fzundefined",
            lambda: "&fzanchor",
            lambda: "{<<: 1}",
            lambda: "{<<: [1, 2]}",
            lambda: "{? [a, b]: c}",
            lambda: "!!int k0s",
            lambda: '"\\ud800"',
            lambda: '"\\x6b0s"',
            lambda: '"\\U0010ffff\\U00110000"',
        )
    )()
