"""The registry: every rule, looked up by id. Families live in one module each; nothing registers
itself on import."""

from __future__ import annotations

from checker.rules import core, dynamic, images, pullpolicy, skew
from checker.rules.base import Context, Options, Rule

ALL_RULES: tuple[Rule, ...] = (*core.RULES, *images.RULES, *pullpolicy.RULES, *skew.RULES, *dynamic.RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_ID", "Context", "Options", "Rule"]
