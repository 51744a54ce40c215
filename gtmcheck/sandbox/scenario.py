"""Scenario files: what the sandbox CRM holds and how it behaves.

Every key is documented in docs/sandbox-scenario.md, generated from ``SCENARIO_SCHEMA`` (``schemadoc``).
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
    inbound: {file: inbound.csv}        # leads of the last hours, routed at load (inbound.py)
    routing: {...}              # the sandbox's own routing workflow (see routing.py)
    lifecycle: {...}            # the lifecycle workflow and stage histories (see lifecycle.py)
    webhooks: {url, secret, events, signature_version, schemas, sender_version, receiver_version}
    forms:                      # HubSpot's Forms API (forms.py): field -> contact property, UTM from the page URL
      - {guid: 6f1f2a4c-..., fields: [{name: email, required: true}, {name: utm_source, hidden: true}]}
    sync: {lag_ms: 1500}        # contacts reach the environment's demo warehouse (sync.py)
    knobs: {rate_limit: {per_10s: 190, search_per_s: 5}, latency_ms: 0, fault_rate: 0, burst_429: 0,
            retry_after_s: 1, search_lag_ms: 0, seed: 0}
    site: {...}                 # the landing-page site (site.py)
    clock: {today: 2027-02-26}  # the sandbox's calendar date (review cadences, drift "since"); else the real one

CSV columns: ``id`` becomes the property ``source_id`` (the warehouse's key for the record);
``owner_email`` becomes ``hubspot_owner_id`` (the owner with that email, which must be declared);
``createdate``/``closedate`` dates become ISO datetimes; everything else is copied as a string.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .. import secrets, yamlfile
from ..errors import SpecError, UnreadableFile
from ..safefile import read_text_capped
from ..schema import EMAIL, validate
from ..yamlfile import Document
from .duplicates import DUPLICATES_SCHEMA
from .forms import FORMS_SCHEMA
from .inbound import INBOUND_SCHEMA, InboundLead, inbound_leads
from .lifecycle import lifecycle_scenario_schema
from .properties import PROPERTIES_SCHEMA, declared_properties
from .scenario_warehouse import WAREHOUSE_SCHEMA
from .site import SITE_SCHEMA
from .sync import SYNC_SCHEMA

OBJECT_TYPES = ("contacts", "companies", "deals")
ACCOUNT_EVENT = "account.updated"
WEBHOOK_EVENTS = ("contact.creation", "contact.propertyChange", "contact.deletion", "company.creation",
                  "company.propertyChange", "deal.creation", "deal.propertyChange", ACCOUNT_EVENT)
VERSION_PATTERN = r"^([A-Za-z_.]+@v)?\d+(\.\d+)*$"
MAX_RECORDS_BYTES = 64 * 1024 * 1024
_MS = {"type": "number", "minimum": 0, "maximum": 3_600_000, "description": "Milliseconds, at most an hour."}
_NOT_TESTED = {"x-default": "not tested"}
_VALUE = {"type": ["string", "number"]}
_CONDITION = {
    "description": "A plain value (the property equals it), or tests that must all hold. Comparisons are "
    "numeric when both sides are numbers, else case-insensitive text.",
    "examples": [{"in": ["DE", "FR", "GB"]}],
    "anyOf": [
        {"type": ["string", "number", "boolean"]},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "equals": {**_VALUE, **_NOT_TESTED, "description": "The property equals this.", "examples": ["DE"]},
                "in": {"type": "array", "items": _VALUE, **_NOT_TESTED,
                       "description": "The property is one of these.", "examples": [["DE", "FR"]]},
                "not_in": {"type": "array", "items": _VALUE, **_NOT_TESTED,
                           "description": "The property is none of these (an empty property passes).",
                           "examples": [["US", "CA"]]},
                "gt": {**_VALUE, **_NOT_TESTED, "description": "Greater than this.", "examples": [999]},
                "gte": {**_VALUE, **_NOT_TESTED, "description": "At least this.", "examples": [1000]},
                "lt": {**_VALUE, **_NOT_TESTED, "description": "Less than this.", "examples": [1000]},
                "lte": {**_VALUE, **_NOT_TESTED, "description": "At most this.", "examples": [999]},
                "exists": {"type": "boolean", **_NOT_TESTED,
                           "description": "`true`: the property has a value; `false`: it is empty.",
                           "examples": [True]},
            },
        },
    ],
}
_NOT_THIS_FORM = {"x-default": "not this form"}
_ASSIGN = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "x-hint": "assign one of: owner: EMAIL, queue: EMAIL, round_robin: [EMAIL, ...] or a pool name, "
    "owner_of: account",
    "examples": [{"round_robin": "na"}],
    "properties": {
        "owner": {**EMAIL, **_NOT_THIS_FORM, "description": "One owner, by email (declared under `owners`).",
                  "examples": ["anna@acme.example"]},
        "queue": {**EMAIL, **_NOT_THIS_FORM, "description": "A queue owner, by email.",
                  "examples": ["inbound-queue@acme.example"]},
        "round_robin": {"anyOf": [{"type": "string"}, {"type": "array", "items": EMAIL, "minItems": 1}],
                        **_NOT_THIS_FORM,
                        "description": "A pool name from `routing.pools`, or a list of owner emails, taken in "
                        "turn (one counter per rule; deactivated owners are NOT skipped, as in real portals).",
                        "examples": [["carla@acme.example", "dev@acme.example"]]},
        "owner_of": {"const": "account", **_NOT_THIS_FORM,
                     "description": "The owner of the company whose `domain` is the contact's email domain; "
                     "no such company: the next rule.", "examples": ["account"]},
    },
}
_OBJECT_FILES = {
    "contacts": "data/contacts.csv",
    "companies": "data/companies.csv",
    "deals": "data/deals.csv",
}
SCENARIO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gtmcheck.example/schema/sandbox-scenario-v1.json",
    "title": "gtmcheck sandbox scenario",
    "description": "What the sandbox CRM holds and how it behaves; every section is optional.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "portal_id": {"type": "integer", "minimum": 1, "default": 4242,
                      "description": "The HubSpot portal (account) id the sandbox reports.", "examples": [4242]},
        "token": {"type": ["string", "null"], "default": None,
                  "description": "The one token every request must carry; empty: any non-empty token is accepted.",
                  "examples": ["${SANDBOX_TOKEN}"]},
        "owners": {
            "type": "array",
            "x-default": "no owners",
            "description": "CRM owners: persons and queues. Records, routing and webhooks name them by email.",
            "items": {
                "type": "object",
                "required": ["email"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": ["string", "integer"], "x-default": "70000001 + its position in the list",
                           "description": "The owner id the API shows (`hubspot_owner_id`); unique.",
                           "examples": [70000001]},
                    "email": {**EMAIL, "description": "The owner's email; unique.",
                              "examples": ["anna@acme.example"]},
                    "first_name": {"type": "string", "default": "", "description": "First name.",
                                   "examples": ["Anna"]},
                    "last_name": {"type": "string", "default": "", "description": "Last name.",
                                  "examples": ["Alvarez"]},
                    "type": {"enum": ["PERSON", "QUEUE"], "default": "PERSON",
                             "description": "A person, or a queue (a shared inbox leads wait in).",
                             "examples": ["QUEUE"]},
                    "active": {"type": "boolean", "default": True,
                               "description": "`false`: deactivated; listed only with `archived=true`.",
                               "examples": [False]},
                    "teams": {"type": "array", "items": {"type": "string"}, "default": [],
                              "description": "Team names; the first is the primary team.",
                              "examples": [["EMEA Enterprise"]]},
                },
            },
        },
        "records": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "no records",
            "description": "CSV files of records, relative to the scenario file; columns become properties "
            "(`id` becomes `source_id`, `owner_email` becomes `hubspot_owner_id`, `createdate`/`closedate` "
            "dates become ISO datetimes).",
            "properties": {t: {"oneOf": [{"type": "string", "minLength": 1},
                                         {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}],
                               "x-default": f"no {t}", "description": f"The {t} CSV (or several, loaded in order).",
                               "examples": [f, [f, f"data/drifted/{t}.csv"]]}
                           for t, f in _OBJECT_FILES.items()},
        },
        "overrides": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "no overrides",
            "description": "Changes to records after loading, by the CSV's `id` column (one fixture, two states).",
            "properties": {
                t: {
                    "type": "object",
                    "x-key-name": "id",
                    "x-key-example": "d006",
                    "x-default": "no changes",
                    "description": f"{t.capitalize()} to change, by CSV `id`.",
                    "examples": [{"d006": {"dealstage": "closedlost"}}],
                    "additionalProperties": {
                        "type": "object",
                        "x-key-name": "property",
                        "x-key-example": "dealstage",
                        "description": "Property -> new value.",
                        "examples": [{"dealstage": "closedlost"}],
                        "additionalProperties": {
                            "type": ["string", "number", "null"],
                            "description": "The new value; empty (`null`) removes the property; under "
                            "`owner_email`, an owner's email sets `hubspot_owner_id`.",
                            "examples": ["closedlost"],
                        },
                    },
                }
                for t in OBJECT_TYPES
            },
        },
        "warehouse": WAREHOUSE_SCHEMA,
        "properties": PROPERTIES_SCHEMA,
        "duplicates": DUPLICATES_SCHEMA,
        "forms": FORMS_SCHEMA,
        "sync": SYNC_SCHEMA,
        "generate": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "nothing generated",
            "description": "Synthetic volume on top of the CSVs (created over 2025-2026, owned by active persons).",
            "properties": {
                "deals": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0,
                          "description": "How many synthetic deals.", "examples": [20000]},
                "contacts": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0,
                             "description": "How many synthetic contacts.", "examples": [5000]},
                "seed": {"type": "integer", "default": 0, "description": "The random seed.", "examples": [1]},
            },
        },
        "inbound": INBOUND_SCHEMA,
        "routing": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "no workflow: new contacts stay unowned",
            "description": "The sandbox CRM's own lead routing workflow, run for each contact created without "
            "an owner. It is independent of any checklist, so a checklist can disagree with it.",
            "properties": {
                "object": {"const": "contacts", "default": "contacts",
                           "description": "The routed object (contacts only).", "examples": ["contacts"]},
                "delay_ms": {**_MS, "default": 0,
                             "description": "The owner appears this long after creation (milliseconds, at most "
                             "an hour).", "examples": [1500]},
                "pools": {"type": "object", "x-key-name": "pool", "x-key-example": "na", "x-default": "no pools",
                          "description": "Named round-robin pools of owner emails.",
                          "examples": [{"na": ["carla@acme.example", "dev@acme.example"]}],
                          "additionalProperties": {"type": "array", "items": EMAIL,
                                                   "description": "The pool's members, in turn order.",
                                                   "examples": [["carla@acme.example", "dev@acme.example"]]}},
                "default": {**_ASSIGN, "x-default": "none: unmatched contacts stay unowned",
                            "description": "Who gets contacts that match no rule.",
                            "examples": [{"queue": "inbound-queue@acme.example"}]},
                "rules": {
                    "type": "array",
                    "x-default": "no rules",
                    "description": "Ordered rules; the first match wins.",
                    "items": {
                        "type": "object",
                        "required": ["id", "assign"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "minLength": 1, "description": "The rule's name.",
                                   "examples": ["enterprise-emea"]},
                            "when": {"type": "object", "additionalProperties": _CONDITION,
                                     "x-key-name": "property", "x-key-example": "country",
                                     "x-default": "every contact matches",
                                     "description": "Contact property -> condition; all must hold. "
                                     "`email_domain` is the part of `email` after `@`.",
                                     "examples": [{"country": {"in": ["DE", "FR"]}, "employees": {"gte": 1000}}]},
                            "assign": {**_ASSIGN, "description": "Who gets the rule's contacts.",
                                       "examples": [{"owner": "anna@acme.example"}]},
                        },
                    },
                },
            },
        },
        "lifecycle": lifecycle_scenario_schema(_CONDITION),
        "webhooks": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "none: no webhooks are sent",
            "description": "Signed webhook deliveries of the CRM's events to a receiver, kept in a delivery log "
            "(`GET /gtmcheck/sandbox/v1/webhooks/deliveries`). In-process they go straight to the sandbox's "
            "receiver; under `gtmcheck sandbox serve`, over HTTP to `url`.",
            "properties": {
                "url": {"type": "string", "pattern": "^https?://",
                        "x-default": "the sandbox's own receiver (`/webhooks/hubspot` on the served port)",
                        "description": "Where events are POSTed (under `sandbox serve`, loopback addresses only); "
                        "the served sandbox answers as the receiver on this URL's path.",
                        "examples": ["http://127.0.0.1:8765/webhooks/hubspot"]},
                "secret": {"type": "string", "default": "",
                           "description": "The app secret deliveries are signed with (and the receiver checks).",
                           "examples": ["${WEBHOOK_SECRET}"]},
                "app_id": {"type": "integer", "default": 424242, "description": "The app id in each event.",
                           "examples": [424242]},
                "events": {"type": "array", "default": [],
                           "description": "The subscriptions to send: creation events for the records loaded from "
                           "CSVs (at start) and created later, property changes on updates, contact deletions, and "
                           "`account.updated` (at `sender_version`) for each company at start and whenever a "
                           "company or its deals change.",
                           "examples": [["contact.creation", "contact.propertyChange", "account.updated"]],
                           "items": {"enum": list(WEBHOOK_EVENTS)}},
                "properties": {"type": "array", "items": {"type": "string"}, "x-default": "every property",
                               "description": "Only changes of these properties are sent.",
                               "examples": [["hubspot_owner_id", "lifecyclestage"]]},
                "signature_version": {"enum": ["v1", "v2", "v3"], "default": "v3",
                                      "description": "HubSpot's signature scheme for `X-HubSpot-Signature*`; the "
                                      "receiver checks the same one (v3: and the 300 s timestamp window, and "
                                      "refuses a replay).",
                                      "examples": ["v3"]},
                "schemas": {"type": "string", "minLength": 1,
                            "x-default": "none: the receiver checks signatures only",
                            "description": "A folder of payload schemas, `<event>/<version>.json`, relative to the "
                            "scenario file: the receiver validates every event against them (422 at the "
                            "failing JSON pointer).",
                            "examples": ["schemas"]},
                "sender_version": {"type": "string", "pattern": VERSION_PATTERN,
                                   "x-hint": "write a version such as 2.1 (or account.updated@v2.1)",
                                   "default": "2.0",
                                   "description": "The version of `account.updated` the sandbox emits: 1.x "
                                   "(flat, retired), 2.0 (`properties.arr`) or 2.1 and later "
                                   "(`properties.annual_recurring_revenue`).",
                                   "examples": ["2.1"]},
                "receiver_version": {"type": "string", "pattern": VERSION_PATTERN,
                                     "x-hint": "write a version such as 2.0 (or account.updated@v2.0)",
                                     "x-default": "`sender_version`",
                                     "description": "The version of `account.updated` the receiver validates "
                                     "against, whatever a payload claims.",
                                     "examples": ["2.0"]},
            },
        },
        "knobs": {
            "type": "object",
            "additionalProperties": False,
            "x-default": "every knob at its default",
            "description": "How the sandbox CRM misbehaves: rate limits, latency, faults, search lag.",
            "properties": {
                "rate_limit": {
                    "x-default": "190 requests per rolling 10 s, 5 searches per second",
                    "description": "HubSpot's rate limits; past them, a 429 with `policyName`. `false` or empty: off.",
                    "examples": [{"per_10s": 190, "search_per_s": 5}],
                    "anyOf": [
                        {"type": "null"},
                        {"const": False},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "per_10s": {"type": "integer", "minimum": 1, "default": 190,
                                            "description": "Requests per rolling 10 seconds.", "examples": [100]},
                                "search_per_s": {"type": "integer", "minimum": 1, "default": 5,
                                                 "description": "Search requests per second.", "examples": [5]}},
                        },
                    ],
                },
                "latency_ms": {**_MS, "default": 0, "description": "Every request waits this long first "
                               "(milliseconds, at most an hour).", "examples": [250]},
                "fault_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0,
                               "description": "The share of requests answered 502/503/504 before anything is "
                               "written (seeded by `seed`).", "examples": [0.05]},
                "burst_429": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Every Nth request is a 429 (0: never).", "examples": [10]},
                "retry_after_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 1,
                                  "description": "The `Retry-After` seconds of `burst_429` answers.",
                                  "examples": [2]},
                "search_lag_ms": {**_MS, "default": 0, "description": "New and changed records reach search "
                                  "this long after the write (`GET` by id sees them at once).",
                                  "examples": [1000]},
                "seed": {"type": "integer", "default": 0, "description": "The seed of the fault dice.",
                         "examples": [7]},
            },
        },
        "site": {**SITE_SCHEMA["properties"]["site"],
                 "x-default": "no site (a `web: {type: sandbox}` environment needs one)"},
        "clock": {
            "type": "object",
            "additionalProperties": False,
            "required": ["today"],
            "x-default": "the real date",
            "description": "The sandbox's calendar: what date checks that reason in days (review cadences, "
            "baselines, drift since when) take for today. Pins a demo's story to its dates, e.g. the drifted "
            "stack three months after the healthy one was signed off. Timestamps of records stay real.",
            "properties": {
                "today": {"type": "string", "format": "date",
                          "pattern": r"^\d{4}-\d{2}-\d{2}$", "x-hint": "write a date as YYYY-MM-DD",
                          "description": "Today's date in this sandbox (YYYY-MM-DD).",
                          "examples": ["2027-02-26"]},
            },
        },
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
    lifecycle: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, int] = field(default_factory=dict)
    properties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # properties.py
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # duplicates.py
    forms: list[dict[str, Any]] = field(default_factory=list)
    sync: dict[str, Any] | None = None
    today: date | None = None  # ``clock.today``: the sandbox's calendar date, else the real one
    inbound: list[InboundLead] = field(default_factory=list)  # leads of the last hours, routed at load (inbound.py)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """Read and check a scenario file; SpecError at the offending line."""
        path = Path(path)
        doc = yamlfile.load(path)
        data = doc.data if doc.data is not None else {}
        if not isinstance(data, dict):
            raise SpecError("a scenario is a mapping of sections", doc.location(()),
                            "start with `owners:`, `records:` ... (see docs/sandbox-scenario.md)")
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
        for object_type, rel in ((t, f) for t, files in (data.get("records") or {}).items()
                                 for f in ([files] if isinstance(files, str) else files)):
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
        if webhooks.get("schemas"):
            folder = (base / str(webhooks["schemas"])).resolve()
            if not folder.is_dir():
                raise SpecError(f"webhooks.schemas: no such folder {webhooks['schemas']!r}",
                                where("webhooks", "schemas"),
                                "give a folder of <event>/<version>.json files, relative to the scenario file")
            webhooks["schemas"] = str(folder)
            pinned = parse_version(webhooks.get("receiver_version") or webhooks.get("sender_version"))
            if pinned and not (folder / pinned[0] / f"{pinned[1]}.json").is_file():
                key = "receiver_version" if webhooks.get("receiver_version") else "sender_version"
                raise SpecError(f"webhooks.{key}: the receiver has no schema {pinned[0]}/{pinned[1]}.json in "
                                f"{webhooks['schemas']!r}", where("webhooks", key),
                                "name a version the schemas folder holds, or add its schema file")
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
            lifecycle=_checked_lifecycle(dict(data.get("lifecycle") or {}), records, where),
            webhooks=webhooks,
            knobs=dict(data.get("knobs") or {}),
            generate=dict(data.get("generate") or {}),
            properties=declared_properties(data.get("properties")),
            duplicates=[dict(rule) for rule in data.get("duplicates") or []],
            forms=_checked_forms(data.get("forms") or [], where),
            sync=dict(data["sync"] or {}) if "sync" in data else None,
            today=_clock_today(data.get("clock"), where),
            inbound=inbound_leads(dict(data.get("inbound") or {}), base, where),
        )


def _checked_lifecycle(lifecycle: dict[str, Any], records: dict[str, list[dict[str, str]]],
                      where: Any) -> dict[str, Any]:
    """Declared histories name CSV contacts; rules and the entry name declared stages."""
    stages = lifecycle.get("stages")
    if stages and lifecycle.get("entry") and lifecycle["entry"] not in stages:
        raise SpecError(f"lifecycle.entry {lifecycle['entry']!r} is not one of the stages",
                        where("lifecycle", "entry"), f"use one of {', '.join(stages)}")
    ids = {r.get("source_id") for r in records.get("contacts", [])}
    for source_id in lifecycle.get("history") or {}:
        if source_id not in ids:
            raise SpecError(f"no contacts record with id {source_id!r} to give a history",
                            where("lifecycle", "history", source_id), "use an `id` from the contacts CSV")
    return lifecycle


def _checked_forms(forms: list[dict[str, Any]], where: Any) -> list[dict[str, Any]]:
    """The forms, each guid once and each field name once per form."""
    guids: set[str] = set()
    for i, form in enumerate(forms):
        guid = str(form["guid"]).lower()
        if guid in guids:
            raise SpecError(f"form guid {form['guid']} is used twice", where("forms", i, "guid"), "give unique guids")
        guids.add(guid)
        names = [str(f["name"]) for f in form["fields"]]
        for j, name in enumerate(names):
            if names.index(name) != j:
                raise SpecError(f"form field {name!r} is declared twice", where("forms", i, "fields", j, "name"),
                                "declare each field once")
    return [dict(f) for f in forms]


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


def _clock_today(clock: dict[str, Any] | None, where: Any) -> date | None:
    if not clock:
        return None
    try:
        return date.fromisoformat(str(clock["today"]))
    except ValueError:
        raise SpecError(f"clock.today: {clock['today']!r} is not a date", where("clock", "today"),
                        "write a real date as YYYY-MM-DD") from None


def parse_version(text: Any) -> tuple[str, str] | None:
    """``2.1`` or ``account.updated@v2.1`` -> ``("account.updated", "2.1")``; empty -> ``None``."""
    if not text:
        return None
    event, _, version = str(text).rpartition("@")
    return (event or ACCOUNT_EVENT, version.removeprefix("v") if event else version)


def iso_datetime(value: str) -> str:
    """``2026-02-01`` -> ``2026-02-01T00:00:00.000Z``; anything else unchanged."""
    value = value.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value + "T00:00:00.000Z"
    return value
