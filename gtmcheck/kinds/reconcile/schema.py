"""The JSON Schema fragment of ``kind: reconcile``: ``totals:`` (RECONCILE-TOTALS), ``handoffs:`` (-HANDOFFS).

Closed everywhere, so a typo such as ``mesure:`` is an error at its line with a did-you-mean. The rules the
schema cannot say (a side with neither ``table`` nor ``sql``, ``group_by`` on one side only, ...) are lint
rules (``rules``), each with its own code.
"""

from __future__ import annotations

from typing import Any

from ...durations import SCHEMA as DURATION

BUCKETS = ("day", "week", "month", "quarter", "year")
OPERATORS = ("eq", "neq", "in", "gte", "lte", "gt", "lt", "has_property", "not_has_property")
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$\-]{0,127}(\.[A-Za-z_][A-Za-z0-9_$\-]{0,127}){0,2}$"

_COLUMN: dict[str, Any] = {
    "type": "string",
    "pattern": IDENTIFIER,
    "x-hint": "write a column name such as closedate (or schema.table for a table)",
}
_PROPERTY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[A-Za-z_][A-Za-z0-9_.\-]*$",
    "x-hint": "write a CRM property name such as amount",
}
_NO_DEFAULT = {"x-default": "none"}
_EXPRESSION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "A column, or a SQL expression over the table's columns (`amount * fx`).",
    "examples": ["amount"],
    **_NO_DEFAULT,
}
_VALUE: dict[str, Any] = {"type": ["string", "number", "boolean"]}


def _measure(what: str, thing: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "x-hint": f"write one of {{count: true}}, {{sum: {what}}} or {{avg: {what}}}",
        "description": "What is totalled: exactly one of `count`, `sum`, `avg`. Sums and averages skip empty "
        "(NULL) values; a count counts records.",
        "examples": [{"sum": "amount"}],
        **_NO_DEFAULT,
        "properties": {
            "count": {"const": True, "description": "The number of records.", "examples": [True],
                      "x-default": "not this measure"},
            "sum": {**thing, "description": f"The sum of {what}, NULLs skipped.", "examples": ["amount"],
                    "x-default": "not this measure"},
            "avg": {**thing, "description": f"The average of {what}, NULLs skipped.", "examples": ["amount"],
                    "x-default": "not this measure"},
        },
    }


def _group_by(what: str, thing: dict[str, Any]) -> dict[str, Any]:
    bucketed = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "x-hint": f"write {{month: closedate}} (one of {', '.join(BUCKETS)}) or a plain {what}",
        "description": "A date bucket of a date or timestamp, in UTC: keys `YYYY-MM-DD` (day; week: its Monday), "
        "`YYYY-MM`, `YYYY-Qn`, `YYYY`.",
        "examples": [{"month": "closedate"}],
        "properties": {b: {**thing, "description": f"Group by the {b} of this {what}.", "examples": ["closedate"],
                           "x-default": "not this bucket"} for b in BUCKETS},
    }
    return {
        "anyOf": [{**thing, "description": f"Group by the value of this {what}.", "examples": ["region"]},
                  bucketed],
        "description": "Compare per group as well as in total; both sides must group the same way.",
        "examples": [{"month": "closedate"}],
        "x-default": "no groups: one total",
    }


_WAREHOUSE_SIDE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "A total the warehouse computes (pushed down): a table with a measure, or your own SQL.",
    "examples": [{"table": "deals", "measure": {"sum": "amount"}, "where": "dealstage = 'closedwon'"}],
    **_NO_DEFAULT,
    "properties": {
        "table": {**_COLUMN, "description": "The table (or schema.table) to total.", "examples": ["deals"],
                  "x-default": "none: give `table` or `sql`"},
        "sql": {"type": "string", "minLength": 1, "x-default": "none: give `table` or `sql`",
                "description": "One SELECT returning the total: columns `key` and `value` (one row per group), or "
                "a single `value` column (one row).",
                "examples": ["select region as key, sum(arr) as value from finance.arr group by region"]},
        "measure": _measure("a column or expression", _EXPRESSION),
        "where": {"type": "string", "minLength": 1, "x-default": "every row",
                  "description": "A SQL condition over the table's columns (no ';', '--' or '/*').",
                  "examples": ["dealstage = 'closedwon'"]},
        "group_by": _group_by("column", _COLUMN),
        "key": {**_COLUMN, "description": "The column that identifies a record, to name the records that differ.",
                "examples": ["id"], "x-default": "no drill-down to records"},
        "updated_at": {**_COLUMN, "description": "The column `min_age` applies to (rows newer than the cutoff "
                       "are left out).", "examples": ["updated_at"], "x-default": "none (needed with min_age)"},
    },
}
_FILTER: dict[str, Any] = {
    "type": "object",
    "required": ["property"],
    "additionalProperties": False,
    "minProperties": 2,
    "maxProperties": 2,
    "x-hint": f"write {{property: dealstage, eq: closedwon}} with one of {', '.join(OPERATORS)}",
    "description": "One condition on a CRM property; all of a side's filters must hold.",
    "examples": [{"property": "dealstage", "eq": "closedwon"}],
    "properties": {
        "property": {**_PROPERTY, "description": "The CRM property tested.", "examples": ["dealstage"],
                     "x-default": "required"},
        **{op: {**_VALUE, "description": f"The property {op.replace('_', ' ')} this value.", "examples": ["x"],
                "x-default": "not this operator"} for op in ("eq", "neq", "gte", "lte", "gt", "lt")},
        "in": {"type": "array", "minItems": 1, "items": _VALUE, "description": "The property is one of these.",
               "examples": [["closedwon", "contractsigned"]], "x-default": "not this operator"},
        "has_property": {"const": True, "description": "The property has a value.", "examples": [True],
                         "x-default": "not this operator"},
        "not_has_property": {"const": True, "description": "The property is empty.", "examples": [True],
                             "x-default": "not this operator"},
    },
}
_CRM_SIDE: dict[str, Any] = {
    "type": "object",
    "required": ["object", "measure"],
    "additionalProperties": False,
    "description": "A total the CRM computes: counts from its search total, sums from one paced scan per run.",
    "examples": [{"object": "deals", "filters": [{"property": "dealstage", "eq": "closedwon"}],
                  "measure": {"sum": "amount"}}],
    **_NO_DEFAULT,
    "properties": {
        "object": {"enum": ["contacts", "companies", "deals", "leads"], "description": "The CRM object.",
                   "examples": ["deals"], "x-default": "required"},
        "filters": {"type": "array", "items": _FILTER, "description": "Conditions every record counted meets.",
                    "examples": [[{"property": "dealstage", "eq": "closedwon"}]], "x-default": "every record"},
        "measure": _measure("a property", _PROPERTY),
        "group_by": _group_by("property", _PROPERTY),
        "key": {**_PROPERTY, "description": "The property matched against the other side's key (a synced id).",
                "examples": ["source_id"], "x-default": "no drill-down to records"},
        "updated_at": {**_PROPERTY, "description": "The date property `min_age` applies to.",
                       "examples": ["hs_lastmodifieddate"], "x-default": "none (needed with min_age)"},
    },
}
_SIDE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "x-hint": "write {warehouse: {...}} or {crm: {...}}",
    "description": "Where a total comes from: exactly one of `warehouse` or `crm`.",
    "examples": [{"warehouse": {"table": "deals", "measure": {"sum": "amount"}}}],
    "x-default": "required",
    "properties": {"warehouse": _WAREHOUSE_SIDE, "crm": _CRM_SIDE},
}
_ID: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
    "x-hint": "use letters, digits, '-', '_', '.' or ':' (no spaces)",
    "description": "Names the check: `RECONCILE-TOTALS[<id>]`.",
    "examples": ["closed-won"],
    "x-default": "required",
}
TOTAL: dict[str, Any] = {
    "type": "object",
    "required": ["id", "expected", "actual"],
    "additionalProperties": False,
    "description": "Two totals that must agree: `expected` is the reference, `actual` is checked against it.",
    "examples": [{"id": "closed-won", "expected": {"warehouse": {"table": "deals", "measure": {"sum": "amount"}}},
                  "actual": {"crm": {"object": "deals", "measure": {"sum": "amount"}}}}],
    "properties": {
        "id": _ID,
        "label": {"type": "string", "minLength": 1, "description": "What is totalled, in the message's words "
                  "(`expected 428000 closed-won (warehouse)`).", "examples": ["closed-won"], "x-default": "the id"},
        "description": {"type": "string", "description": "Why this total matters.", "examples": ["Board ARR"],
                        "x-default": "none"},
        "expected": {**_SIDE, "description": "The reference side; the percent tolerance is a share of its total."},
        "actual": {**_SIDE, "description": "The side checked against the reference."},
        "tolerance": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "description": "Passes when |diff| <= absolute OR |diff| <= percent% of |expected|. An expected 0 "
            "leaves only `absolute`.",
            "examples": [{"absolute": 0, "percent": 0.5}],
            "x-default": "exact (absolute 0)",
            "properties": {
                "absolute": {"type": "number", "minimum": 0, "description": "The largest difference allowed, in "
                             "the measure's units.", "examples": [100], "x-default": "0"},
                "percent": {"type": "number", "minimum": 0, "description": "The largest difference allowed, as a "
                            "percentage of |expected|.", "examples": [0.5], "x-default": "none"},
            },
        },
        "precision": {"type": "integer", "minimum": 0, "maximum": 10, "description": "Decimal places compared "
                      "(values rounded half up first): 2 for currency.", "examples": [2], "x-default": "exact"},
        "min_age": {**DURATION, "description": "Leave out records younger than this on both sides (the sync lag), "
                    "by each side's `updated_at`.", "examples": ["1h"], "x-default": "every record"},
    },
}
def _doc(schema: dict[str, Any], description: str, example: Any, default: str) -> dict[str, Any]:
    return {**schema, "description": description, "examples": [example], "x-default": default}


_HANDOFF_WAREHOUSE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Keys read from the warehouse: a table (with where) or your own SQL.",
    "examples": [{"table": "events", "key": "lead_id", "at": "occurred_at", "where": "event = 'lead.created'"}],
    "x-default": "none: give `warehouse` or `crm`",
    "properties": {
        "table": _doc(_COLUMN, "The table holding the events.", "events", "none: give `table` or `sql`"),
        "sql": _doc({"type": "string", "minLength": 1}, "One SELECT returning the key and time columns.",
                    "select lead_id, occurred_at from events where event = 'lead.created'",
                    "none: give `table` or `sql`"),
        "key": _doc(_COLUMN, "The column that identifies what is handed off.", "lead_id", "required"),
        "at": _doc(_COLUMN, "When it happened (timestamp column).", "occurred_at", "required"),
        "where": _doc({"type": "string", "minLength": 1}, "A SQL condition picking the events.",
                      "event = 'lead.created'", "every row"),
    },
}
_HANDOFF_CRM: dict[str, Any] = {
    "type": "object",
    "required": ["object", "key"],
    "additionalProperties": False,
    "description": "Keys read from CRM records.",
    "examples": [{"object": "contacts", "key": "email", "has_owner": True}],
    "x-default": "none: give `warehouse` or `crm`",
    "properties": {
        "object": _doc({"enum": ["contacts", "companies", "deals", "leads"]}, "The CRM object.", "contacts",
                       "required"),
        "key": _doc(_PROPERTY, "The property matched against the source's key.", "email", "required"),
        "has_owner": _doc({"type": "boolean"}, "Count a record only once it has an owner.", True, "true"),
    },
}
_HANDOFF_SOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["warehouse"],
    "additionalProperties": False,
    "x-hint": "write source: {warehouse: {table: ..., key: ..., at: ...}}",
    "x-default": "required",
    "examples": [{"warehouse": {"table": "events", "key": "lead_id", "at": "occurred_at"}}],
    "properties": {"warehouse": _HANDOFF_WAREHOUSE},
}
_HANDOFF_END: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "x-hint": "write {warehouse: {...}} or {crm: {...}}",
    "x-default": "required",
    "examples": [{"warehouse": {"table": "events", "key": "lead_id", "at": "occurred_at"}}],
    "properties": {"warehouse": _HANDOFF_WAREHOUSE, "crm": _HANDOFF_CRM},
}
HANDOFF: dict[str, Any] = {
    "type": "object",
    "required": ["id", "source", "destination", "within"],
    "additionalProperties": False,
    "description": "Every key fired at the source reaches the destination within `within`.",
    "properties": {
        "id": {**_ID, "description": "Names the check: `RECONCILE-HANDOFFS[<id>]`.", "examples": ["lead-to-sales"]},
        "description": _doc({"type": "string"}, "Why this handoff matters.", "Inbound leads reach sales", "none"),
        "source": {**_HANDOFF_SOURCE, "description": "Where the keys are fired: a warehouse table (the events "
                   "table's lead.created)."},
        "destination": {**_HANDOFF_END, "description": "Where each key must arrive (a queue table, or CRM "
                        "records with an owner)."},
        "within": _doc(DURATION, "The SLA; keys younger than it are not yet counted as dropped.", "5m", "required"),
        "window": _doc(DURATION, "How far back source keys are counted.", "30d", "30d"),
        "as_of": _doc({"type": "string", "minLength": 1}, "Judge as of this time instead of now (reproducible "
                      "demos).", "2026-11-01T00:00:00Z", "now"),
    },
}

SCHEMA: dict[str, Any] = {
    "totals": {
        "type": "array",
        "minItems": 1,
        "items": TOTAL,
        "description": "RECONCILE-TOTALS: one check per entry.",
        "examples": [[TOTAL["examples"][0]]],
        "x-default": "no totals checks",
    },
    "handoffs": {
        "type": "array",
        "minItems": 1,
        "items": HANDOFF,
        "description": "RECONCILE-HANDOFFS: one check per entry.",
        "examples": [[{"id": "lead-to-sales", "source": {"warehouse": {"table": "events", "key": "lead_id",
                                                                       "at": "occurred_at"}},
                       "destination": {"crm": {"object": "contacts", "key": "email", "has_owner": True}},
                       "within": "5m"}]],
        "x-default": "no handoff checks",
    },
}
