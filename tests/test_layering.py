"""The layout is the architecture: each wing of checker/ imports only from wings below it.

The order, bottom to top, is the flow of one run (docs/design-notes.md, "Wings"). Imports under
``if TYPE_CHECKING:`` count too: a type-only arrow upwards is still a dependency a reader follows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "checker"

# Bottom to top. A module may import from its own wing and from any wing listed before it.
WINGS = (
    "findings",
    "inputs",
    "config",
    "k0s",
    "validate",
    "rules",
    "rego",
    "workflows",
    "report",
    "cli",
)
# The package root itself (``checker/__init__.py``: the version), ``records`` (the dataclass decorator
# every wing uses, stdlib only) and ``__main__`` sit outside the order.
OUTSIDE = {"__init__": -1, "records": -1, "__main__": len(WINGS)}


def wing_of(module: str) -> str:
    """``checker.k0s.pins`` -> ``k0s``; ``checker.findings`` -> ``findings``; ``checker`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def rank(wing: str) -> int:
    if wing in OUTSIDE:
        return OUTSIDE[wing]
    return WINGS.index(wing)


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """Every checker module a file imports (or ``source``, read as if it were that file), with the
    line, resolving relative imports."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "checker":  # `from checker import X`: a wing, a root module, or a name of the root
                found += [(node.lineno, _from_root(alias.name)) for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name == "checker" or name.startswith("checker.")]


def _from_root(name: str) -> str:
    is_module = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()
    return f"checker.{name}" if is_module else "checker"


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_lives_in_a_known_wing() -> None:
    strays = [
        str(path.relative_to(PACKAGE))
        for path in modules()
        if wing_of(module_name(path)) not in WINGS and wing_of(module_name(path)) not in OUTSIDE
    ]
    assert strays == [], f"modules outside the wings of {WINGS}: {strays}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_from_below(path: Path) -> None:
    own = wing_of(module_name(path))
    upward = [
        f"line {line}: {name} ({wing_of(name)} is above {own})"
        for line, name in imported_modules(path)
        if wing_of(name) not in ("__init__",) and rank(wing_of(name)) > rank(own)
    ]
    assert upward == []


def test_the_walk_notices_upward_imports() -> None:
    """The walk itself: absolute, relative and `from checker import` forms are all resolved."""
    source = (
        "from checker.rules.images import X\nfrom ..workflows import check\nfrom checker import findings\n"
    )
    names = [name for _, name in imported_modules(PACKAGE / "k0s" / "pins.py", source)]
    assert names == ["checker.rules.images", "checker.workflows", "checker.findings"]
    assert [rank(wing_of(n)) > rank("k0s") for n in names] == [True, True, False]
