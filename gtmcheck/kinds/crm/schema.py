"""The closed JSON Schema fragment of a ``kind: crm`` checklist (published by ``gtmcheck schema``).

Every key has a description, a default and an example (``schemadoc.gaps`` checks it), so the generated
reference page (docs/crm-reference.md) and an editor's autocompletion say the same as docs/crm.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...durations import SCHEMA as DURATION

if TYPE_CHECKING:
    from ...connectors.crm import ObjectType

OBJECTS: tuple[ObjectType, ...] = ("contacts", "companies", "deals")
PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool", "phone_number")
DEFAULT_SCAN_LIMIT = 100_000
MAX_SCAN_LIMIT = 2_000_000
NAME = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]{0,99}$",
        "x-hint": "write the property's internal name (HubSpot: lead_source_detail; Salesforce: Lead_Source__c)"}
DOTTED = {"type": "string", "pattern": r"^[a-z_]+\.[A-Za-z][A-Za-z0-9_]{0,99}$",
          "x-hint": "write object.property, e.g. contacts.utm_source"}
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

_TRIGGER = {
    "type": "object",
    "required": ["property"],
    "additionalProperties": False,
    "minProperties": 2,
    "description": "What moves a contact along the transition: a property meeting a test.",
    "x-default": "none: the transition is allowed, not tested",
    "examples": [{"property": "hs_lead_score", "gte": 50}],
    "properties": {
        "property": {**NAME, "description": "The contact property the workflow watches.", "x-default": "required",
                     "examples": ["hs_lead_score"]},
        "equals": {"type": ["string", "number", "boolean"], "description": "The property equals this.",
                   "x-default": "not tested", "examples": ["demo_request"]},
        "gte": {"type": "number", "description": "At least this.", "x-default": "not tested", "examples": [50]},
        "gt": {"type": "number", "description": "Greater than this.", "x-default": "not tested", "examples": [49]},
    },
}

_LIFECYCLE = {
    "type": "object",
    "required": ["stages"],
    "additionalProperties": False,
    "description": "CRM-LIFECYCLE-QA: the lifecycle stages as a state machine (see docs/crm.md, Lifecycle).",
    "x-default": "none: CRM-LIFECYCLE-QA is attested or not configured",
    "examples": [{"property": "lifecyclestage", "stages": ["subscriber", "lead", "marketingqualifiedlead"],
                  "transitions": [{"from": "lead", "to": "marketingqualifiedlead",
                                   "trigger": {"property": "hs_lead_score", "gte": 50}, "within": "5m"}]}],
    "properties": {
        "property": {**NAME, "description": "The property holding the stage.", "default": "lifecyclestage",
                     "examples": ["lifecyclestage"]},
        "stages": {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "string", "minLength": 1},
                   "description": "The stages in order; moving forward one stage at a time is allowed.",
                   "x-default": "required", "examples": [["subscriber", "lead", "marketingqualifiedlead"]]},
        "transitions": {
            "type": "array",
            "description": "Allowed moves besides one stage forward (a skip must be listed), each with the "
            "trigger that makes it and how soon.",
            "x-default": "one stage forward at a time",
            "examples": [[{"from": "lead", "to": "marketingqualifiedlead", "within": "5m",
                           "trigger": {"property": "hs_lead_score", "gte": 50}}]],
            "items": {
                "type": "object",
                "required": ["from", "to"],
                "additionalProperties": False,
                "description": "One allowed move.",
                "examples": [{"from": "lead", "to": "marketingqualifiedlead"}],
                "properties": {
                    "from": {"type": "string", "minLength": 1, "description": "The stage it leaves.",
                             "x-default": "required", "examples": ["lead"]},
                    "to": {"type": "string", "minLength": 1, "description": "The stage it reaches.",
                           "x-default": "required", "examples": ["marketingqualifiedlead"]},
                    "trigger": _TRIGGER,
                    "within": {**DURATION, "description": "How soon the stage must follow the trigger.",
                               "default": "5m", "examples": ["5m"]},
                },
            },
        },
        "recycle": {
            "type": "object",
            "required": ["to", "from"],
            "additionalProperties": False,
            "description": "The only backward moves allowed: from these stages back to `to`.",
            "x-default": "no backward moves",
            "examples": [{"to": "lead", "from": ["marketingqualifiedlead", "salesqualifiedlead"]}],
            "properties": {
                "to": {"type": "string", "minLength": 1, "description": "The stage recycled records return to.",
                       "x-default": "required", "examples": ["lead"]},
                "from": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                         "description": "The stages a record may be recycled from.", "x-default": "required",
                         "examples": [["marketingqualifiedlead"]]},
            },
        },
        "audit": {
            "type": "object",
            "additionalProperties": False,
            "description": "Read-only: the stage history of real records over a window, every move checked.",
            "x-default": "no audit",
            "examples": [{"window": "30d"}],
            "properties": {
                "window": {**DURATION, "description": "How far back.", "default": "30d", "examples": ["30d"]},
            },
        },
    },
}

_MAPPING = {
    "type": "object",
    "required": ["property"],
    "additionalProperties": False,
    "description": "One field traced end to end: form field -> CRM property -> warehouse column.",
    "examples": [{"form_field": "utm_source", "property": "contacts.utm_source", "warehouse": "contacts.utm_source"}],
    "properties": {
        "form_field": {"type": "string", "minLength": 1, "description": "The form's field name.",
                       "x-default": "the property's name", "examples": ["utm_source"]},
        "property": {**DOTTED, "description": "The CRM property, as object.property.", "x-default": "required",
                     "examples": ["contacts.utm_source"]},
        "warehouse": {**DOTTED, "description": "The warehouse column, as table.column.",
                      "x-default": "not traced into the warehouse", "examples": ["contacts.utm_source"]},
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
    "mappings": {"type": "array", "items": _MAPPING, "description": "CRM-FIELDS-MAPPED: fields traced end to end "
                 "with a synthetic record carrying a marker value (docs/crm.md, Mappings).", "x-default": "none",
                 "examples": [[{"form_field": "utm_source", "property": "contacts.utm_source"}]]},
    "sync_lag": {**DURATION, "description": "How soon a CRM change reaches the warehouse.", "default": "15m",
                 "examples": ["15m"]},
    "lifecycle": _LIFECYCLE,
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
