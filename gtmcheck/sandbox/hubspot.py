"""A HubSpot CRM v3 emulator as a WSGI app: the subset gtmcheck uses, with HubSpot's shapes and failure modes.

Endpoints (all need ``Authorization: Bearer <token>``; a 401 with HubSpot's error body otherwise)::

    POST   /crm/v3/objects/{type}                 201, {"properties": {...}}; contacts run the routing workflow
    GET    /crm/v3/objects/{type}?limit=&after=&properties=&archived=    list (limit <= 100)
    GET    /crm/v3/objects/{type}/{id}?properties=&propertiesWithHistory=   (history: lifecycle.py)
    PATCH  /crm/v3/objects/{type}/{id}
    DELETE /crm/v3/objects/{type}/{id}            204 (archived, not gone)
    POST   /crm/v3/objects/{type}/batch/read      {"inputs": [{"id"}], "properties": [...]} (207 when some miss;
                                                   with "propertiesWithHistory": [...], at most 50 inputs)
    POST   /crm/v3/objects/{type}/batch/create    {"inputs": [{"properties"}]}
    POST   /crm/v3/objects/{type}/batch/update    {"inputs": [{"id", "properties"}]}
    POST   /crm/v3/objects/{type}/batch/archive   {"inputs": [{"id"}]} -> 204
    POST   /crm/v3/objects/{type}/search          filterGroups, sorts, properties, limit <= 200, after
    POST   /submissions/v3/integration/submit/{portalId}/{formGuid}    a form submission (forms.py)
    GET    /crm/v3/owners/?email=&limit=&after=&archived=     and /crm/v3/owners/{id}
    GET    /crm/v3/properties/{type}
    GET    /gtmcheck/sandbox/v1/webhooks/deliveries?limit=N    the webhook delivery log (outbox.py; no faults,
                                                         no rate limit)
    GET    /gtmcheck/sandbox/v1/stats                 {"writes": N, "requests": N}: writes to CRM objects so far
                                                   (creates, updates, archives, batch create/update/archive,
                                                   form submissions; not searches or reads), as ``writes``

``{type}`` is contacts, companies or deals. Search answers at most 10,000 results per query: ``after`` at or
past 10,000 is a 400, as in HubSpot. New and changed records reach search only after ``search_lag_ms``
(``GET /{id}`` sees them at once). Creating a contact with an email that exists is a 409 ("Contact already
exists. Existing ID: N") and the existing contact keeps its owner; the scenario's ``duplicates:`` rules refuse
other duplicates the same way (duplicates.py). ``properties:`` declares property types and options (properties.py).

Knobs (scenario ``knobs:`` or constructor keyword overrides): ``rate_limit`` (190 per rolling 10 s and 5
searches per second by default; ``False`` turns it off), ``latency_ms``, ``fault_rate`` (502/503/504, decided
before anything is written, from a seeded RNG), ``burst_429`` (every Nth request is a 429), ``retry_after_s``,
``search_lag_ms``. The scenario's ``inbound:`` leads (inbound.py) are created in the hours before load and
routed by the workflow at start. Every change is also a webhook event (events.py), delivered signed after the request:
in-process to the scenario's receiver (receiver.py), or through ``deliver``. Time comes from ``clock``
(monotonic seconds), so tests drive lag and routing delays without sleeping. Thread-safe: one lock around all
state.
"""

from __future__ import annotations

import bisect
import collections
import json
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from .duplicates import duplicate_of
from .events import ARR_INPUTS, SINGULAR, CrmEvents
from .forms import Forms, FormsEndpoint
from .lifecycle import LifecycleWorkflow, PropertyHistory
from .outbox import MAX_DELIVERIES_KEPT, Deliver, Outbox
from .properties import merge_declared
from .receiver import Receiver, receiver_for
from .routing import Router
from .scenario import OBJECT_TYPES, Scenario
from .sync import ContactSync

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

SEARCH_CAP = 10_000
LIST_MAX = 100
SEARCH_MAX = 200
BATCH_MAX = 100
HISTORY_BATCH_MAX = 50  # batch read with propertiesWithHistory, as HubSpot limits it
DELIVERIES_PATH = "/gtmcheck/sandbox/v1/webhooks/deliveries"  # the sandbox's own API: the delivery log
STATS_PATH = "/gtmcheck/sandbox/v1/stats"  # the sandbox's own API: how many writes it took (a read-only run: 0)
IN_PROCESS_URL = "https://sandbox.gtmcheck.invalid/webhooks/hubspot"  # never dialled: the receiver is called

DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"),
}
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content", 207: "Multi-Status", 400: "Bad Request",
               401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
               429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

_DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
                "contractsent", "closedwon", "closedlost")
_LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
              "evangelist", "other")
_PROPERTY_TYPES: dict[str, tuple[str, str]] = {
    "amount": ("number", "number"), "employees": ("number", "number"), "numberofemployees": ("number", "number"),
    "createdate": ("datetime", "date"), "closedate": ("datetime", "date"),
    "lastmodifieddate": ("datetime", "date"), "hs_lastmodifieddate": ("datetime", "date"),
    "hs_object_id": ("number", "number"), "hubspot_owner_id": ("enumeration", "select"),
    "dealstage": ("enumeration", "select"), "lifecyclestage": ("enumeration", "select"),
    "pipeline": ("enumeration", "select"),
}
_HUBSPOT_DEFINED = {"email", "firstname", "lastname", "country", "lifecyclestage", "hubspot_owner_id",
                    "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_object_id", "domain", "name",
                    "amount", "dealname", "dealstage", "closedate", "pipeline", "numberofemployees"}
_CALCULATED = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}


class HttpError(Exception):
    """An error answer: status, HubSpot error body, extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or []


@dataclass
class _Stored:
    """A record as stored: current state plus the versions search can see, oldest first."""

    id: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    index: list[tuple[float, dict[str, str] | None]] = field(default_factory=list)  # (visible_at, snapshot)


def _is_write(method: str, path: str) -> bool:
    """A request that changes CRM objects: POST/PATCH/DELETE on objects (not search, not batch/read), a form."""
    parts = [p for p in path.split("/") if p]
    if parts[:4] == ["submissions", "v3", "integration", "submit"]:
        return method == "POST"
    if parts[:3] != ["crm", "v3", "objects"] or method not in ("POST", "PATCH", "DELETE"):
        return False
    rest = parts[4:]
    return rest != ["search"] and rest != ["batch", "read"]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _sort_key(value: str | None) -> tuple[int, float, str]:
    """Values compare as numbers when they are numbers, as epoch ms when they are ISO dates, else as text."""
    if value is None:
        return (0, 0.0, "")
    text = value.strip()
    try:
        return (1, float(text), "")
    except ValueError:
        pass
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            return (1, stamp.timestamp() * 1000, "")
        except ValueError:
            pass
    return (2, 0.0, text.lower())


def _tokens(value: str) -> set[str]:
    return {t for t in re.split(r"[^0-9a-z]+", value.lower()) if t}


class HubSpotSandbox(CrmEvents, FormsEndpoint):
    """The WSGI app. ``scenario`` gives its data; keyword arguments override the scenario's knobs."""

    def __init__(self, scenario: Scenario, *, clock: Callable[[], float] = time.monotonic, seed: int | None = None,
                 deliver: Deliver | None = None, sleep: Callable[[float], None] = time.sleep,
                 wall_ms: int | None = None, **knobs: Any) -> None:
        self.scenario = scenario
        self.clock = clock
        self.sleep = sleep
        self.deliver = deliver if deliver is not None else self._to_receiver
        # in-process deliveries go to the scenario's receiver, built now so a bad schema file is a load error
        self._receiver: Receiver | None = receiver_for(scenario) if deliver is None else None
        self.knobs: dict[str, Any] = {**scenario.knobs, **knobs}
        seed = seed if seed is not None else int(self.knobs.get("seed", 0))
        self._fault_rng = random.Random(seed)
        self._id_rng = random.Random(seed + 1)
        self._lock = threading.RLock()
        self._t0 = clock()
        self._wall0 = int(time.time() * 1000) if wall_ms is None else wall_ms
        self._requests = 0
        self._writes = 0  # requests that write CRM objects (``writes``): a read-only run must leave it at 0
        self._window: collections.deque[float] = collections.deque()
        self._search_window: collections.deque[float] = collections.deque()
        self.outbox = Outbox(scenario, deliver=self.deliver, now_ms=self.now_ms, url=IN_PROCESS_URL)
        self.deliveries = self.outbox.deliveries  # every webhook delivery: url, headers, body, status, reason
        self.routing_log: list[dict[str, Any]] = []  # contact id, rule, owner id: the "why routed here" trail
        self.owners = [self._owner_json(o) for o in scenario.owners]
        self._owner_by_email = {o["email"].lower(): o for o in self.owners if o["email"]}
        self.router = Router(scenario.routing, self._owner_by_email, self._company_owner)
        self._pending_routes: list[tuple[float, str, str, str]] = []  # (due, contact id, owner id, rule)
        self._objects: dict[str, dict[str, _Stored]] = {t: {} for t in OBJECT_TYPES}
        self._next_id = {"contacts": 1001, "companies": 5001, "deals": 9001}
        self._order: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}  # ids ascending, for list paging
        self._extra_props: dict[str, set[str]] = {t: set() for t in OBJECT_TYPES}
        self.history = PropertyHistory()  # every write of a property (lifecycle.py)
        self.lifecycle = LifecycleWorkflow(scenario.lifecycle)
        self.forms = Forms(scenario.forms, scenario.portal_id, clock)
        self.sync = ContactSync(scenario.path, scenario.sync, self.now_ms)
        loaded = [(object_type, self._insert(object_type, dict(row), index_now=True))
                  for object_type, rows in scenario.records.items() for row in rows]
        self._generate(scenario.generate)
        self._load_inbound()
        if scenario.lifecycle:  # the CSV contacts' stage histories, declared or generated
            for stored in self.lifecycle.seed(self.history, self._objects["contacts"].values(), self.now_ms()):
                self._reindex(stored, 0.0)
        self._announce(loaded)
        if deliver is None:  # in-process: the receiver is at hand; `sandbox serve` flushes once it listens
            self.flush_webhooks()

    # --- knobs -------------------------------------------------------------------------------------

    @property
    def _rate(self) -> dict[str, int] | None:
        raw = self.knobs.get("rate_limit", {})
        if raw is False or raw is None and "rate_limit" in self.knobs:
            return None
        raw = raw or {}
        return {"per_10s": int(raw.get("per_10s", 190)), "search_per_s": int(raw.get("search_per_s", 5))}

    def _lag(self) -> float:
        return float(self.knobs.get("search_lag_ms", 0)) / 1000

    def now_ms(self) -> int:
        """Wall time in ms as the sandbox sees it (start wall time plus the clock's progress)."""
        return self.wall_ms(self.clock())

    def wall_ms(self, moment: float) -> int:
        """The wall time in ms of a moment on the sandbox's clock."""
        return self._wall0 + int((moment - self._t0) * 1000)

    # --- data ---------------------------------------------------------------------------------------

    def _owner_json(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        stamp = _iso(1_735_689_600_000)
        return {
            "id": str(raw["id"]),
            "email": raw["email"],
            "firstName": raw.get("first_name", ""),
            "lastName": raw.get("last_name", ""),
            "userId": int(raw["id"]) + 1000 if str(raw["id"]).isdigit() and raw.get("type") != "QUEUE" else None,
            "type": raw.get("type", "PERSON"),
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": not raw.get("active", True),
            "teams": [{"id": str(9000 + i), "name": t, "primary": i == 0} for i, t in enumerate(raw.get("teams", []))],
        }

    def _insert(self, object_type: str, props: dict[str, str], *, index_now: bool = False,
                created_ms: int | None = None) -> _Stored:
        record_id = str(self._next_id[object_type])
        self._next_id[object_type] += 1
        now = self.now_ms()
        if created_ms is None:
            key = _sort_key(props.get("createdate"))
            created_ms = int(key[1]) if key[0] == 1 else now
        props = {k: str(v) for k, v in props.items() if v is not None}
        props.setdefault("createdate", _iso(created_ms))
        props["hs_object_id"] = record_id
        props[MODIFIED[object_type]] = _iso(now if not index_now else created_ms)
        if object_type == "deals":
            props.setdefault("pipeline", "default")
        stored = _Stored(record_id, props, created_ms, now if not index_now else created_ms)
        self._objects[object_type][record_id] = stored
        self._order[object_type].append(int(record_id))
        self._extra_props[object_type].update(props)
        self._reindex(stored, 0.0 if index_now else self._lag())
        self.history.created(object_type, record_id, "IMPORT" if index_now else "API")
        return stored

    def _reindex(self, stored: _Stored, lag: float) -> None:
        """Queue the record's current state for search, visible ``lag`` seconds from now."""
        snapshot = None if stored.archived else dict(stored.properties)
        now = self.clock()
        visible = [v for v in stored.index if v[0] <= now]
        future = [v for v in stored.index if v[0] > now]
        # the newest version already visible stays visible until the new one lands
        stored.index = visible[-1:] + future + [(now + lag, snapshot)]

    def _generate(self, spec: Mapping[str, int]) -> None:
        rng = random.Random(int(spec.get("seed", 0)))
        owners = [o["id"] for o in self.owners if o["type"] == "PERSON" and not o["archived"]] or [""]
        base = 1_735_689_600_000  # 2025-01-01
        for i in range(int(spec.get("deals", 0))):
            created = base + rng.randrange(0, 600 * 86_400_000)
            stage = rng.choice(_DEAL_STAGES)
            props = {
                "dealname": f"Synthetic deal {i + 1}",
                "amount": str(rng.randrange(10, 1000) * 100),
                "dealstage": stage,
                "createdate": _iso(created),
                "closedate": _iso(created + rng.randrange(1, 120) * 86_400_000),
                "hubspot_owner_id": rng.choice(owners),
                "source_id": f"g{i + 1:06d}",
            }
            self._insert("deals", props, index_now=True, created_ms=created)
        for i in range(int(spec.get("contacts", 0))):
            created = base + rng.randrange(0, 600 * 86_400_000)
            props = {"email": f"synthetic.{i + 1}@example.com", "firstname": "Synthetic", "lastname": str(i + 1),
                     "country": rng.choice(["US", "DE", "FR", "GB", "JP"]), "createdate": _iso(created),
                     "hubspot_owner_id": rng.choice(owners), "source_id": f"g{i + 1:06d}"}
            self._insert("contacts", props, index_now=True, created_ms=created)

    def _load_inbound(self) -> None:
        """The scenario's recent inbound leads, created ``ago`` before load and routed as the workflow routes."""
        delay_ms = int(float(self.scenario.routing.get("delay_ms", 0)))
        for lead in sorted(self.scenario.inbound, key=lambda lead: -lead.ago_s):  # oldest first: round-robin order
            created = self._wall0 - int(lead.ago_s * 1000)
            stored = self._insert("contacts", dict(lead.properties), index_now=True, created_ms=created)
            self.history.created("contacts", stored.id, "FORM")
            decision = None if stored.properties.get("hubspot_owner_id") else self.router.route(stored.properties)
            if decision is None:
                continue
            rule, owner_id = decision
            assigned = _iso(created + delay_ms)
            stored.properties["hubspot_owner_id"] = owner_id
            stored.properties["hubspot_owner_assigneddate"] = assigned
            self.history.declare("contacts", stored, "hubspot_owner_id",
                                 [(owner_id, created + delay_ms, "AUTOMATION_PLATFORM")])
            self.routing_log.append({"contact": stored.id, "rule": rule, "owner": owner_id})
            self._reindex(stored, 0.0)

    @property
    def writes(self) -> int:
        """How many requests wrote CRM objects since the sandbox loaded (searches and reads do not count)."""
        with self._lock:
            return self._writes

    def _company_owner(self, domain: str) -> str | None:
        for stored in self._objects["companies"].values():
            if not stored.archived and stored.properties.get("domain", "").lower() == domain.lower():
                return stored.properties.get("hubspot_owner_id") or None
        return None

    def _tick(self) -> None:
        """Apply routing assignments whose delay has passed (lazily: no background thread).

        An assignment is stamped with its due time, not the time of the request that applies it: HubSpot's
        workflow runs whether or not anyone is asking, so a client's backoff never makes routing look late.
        """
        now = self.clock()
        for due_at, record_id, stage, rule in self.lifecycle.due(now):
            contact = self._objects["contacts"].get(record_id)
            if contact is not None and not contact.archived:
                self._apply("contacts", contact, {self.lifecycle.property: stage}, source="AUTOMATION_PLATFORM",
                            at_ms=self.wall_ms(due_at), source_id=f"workflow:{rule}")
        self._apply_submissions()
        due = [p for p in self._pending_routes if p[0] <= now]
        if not due:
            return
        self._pending_routes = [p for p in self._pending_routes if p[0] > now]
        for due_at, record_id, owner_id, _rule in sorted(due):
            stored = self._objects["contacts"].get(record_id)
            if stored is None or stored.archived or stored.properties.get("hubspot_owner_id"):
                continue
            self._apply("contacts", stored, {"hubspot_owner_id": owner_id}, source="AUTOMATION_PLATFORM",
                        at_ms=self.wall_ms(due_at))

    def _apply(self, object_type: str, stored: _Stored, props: Mapping[str, Any], source: str = "API",
               at_ms: int | None = None, source_id: str | None = None) -> None:
        before = dict(stored.properties)
        changed = {}
        for key, value in props.items():
            value = None if value is None else str(value)
            if key in ("hs_object_id", "createdate"):
                continue
            if value in (None, ""):
                if key in stored.properties:
                    del stored.properties[key]
                    changed[key] = ""
            elif stored.properties.get(key) != value:
                stored.properties[key] = value
                changed[key] = value
        if not changed:
            return
        stored.updated_ms = self.now_ms() if at_ms is None else max(at_ms, stored.updated_ms)
        if object_type == "contacts" and "hubspot_owner_id" in changed:
            stored.properties["hubspot_owner_assigneddate"] = _iso(stored.updated_ms)  # as HubSpot does
        stored.properties[MODIFIED[object_type]] = _iso(stored.updated_ms)
        self._extra_props[object_type].update(changed)
        self._reindex(stored, self._lag())
        self.history.changed(object_type, stored, before, changed, source, source_id)
        if object_type == "contacts":
            self.lifecycle.written(stored, self.clock())
            self.sync.changed(stored.id, stored.properties, self.owners)
        for key, value in changed.items():
            self.outbox.hubspot_event(f"{SINGULAR[object_type]}.propertyChange", stored.id, source, key, value)
        if object_type == "companies" or object_type == "deals" and ARR_INPUTS & set(changed):
            self._account_changed(stored if object_type == "companies" else None,
                                  stored.properties.get("company_domain", ""))

    # --- search index ---------------------------------------------------------------------------------

    def _searchable(self, stored: _Stored) -> dict[str, str] | None:
        now = self.clock()
        current: dict[str, str] | None = None
        for visible_at, snapshot in stored.index:
            if visible_at <= now:
                current = snapshot
        return current

    # --- WSGI -----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        query = {k: v for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        latency = float(self.knobs.get("latency_ms", 0))
        if latency > 0:
            self.sleep(latency / 1000)
        try:
            status, body, headers = self.handle(method, path, query, raw, environ.get("HTTP_AUTHORIZATION", ""))
        except HttpError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        finally:
            self.flush_webhooks()
        payload = b"" if body is None else json.dumps(body).encode()
        out = [("Content-Type", "application/json;charset=utf-8"), ("Content-Length", str(len(payload))), *headers]
        start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}", out)
        return [payload]

    def _error(self, status: int, message: str, category: str, **extra: Any) -> HttpError:
        body = {"status": "error", "message": message, "correlationId": self._correlation(), "category": category,
                **extra}
        return HttpError(status, body)

    def _correlation(self) -> str:
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    def handle(self, method: str, path: str, query: dict[str, list[str]], raw: bytes,
               authorization: str) -> tuple[int, Any, list[tuple[str, str]]]:
        """One request: auth, fault, rate limit, then the endpoint. Returns status, JSON body, headers."""
        with self._lock:
            self._check_auth(authorization)
            if path.rstrip("/") == DELIVERIES_PATH:  # the sandbox's own API: no faults, no rate limit
                if method != "GET":
                    raise self._error(405, f"{method} is not allowed here", "VALIDATION_ERROR")
                limit = self._int_param((query.get("limit") or [""])[0], "limit", 100, MAX_DELIVERIES_KEPT)
                return 200, self.outbox.log_json(limit), []
            if path.rstrip("/") == STATS_PATH:
                if method != "GET":
                    raise self._error(405, f"{method} is not allowed here", "VALIDATION_ERROR")
                return 200, {"writes": self._writes, "requests": self._requests}, []
            self._requests += 1
            self._maybe_fault()
            is_search = method == "POST" and path.rstrip("/").endswith("/search")
            self._limit(is_search)
            if _is_write(method, path):  # counted once it is taken (a fault or a 429 above wrote nothing)
                self._writes += 1
            self._tick()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise self._error(400, "Invalid input JSON: the body is not JSON", "VALIDATION_ERROR") from None
            return self._route(method, path, query, body)

    def _check_auth(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._error(401, "Authentication credentials not found. This API supports OAuth 2.0 "
                              "authentication and you can find more details at "
                              "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                              "INVALID_AUTHENTICATION")
        if self.scenario.token and token.strip() != self.scenario.token:
            raise self._error(401, "The OAuth token used to make this call expired or is invalid.",
                              "INVALID_AUTHENTICATION")

    def _maybe_fault(self) -> None:
        rate = float(self.knobs.get("fault_rate", 0))
        if rate <= 0:
            return
        roll = self._fault_rng.random()
        status = self._fault_rng.choice((502, 503, 504))
        if roll < rate:
            messages = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
            raise self._error(status, f"{messages[status]}: the sandbox injected a fault (fault_rate)",
                              "SERVICE_UNAVAILABLE" if status == 503 else "INTERNAL_ERROR")

    def _too_many(self, policy: str, message: str, retry_after: int) -> HttpError:
        body = {"status": "error", "message": message, "errorType": "RATE_LIMIT",
                "correlationId": self._correlation(), "policyName": policy}
        return HttpError(429, body, [("Retry-After", str(max(0, retry_after)))])

    def _limit(self, is_search: bool) -> None:
        burst = int(self.knobs.get("burst_429", 0))
        retry_after = int(self.knobs.get("retry_after_s", 1))
        if burst > 0 and self._requests % burst == 0:
            raise self._too_many("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.",
                                 retry_after)
        rate = self._rate
        if rate is None:
            return
        now = self.clock()
        while self._window and self._window[0] <= now - 10:
            self._window.popleft()
        while self._search_window and self._search_window[0] <= now - 1:
            self._search_window.popleft()
        if len(self._window) >= rate["per_10s"]:
            wait = math.ceil(self._window[0] + 10 - now)
            raise self._too_many("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.",
                                 max(1, wait))
        if is_search and len(self._search_window) >= rate["search_per_s"]:
            raise self._too_many("SECONDLY", "You have reached your secondly limit.", 1)
        self._window.append(now)
        if is_search:
            self._search_window.append(now)

    # --- routes ---------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               body: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        parts = [p for p in path.split("/") if p]
        if parts[:4] == ["submissions", "v3", "integration", "submit"]:
            return self._submit_form(method, parts, body)
        if parts[:3] == ["crm", "v3", "owners"]:
            if method != "GET":
                raise self._error(405, f"{method} is not allowed here", "VALIDATION_ERROR")
            return (200, self._owners(query), []) if len(parts) == 3 else (200, self._owner(parts[3], query), [])
        if parts[:3] == ["crm", "v3", "properties"] and len(parts) == 4:
            return 200, {"results": self._properties(self._type(parts[3]))}, []
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) < 4:
            raise self._error(404, f"Unknown path {path}", "OBJECT_NOT_FOUND")
        object_type = self._type(parts[3])
        rest = parts[4:]
        if not isinstance(body, dict):
            raise self._error(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
        if not rest:
            if method == "GET":
                return 200, self._list(object_type, query), []
            if method == "POST":
                return 201, self._create(object_type, body), []
        elif rest == ["search"] and method == "POST":
            return 200, self._search(object_type, body), []
        elif len(rest) == 2 and rest[0] == "batch" and method == "POST":
            return self._batch(object_type, rest[1], body)
        elif len(rest) == 1:
            record_id = rest[0]
            if method == "GET":
                return 200, self._get(object_type, record_id, query), []
            if method == "PATCH":
                return 200, self._update(object_type, record_id, body), []
            if method == "DELETE":
                stored = self._objects[object_type].get(record_id)
                if stored is not None and not stored.archived:
                    self._archive(object_type, stored)
                return 204, None, []
        raise self._error(405, f"{method} {path} is not supported by the sandbox", "VALIDATION_ERROR")

    def _type(self, name: str) -> str:
        if name not in OBJECT_TYPES:
            raise self._error(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
        return name

    def _record_json(self, object_type: str, stored: _Stored, wanted: list[str] | None,
                     props: dict[str, str] | None = None) -> dict[str, Any]:
        source = stored.properties if props is None else props
        names = list(DEFAULT_PROPERTIES[object_type]) + [w for w in wanted or [] if w not in
                                                          DEFAULT_PROPERTIES[object_type]]
        out: dict[str, Any] = {}
        for name in names:
            out[name] = source.get(name)
        return {"id": stored.id, "properties": out, "createdAt": _iso(stored.created_ms),
                "updatedAt": _iso(stored.updated_ms), "archived": stored.archived,
                **({"archivedAt": _iso(stored.updated_ms)} if stored.archived else {})}

    @staticmethod
    def _wanted(query: dict[str, list[str]]) -> list[str]:
        return [p for value in query.get("properties", []) for p in value.split(",") if p]

    def _find(self, object_type: str, record_id: str, *, archived: bool = False) -> _Stored:
        stored = self._objects[object_type].get(record_id)
        if stored is None or stored.archived != archived:
            raise self._error(404, "", "OBJECT_NOT_FOUND")
        return stored

    def _get(self, object_type: str, record_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        archived = (query.get("archived") or ["false"])[0] == "true"
        with_history = [p for value in query.get("propertiesWithHistory", []) for p in value.split(",") if p]
        return self._with_history(object_type, self._find(object_type, record_id, archived=archived),
                                  self._wanted(query), with_history)

    def _with_history(self, object_type: str, stored: _Stored, wanted: list[str],
                      with_history: list[str]) -> dict[str, Any]:
        """A record's JSON, with ``propertiesWithHistory`` (newest first) when any is asked."""
        out = self._record_json(object_type, stored, wanted)
        if with_history:
            out["propertiesWithHistory"] = self.history.json(object_type, stored, with_history)
        return out

    def _int_param(self, value: Any, name: str, default: int, maximum: int) -> int:
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self._error(400, f"{name} must be a whole number, got {value!r}", "VALIDATION_ERROR") from None
        if number < 1 or number > maximum:
            raise self._error(400, f"{name} must be between 1 and {maximum}, got {number}", "VALIDATION_ERROR")
        return number

    def _list(self, object_type: str, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = self._int_param((query.get("limit") or [""])[0], "limit", 10, LIST_MAX)
        after = (query.get("after") or [""])[0]
        archived = (query.get("archived") or ["false"])[0] == "true"
        start = int(after) if after.isdigit() else 0
        order = self._order[object_type]
        objects = self._objects[object_type]
        ids: list[int] = []
        for i in order[bisect.bisect_right(order, start):]:
            if objects[str(i)].archived == archived:
                ids.append(i)
                if len(ids) > limit:
                    break
        page = ids[:limit]
        wanted = self._wanted(query)
        out: dict[str, Any] = {"results": [self._record_json(object_type, self._objects[object_type][str(i)], wanted)
                                           for i in page]}
        if len(ids) > limit:
            out["paging"] = {"next": {"after": str(page[-1]),
                                      "link": f"?after={page[-1]}&limit={limit}"}}
        return out

    def _create(self, object_type: str, body: Mapping[str, Any], *, source: str = "API") -> dict[str, Any]:
        props = body.get("properties")
        if not isinstance(props, dict):
            raise self._error(400, "Invalid input JSON: `properties` is required", "VALIDATION_ERROR")
        props = {str(k): None if v is None else str(v) for k, v in props.items()}
        if object_type == "contacts" and props.get("email"):
            email = str(props["email"]).strip().lower()
            for existing in self._objects["contacts"].values():
                if not existing.archived and existing.properties.get("email", "").lower() == email:
                    raise self._error(409, f"Contact already exists. Existing ID: {existing.id}", "CONFLICT")
        duplicate = duplicate_of(self.scenario.duplicates, object_type, props, (
            (s.id, s.properties) for s in self._objects[object_type].values() if not s.archived))
        if duplicate is not None:  # the scenario's `duplicates:` rules (duplicates.py)
            raise self._error(409, f"{SINGULAR[object_type].capitalize()} already exists. Existing ID: {duplicate}",
                              "CONFLICT")
        clean = {k: v for k, v in props.items() if v not in (None, "")}
        clean.pop("createdate", None)
        stored = self._insert(object_type, clean)
        self.outbox.hubspot_event(f"{SINGULAR[object_type]}.creation", stored.id, source)
        if object_type == "contacts":
            self.sync.changed(stored.id, stored.properties, self.owners)
        if object_type == "companies" or object_type == "deals" and stored.properties.get("dealstage") == "closedwon":
            self._account_changed(stored if object_type == "companies" else None,
                                  stored.properties.get("company_domain", ""))
        if object_type == "contacts":
            if not stored.properties.get("hubspot_owner_id"):
                decision = self.router.route(stored.properties)
                if decision is not None:
                    rule, owner_id = decision
                    due = self.clock() + float(self.scenario.routing.get("delay_ms", 0)) / 1000
                    self._pending_routes.append((due, stored.id, owner_id, rule))
                    self.routing_log.append({"contact": stored.id, "rule": rule, "owner": owner_id})
                    self._tick()
            self.lifecycle.written(stored, self.clock())
            self._tick()
        return self._record_json(object_type, stored, list(props))

    def _update(self, object_type: str, record_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        stored = self._find(object_type, record_id)
        props = body.get("properties")
        if not isinstance(props, dict):
            raise self._error(400, "Invalid input JSON: `properties` is required", "VALIDATION_ERROR")
        self._apply(object_type, stored, props)
        return self._record_json(object_type, stored, list(props))

    def _archive(self, object_type: str, stored: _Stored) -> None:
        stored.archived = True
        stored.updated_ms = self.now_ms()
        self._reindex(stored, self._lag())
        if object_type == "contacts":
            self.outbox.hubspot_event("contact.deletion", stored.id, "API")
            self.sync.archived(stored.id)

    def _batch(self, object_type: str, action: str, body: Mapping[str, Any]) -> tuple[int, Any, list[tuple[str, str]]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise self._error(400, "Invalid input JSON: `inputs` must be a list of objects", "VALIDATION_ERROR")
        if len(inputs) > BATCH_MAX:
            raise self._error(400, f"Batch input size {len(inputs)} exceeds the maximum of {BATCH_MAX}",
                              "VALIDATION_ERROR")
        started = _iso(self.now_ms())
        if action == "archive":
            for item in inputs:
                stored = self._objects[object_type].get(str(item.get("id")))
                if stored is not None and not stored.archived:
                    self._archive(object_type, stored)
            return 204, None, []
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        if action == "read":
            wanted = [str(p) for p in body.get("properties") or []]
            with_history = [str(p) for p in body.get("propertiesWithHistory") or []]
            if with_history and len(inputs) > HISTORY_BATCH_MAX:
                raise self._error(400, f"Batch input size {len(inputs)} exceeds the maximum of "
                                  f"{HISTORY_BATCH_MAX} with propertiesWithHistory", "VALIDATION_ERROR")
            for item in inputs:
                stored = self._objects[object_type].get(str(item.get("id")))
                if stored is None or stored.archived != bool(body.get("archived", False)):
                    missing.append(str(item.get("id")))
                else:
                    results.append(self._with_history(object_type, stored, wanted, with_history))
        elif action == "create":
            for item in inputs:
                results.append(self._create(object_type, item))
        elif action == "update":
            for item in inputs:
                stored = self._objects[object_type].get(str(item.get("id")))
                if stored is None or stored.archived:
                    missing.append(str(item.get("id")))
                else:
                    results.append(self._update(object_type, stored.id, item))
        else:
            raise self._error(404, f"Unknown batch action {action}", "OBJECT_NOT_FOUND")
        out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                               "completedAt": _iso(self.now_ms())}
        if missing:
            out["numErrors"] = 1
            out["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some "
                              f"{object_type} objects, they may be deleted or not exist.",
                              "context": {"ids": missing}}]
            return 207, out, []
        return (201 if action == "create" else 200), out, []

    # --- search ---------------------------------------------------------------------------------------

    def _search(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        groups = body.get("filterGroups") or []
        if not isinstance(groups, list) or len(groups) > 5:
            raise self._error(400, "filterGroups must be a list of at most 5 groups", "VALIDATION_ERROR")
        checked: list[list[dict[str, Any]]] = []
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or len(filters) > 6:
                raise self._error(400, "each filter group needs `filters`, a list of at most 6", "VALIDATION_ERROR")
            for f in filters:
                if not isinstance(f, dict) or f.get("operator") not in OPERATORS or not f.get("propertyName"):
                    raise self._error(400, f"invalid filter {f!r}: needs propertyName and an operator among "
                                      f"{', '.join(sorted(OPERATORS))}", "VALIDATION_ERROR")
            checked.append(filters)
        limit = self._int_param(body.get("limit"), "limit", 10, SEARCH_MAX)
        after_raw = body.get("after") or 0
        try:
            after = int(after_raw)
        except (TypeError, ValueError):
            raise self._error(400, f"after must be a number, got {after_raw!r}", "VALIDATION_ERROR") from None
        if after >= SEARCH_CAP:
            raise self._error(400, "There was a problem with the request.", "VALIDATION_ERROR",
                              errors=[{"message": f"paging offset {after} is past the {SEARCH_CAP} result limit of "
                                       "search; narrow the query", "code": "INVALID_INTEGER",
                                       "context": {"after": [str(after)]}}])
        matches: list[tuple[_Stored, dict[str, str]]] = []
        for stored in self._objects[object_type].values():
            snapshot = self._searchable(stored)
            if snapshot is None:
                continue
            if not checked or any(all(self._matches(snapshot, f) for f in g) for g in checked):
                matches.append((stored, snapshot))
        sorts = body.get("sorts") or []
        matches.sort(key=lambda m: int(m[0].id))
        for sort in reversed(sorts if isinstance(sorts, list) else []):
            if isinstance(sort, str):
                name, descending = sort.lstrip("-"), sort.startswith("-")
            else:
                name = str(sort.get("propertyName", ""))
                descending = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
            matches.sort(key=lambda m: _sort_key(m[1].get(name)), reverse=descending)
        total = len(matches)
        end = min(after + limit, total, SEARCH_CAP)
        wanted = [str(p) for p in body.get("properties") or []]
        results = [self._record_json(object_type, s, wanted, snap) for s, snap in matches[after:end]]
        out: dict[str, Any] = {"total": total, "results": results}
        if end < total:
            out["paging"] = {"next": {"after": str(end)}}
        return out

    def _matches(self, props: Mapping[str, str], f: Mapping[str, Any]) -> bool:
        name = str(f["propertyName"])
        op = f["operator"]
        value = props.get(name)
        has = value not in (None, "")
        if op == "HAS_PROPERTY":
            return has
        if op == "NOT_HAS_PROPERTY":
            return not has
        if op in ("IN", "NOT_IN"):
            values = [str(v).lower() for v in f.get("values") or []]
            inside = has and str(value).lower() in values
            return inside if op == "IN" else not inside
        target = f.get("value")
        if op == "CONTAINS_TOKEN":
            return has and self._token_match(str(value), str(target))
        if op == "NOT_CONTAINS_TOKEN":
            return not (has and self._token_match(str(value), str(target)))
        if op == "EQ":
            return has and self._cmp(value, target) == 0
        if op == "NEQ":
            return not (has and self._cmp(value, target) == 0)
        if not has:
            return False
        if op == "BETWEEN":
            high = f.get("highValue")
            return self._cmp(value, target) >= 0 and self._cmp(value, high) <= 0
        c = self._cmp(value, target)
        return {"LT": c < 0, "LTE": c <= 0, "GT": c > 0, "GTE": c >= 0}[op]

    @staticmethod
    def _token_match(value: str, token: str) -> bool:
        token = token.lower()
        if token.startswith("*"):  # "*@example.com": a suffix, as HubSpot allows for emails
            return value.lower().endswith(token[1:])
        return bool(_tokens(token)) and _tokens(token) <= _tokens(value)

    @staticmethod
    def _cmp(a: Any, b: Any) -> int:
        ka, kb = _sort_key(None if a is None else str(a)), _sort_key(None if b is None else str(b))
        if ka[0] != kb[0]:
            sa, sb = str(a).lower(), str(b).lower()
            return (sa > sb) - (sa < sb)
        return (ka > kb) - (ka < kb)

    # --- owners and properties ------------------------------------------------------------------------

    def _owners(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = self._int_param((query.get("limit") or [""])[0], "limit", 100, 500)
        after = (query.get("after") or ["0"])[0]
        start = int(after) if after.isdigit() else 0
        archived = (query.get("archived") or ["false"])[0] == "true"
        email = (query.get("email") or [""])[0].lower()
        found = [o for o in self.owners if o["archived"] == archived and (not email or o["email"].lower() == email)]
        page = found[start:start + limit]
        out: dict[str, Any] = {"results": page}
        if start + limit < len(found):
            out["paging"] = {"next": {"after": str(start + limit),
                                      "link": f"https://api.hubapi.com/crm/v3/owners/?after={start + limit}"}}
        return out

    def _owner(self, owner_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        archived = (query.get("archived") or ["false"])[0] == "true"
        for owner in self.owners:
            if owner["id"] == owner_id and owner["archived"] == archived:
                return owner
        raise self._error(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")

    def _properties(self, object_type: str) -> list[dict[str, Any]]:
        names = sorted(set(DEFAULT_PROPERTIES[object_type]) | self._extra_props[object_type] | {"hubspot_owner_id"})
        out = []
        for name in names:
            type_, field_type = _PROPERTY_TYPES.get(name, ("string", "text"))
            options: list[dict[str, Any]] = []
            if name == "dealstage":
                options = [{"label": s, "value": s, "displayOrder": i, "hidden": False}
                           for i, s in enumerate(_DEAL_STAGES)]
            elif name == "lifecyclestage":
                options = [{"label": s, "value": s, "displayOrder": i, "hidden": False}
                           for i, s in enumerate(_LIFECYCLE)]
            elif name == "hubspot_owner_id":
                options = [{"label": o["email"], "value": o["id"], "displayOrder": i, "hidden": o["archived"]}
                           for i, o in enumerate(self.owners)]
            elif name == "pipeline":
                options = [{"label": "Sales Pipeline", "value": "default", "displayOrder": 0, "hidden": False}]
            out.append({"name": name, "label": name.replace("_", " ").capitalize(), "type": type_,
                        "fieldType": field_type, "groupName": f"{object_type[:-1]}information", "options": options,
                        "hidden": False, "calculated": name in _CALCULATED, "hubspotDefined": name in _HUBSPOT_DEFINED,
                        "archived": False, "description": ""})
        return merge_declared(out, self.scenario.properties.get(object_type, []))  # the scenario's properties.py
