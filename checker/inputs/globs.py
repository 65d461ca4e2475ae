"""Glob patterns as ``glob.glob(..., recursive=True)`` reads them, matched against "/" paths.

Both collections (the working tree, ``checker.inputs.sources``, and a git revision,
``checker.inputs.gitsource``) enumerate paths themselves, never through links, and match them with
the same regular expression, so a pattern means the same in both and cannot follow a link out of
the tree or around a loop.
"""

from __future__ import annotations

import re


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression for a ``glob.glob(..., recursive=True)`` pattern over "/" paths.

    ``*`` and ``?`` stay within one path component, ``**`` spans any number of them, and a
    wildcard at the start of a component does not match a leading dot (glob skips hidden files).
    """
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(r"(?:[^/.][^/]*(?:/[^/.][^/]*)*)?" if last else r"(?:[^/.][^/]*/)*")
            continue
        piece = r"(?!\.)" if part[:1] in ("*", "?", "[") else ""
        i = 0
        while i < len(part):
            char = part[i]
            if char == "*":
                piece += "[^/]*"
            elif char == "?":
                piece += "[^/]"
            elif char == "[":
                piece, i = _char_class(part, i, piece)
            else:
                piece += re.escape(char)
            i += 1
        out.append(piece if last else piece + "/")
    return re.compile("".join(out))


def _char_class(part: str, i: int, piece: str) -> tuple[str, int]:
    """``[abc]`` / ``[!abc]`` starting at ``part[i]``; a ``[`` without its ``]`` is a plain character."""
    j = i + 1
    if part[j : j + 1] == "!":
        j += 1
    if part[j : j + 1] == "]":
        j += 1
    end = part.find("]", j)
    if end < 0:
        return piece + re.escape("["), i
    body = part[i + 1 : end].replace("\\", "\\\\")
    if body.startswith("!"):
        body = "^" + body[1:]
    elif body.startswith("^"):
        body = "\\" + body
    return piece + "[" + body + "]", end


def literal_prefix(pattern: str) -> str:
    """The directories of a pattern before its first wildcard: where to start looking."""
    literal: list[str] = []
    for part in pattern.split("/")[:-1]:
        if has_wildcard(part):
            break
        literal.append(part)
    return "/".join(literal)


def has_wildcard(argument: str) -> bool:
    return any(ch in argument for ch in "*?[")
