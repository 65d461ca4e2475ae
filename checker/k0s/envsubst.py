"""k0sctl's environment substitution, applied to the documents of a k0sctl file.

k0sctl runs the whole file through ``envsubst.Bytes`` (github.com/a8m/envsubst, cmd/flags.go) before
it parses it: ``$VAR`` and ``${VAR}`` take the variable's value, ``${VAR:-default}`` and friends
follow the shell's rules, and ``$$`` is a literal ``$``. The check substitutes from its own
environment, in string values only (a value that would change the YAML structure is out of reach).

A variable that is not set where the check runs leaves the value unknown: the text stays as written,
the path is recorded, and checks that need the value skip it instead of judging the placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from checker.inputs.yamldoc import Document, YamlPath
from checker.records import dataclass

# Declared (name, summary, docs) in checker.rules.decoding.
ENV_RULE_ID = "K0S019"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<braced>" + _NAME + r")(?:(?P<op>:?[-=+?])(?P<arg>[^}]*))?\}|\$(?P<plain>" + _NAME + r")"
)

Unknown = dict[YamlPath, tuple[str, ...]]


@dataclass(frozen=True)
class UnsetUse:
    """A value at ``path`` of document ``document`` that names variables the environment lacks."""

    document: Document
    path: YamlPath
    variables: tuple[str, ...]


def substitute(text: str, environ: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """The text after substitution and the names of unset variables it needed."""
    if "$" not in text:
        return text, ()
    unset: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op = match.group("op") or ""
        arg = match.group("arg") or ""
        value = environ.get(name)
        if op in ("-", "="):
            return arg if value is None else value
        if op in (":-", ":="):
            return value if value else arg
        if op == "+":
            return "" if value is None else arg
        if op == ":+":
            return arg if value else ""
        if value is None:  # plain, or "?"/":?" which makes envsubst fail
            if name not in unset:
                unset.append(name)
            return ""
        return value

    result = _REFERENCE.sub(replace, text)
    return result, tuple(unset)


def substitute_documents(documents: Sequence[Document], environ: Mapping[str, str]) -> list[UnsetUse]:
    """Substitutes variables in the string values of every document of a k0sctl file, in place.

    Values that need an unset variable keep their text; they are returned so checks can skip them.
    """
    uses: list[UnsetUse] = []
    for document in documents:
        document.data = _walk(document, document.data, (), environ, uses)
    return uses


def unknown_paths(uses: Sequence[UnsetUse], document: Document) -> Unknown:
    return {use.path: use.variables for use in uses if use.document is document}


def _walk(
    document: Document, data: Any, path: YamlPath, environ: Mapping[str, str], uses: list[UnsetUse]
) -> Any:
    """The data after substitution: ``data`` itself (not a copy) where nothing in it changes."""
    if isinstance(data, dict | list):
        copy: Any = None
        for key, value in data.items() if isinstance(data, dict) else enumerate(data):
            new = _walk(document, value, (*path, key), environ, uses)
            if new is not value:
                if copy is None:
                    copy = data.copy()
                copy[key] = new
        return data if copy is None else copy
    if not isinstance(data, str) or "$" not in data:
        return data
    text, unset = substitute(data, environ)
    if unset:
        uses.append(UnsetUse(document, path, unset))
        return data
    return text
