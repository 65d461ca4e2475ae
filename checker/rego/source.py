"""What a Rego file declares, read from its text: its package, its rule heads and the functions it calls.

The embedded engine compiles the policies; this module only needs the facts conftest's conventions
depend on (which ``deny``/``warn``/``violation`` rules a package has and how often, which ``test_``
rules exist) and the places to point at when something goes wrong. Comments and string literals are
blanked out first, so a word inside them is never taken for a rule or a call.

Rule heads are read where ``opa fmt`` writes them: at the start of a line.
"""

from __future__ import annotations

import re
from pathlib import Path

from checker.records import dataclass, field

FAILURE_RULE = re.compile(r"(deny|violation)(_[a-zA-Z0-9]+)*")
WARNING_RULE = re.compile(r"warn(_[a-zA-Z0-9]+)*")
TEST_RULE = re.compile(r"test_[A-Za-z0-9_]*")
_RULE_PREFIX = re.compile(r"^(deny|warn|violation)_")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PACKAGE = re.compile(rf"^package[ \t]+({_IDENT}(?:\.{_IDENT})*)", re.MULTILINE)
_IMPORT = re.compile(
    rf"^import[ \t]+((?:data|input)(?:\.{_IDENT})*)(?:[ \t]+as[ \t]+({_IDENT}))?", re.MULTILINE
)
_HEAD = re.compile(
    rf"^(?:default[ \t]+)?({_IDENT})(?=[ \t]*(?:\[|\(|\{{|:=|=|\.|contains\b|if\b))", re.MULTILINE
)
_CALL = re.compile(rf"(?<![\w.])({_IDENT}(?:\.{_IDENT})*)[ \t]*\(")
_KEYWORDS = frozenset(
    {
        "package",
        "import",
        "default",
        "not",
        "some",
        "every",
        "in",
        "if",
        "else",
        "contains",
        "with",
        "as",
        "true",
        "false",
        "null",
    }
)


@dataclass(frozen=True)
class Head:
    """One rule or function head: its name and where it starts (1-based line)."""

    name: str
    line: int
    function: bool
    text: str  # the rest of the head line, for checks of its shape


@dataclass
class RegoFile:
    path: str  # as shown to the user
    text: str
    package: str
    package_line: int
    heads: list[Head] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)  # alias -> data path

    def rules(self, pattern: re.Pattern[str]) -> list[Head]:
        return [h for h in self.heads if not h.function and pattern.fullmatch(h.name)]

    def first_line_of(self, name: str) -> int:
        return next((h.line for h in self.heads if h.name == name), self.package_line)

    def line_at(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a byte offset into the UTF-8 text."""
        raw = self.text.encode("utf-8")[:offset]
        line = raw.count(b"\n") + 1
        column = len(raw) - (raw.rfind(b"\n") + 1) + 1
        return line, column


class SourceError(Exception):
    """A policy file that cannot be used, with the file and line to fix."""


def is_conftest_rule(name: str) -> bool:
    return bool(FAILURE_RULE.fullmatch(name) or WARNING_RULE.fullmatch(name))


def is_failure(name: str) -> bool:
    return bool(FAILURE_RULE.fullmatch(name))


def exception_name(rule: str) -> str:
    """The name an ``exception`` rule lists to switch ``rule`` off: ``deny_foo`` -> ``foo``; ``deny`` -> ``""``."""
    if rule in ("deny", "warn", "violation"):
        return ""
    return _RULE_PREFIX.sub("", rule, count=1)


def mask(text: str) -> str:
    """The text with comments and the insides of string literals replaced by spaces (newlines kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif char == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            out.append('"' + " " * (j - i - 1))
            closed = j < n and text[j] == '"'
            out.append('"' if closed else "")
            i = j + 1 if closed else j
        elif char == "`":
            end = text.find("`", i + 1)
            end = n if end < 0 else end
            out.append("`" + re.sub(r"[^\n]", " ", text[i + 1 : end]) + ("`" if end < n else ""))
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_file(path: Path, shown: str) -> RegoFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{shown}: cannot read the policy file: {err}") from None
    masked = mask(text)
    package = _PACKAGE.search(masked)
    if package is None:
        raise SourceError(f"{shown}:1: no `package` declaration; every Rego file starts with one")
    found = RegoFile(shown, text, package.group(1), _line_of(masked, package.start()))
    for match in _IMPORT.finditer(masked):
        target = match.group(1)
        found.imports[match.group(2) or target.rsplit(".", 1)[-1]] = target
    for match in _HEAD.finditer(masked):
        name = match.group(1)
        if name in _KEYWORDS:
            continue
        line_end = masked.find("\n", match.end())
        rest = masked[match.end() : len(masked) if line_end < 0 else line_end].strip()
        found.heads.append(Head(name, _line_of(masked, match.start()), rest.startswith("("), rest))
    return found


def check_rule_shapes(rego: RegoFile) -> None:
    """conftest reads deny/warn/violation as sets of messages; a boolean rule of that name reports nothing."""
    for head in rego.heads:
        if head.function or not is_conftest_rule(head.name):
            continue
        if re.match(r"(if\b|\{)", head.text):
            raise SourceError(
                f"{rego.path}:{head.line}: rule {head.name} is a boolean (`{head.name} if {{ ... }}`), but "
                f"conftest reads {head.name} as a set of messages; write "
                f'`{head.name} contains msg if {{ ... msg := "..." }}`'
            )


def calls(rego: RegoFile) -> list[tuple[str, int]]:
    """Every ``name(`` or ``a.b.name(`` in the file that is not a rule head, with its line."""
    masked = mask(rego.text)
    heads = {(h.name, h.line) for h in rego.heads}
    found: list[tuple[str, int]] = []
    for match in _CALL.finditer(masked):
        name = match.group(1)
        line = _line_of(masked, match.start())
        if name in _KEYWORDS or (name, line) in heads:
            continue
        found.append((name, line))
    return found
