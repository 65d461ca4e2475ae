"""The registry: every rule, looked up by id. Families live in one module each; nothing registers
itself on import."""

from __future__ import annotations

from collections.abc import Iterable

from checker.rules import core, decoding, dynamic, images, pullpolicy, registry, semantic, skew
from checker.rules.base import Context, Options, Rule

ALL_RULES: tuple[Rule, ...] = (
    *core.RULES,
    *decoding.RULES,
    *semantic.RULES,
    *images.RULES,
    *pullpolicy.RULES,
    *registry.RULES,
    *skew.RULES,
    *dynamic.RULES,
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}


def unknown_rule(name: str, extra: Iterable[str] = ()) -> str | None:
    """Why ``name`` (an id or id prefix, as --select, --ignore and `.k0s-policy.yaml` take them)
    names no rule, with the nearest known ids; None when it names one. ``extra``: ids of other
    checks of the run (Rego policies), which may also be matched by prefix."""
    wanted = name.strip().upper()
    known = [*RULES_BY_ID, *(e.upper() for e in extra)]
    if wanted and any(rule_id.startswith(wanted) for rule_id in known):
        return None
    import difflib  # only a mistyped rule id pays for it

    nearest = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
    hint = f"nearest: {', '.join(nearest)}; " if nearest else ""
    return f"unknown rule {name!r} ({hint}`k0s-policy rules` lists them)"


__all__ = ["ALL_RULES", "RULES_BY_ID", "Context", "Options", "Rule", "unknown_rule"]
