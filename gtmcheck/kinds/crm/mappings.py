"""CRM-FIELDS-MAPPED, traced: each declared form field -> CRM property -> warehouse column, with a marker value.

A crm checklist's ``mappings:`` (with the ``form:`` they are submitted to, and ``sync_lag:``)::

    form: {portal_id: 4242, guid: 6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01}
    mappings:
      - {form_field: utm_source, property: contacts.utm_source, warehouse: contacts.utm_source}
      - {form_field: lead_source_detail, property: contacts.lead_source_detail, value: webinar}
    sync_lag: 15m            # CRM -> warehouse; where the environment has a warehouse
    crm_lag: 1m              # form -> CRM (default 1m)

One synthetic submission per run carries a marker value in every mapped field (``gtmcheck_<run>_<field>``,
or the mapping's ``value:`` where the property only takes known options); ``CRM-FIELDS-MAPPED[<field>]``
passes when the contact's property holds the marker within ``crm_lag`` and, with ``warehouse:``, the
contact's row (found by its email in ``key``, default ``email``) holds it in that column within ``sync_lag``.
A miss names the field, the contact id and the property or column. The contact is synthetic (tagged, on a
reserved address) and archived after the run; ``writes: true`` environments only (``kinds/utm/trace.py``).

The crm kind merges ``MAPPINGS_SCHEMA`` (its top-level keys) into its own closed schema and calls
``mapping_checks(spec)``, where ``spec`` gives ``.checklist``, ``.data`` (the raw mapping) and
``.location(*path)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from ...durations import SCHEMA as DURATION
from ...durations import duration_seconds
from ...errors import CheckFailed, Evidence, Location, SpecError
from ..base import CRM, WAREHOUSE, WRITES, Check
from ..utm.trace import FormTarget, Probe, WarehouseTarget, read_crm, read_warehouse, sent_once

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

__all__ = ["DOD_ID", "MAPPINGS_SCHEMA", "mapping_checks"]

DOD_ID = "CRM-FIELDS-MAPPED"
DEFAULT_CRM_LAG = "1m"
DEFAULT_SYNC_LAG = "15m"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MAPPINGS_SCHEMA: dict[str, Any] = {
    "form": {
        "type": "object",
        "required": ["portal_id", "guid"],
        "additionalProperties": False,
        "description": "The CRM form the mappings' synthetic submission goes to (HubSpot's Forms API).",
        "x-default": "none (required with `mappings:`)",
        "examples": [{"portal_id": 4242, "guid": "6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"}],
        "properties": {
            "portal_id": {"type": ["integer", "string"], "description": "The HubSpot portal (account) id.",
                          "x-default": "required", "examples": [4242]},
            "guid": {"type": "string", "minLength": 1, "description": "The form's guid.", "x-default": "required",
                     "examples": ["6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"]},
        },
    },
    "mappings": {
        "type": "array",
        "minItems": 1,
        "description": "CRM-FIELDS-MAPPED: form field -> CRM property -> warehouse column, each traced with a "
        "marker value (docs/crm.md, Mappings; `writes: true` environments only).",
        "x-default": "none",
        "examples": [[{"form_field": "utm_source", "property": "contacts.utm_source",
                       "warehouse": "contacts.utm_source"}]],
        "items": {
            "type": "object",
            "required": ["form_field", "property"],
            "additionalProperties": False,
            "properties": {
                "form_field": {"type": "string", "minLength": 1, "description": "The form's field name.",
                               "x-default": "required", "examples": ["utm_source"]},
                "property": {"type": "string", "pattern": rf"^contacts\.{_IDENT}$",
                             "x-hint": "write contacts.<property>: form submissions land on contacts",
                             "description": "The contact property it must land in, as contacts.<name>.",
                             "x-default": "required", "examples": ["contacts.utm_source"]},
                "warehouse": {"type": "string", "pattern": rf"^{_IDENT}(\.{_IDENT}){{1,3}}$",
                              "x-hint": "write <table>.<column>, e.g. contacts.utm_source",
                              "description": "The warehouse column it must reach, as <table>.<column>.",
                              "x-default": "not traced into the warehouse", "examples": ["contacts.utm_source"]},
                "key": {"type": "string", "pattern": rf"^{_IDENT}$", "description": "The warehouse table's "
                        "email column, how the contact's row is found.", "default": "email",
                        "examples": ["email_address"]},
                "value": {"type": "string", "minLength": 1, "description": "The value to submit; give one where "
                          "the property only takes known options.", "x-default": "a marker unique to the run",
                          "examples": ["webinar"]},
            },
        },
    },
    "sync_lag": {**DURATION, "description": "How long the CRM-to-warehouse sync may take.",
                 "default": DEFAULT_SYNC_LAG, "examples": ["15m"]},
    "crm_lag": {**DURATION, "x-max-duration": "1h",
                "description": "How long a form submission may take to reach the contact.",
                "default": DEFAULT_CRM_LAG, "examples": ["1m"]},
}


class MappingSpec(Protocol):
    """What the crm kind's model gives this module."""

    @property
    def checklist(self) -> Checklist: ...

    @property
    def data(self) -> dict[str, Any]: ...

    def location(self, *path: str | int) -> Location: ...


def _marker(run_id: str, field: str) -> str:
    return f"gtmcheck_{run_id[-6:]}_{''.join(c if c.isalnum() else '_' for c in field.lower())}"


def mapping_checks(spec: MappingSpec) -> list[Check]:
    """One ``CRM-FIELDS-MAPPED[<form field>]`` check per declared mapping (none without ``mappings:``)."""
    data = spec.data
    mappings = data.get("mappings") or []
    if not mappings:
        return []
    form_raw = data.get("form")
    if not isinstance(form_raw, dict):
        raise SpecError("mappings are traced through a form, and this checklist names none", spec.location("mappings"),
                        "add form: {portal_id: 4242, guid: <the form's guid>}")
    form = FormTarget(str(form_raw["portal_id"]), str(form_raw["guid"]))
    crm_lag = duration_seconds(str(data.get("crm_lag") or DEFAULT_CRM_LAG)) or 0.0
    sync_lag = duration_seconds(str(data.get("sync_lag") or DEFAULT_SYNC_LAG)) or 0.0
    fields = [str(m["form_field"]) for m in mappings]
    for i, name in enumerate(fields):
        if fields.index(name) != i:
            raise SpecError(f"form field {name!r} is mapped twice", spec.location("mappings", i, "form_field"),
                            "map each form field once")
    key = f"crm.mappings:{spec.checklist.path}"

    def probe(ctx: RunContext) -> Probe:
        values = {str(m["form_field"]): str(m.get("value") or _marker(ctx.run_id, str(m["form_field"])))
                  for m in mappings}
        crm = {str(m["property"]).split(".", 1)[1]: values[str(m["form_field"])] for m in mappings}
        return Probe("mappings", "https://gtmcheck.example.com/mappings", values, crm, {})

    checks = []
    for i, mapping in enumerate(mappings):
        needs = {CRM, WRITES} | ({WAREHOUSE} if mapping.get("warehouse") else set())
        checks.append(Check(DOD_ID, _tracer(key, form, probe, mapping, crm_lag, sync_lag),
                            spec.location("mappings", i), param=str(mapping["form_field"]), needs=frozenset(needs),
                            description=f"form field {mapping['form_field']} reaches {mapping['property']}"
                            + (f" and {mapping['warehouse']}" if mapping.get("warehouse") else "")))
    return checks


def _has_warehouse(ctx: RunContext) -> bool:
    env = ctx.environment
    return env.is_sandbox or bool((env.warehouse or {}).get("url"))


def _tracer(key: str, form: FormTarget, probe: Any, mapping: dict[str, Any], crm_lag: float,
            sync_lag: float) -> Any:
    field = str(mapping["form_field"])
    prop = str(mapping["property"]).split(".", 1)[1]

    def run(ctx: RunContext) -> Evidence:
        planned: Probe = probe(ctx)
        sent = sent_once(ctx, key, form, [planned])["mappings"]
        value = planned.fields[field]
        crm = read_crm(ctx, sent, crm_lag)
        details: dict[str, Any] = {"form_field": field, "contact": sent.contact_id, "value": value,
                                   "crm": {prop: crm.values.get(prop)}}
        misses = [f"CRM: {m}" for m in crm.misses if m.startswith(f"{prop} ")]
        traced = "the CRM"
        if not misses and mapping.get("warehouse") and _has_warehouse(ctx):
            table, _, column = str(mapping["warehouse"]).rpartition(".")
            target = WarehouseTarget(table, str(mapping.get("key") or "email"))
            wh = read_warehouse(ctx, replace(sent, probe=replace(planned, warehouse={column: value})), target,
                                sync_lag)
            details["warehouse"] = wh.values
            misses = [f"warehouse: {m}" for m in wh.misses]
            traced = f"the CRM and {mapping['warehouse']}"
        if misses:
            raise CheckFailed(f"form field {field}: contact {sent.contact_id}: {'; '.join(misses)}",
                              expected=f"{value!r} in {mapping['property']}"
                              + (f" and {mapping['warehouse']}" if mapping.get("warehouse") else ""),
                              received="; ".join(misses),
                              evidence=Evidence(f"form field {field} not traced", details))
        return Evidence(f"form field {field}: marker {value!r} reached {traced} (contact {sent.contact_id})", details)

    return run
