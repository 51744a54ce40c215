"""A scenario's ``duplicates:``: the sandbox's duplicate rules, refused with a 409 as HubSpot refuses a contact.

HubSpot itself refuses a second contact with an email it has (``409 CONFLICT``, "Contact already exists.
Existing ID: 123"); the sandbox always does that. Other objects are not deduplicated by HubSpot's API: a
portal adds that with unique properties, a dedup tool or an operations workflow. The section models such
rules, so a stack can have them (healthy) or lose one (drifted): a create whose match properties all equal
those of a live record of the rule's object is refused the same way, naming the record it matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["DUPLICATES_SCHEMA", "duplicate_of", "normalised"]

_RULE = {
    "type": "object",
    "required": ["object", "match"],
    "additionalProperties": False,
    "description": "One rule: records of `object` whose `match` properties all equal an existing one's.",
    "examples": [{"object": "companies", "match": "domain"}],
    "properties": {
        "object": {"enum": ["contacts", "companies", "deals"], "description": "The object the rule guards.",
                   "x-default": "required", "examples": ["companies"]},
        "match": {"description": "The property (or properties, all equal) that make two records duplicates; "
                  "compared without case, a domain also without `www.`.", "x-default": "required",
                  "examples": ["domain", ["firstname", "lastname"]],
                  "oneOf": [{"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "uniqueItems": True,
                             "items": {"type": "string", "minLength": 1}}]},
    },
}
DUPLICATES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": _RULE,
    "x-default": "none besides HubSpot's own: a contact's email",
    "description": "Duplicate rules the portal has on top of HubSpot's own (a contact's email is always "
    "unique): a create that matches a live record is refused with 409 `CONFLICT` naming it.",
    "examples": [[{"object": "companies", "match": "domain"}]],
}


def normalised(name: str, value: str | None) -> str:
    """A value as duplicate rules compare it: trimmed, lower case; a domain without a leading ``www.``."""
    text = (value or "").strip().lower()
    return text.removeprefix("www.") if name == "domain" else text


def _match(rule: Mapping[str, Any]) -> list[str]:
    match = rule["match"]
    return [str(match)] if isinstance(match, str) else [str(m) for m in match]


def duplicate_of(rules: Sequence[Mapping[str, Any]], object_type: str, properties: Mapping[str, str | None],
                 live: Iterable[tuple[str, Mapping[str, str]]]) -> str | None:
    """The id of the live record a new one duplicates under one of ``rules``, else ``None``.

    A rule matches only when the new record has every match property; an empty value never matches.
    """
    wanted = []
    for rule in rules:
        names = _match(rule)
        if rule["object"] != object_type:
            continue
        values = [normalised(n, properties.get(n)) for n in names]
        if all(values):
            wanted.append((names, values))
    if not wanted:
        return None
    for record_id, props in live:
        for names, values in wanted:
            if [normalised(n, props.get(n)) for n in names] == values:
                return record_id
    return None
