"""The whole set of lint rules: every module that registers rules, imported in one place.

Rules register themselves when their module is imported (``findings.register``); the kinds, governance and the
CRM owner checks live in layers that must not import each other, so this top-level module imports them all
for whoever needs the complete registry: ``gtmcheck lint``, the run, ``gtmcheck rules`` and the schema of
``gtmcheck.yml``'s ``lint:`` section.
"""

from __future__ import annotations

from collections.abc import Mapping

from .findings import RULES, Rule
from .lintconfig import SEVERITIES, UNUSABLE_INPUT


def load_rules() -> Mapping[str, Rule]:
    """The whole rule registry: importing governance and the kinds registers their rules."""
    from . import governance  # noqa: F401  (registers GOV rules)
    from .kinds import all_kinds
    from .kinds.routing.owners import lint_owners  # noqa: F401  (registers ROUTE2xx, used by lint --env)

    all_kinds()
    return RULES


def rules_section_schema() -> dict[str, object]:
    """The schema of ``lint:`` in gtmcheck.yml: closed, one key per rule code, so a typo is an error."""
    rules = load_rules()
    levels = {"enum": list(SEVERITIES)}
    props: dict[str, object] = {
        code: {**levels, "description": f"{rule.name} (default {rule.severity}): {rule.summary}"}
        for code, rule in sorted(rules.items())
        if code != UNUSABLE_INPUT
    }
    props[UNUSABLE_INPUT] = {
        "const": "error",
        "description": "Unusable input is always an error.",
        "x-hint": "remove it: GTM001 (a file gtmcheck cannot read) is always an error",
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "How `gtmcheck lint` treats its findings.",
        "properties": {
            "rules": {
                "type": "object",
                "additionalProperties": False,
                "description": "A rule code's severity (error, warning, info), or off to turn the rule off.",
                "properties": props,
            },
        },
    }
