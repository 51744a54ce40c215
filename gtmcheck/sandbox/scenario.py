"""Scenario files: what the sandbox CRM holds and how it behaves.

A scenario is one YAML file (``gtmcheck/demo/healthy.yml``, ``drifted.yml``). Every section is optional
except what a consumer needs (the site reads ``site:``, the CRM everything else)::

    portal_id: 4242
    token: null                 # a string: only that bearer token is accepted; else any non-empty token
    owners:                     # persons and queues; ids are assigned in order unless given
      - {email: anna@acme.example, first_name: Anna, last_name: Alvarez, teams: [EMEA]}
      - {email: erin@acme.example, first_name: Erin, active: false}       # deactivated: archived owner
      - {email: inbound-queue@acme.example, type: QUEUE, first_name: Inbound queue}
    records:                    # CSV files, relative to this file; columns become properties
      companies: data/companies.csv
      contacts: data/contacts.csv
      deals: data/deals.csv
    overrides:                  # by the CSV ``id`` column: properties to change after loading
      deals:
        d006: {dealstage: closedlost}
    generate: {deals: 20000, seed: 1}        # synthetic volume on top of the CSVs
    routing: {...}              # the sandbox's own routing workflow (see routing.py)
    webhooks: {url, secret, events, signature_version, sender_version, receiver_version}
    knobs: {rate_limit: {per_10s: 190, search_per_s: 5}, latency_ms: 0, fault_rate: 0, burst_429: 0,
            retry_after_s: 1, search_lag_ms: 0, seed: 0}
    site: {...}                 # the landing-page site (site.py)

CSV columns: ``id`` becomes the property ``source_id`` (the warehouse's key for the record);
``owner_email`` becomes ``hubspot_owner_id`` (the owner with that email, which must be declared);
``createdate``/``closedate`` dates become ISO datetimes; everything else is copied as a string.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import secrets, yamlfile
from ..errors import SpecError, UnreadableFile
from ..safefile import read_text_capped
from ..schema import EMAIL, validate
from ..yamlfile import Document

OBJECT_TYPES = ("contacts", "companies", "deals")
MAX_RECORDS_BYTES = 64 * 1024 * 1024
_MS = {"type": "number", "minimum": 0, "maximum": 3_600_000, "description": "Milliseconds, at most an hour."}
_CONDITION = {
    "anyOf": [
        {"type": ["string", "number", "boolean"]},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "equals": {"type": ["string", "number"]},
                "in": {"type": "array", "items": {"type": ["string", "number"]}},
                "not_in": {"type": "array", "items": {"type": ["string", "number"]}},
                "gt": {"type": ["string", "number"]},
                "gte": {"type": ["string", "number"]},
                "lt": {"type": ["string", "number"]},
                "lte": {"type": ["string", "number"]},
                "exists": {"type": "boolean"},
            },
        },
    ]
}
_ASSIGN = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "x-hint": "assign one of: owner: EMAIL, queue: EMAIL, round_robin: [EMAIL, ...] or a pool name, "
    "owner_of: account",
    "properties": {
        "owner": EMAIL,
        "queue": EMAIL,
        "round_robin": {"anyOf": [{"type": "string"}, {"type": "array", "items": EMAIL, "minItems": 1}]},
        "owner_of": {"const": "account"},
    },
}
SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "portal_id": {"type": "integer", "minimum": 1},
        "token": {"type": ["string", "null"]},
        "owners": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["email"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": ["string", "integer"]},
                    "email": EMAIL,
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "type": {"enum": ["PERSON", "QUEUE"]},
                    "active": {"type": "boolean"},
                    "teams": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "records": {
            "type": "object",
            "additionalProperties": False,
            "properties": {t: {"type": "string", "minLength": 1} for t in OBJECT_TYPES},
        },
        "overrides": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                t: {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {"type": ["string", "number", "null"]},
                    },
                }
                for t in OBJECT_TYPES
            },
        },
        "generate": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "deals": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "contacts": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "seed": {"type": "integer"},
            },
        },
        "routing": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "object": {"const": "contacts"},
                "delay_ms": _MS,
                "pools": {"type": "object", "additionalProperties": {"type": "array", "items": EMAIL}},
                "default": _ASSIGN,
                "rules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "assign"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "minLength": 1},
                            "when": {"type": "object", "additionalProperties": _CONDITION},
                            "assign": _ASSIGN,
                        },
                    },
                },
            },
        },
        "webhooks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "pattern": "^https?://"},
                "secret": {"type": "string"},
                "app_id": {"type": "integer"},
                "events": {"type": "array", "items": {
                    "enum": ["contact.creation", "contact.propertyChange", "contact.deletion"]}},
                "properties": {"type": "array", "items": {"type": "string"}},
                "signature_version": {"enum": ["v1", "v2", "v3"]},
                "sender_version": {"type": "string", "pattern": r"^[a-z_.]+@v\d+(\.\d+)*$",
                                   "x-hint": "write event@version, such as account.updated@v2.1"},
                "receiver_version": {"type": "string", "pattern": r"^[a-z_.]+@v\d+(\.\d+)*$",
                                     "x-hint": "write event@version, such as account.updated@v2.0"},
            },
        },
        "knobs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "rate_limit": {
                    "anyOf": [
                        {"type": "null"},
                        {"const": False},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"per_10s": {"type": "integer", "minimum": 1},
                                           "search_per_s": {"type": "integer", "minimum": 1}},
                        },
                    ]
                },
                "latency_ms": _MS,
                "fault_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "burst_429": {"type": "integer", "minimum": 0},
                "retry_after_s": {"type": "integer", "minimum": 0, "maximum": 3600},
                "search_lag_ms": _MS,
                "seed": {"type": "integer"},
            },
        },
        "site": {"type": "object"},  # validated by site.py
    },
}


@dataclass
class Scenario:
    """A loaded scenario: owners, records per object type and the behaviour sections, as plain data."""

    path: Path | None = None
    portal_id: int = 4242
    token: str | None = None
    owners: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    routing: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """Read and check a scenario file; SpecError at the offending line."""
        path = Path(path)
        doc = yamlfile.load(path)
        data = doc.data if doc.data is not None else {}
        if not isinstance(data, dict):
            raise SpecError("a scenario is a mapping of sections", doc.location(()),
                            "start with `owners:`, `records:` ... (see gtmcheck/sandbox/scenario.py)")
        validate(doc, SCENARIO_SCHEMA)
        return cls.from_data(data, path, doc)

    @classmethod
    def from_data(cls, data: dict[str, Any], path: Path | None = None, doc: Document | None = None) -> Scenario:
        """Build a scenario from already parsed data (tests build small ones inline)."""
        base = path.parent if path else Path.cwd()

        def where(*p: str | int) -> Any:
            return doc.location(p) if doc else None

        owners = []
        for i, raw in enumerate(data.get("owners") or []):
            owner = dict(raw)
            owner["id"] = str(owner.get("id") or 70000001 + i)
            owners.append(owner)
        by_email = {o["email"].lower(): o for o in owners}
        seen_ids: set[str] = set()
        for i, o in enumerate(owners):
            if o["id"] in seen_ids:
                raise SpecError(f"owner id {o['id']} is used twice", where("owners", i, "id"), "give unique ids")
            seen_ids.add(o["id"])

        def owner_id(email: str, *p: str | int) -> str:
            owner = by_email.get(email.strip().lower())
            if owner is None:
                raise SpecError(f"unknown owner {email!r}", where(*p),
                                "declare it under `owners:` or fix the address")
            return str(owner["id"])

        records: dict[str, list[dict[str, str]]] = {t: [] for t in OBJECT_TYPES}
        for object_type, rel in (data.get("records") or {}).items():
            try:
                text = read_text_capped(base / rel, MAX_RECORDS_BYTES, expect="a .csv file")
            except UnreadableFile as exc:
                if exc.problem.startswith("does not exist"):
                    raise SpecError(f"no such file: {rel}", where("records", object_type),
                                    "give a CSV path relative to the scenario file") from None
                raise SpecError(f"records file {rel!r} {exc.problem}", where("records", object_type),
                                exc.hint) from None
            for row_no, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
                props: dict[str, str] = {}
                for key, value in row.items():
                    if key is None or value is None:
                        raise SpecError(f"{rel} line {row_no}: wrong number of columns",
                                        where("records", object_type), "fix the CSV row")
                    if key == "id":
                        props["source_id"] = value
                    elif key == "owner_email":
                        if value:
                            props["hubspot_owner_id"] = owner_id(value, "records", object_type)
                    elif key in ("createdate", "closedate"):
                        props[key] = iso_datetime(value)
                    else:
                        props[key] = value
                records[object_type].append(props)

        for object_type, changes in (data.get("overrides") or {}).items():
            index = {r.get("source_id"): r for r in records[object_type]}
            for source_id, props in changes.items():
                record = index.get(source_id)
                if record is None:
                    raise SpecError(f"no {object_type} record with id {source_id!r} to override",
                                    where("overrides", object_type, source_id),
                                    f"use an `id` from the {object_type} CSV")
                for key, value in props.items():
                    if key == "owner_email":
                        record["hubspot_owner_id"] = owner_id(str(value), "overrides", object_type, source_id)
                    elif value is None:
                        record.pop(key, None)
                    else:
                        record[key] = str(value)

        routing = dict(data.get("routing") or {})
        _check_routing(routing, by_email, where)
        webhooks = dict(data.get("webhooks") or {})
        if webhooks.get("secret"):
            secrets.register(webhooks["secret"])
        if data.get("token"):
            secrets.register(data["token"])
        return cls(
            path=path,
            portal_id=int(data.get("portal_id") or 4242),
            token=data.get("token"),
            owners=owners,
            records=records,
            routing=routing,
            webhooks=webhooks,
            knobs=dict(data.get("knobs") or {}),
            generate=dict(data.get("generate") or {}),
        )


def _check_routing(routing: dict[str, Any], by_email: dict[str, dict[str, Any]], where: Any) -> None:
    pools = routing.get("pools") or {}

    def check(assign: dict[str, Any], *p: str | int) -> None:
        emails: list[str] = []
        for key in ("owner", "queue"):
            if key in assign:
                emails.append(assign[key])
        rr = assign.get("round_robin")
        if isinstance(rr, str):
            if rr not in pools:
                raise SpecError(f"unknown round-robin pool {rr!r}", where(*p, "round_robin"),
                                f"declare it under `routing.pools` ({', '.join(pools) or 'none yet'})")
        elif rr:
            emails.extend(rr)
        for email in emails:
            if email.lower() not in by_email:
                raise SpecError(f"unknown owner {email!r}", where(*p), "declare it under `owners:`")

    for name, members in pools.items():
        for i, email in enumerate(members):
            if email.lower() not in by_email:
                raise SpecError(f"unknown owner {email!r}", where("routing", "pools", name, i),
                                "declare it under `owners:`")
    for i, rule in enumerate(routing.get("rules") or []):
        check(rule["assign"], "routing", "rules", i, "assign")
    if routing.get("default"):
        check(routing["default"], "routing", "default")


def iso_datetime(value: str) -> str:
    """``2026-02-01`` -> ``2026-02-01T00:00:00.000Z``; anything else unchanged."""
    value = value.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value + "T00:00:00.000Z"
    return value
