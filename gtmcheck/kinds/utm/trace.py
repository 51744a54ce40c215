"""A synthetic form submission, traced: form -> CRM contact -> warehouse row, each read back within its lag.

Shared by the utm kind (one submission per channel: UTM-CRM-POPULATES, UTM-CHANNEL-TRACE) and the crm kind's
mappings (CRM-FIELDS-MAPPED: a marker value per mapped field). A probe's contact is created first through the
CRM API, tagged with the run id and on a reserved address (``synthetic.py``) and put in the run's ledger, so it
is archived after the run whatever happens next (a failed check, Ctrl-C); the form submission then lands on
it by email, as HubSpot merges a submission into the contact of that address. The contact is read back by id
(search lags) until every expected property holds its value or the CRM lag is over; the warehouse row, by
its key column, until the warehouse lag is over. Polling stops early once some expected value is there: a
submission lands on the contact at once, as a synced row reaches the warehouse, so one value that is there
while another is missing means the missing one is not coming (no full lag waited for a broken mapping). A
miss names the probe (channel or field), the contact id, and each property or column that is wrong or empty.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ...connectors.crm import Record
from ...connectors.warehouse import Warehouse
from ...connectors.warehouse_queries import check_identifier
from ...durations import format_duration
from ...errors import CheckError, ConfigError, ConnectorError, DuplicateRecord, SpecError, WarehouseError
from ...synthetic import synthetic_email, tagged

if TYPE_CHECKING:
    from ...context import RunContext

POLL_S = 0.25
MAX_POLL_S = 5.0
WAREHOUSE_CACHE = "formtrace.warehouse"


@runtime_checkable
class FormsApi(Protocol):
    """A CRM connector that can submit a form as a visitor would (HubSpot's Forms API)."""

    def submit_form(self, portal_id: str, form_guid: str, fields: Mapping[str, str],
                    context: Mapping[str, str]) -> str:
        """Submit; the CRM's inline message."""


@dataclass(frozen=True)
class FormTarget:
    """Which form a probe is submitted to."""

    portal_id: str
    guid: str


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the CRM's contacts land in the warehouse: the table and the column holding the email."""

    table: str = "contacts"
    key: str = "email"


@dataclass(frozen=True)
class Probe:
    """One synthetic submission: its page URL, its form fields, and what must come out of it."""

    label: str  # the channel, or the mapped field: named in every miss
    page_url: str
    fields: Mapping[str, str]
    crm: Mapping[str, str]  # contact property -> expected value
    warehouse: Mapping[str, str]  # column -> expected value


@dataclass
class Sent:
    """A probe that went out: its contact, and when (on the run's clock)."""

    probe: Probe
    email: str
    contact_id: str
    at: float


@dataclass
class Readback:
    """What was read back: the last values seen and which of them miss."""

    values: dict[str, str | None] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # "utm_campaign is empty (expected 'x')"
    waited_s: float = 0.0


def misses_of(expected: Mapping[str, str], seen: Mapping[str, Any], where: str) -> list[str]:
    """Each expected name whose value is empty or different, said as a user reads it."""
    out = []
    for name, want in expected.items():
        got = seen.get(name)
        text = None if got is None else str(got)
        if text is None or text == "":
            out.append(f"{name} is empty in the {where} (expected {want!r})")
        elif text != want:
            out.append(f"{name} is {text!r} in the {where} (expected {want!r})")
    return out


def _settled(misses: list[str], expected: Mapping[str, str]) -> bool:
    """All there, or some: a submission (and a synced row) lands whole, so what is missing then never comes."""
    return len(misses) < len(expected) or not expected


def _forms_api(ctx: RunContext) -> FormsApi:
    crm = ctx.crm()
    if not isinstance(crm, FormsApi):
        raise CheckError(f"the {crm.vendor} connector cannot submit forms (HubSpot's Forms API); trace this item "
                         "by hand under `manual:` for this CRM")
    return crm


def send(ctx: RunContext, form: FormTarget, probe: Probe) -> Sent:
    """Create the probe's tagged contact, then submit the form for its address."""
    crm = ctx.crm()
    forms = _forms_api(ctx)
    email = synthetic_email(ctx.run_id, f"trace-{probe.label}")
    props = tagged({"email": email, "firstname": "gtmcheck", "lastname": f"trace {probe.label}"}, ctx.run_id)
    ctx.ledger.touch("contacts", ctx.clock())
    try:
        record = crm.create("contacts", props)
    except DuplicateRecord as exc:  # our first attempt was written but its answer lost: the address is ours
        if exc.existing_id is None:
            raise
        record = crm.get("contacts", exc.existing_id, ["email"])
    ctx.ledger.add("contacts", record.id, ctx.clock())
    at = ctx.clock()
    forms.submit_form(form.portal_id, form.guid, {"email": email, **probe.fields},
                      {"pageUri": probe.page_url, "pageName": f"gtmcheck trace {probe.label}"})
    return Sent(probe, email, record.id, at)


def _wait(ctx: RunContext, delay: float, deadline: float) -> None:
    if ctx.cancelled.is_set():
        raise CheckError("the run was interrupted")
    ctx.sleep(max(0.0, min(delay, deadline - ctx.clock())))


def read_crm(ctx: RunContext, sent: Sent, lag_s: float) -> Readback:
    """Poll the contact by id until every expected property holds its value, or ``lag_s`` after the submission."""
    crm = ctx.crm()
    deadline = sent.at + lag_s
    beat = ctx.heartbeat()
    delay = POLL_S
    while True:
        record: Record = crm.get("contacts", sent.contact_id, list(sent.probe.crm))
        result = Readback(dict(record.properties), misses_of(sent.probe.crm, record.properties, "CRM"),
                          max(0.0, ctx.clock() - sent.at))
        if _settled(result.misses, sent.probe.crm) or ctx.clock() >= deadline:
            return result
        beat(lambda: f"{sent.probe.label}: waiting for contact {sent.contact_id} in the CRM "
                     f"({format_duration(max(0.0, deadline - ctx.clock()))} left)")
        _wait(ctx, delay, deadline)
        delay = min(delay * 1.5, MAX_POLL_S)


def warehouse_of(ctx: RunContext) -> Warehouse:
    """The environment's warehouse, opened once per run."""
    wh = ctx.cache.get(WAREHOUSE_CACHE)
    if wh is None:
        try:
            wh = ctx.cache.setdefault(WAREHOUSE_CACHE, Warehouse.for_environment(ctx.environment))
        except (ConfigError, SpecError, WarehouseError) as exc:
            raise CheckError(str(exc)) from None
    assert isinstance(wh, Warehouse)
    return wh


def read_warehouse(ctx: RunContext, sent: Sent, target: WarehouseTarget, lag_s: float) -> Readback:
    """Poll the contact's row (by its email) until every expected column holds its value, or the lag is over."""
    if _sandbox_without_sync(ctx):  # no waiting out the lag for rows that can never come
        return Readback({}, [f"the sandbox scenario has no `sync:`, so no contact ever reaches {target.table}"])
    wh = warehouse_of(ctx)
    columns = list(sent.probe.warehouse)
    try:
        key = ".".join(check_identifier(target.key, "column"))
    except WarehouseError as exc:
        raise CheckError(str(exc)) from None
    deadline = sent.at + lag_s
    beat = ctx.heartbeat()
    delay = POLL_S
    while True:
        try:
            rows = wh.rows(target.table, columns, where=f"{key} = :email", params={"email": sent.email}, limit=1)
        except WarehouseError as exc:
            raise CheckError(str(exc)) from None
        seen = dict(zip(columns, rows[0], strict=True)) if rows else {}
        misses = misses_of(sent.probe.warehouse, seen, f"warehouse ({target.table})") if rows else [
            f"no row in {target.table} has {target.key} {sent.email!r}"]
        result = Readback({k: None if v is None else str(v) for k, v in seen.items()}, misses,
                          max(0.0, ctx.clock() - sent.at))
        if (rows and _settled(misses, sent.probe.warehouse)) or ctx.clock() >= deadline:
            return result
        beat(lambda: f"{sent.probe.label}: waiting for contact {sent.contact_id} in the warehouse "
                     f"({format_duration(max(0.0, deadline - ctx.clock()))} left)")
        _wait(ctx, delay, deadline)
        delay = min(delay * 1.5, MAX_POLL_S)


def _sandbox_without_sync(ctx: RunContext) -> bool:
    """A sandbox environment reading its scenario's own warehouse, whose scenario syncs no contacts into it."""
    env = ctx.environment
    scenario = env.sandbox_scenario()
    if scenario is None or env.warehouse is not None or not scenario.is_file():
        return False
    from ...sandbox import sandbox_app

    return sandbox_app(scenario).scenario.sync is None


def sent_once(ctx: RunContext, key: str, form: FormTarget, probes: list[Probe]) -> dict[str, Sent]:
    """Every probe sent once per run (the first check that needs them sends them all, so their lags overlap)."""
    lock = ctx.cache.setdefault("formtrace.lock", threading.Lock())
    with lock:
        done = ctx.cache.get(key)
        if isinstance(done, dict):
            return done
        ctx.require_writes("tracing a form submission creates a synthetic contact")
        out: dict[str, Sent] = {}
        try:
            for probe in probes:
                out[probe.label] = send(ctx, form, probe)
        except ConnectorError as exc:
            raise CheckError(f"could not send the synthetic submission: {exc}") from None
        ctx.cache[key] = out
        return out
