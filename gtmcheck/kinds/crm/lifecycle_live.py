"""The live CRM-LIFECYCLE-QA checks: a synthetic contact per trigger, and the audit of real records' history.

**Transition** (writes: true): a synthetic contact (the run's tag, a reserved address; archived at the end of
the run) is created in the transition's ``from`` stage, then given the trigger's value at its boundary
(``gte 50``: 50); its stage is read back by id (GET, not search: search lags) on the run's clock until it is
the ``to`` stage or ``within`` has passed. The move's latency is the CRM's own (the stage's history against
the trigger write's ``updatedAt``) where it says, so our backoff never decides the verdict. A miss names the
transition, the contact id and the stage it has.

**Audit** (read-only): the records of the lifecycle's object with a stage, changed within ``audit.window``
(search on ``lastmodifieddate``), at most ``audit.max_records`` of them (10,000 at most), have their stage
history read (HubSpot: 50 per batch read; every request through the connector's rate limiter). Each move
between two successive stages inside the window is judged by the machine; a move it does not allow is
counted per (from, to) with the record ids. Synthetic records (a gtmcheck run tag) are left out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ...connectors.crm import Filter, HistoryEntry, ObjectType, Record, to_epoch_ms
from ...durations import format_duration
from ...errors import CheckError, CheckFailed, ConnectorError, Evidence
from ...synthetic import TAG_PROPERTY, is_run_id, synthetic_email, tagged

if TYPE_CHECKING:
    from ...connectors.crm import CrmConnector
    from ...context import RunContext
    from .lifecycle import Lifecycle, Transition

FIRST_POLL_S = 0.2
MAX_POLL_S = 5.0
SHOWN_IDS = 10  # record ids named per move in the message; the evidence keeps up to EVIDENCE_IDS
EVIDENCE_IDS = 1000


def _object(machine: Lifecycle, crm: CrmConnector) -> ObjectType:
    if machine.object == "leads":
        if crm.vendor == "hubspot":
            raise CheckError("HubSpot keeps lifecycle stages on contacts: set `lifecycle.object: contacts` "
                             "(`leads` is for Salesforce Leads)")
        return "leads"
    return "contacts"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


# --- a synthetic contact per triggered transition ----------------------------------------------------------


def _create(ctx: RunContext, machine: Lifecycle, transition: Transition, object_type: ObjectType) -> Record:
    seq = next(ctx.cache.setdefault("lifecycle_seq", itertools.count(1)))  # unique across the run
    worker = f"{ctx.worker}-" if ctx.worker else ""  # xdist workers share the run id
    props = {"email": synthetic_email(ctx.run_id, f"lifecycle-{transition.name}-{worker}{seq}"),
             "firstname": "gtmcheck", "lastname": f"lifecycle {transition.source} to {transition.target}",
             machine.property: transition.source}
    if object_type == "leads":
        props["company"] = "gtmcheck synthetic lead"
    crm = ctx.crm()
    ctx.ledger.touch(object_type, ctx.clock())
    try:
        record = crm.create(object_type, tagged(props, ctx.run_id), auto_assign=False)
    except ConnectorError as exc:
        raise CheckError(f"the CRM did not take the synthetic contact for {transition.source} -> "
                         f"{transition.target}: {exc}") from exc
    ctx.ledger.add(object_type, record.id, ctx.clock())
    return record


def check_transition(machine: Lifecycle, transition: Transition, ctx: RunContext) -> Evidence:
    """A synthetic contact meets the trigger and must reach the ``to`` stage within ``within``."""
    ctx.require_writes("CRM-LIFECYCLE-QA creates a synthetic contact per triggered transition")
    trigger, within_s = transition.trigger, transition.within_s
    assert trigger is not None and within_s is not None
    crm = ctx.crm()
    object_type = _object(machine, crm)
    record = _create(ctx, machine, transition, object_type)
    value = trigger.meeting_value()
    try:
        triggered_ms = to_epoch_ms(crm.update(object_type, record.id, {trigger.property: value}).updated_at)
    except ConnectorError as exc:
        raise CheckError(f"could not set {trigger.property} = {value} on contact {record.id}: {exc}") from exc
    started = ctx.clock()
    deadline = started + within_s
    interval = FIRST_POLL_S
    beat = ctx.heartbeat()
    stage = record.properties.get(machine.property)
    contact_id = record.id

    def waiting() -> str:
        return (f"contact {contact_id} waiting for {transition.target}, "
                f"{_seconds(ctx.clock() - started)} of {format_duration(within_s)} passed")

    try:
        while True:
            record = crm.get(object_type, record.id, [machine.property])
            stage = record.properties.get(machine.property)
            now = ctx.clock()
            if stage == transition.target or now >= deadline:
                break
            if ctx.cancelled.is_set():
                raise CheckError(f"the run was interrupted while contact {record.id} waited for "
                                 f"{transition.target}")
            beat(waiting)
            ctx.sleep(min(interval, max(deadline - now, 0.001)))
            interval = min(interval * 1.5, MAX_POLL_S)
    except ConnectorError as exc:
        raise CheckError(f"could not read the stage of contact {record.id}: {exc}") from exc
    waited = ctx.clock() - started
    within = format_duration(within_s)
    details = {"transition": transition.name, "record": record.id, "trigger": trigger.describe(),
               "value_set": value, "stage": stage, "waited_s": round(waited, 3)}
    if stage == transition.target:
        latency = crm_latency(crm, object_type, record.id, machine.property, transition.target, triggered_ms)
        clock = "by the CRM's clock" if latency is not None else "as polled"
        latency = waited if latency is None else latency
        details["latency_s"] = round(latency, 3)
        moved = (f"contact {record.id} moved {transition.source} -> {transition.target} {_seconds(latency)} after "
                 f"{trigger.property} was set to {value} ({clock}")
        if latency > within_s:
            raise CheckFailed(f"transition {transition.source} -> {transition.target} fired late: {moved}; expected "
                              f"within {within})",
                              expected=f"{machine.property} {transition.target} within {within}",
                              received=f"{transition.target} after {_seconds(latency)} (contact {record.id})",
                              evidence=Evidence(f"contact {record.id} moved late", details))
        return Evidence(f"{moved}; within {within})", details)
    has = f"has {machine.property} {stage!r}" if stage else f"has no {machine.property}"
    raise CheckFailed(
        f"transition {transition.source} -> {transition.target} did not fire: contact {record.id} was given "
        f"{trigger.property} = {value} ({trigger.describe()}) and still {has} after {_seconds(waited)} "
        f"(expected {transition.target} within {within})",
        expected=f"{machine.property} {transition.target} within {within}",
        received=f"{machine.property} {stage or '(empty)'} after {_seconds(waited)} (contact {record.id})",
        evidence=Evidence(f"contact {record.id} {has}", details))


def crm_latency(crm: CrmConnector, object_type: ObjectType, record_id: str, prop: str, target: str,
                triggered_ms: int | None) -> float | None:
    """Seconds from the trigger's write to the stage change, by the CRM's own clock (``None``: it does not say).

    Our reads may be late (a 429's backoff, a slow network): judged by when we saw the stage, a late move
    could pass and a timely one fail.
    """
    if triggered_ms is None:
        return None
    try:
        entries = crm.history(object_type, [record_id], prop).get(record_id, [])
    except ConnectorError:
        return None
    moved = next((to_epoch_ms(e.timestamp) for e in entries if e.value == target), None)
    if moved is None or moved < triggered_ms:
        return None
    return (moved - triggered_ms) / 1000


# --- the audit of real records' history --------------------------------------------------------------------


@dataclass
class AuditResult:
    """What the stage histories showed: moves judged, and the disallowed ones by (from, to)."""

    records: int = 0
    truncated: bool = False
    moves: int = 0
    bad: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)  # -> (why, record ids)

    @property
    def bad_moves(self) -> int:
        return sum(len(ids) for _why, ids in self.bad.values())


def moves_in(entries: list[HistoryEntry], since_ms: int) -> list[tuple[str, str]]:
    """The stage moves of one history (newest first) that happened at or after ``since_ms``, oldest first.

    A cleared value is not a stage: ``customer, (cleared), lead`` is one move, customer -> lead.
    """
    moves = []
    previous: str | None = None
    for entry in reversed(entries):
        if not entry.value:
            continue
        at = to_epoch_ms(entry.timestamp)
        if previous is not None and previous != entry.value and at is not None and at >= since_ms:
            moves.append((previous, entry.value))
        previous = entry.value
    return moves


def audit(machine: Lifecycle, crm: CrmConnector, now: datetime) -> AuditResult:
    """Read and judge the stage histories of the records changed in the window."""
    assert machine.window_s is not None
    object_type = _object(machine, crm)
    since_ms = int(now.timestamp() * 1000 - machine.window_s * 1000)
    wanted = [machine.property] + ([TAG_PROPERTY] if crm.vendor != "salesforce" else [])
    found = crm.search(object_type, [[Filter(machine.property, "HAS_PROPERTY"),
                                      Filter("lastmodifieddate", "GTE", str(since_ms))]], wanted)
    result = AuditResult()
    ids: list[str] = []
    for record in found:
        if is_run_id(record.properties.get(TAG_PROPERTY)):
            continue  # a synthetic contact: its moves are the transition checks' business
        if len(ids) == machine.max_records:
            result.truncated = True
            break
        ids.append(record.id)
    result.records = len(ids)
    histories = crm.history(object_type, ids, machine.property) if ids else {}
    for record_id in ids:
        for old, new in moves_in(histories.get(record_id, []), since_ms):
            result.moves += 1
            why = machine.why_not(old, new)
            if why is not None:
                result.bad.setdefault((old, new), (why, []))[1].append(record_id)
    return result


def check_audit(machine: Lifecycle, ctx: RunContext) -> Evidence:
    """Every stage change of the window's records is a move the machine allows."""
    assert machine.window_s is not None
    try:
        result = audit(machine, ctx.crm(), datetime.now(UTC))
    except ConnectorError as exc:
        raise CheckError(f"could not read the {machine.property} history: {exc}") from exc
    window = format_duration(machine.window_s)
    noun = "contacts" if machine.object == "contacts" else "leads"
    read = f"{result.records} {noun} changed in the last {window}"
    if result.truncated:
        read += f" (the first {machine.max_records} read; audit.max_records raises it, up to 10000)"
    details = {"records_read": result.records, "truncated": result.truncated, "moves": result.moves,
               "disallowed": [{"from": old, "to": new, "why": why, "count": len(ids), "records": ids[:EVIDENCE_IDS]}
                              for (old, new), (why, ids) in sorted(result.bad.items())]}
    if not result.bad:
        return Evidence(f"{result.moves} {machine.property} moves of {read}: every one allowed", details)
    parts = []
    for (old, new), (why, ids) in sorted(result.bad.items(), key=lambda kv: (-len(kv[1][1]), kv[0])):
        shown = ", ".join(ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
        parts.append(f"{old} -> {new} x{len(ids)} ({why}): {noun} {shown}")
    raise CheckFailed(
        f"{result.bad_moves} of {result.moves} {machine.property} moves the lifecycle does not allow, in {read}: "
        + "; ".join(parts),
        expected="only the moves the lifecycle allows",
        received=f"{result.bad_moves} disallowed moves in {len(result.bad)} kinds",
        evidence=Evidence(f"{result.bad_moves} disallowed {machine.property} moves", details))
