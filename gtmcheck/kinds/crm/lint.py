"""Offline lint of a crm checklist (``CRM1xx``): what the checklist alone says is wrong or weak.

Unusable input (a name pattern RE2 refuses) is a ``SpecError`` in model.py, exit 2. These findings are about
a checklist that loads: a property declared twice, an enumeration without options, options on a type that
has none, a duplicate rule declared twice, a mapping to a property the checklist does not declare,
a lifecycle trigger on one (CRM106).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding, Severity, register
from .lifecycle import lifecycle_lint
from .model import CrmSpec

PROPERTY_TWICE = register(
    "CRM101",
    "crm.property-declared-twice",
    Severity.ERROR,
    "A property is declared twice on the same object.",
    "keep one entry per property; merge their options",
    "Anti-pattern: two entries for lead_source_detail with different options; which one the build-out "
    "needs is anyone's guess. Best practice: one entry per property, with every option it must offer.",
)
ENUM_WITHOUT_OPTIONS = register(
    "CRM102",
    "crm.enumeration-without-options",
    Severity.WARNING,
    "An enumeration property declares no options, so its options are not checked.",
    "list the option values the build-out needs under `options:`",
    "Anti-pattern: `{name: lead_source_detail, type: enumeration}`: an option renamed in the CRM "
    "(webinar -> webinars) goes unnoticed and reports stop counting it. Best practice: declare the options "
    "forms, workflows and reports rely on.",
)
OPTIONS_NOT_ENUMERATION = register(
    "CRM103",
    "crm.options-not-enumeration",
    Severity.ERROR,
    "Options are declared on a property whose type has none.",
    "make the type `enumeration`, or drop `options:`",
    "Anti-pattern: `{name: region, type: string, options: [emea, na]}`: a free-text field takes any "
    "spelling. Best practice: a field with a fixed set of values is an enumeration.",
)
RULE_TWICE = register(
    "CRM104",
    "crm.duplicate-rule-twice",
    Severity.WARNING,
    "The same duplicate rule is declared twice (it would be tested twice).",
    "keep one entry per object and match",
    "Anti-pattern: two `{object: contacts, match: email}` entries. Best practice: one rule per object and "
    "set of matched properties.",
)
MAPPING_UNDECLARED = register(
    "CRM105",
    "crm.mapping-property-undeclared",
    Severity.WARNING,
    "A mapping's CRM property is not declared under `properties:`, so its type is not checked.",
    "declare it under `properties:` with its type",
    "Anti-pattern: utm_campaign traced from the form but never declared: a property recreated as a number "
    "passes the trace and breaks reports. Best practice: every mapped property is also declared.",
)
TRIGGER_UNDECLARED = register(
    "CRM106",
    "crm.lifecycle-trigger-undeclared",
    Severity.WARNING,
    "A lifecycle trigger reads a property the checklist does not declare, so its existence and type go unchecked.",
    "declare it under `properties:` with its type (e.g. `{name: hs_lead_score, type: number}`)",
    "Anti-pattern: `trigger: {property: lead_score, gte: 50}` on a property nobody declared: renamed to "
    "hs_lead_score, or recreated as text, the MQL workflow stops firing and only the synthetic contact notices. "
    "Best practice: every trigger property is declared, so CRM-FIELDS-MAPPED checks it exists with its type.",
)
# lifecycle.py names its findings; each becomes the CRM rule with that name
_LIFECYCLE_RULES = {"lifecycle.trigger-undeclared": TRIGGER_UNDECLARED}


def lint_crm(spec: CrmSpec) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    declared: set[str] = set()
    for prop in spec.properties:
        where = spec.location("properties", prop.object, prop.index)
        named = (prop.object, prop.name)
        if named in seen:
            yield PROPERTY_TWICE.finding(where, f"{prop.object}.{prop.name} is declared twice")
        seen.add(named)
        declared.add(f"{prop.object}.{prop.name}")
        if prop.type == "enumeration" and not prop.options:
            yield ENUM_WITHOUT_OPTIONS.finding(where, f"{prop.object}.{prop.name} is an enumeration without options")
        if prop.type not in ("enumeration", "bool") and prop.options:
            yield OPTIONS_NOT_ENUMERATION.finding(spec.location("properties", prop.object, prop.index, "options"),
                                                  f"{prop.object}.{prop.name} is {prop.type} but lists options")
    rules: set[tuple[str, tuple[str, ...]]] = set()
    for rule in spec.duplicates:
        key = (rule.object, tuple(sorted(rule.match)))
        if key in rules:
            yield RULE_TWICE.finding(spec.location("duplicates", rule.index), f"{rule.label} is declared twice")
        rules.add(key)
    if spec.properties:  # without a `properties:` section, mappings alone are the declaration
        for i, mapping in enumerate(spec.data.get("mappings") or []):
            mapped = str(mapping.get("property") or "")
            if mapped and mapped not in declared:
                yield MAPPING_UNDECLARED.finding(spec.location("mappings", i, "property"),
                                                 f"{mapped} is mapped but not declared under `properties:`")
    for problem in lifecycle_lint(spec):
        yield _LIFECYCLE_RULES[problem.rule].finding(problem.location, problem.message, hint=problem.hint)
