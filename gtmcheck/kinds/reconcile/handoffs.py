"""RECONCILE-HANDOFFS: every key a source fired reached its destination within the SLA.

One check per ``handoffs:`` entry. A source key counts once, at its first firing inside ``window`` (up to
``as_of``, or now); what happened to it, relative to the SLA ``within``:

- **received**: a receipt of the same key at or after the firing (duplicate receipts count once, the first);
- **late**: received, but later than ``within`` after the firing: a breach of the SLA, not a drop;
- **missing** (dropped): no receipt, and fired more than ``within`` before ``as_of``;
- **not yet due**: no receipt yet, and fired less than ``within`` before ``as_of``: not counted as dropped;
- a receipt *before* the firing does not count (clock skew, or a key used twice); such keys are named;
- source rows with a NULL key cannot be traced: they fail the check, counted apart from the keys.

The check fails on a missing key, a late one or a NULL key. Warehouse to warehouse it is computed in SQL
(``handoff_queries``): counts and bounded samples come back, never the tables. A CRM destination
(``crm: {object, key, has_owner}``) is searched for the fired keys, 100 per IN filter, one paced search
after another through the CRM connector; a record counts as received with its owner set (by
``hubspot_owner_assigneddate`` when the CRM says, else its creation), and an owner set before the firing
(an existing contact's) counts as received at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import SQLAlchemyError

from ...connectors.crm import Filter, to_epoch_ms
from ...connectors.warehouse import MAX_SAMPLE, Warehouse
from ...durations import format_duration, parse_duration
from ...errors import CheckError, CheckFailed, ConfigError, Evidence, Location, SpecError, WarehouseError
from ..base import CRM, WAREHOUSE, Check
from .handoff_queries import Arrivals, WarehouseSide

if TYPE_CHECKING:
    from ...connectors.crm import CrmConnector, ObjectType
    from ...context import RunContext

__all__ = ["DOD_ID", "CrmDestination", "Handoff", "HandoffResult", "handoff_checks", "measure", "parse_handoff"]

DOD_ID = "RECONCILE-HANDOFFS"
SHOWN_KEYS = 20  # missing keys named in the message; the evidence keeps up to MAX_SAMPLE
SHOWN_SLOWEST = 3
EVIDENCE_SLOWEST = 10
CRM_BATCH = 100  # keys per IN filter (HubSpot's limit for IN values)
MAX_CRM_KEYS = 10_000  # source keys one check asks a CRM about (100 searches)
CRM_OBJECTS = ("contacts", "companies", "deals", "leads")  # HubSpot's names; Salesforce's are mapped
OWNER_PROPERTY = "hubspot_owner_id"
OWNER_ASSIGNED = "hubspot_owner_assigneddate"
WAREHOUSE_CACHE = "reconcile.warehouse"
_EQUALS_LITERAL = re.compile(r"=\s*'([^']+)'")


@dataclass(frozen=True)
class CrmDestination:
    """CRM records holding the key in ``key`` (and an owner, with ``has_owner``)."""

    object: str
    key: str
    has_owner: bool = True


@dataclass(frozen=True)
class Handoff:
    """One parsed ``handoffs:`` entry."""

    id: str
    source: WarehouseSide
    destination: WarehouseSide | CrmDestination
    within_s: float
    window_s: float
    as_of: datetime | None
    source_label: str
    destination_label: str
    noun: str  # "lead" for a key named lead_id


@dataclass
class HandoffResult:
    """What the warehouse (and CRM) said about one handoff."""

    fired: int = 0
    received: int = 0
    late: int = 0
    missing: int = 0
    not_yet_due: int = 0
    duplicated: int = 0
    null_keys: int = 0
    early_only: int = 0
    missing_keys: list[str] = field(default_factory=list)
    slowest: list[tuple[str, float]] = field(default_factory=list)
    early_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.late or self.null_keys)


# --- parsing ------------------------------------------------------------------------------------------------


def _label(side: Mapping[str, Any], fallback: str) -> str:
    """The words for a side: the one value its ``where`` compares to (``lead.created``), else its table."""
    found = _EQUALS_LITERAL.findall(str(side.get("where") or ""))
    if len(found) == 1:
        return str(found[0])
    return str(side.get("table") or fallback)


def _noun(key: str) -> str:
    return key[:-3] if key.endswith("_id") and len(key) > 3 else "key"


def _as_of(value: Any, location: Location) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    else:
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"as_of {value!r} is not a date or date-time", location,
                            "write an ISO date-time such as 2026-11-14T00:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _warehouse_side(raw: Mapping[str, Any], which: str, location: Location) -> WarehouseSide:
    if raw.get("sql"):
        return WarehouseSide(sql=str(raw["sql"]))
    missing = [k for k in ("table", "key", "at") if not raw.get(k)]
    if missing:
        raise SpecError(f"the handoff's {which} warehouse side needs {', '.join(missing)}", location,
                        "give `table`, `key` and `at` (and optionally `where`), or `sql` returning key and at")
    return WarehouseSide(table=str(raw["table"]), key=str(raw["key"]), at=str(raw["at"]),
                         where=str(raw["where"]) if raw.get("where") else None)


def parse_handoff(entry: Mapping[str, Any], location: Location) -> Handoff:
    """A ``handoffs:`` entry as the check needs it; ``SpecError`` at ``location`` when it cannot be used."""
    source_raw = (entry.get("source") or {}).get("warehouse")
    if not isinstance(source_raw, Mapping):
        raise SpecError("a handoff's source is a warehouse table", location, "write source: {warehouse: {...}}")
    dest = entry.get("destination") or {}
    destination: WarehouseSide | CrmDestination
    if isinstance(dest.get("warehouse"), Mapping):
        destination = _warehouse_side(dest["warehouse"], "destination", location)
        dest_label = _label(dest["warehouse"], "destination")
    elif isinstance(dest.get("crm"), Mapping):
        crm = dest["crm"]
        if not crm.get("object") or not crm.get("key"):
            raise SpecError("a handoff's CRM destination needs `object` and `key`", location,
                            "write destination: {crm: {object: contacts, key: email, has_owner: true}}")
        if crm["object"] not in CRM_OBJECTS:
            raise SpecError(f"unknown CRM object {crm['object']!r}", location,
                            f"use one of {', '.join(CRM_OBJECTS)}")
        destination = CrmDestination(str(crm["object"]), str(crm["key"]), bool(crm.get("has_owner", True)))
        dest_label = f"{crm['object']} with an owner" if destination.has_owner else str(crm["object"])
    else:
        raise SpecError("a handoff's destination is a warehouse table or CRM records", location,
                        "write destination: {warehouse: {...}} or destination: {crm: {...}}")
    source = _warehouse_side(source_raw, "source", location)
    if not entry.get("within"):
        raise SpecError("a handoff needs `within:`, its SLA", location, "write within: 5m (a duration)")
    return Handoff(
        id=str(entry.get("id") or "handoff"),
        source=source,
        destination=destination,
        within_s=parse_duration(str(entry.get("within", "")), location),
        window_s=parse_duration(str(entry.get("window", "30d")), location),
        as_of=_as_of(entry.get("as_of"), location),
        source_label=_label(source_raw, "source"),
        destination_label=dest_label,
        noun=_noun(source.key or "key"),
    )


def handoff_checks(entry: Mapping[str, Any], location: Location) -> list[Check]:
    """The RECONCILE-HANDOFFS check of one ``handoffs:`` entry."""
    handoff = parse_handoff(entry, location)
    needs = {WAREHOUSE} | ({CRM} if isinstance(handoff.destination, CrmDestination) else set())
    return [Check(DOD_ID, partial(check_handoff, handoff=handoff), location, param=handoff.id,
                  description=f"every {handoff.source_label} reaches {handoff.destination_label} "
                  f"within {format_duration(handoff.within_s)}", needs=frozenset(needs))]


# --- measuring ----------------------------------------------------------------------------------------------


def _rows(wh: Warehouse, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
    try:
        with wh.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(statement, dict(params)).fetchall()]
    except SQLAlchemyError as exc:
        raise wh.error("handoff query failed", exc) from exc
    except WarehouseError:
        raise
    except Exception as exc:  # a driver error SQLAlchemy did not wrap (duckdb raises some directly)
        raise wh.error("handoff query failed", exc) from exc


def _int(value: Any) -> int:
    return int(value or 0)


def measure(wh: Warehouse, handoff: Handoff, *, now: datetime, crm: Callable[[], CrmConnector] | None = None,
            cancelled: Callable[[], bool] = lambda: False) -> HandoffResult:
    """Count fired, received, late, missing and not-yet-due keys; name the missing and the slowest."""
    as_of = (handoff.as_of or now).timestamp()
    params = {"start": as_of - handoff.window_s, "as_of": as_of, "due_before": as_of - handoff.within_s,
              "within": handoff.within_s}
    queries = Arrivals(handoff.source, handoff.destination if isinstance(handoff.destination, WarehouseSide)
                       else None)
    null_keys = _int(_rows(wh, queries.null_keys(), params)[0][0])
    if isinstance(handoff.destination, CrmDestination):
        if crm is None:
            raise CheckError("the handoff's destination is the CRM, and this run has no CRM connector")
        keys = [(str(k), float(t)) for k, t in _rows(wh, queries.all_fired(MAX_CRM_KEYS + 1), params)]
        result = _measure_crm(crm(), handoff.destination, keys, params, cancelled)
        result.null_keys = null_keys
        return result
    (row,) = _rows(wh, queries.summary(), params)
    fired, received, late, missing, not_yet_due, duplicated, early_only = (_int(v) for v in row)
    result = HandoffResult(fired, received, late, missing, not_yet_due, duplicated, null_keys, early_only)
    if result.missing:
        result.missing_keys = [str(k) for k, *_ in _rows(wh, queries.missing(MAX_SAMPLE), params)]
    if result.received:
        result.slowest = [(str(k), float(t)) for k, t in _rows(wh, queries.slowest(EVIDENCE_SLOWEST), params)]
    if result.early_only:
        result.early_keys = [str(k) for (k,) in _rows(wh, queries.early_only(MAX_SAMPLE), params)]
    return result


def _measure_crm(connector: CrmConnector, dest: CrmDestination, fired: list[tuple[str, float]],
                 params: Mapping[str, float], cancelled: Callable[[], bool]) -> HandoffResult:
    if len(fired) > MAX_CRM_KEYS:
        raise CheckError(f"more than {MAX_CRM_KEYS} keys fired in the window; a CRM destination is searched "
                         f"{CRM_BATCH} keys at a time, so one check asks about at most {MAX_CRM_KEYS}: shorten "
                         f"`window:`")
    arrived: dict[str, float | None] = {}
    wanted = {k.casefold(): k for k, _ in fired}
    for start in range(0, len(fired), CRM_BATCH):
        if cancelled():
            raise CheckError("the run was interrupted while the CRM was searched")
        batch = tuple(k for k, _ in fired[start:start + CRM_BATCH])
        filters = [Filter(dest.key, "IN", values=batch)]
        if dest.has_owner:
            filters.append(Filter(OWNER_PROPERTY, "HAS_PROPERTY"))
        object_type = cast("ObjectType", dest.object)  # one of CRM_OBJECTS (parse_handoff checked)
        for record in connector.search(object_type, [filters], [dest.key, OWNER_PROPERTY, OWNER_ASSIGNED]):
            key = wanted.get(str(record.properties.get(dest.key) or "").casefold())
            if key is None:
                continue
            ms = to_epoch_ms(record.owner_assigned_at or record.created_at)
            at = None if ms is None else ms / 1000
            previous = arrived.get(key)
            arrived[key] = at if previous is None or (at is not None and at < previous) else previous
    result = HandoffResult(fired=len(fired))
    took: list[tuple[str, float]] = []
    missing: list[tuple[float, str]] = []
    for key, when in fired:
        if key in arrived:
            result.received += 1
            at = arrived[key]
            seconds = max(0.0, at - when) if at is not None else 0.0  # an owner set before the firing: at once
            took.append((key, seconds))
            result.late += seconds > params["within"]
        elif when <= params["due_before"]:
            missing.append((when, key))
        else:
            result.not_yet_due += 1
    result.slowest = sorted(took, key=lambda kt: (-kt[1], kt[0]))[:EVIDENCE_SLOWEST]
    result.missing = len(missing)
    result.missing_keys = [key for _, key in sorted(missing)[:MAX_SAMPLE]]  # oldest firing first, as in SQL
    return result


# --- the verdict --------------------------------------------------------------------------------------------


def took_text(seconds: float) -> str:
    """``3h12m``, ``5m``, ``42s``: how long an arrival took, to the second."""
    whole = int(round(seconds))
    parts = [(whole // 86400, "d"), (whole % 86400 // 3600, "h"), (whole % 3600 // 60, "m"), (whole % 60, "s")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    return text or "0s"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(handoff: Handoff, r: HandoffResult) -> str:
    """``lead.created fired 120, sales.queue.received received 108; 12 leads missing: L0007, ...``."""
    sla = format_duration(handoff.within_s)
    parts = [f"{handoff.source_label} fired {r.fired}, {handoff.destination_label} received {r.received}"]
    if r.missing:
        shown = ", ".join(r.missing_keys[:SHOWN_KEYS])
        more = f" (and {r.missing - SHOWN_KEYS} more)" if r.missing > SHOWN_KEYS else ""
        parts.append(f"{_plural(r.missing, handoff.noun)} missing: {shown}{more}")
    if r.late:
        parts.append(f"{r.late} arrived later than the {sla} SLA")
    if r.slowest:
        (key, took), rest = r.slowest[0], r.slowest[1:SHOWN_SLOWEST]
        then = f" (then {', '.join(f'{k} {took_text(t)}' for k, t in rest)})" if rest else ""
        parts.append(f"slowest: {key} took {took_text(took)}, SLA {sla}{then}")
    if r.not_yet_due:
        parts.append(f"{r.not_yet_due} not yet due")
    if r.null_keys:
        parts.append(f"{_plural(r.null_keys, handoff.source_label + ' row')} without a key cannot be traced")
    if r.early_only:
        they = "it" if r.early_only == 1 else "they"
        parts.append(f"{r.early_only} received only before {they} fired (counted missing): "
                     f"{', '.join(r.early_keys[:SHOWN_KEYS])}")
    if r.duplicated:
        parts.append(f"{r.duplicated} received more than once (counted once)")
    return "; ".join(parts)


def _details(handoff: Handoff, r: HandoffResult, as_of: datetime) -> dict[str, Any]:
    return {
        "fired": r.fired, "received": r.received, "late": r.late, "missing": r.missing,
        "not_yet_due": r.not_yet_due, "null_keys": r.null_keys, "duplicated": r.duplicated,
        "received_before_firing": r.early_keys, "missing_keys": r.missing_keys,
        "missing_keys_complete": len(r.missing_keys) == r.missing,
        "slowest": [{"key": k, "seconds": round(t, 3), "took": took_text(t)} for k, t in r.slowest],
        "sla_seconds": handoff.within_s, "window_seconds": handoff.window_s,
        "as_of": as_of.isoformat(), "as_of_declared": handoff.as_of is not None,
    }


def check_handoff(ctx: RunContext, handoff: Handoff) -> Evidence:
    """Run one handoff check against the environment's warehouse (and CRM)."""
    wh = ctx.cache.get(WAREHOUSE_CACHE)
    if wh is None:
        try:
            wh = ctx.cache.setdefault(WAREHOUSE_CACHE, Warehouse.for_environment(ctx.environment))
        except (ConfigError, SpecError) as exc:  # no warehouse, or a sandbox scenario's `warehouse:` unusable
            raise CheckError(str(exc)) from None
    now = datetime.now(UTC)
    result = measure(wh, handoff, now=now, crm=ctx.crm, cancelled=ctx.cancelled.is_set)
    text = describe(handoff, result)
    evidence = Evidence(text, _details(handoff, result, handoff.as_of or now))
    if result.ok:
        return evidence
    raise CheckFailed(
        text,
        expected=f"every {handoff.source_label} reaches {handoff.destination_label} "
                 f"within {format_duration(handoff.within_s)}",
        received=_received_text(result),
        evidence=evidence,
    )


def _received_text(r: HandoffResult) -> str:
    """The received side of a failure, in one line."""
    return f"{r.received} of {r.fired} received ({r.late} late), {r.missing} missing, {r.not_yet_due} not yet due"
