"""The rules of ``gtmcheck webhooks diff``: stable ids, names and levels, kept apart from the lint registry.

A webhook schema change is not a finding at a file line but a change at a JSON pointer, so these rules live
in their own table (codes ``WH1xx``, no clash with ``gtmcheck rules``); docs/webhooks.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "info"]
ENUM_POLICIES = ("compatible", "breaking")


@dataclass(frozen=True)
class DiffRule:
    """One kind of schema change: ``error`` is breaking (exit 1); ``warning`` and ``info`` are not."""

    code: str
    name: str
    level: Level
    summary: str


_RULES = [
    DiffRule("WH101", "property.removed", "error", "a property is no longer described; receivers reading it lose it"),
    DiffRule("WH102", "property.renamed", "error", "a property was removed and one with the same schema added"),
    DiffRule("WH103", "property.added", "info", "a new optional property; tolerant readers ignore it"),
    DiffRule("WH104", "required.added", "error", "a property became required: payloads without it are rejected"),
    DiffRule("WH105", "required.removed", "error", "a property became optional: receivers may no longer get it"),
    DiffRule("WH106", "type.narrowed", "error", "the type accepts fewer kinds of value"),
    DiffRule("WH107", "type.widened", "error", "the type accepts more kinds of value than receivers were written for"),
    DiffRule("WH108", "type.changed", "error", "the type changed to another one"),
    DiffRule("WH109", "nullable.added", "error", "null is now allowed: receivers may get null"),
    DiffRule("WH110", "nullable.removed", "error", "null is no longer allowed"),
    DiffRule("WH111", "enum.removed", "error", "enum values were removed, or an enum was added"),
    DiffRule("WH112", "enum.added", "info", "enum values added, or the enum dropped (level per --enum-additions)"),
    DiffRule("WH113", "const.changed", "error", "a const was added, removed or changed"),
    DiffRule("WH114", "pattern.changed", "error", "a pattern was added, removed or changed"),
    DiffRule("WH115", "length.narrowed", "error", "minLength raised or maxLength lowered"),
    DiffRule("WH116", "length.widened", "warning", "minLength lowered or maxLength raised"),
    DiffRule("WH117", "range.narrowed", "error", "a numeric bound raised, lowered or made exclusive"),
    DiffRule("WH118", "range.widened", "warning", "a numeric bound relaxed or removed"),
    DiffRule("WH119", "items.narrowed", "error", "minItems raised, maxItems lowered or uniqueItems added"),
    DiffRule("WH120", "items.widened", "warning", "minItems lowered, maxItems raised or uniqueItems removed"),
    DiffRule("WH121", "additional.tightened", "error", "additionalProperties now rejects what it allowed"),
    DiffRule("WH122", "additional.loosened", "warning", "additionalProperties now allows what it rejected"),
    DiffRule("WH123", "format.changed", "warning", "a format was added, removed or changed"),
    DiffRule("WH124", "composition.changed", "error", "allOf/anyOf/oneOf/not/if changed: not compared, so both ways"),
]

RULES: dict[str, DiffRule] = {rule.name: rule for rule in _RULES}


def level_of(rule: DiffRule, enum_additions: str) -> Level:
    """The rule's level, with the enum policy applied: a strict receiver breaks on a new enum value."""
    if rule.name == "enum.added" and enum_additions == "breaking":
        return "error"
    return rule.level
