"""A scenario's ``properties:``: property definitions with their types and options, as HubSpot's API shows them.

Without the section the sandbox describes every property it has seen as a string (a few well-known ones
with their HubSpot types). A portal's custom properties are what a CRM build-out adds, and what
CRM-FIELDS-MAPPED checks: declared here, ``GET /crm/v3/properties/{type}`` answers them with their type,
field type and options (``{"label", "value", "displayOrder", "hidden"}``), in place of the generated ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FIELD_TYPES", "PROPERTIES_SCHEMA", "declared_properties", "merge_declared"]

OBJECTS = ("contacts", "companies", "deals")
# HubSpot's property types and the field type each gets unless one is given
FIELD_TYPES = {"string": "text", "number": "number", "date": "date", "datetime": "date", "enumeration": "select",
               "bool": "booleancheckbox", "phone_number": "phonenumber"}
_NAME = {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,99}$",
         "x-hint": "HubSpot internal names are lower case letters, digits and _"}
_DEFINITION = {
    "type": "object",
    "required": ["name", "type"],
    "additionalProperties": False,
    "description": "One property: its internal name, type and (enumerations) options.",
    "examples": [{"name": "lead_source_detail", "type": "enumeration", "options": ["webinar", "ebook"]}],
    "properties": {
        "name": {**_NAME, "description": "The internal name.", "x-default": "required",
                 "examples": ["lead_source_detail"]},
        "type": {"enum": list(FIELD_TYPES), "description": "HubSpot's property type.", "x-default": "required",
                 "examples": ["enumeration"]},
        "field_type": {"type": "string", "minLength": 1, "x-default": "by type: text, number, date, select, "
                       "booleancheckbox, phonenumber", "description": "How forms show it (`fieldType`).",
                       "examples": ["radio"]},
        "label": {"type": "string", "minLength": 1, "x-default": "the name, capitalised",
                  "description": "The label people see.", "examples": ["Lead source detail"]},
        "options": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True,
                    "x-default": "none (`bool`: true and false)", "description": "The option values, in order.",
                    "examples": [["webinar", "ebook", "demo_request"]]},
    },
}
PROPERTIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "x-default": "none: every property the records have, as a string",
    "description": "Property definitions per object (a portal's custom fields), answered by "
    "`GET /crm/v3/properties/{type}` with their type and options.",
    "examples": [{"contacts": [{"name": "lead_source_detail", "type": "enumeration",
                                "options": ["webinar", "ebook", "demo_request"]}]}],
    "properties": {t: {"type": "array", "items": _DEFINITION, "x-default": f"the {t} the records show",
                       "description": f"The {t} properties.",
                       "examples": [[{"name": "utm_campaign", "type": "string"}]]} for t in OBJECTS},
}


def _option(value: str, order: int) -> dict[str, Any]:
    return {"label": value.replace("_", " ").capitalize(), "value": value, "displayOrder": order, "hidden": False}


def declared_properties(section: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> dict[str, list[dict[str, Any]]]:
    """The section as HubSpot property JSON per object type (validated by ``PROPERTIES_SCHEMA`` already)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for object_type, definitions in (section or {}).items():
        rows = []
        for raw in definitions:
            kind = str(raw["type"])
            options = [str(o) for o in raw.get("options") or (["true", "false"] if kind == "bool" else [])]
            rows.append({
                "name": str(raw["name"]), "label": str(raw.get("label") or raw["name"].replace("_", " ").capitalize()),
                "type": kind, "fieldType": str(raw.get("field_type") or FIELD_TYPES[kind]),
                "groupName": f"{object_type[:-1]}information",
                "options": [_option(o, i) for i, o in enumerate(options)],
                "hidden": False, "calculated": False, "hubspotDefined": False, "archived": False, "description": "",
            })
        out[str(object_type)] = rows
    return out


def merge_declared(generated: list[dict[str, Any]], declared: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The generated definitions with the declared ones in place of (or added to) those of the same name."""
    by_name = {str(d["name"]): dict(d) for d in declared}
    out = [by_name.pop(str(g["name"]), g) for g in generated]
    return out + sorted(by_name.values(), key=lambda d: str(d["name"]))
