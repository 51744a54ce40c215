"""CRM-FIELDS-MAPPED, the ``properties:`` part: each declared property exists with its type and options.

Read-only, one check per object: the CRM's definitions (HubSpot ``GET /crm/v3/properties/{type}``,
Salesforce describe) through ``CrmConnector.properties``. A missing property is named with the closest name
the CRM has; a wrong type with both types; a declared option the CRM does not offer with the option it
offers instead when one is close (``webinar`` -> ``webinars``: renamed). Options the CRM has beyond the
declared ones are fine: a checklist states what the build-out needs, not every value ever added.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

from ...errors import CheckFailed, Evidence
from ..base import CRM, Check
from .model import CrmSpec, PropertySpec

if TYPE_CHECKING:
    from ...connectors.crm import ObjectType, Property
    from ...context import RunContext

DOD_ID = "CRM-FIELDS-MAPPED"
# Salesforce describe types read as HubSpot's property types (the names checklists use)
SALESFORCE_TYPES = {
    "picklist": "enumeration", "multipicklist": "enumeration", "double": "number", "currency": "number",
    "percent": "number", "int": "number", "long": "number", "boolean": "bool", "phone": "phone_number",
    "date": "date", "datetime": "datetime", "textarea": "string", "email": "string", "url": "string",
    "reference": "string", "id": "string", "combobox": "string", "string": "string",
}


def property_checks(spec: CrmSpec) -> Iterator[Check]:
    """One read-only check per object with declared properties."""
    objects: dict[str, list[PropertySpec]] = {}
    for prop in spec.properties:
        objects.setdefault(prop.object, []).append(prop)
    for object_type, declared in objects.items():
        yield Check(DOD_ID, partial(check_properties, object_type=declared[0].object, declared=declared),
                    spec.location("properties", object_type), param=f"properties.{object_type}",
                    description=f"{len(declared)} {object_type} properties exist with their type and options",
                    needs=frozenset({CRM}))


def crm_type(vendor: str, prop: Property) -> str:
    """The property's type in HubSpot's words, whichever CRM answered."""
    if vendor == "salesforce":
        return SALESFORCE_TYPES.get(prop.type.lower(), prop.type.lower())
    return prop.type


def problems_of(vendor: str, object_type: str, declared: Sequence[PropertySpec],
                actual: Sequence[Property]) -> list[str]:
    """What differs, one sentence per property: missing, wrong type, options missing (or renamed)."""
    by_name = {p.name: p for p in actual}
    out = []
    for want in declared:
        name = f"{object_type}.{want.name}"
        have = by_name.get(want.name)
        if have is None:
            close = difflib.get_close_matches(want.name, list(by_name), n=1, cutoff=0.8)
            out.append(f"{name} does not exist" + (f" (the CRM has {close[0]!r})" if close else ""))
            continue
        got = crm_type(vendor, have)
        if got != want.type:
            out.append(f"{name} is {got}, not {want.type}")
        extra = [o for o in have.options if o not in want.options]
        for option in want.options:
            if option in have.options:
                continue
            close = difflib.get_close_matches(option, extra, n=1, cutoff=0.6)
            out.append(f"{name} has no option {option!r}" + (f" (it has {close[0]!r}: renamed?)" if close else ""))
    return out


def check_properties(ctx: RunContext, object_type: ObjectType, declared: Sequence[PropertySpec]) -> Evidence:
    """Read the object's definitions once and compare every declared property."""
    crm = ctx.crm()
    actual = crm.properties(object_type)
    problems = problems_of(crm.vendor, object_type, declared, actual)
    names = ", ".join(p.name for p in declared)
    if problems:
        raise CheckFailed(
            "; ".join(problems),
            expected=f"{object_type} properties {names} with their declared types and options",
            received=f"{len(problems)} difference(s) in {len(actual)} {object_type} properties the CRM describes",
            evidence=Evidence("; ".join(problems), {"object": object_type, "problems": problems}),
        )
    return Evidence(f"{len(declared)} {object_type} properties exist with their types and options: {names}",
                    {"object": object_type, "properties": [p.name for p in declared]})
