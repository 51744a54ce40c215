"""The closed JSON Schema fragment of a ``kind: crm`` checklist (published by ``gtmcheck schema``).

Every key has a description, a default and an example (``schemadoc.gaps`` checks it), so the generated
reference page (docs/crm-reference.md) and an editor's autocompletion say the same as docs/crm.md.
``lifecycle:`` is lifecycle.py's ``LIFECYCLE_SCHEMA``; ``form``, ``mappings``, ``sync_lag`` and ``crm_lag`` are
mappings.py's ``MAPPINGS_SCHEMA``: one schema, defined beside the code that reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...durations import SCHEMA as DURATION
from .lifecycle import LIFECYCLE_SCHEMA
from .mappings import MAPPINGS_SCHEMA

if TYPE_CHECKING:
    from ...connectors.crm import ObjectType

OBJECTS: tuple[ObjectType, ...] = ("contacts", "companies", "deals")
PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool", "phone_number")
DEFAULT_SCAN_LIMIT = 100_000
MAX_SCAN_LIMIT = 2_000_000
NAME = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]{0,99}$",
        "x-hint": "write the property's internal name (HubSpot: lead_source_detail; Salesforce: Lead_Source__c)"}
IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"

_PROPERTY = {
    "type": "object",
    "required": ["name", "type"],
    "additionalProperties": False,
    "x-hint": "write each property as {name: utm_campaign, type: string}",
    "description": "A property that must exist on the object, with this type (and these options).",
    "examples": [{"name": "lead_source_detail", "type": "enumeration", "options": ["webinar", "ebook"]}],
    "properties": {
        "name": {**NAME, "description": "The property's internal name.", "x-default": "required",
                 "examples": ["lead_source_detail"]},
        "type": {"enum": list(PROPERTY_TYPES), "description": "The type the CRM must report (HubSpot's names; "
                 "Salesforce's describe types are read as these: picklist is enumeration, double is number...).",
                 "x-default": "required", "examples": ["enumeration"]},
        "options": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "minLength": 1},
                    "description": "Option values the property must offer (an enumeration); others may exist.",
                    "x-default": "not checked", "examples": [["webinar", "ebook", "demo_request"]]},
    },
}

_DUPLICATE = {
    "type": "object",
    "required": ["object", "match"],
    "additionalProperties": False,
    "x-hint": "write each rule as {object: contacts, match: email}",
    "description": "A duplicate rule the CRM must enforce: a second record matching the first is refused.",
    "examples": [{"object": "companies", "match": "domain"}],
    "properties": {
        "object": {"enum": list(OBJECTS), "description": "The object the rule guards.", "x-default": "required",
                   "examples": ["contacts"]},
        "match": {"description": "The property (or properties, all equal) that make two records duplicates.",
                  "x-default": "required", "examples": ["email", ["firstname", "lastname"]],
                  "oneOf": [NAME, {"type": "array", "minItems": 1, "maxItems": 5, "uniqueItems": True,
                                   "items": NAME}]},
    },
}

_TEST_RECORDS = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": "CRM-TEST-RECORDS-FLUSHED: what a test record looks like; none may be left in the CRM. "
    "gtmcheck's own synthetic records of earlier runs always count.",
    "x-default": "none: the item is attested or not configured",
    "examples": [{"domains": ["test.example", "mailinator.com"], "names": ["^test\\b", "do not use"]}],
    "properties": {
        "domains": {"type": "array", "uniqueItems": True, "items": {
            "type": "string", "pattern": r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
            r"[A-Za-z0-9])?)+$", "x-hint": "write a bare domain such as test.example"},
            "description": "Email domains (contacts) and company domains of test records; subdomains count.",
            "x-default": "none", "examples": [["test.example", "mailinator.com"]]},
        "names": {"type": "array", "uniqueItems": True, "items": {"type": "string", "minLength": 1},
                  "description": "Regular expressions (RE2, any case) a test record's name matches: a contact's "
                  "first, last or full name, a company's or deal's name.",
                  "x-default": "none", "examples": [["^test\\b", "do not use"]]},
        "objects": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(OBJECTS)},
                    "description": "The objects searched.", "default": list(OBJECTS), "examples": [["contacts"]]},
        "scan_limit": {"type": "integer", "minimum": 1, "maximum": MAX_SCAN_LIMIT, "default": DEFAULT_SCAN_LIMIT,
                       "description": "Names are matched on every record read, at most this many per object; "
                       "an object with more is an error, not a pass.", "examples": [500000]},
    },
}

_MEASURED_BY = {
    "description": "The reconcile handoff that measures the SLA: its id (searched in the project's reconcile "
    "checklists) or `{checklist, handoff}` with the reconcile checklist's path from the project root.",
    "x-default": "none: the SLA is documented only (attest CRM-HANDOFF-SLA under `manual:`)",
    "examples": ["lead-to-sales", {"checklist": "checks/reconcile.gtm.yml", "handoff": "lead-to-sales"}],
    "oneOf": [
        {"type": "string", "pattern": IDENT},
        {"type": "object", "required": ["checklist", "handoff"], "additionalProperties": False,
         "properties": {
             "checklist": {"type": "string", "minLength": 1, "x-default": "required",
                           "description": "The reconcile checklist, from the project root.",
                           "examples": ["checks/reconcile.gtm.yml"]},
             "handoff": {"type": "string", "pattern": IDENT, "x-default": "required",
                         "description": "The id of its `handoffs:` entry.", "examples": ["lead-to-sales"]}}},
    ],
}

SCHEMA: dict[str, Any] = {
    "properties": {
        "type": "object",
        "additionalProperties": False,
        "description": "CRM-FIELDS-MAPPED: properties that must exist per object, with their type and options.",
        "x-default": "none",
        "examples": [{"contacts": [{"name": "utm_campaign", "type": "string"}]}],
        "properties": {t: {"type": "array", "items": _PROPERTY, "description": f"The {t} properties.",
                           "x-default": "none", "examples": [[{"name": "utm_campaign", "type": "string"}]]}
                       for t in OBJECTS},
    },
    **MAPPINGS_SCHEMA,  # form, mappings, sync_lag, crm_lag (mappings.py)
    "lifecycle": LIFECYCLE_SCHEMA,  # lifecycle.py
    "duplicates": {"type": "array", "items": _DUPLICATE, "description": "CRM-DEDUP-ACTIVE: duplicate rules, each "
                   "tested with a synthetic pair (only where `writes: true`).", "x-default": "none",
                   "examples": [[{"object": "contacts", "match": "email"}]]},
    "test_records": _TEST_RECORDS,
    "handoff_sla": {
        "type": "object",
        "required": ["team", "within"],
        "additionalProperties": False,
        "description": "CRM-HANDOFF-SLA: the receiving team and how soon a handoff must reach it.",
        "x-default": "none",
        "examples": [{"team": "sales", "within": "4h", "measured_by": "lead-to-sales"}],
        "properties": {
            "team": {"type": "string", "minLength": 1, "description": "The team that receives the handoff.",
                     "x-default": "required", "examples": ["sales"]},
            "within": {**DURATION, "description": "The SLA; the measuring handoff check uses it.",
                       "x-default": "required", "examples": ["4h"]},
            "measured_by": _MEASURED_BY,
        },
    },
}
