"""RECONCILE-HANDOFFS: each semantic on DuckDB and on a real PostgreSQL (``GTMCHECK_TEST_POSTGRES_URL``).

Every test writes its own events table, runs the check as a run would (``handoff_checks(...)[0].run(ctx)``)
and reads what a user reads: the message, the verdict and the evidence.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, insert

from gtmcheck.connectors import crm_for
from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckFailed, Evidence, Location, SpecError
from gtmcheck.kinds.base import CRM, WAREHOUSE
from gtmcheck.kinds.reconcile.handoffs import DOD_ID, WAREHOUSE_CACHE, handoff_checks
from gtmcheck.project import Environment, Project
from gtmcheck.sandbox import hubspot_transport

POSTGRES_ENV = "GTMCHECK_TEST_POSTGRES_URL"
AS_OF = datetime(2026, 11, 14)
HERE = Location("checks/reconcile.gtm.yml", 12, 5)


class Events:
    """One events table of one test, in the warehouse under test."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.name = f"events_{uuid.uuid4().hex[:10]}"
        self.table = Table(self.name, MetaData(), Column("lead_id", String(20), nullable=True),
                           Column("event", String(40)), Column("occurred_at", DateTime))
        self.table.create(wh.engine)

    def add(self, *rows: tuple[str | None, str, datetime]) -> None:
        with self.wh.engine.begin() as conn:
            conn.execute(insert(self.table), [{"lead_id": k, "event": e, "occurred_at": t} for k, e, t in rows])

    def entry(self, **extra: Any) -> dict[str, Any]:
        side = {"table": self.name, "key": "lead_id", "at": "occurred_at"}
        return {"id": "lead-to-sales",
                "source": {"warehouse": {**side, "where": "event = 'lead.created'"}},
                "destination": {"warehouse": {**side, "where": "event = 'sales.queue.received'"}},
                "within": "5m", "window": "30d", "as_of": "2026-11-14T00:00:00Z", **extra}


@pytest.fixture(params=["duckdb", "postgresql", "sqlite"])
def wh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param in ("duckdb", "sqlite"):
        url = f"{request.param}:///{tmp_path / 'w.db'}"
    else:
        url = os.environ.get(POSTGRES_ENV) or ""
        if not url:
            pytest.skip(f"set {POSTGRES_ENV} to run the PostgreSQL cases")
    warehouse = Warehouse(url)
    tables_before = set(warehouse.tables())
    yield warehouse
    with warehouse.engine.begin() as conn:  # a shared PostgreSQL keeps nothing of ours
        for name in set(warehouse.tables()) - tables_before:
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
    warehouse.close()


@pytest.fixture
def events(wh: Warehouse) -> Events:
    return Events(wh)


def context(wh: Warehouse, tmp_path: Path, crm: dict[str, Any] | None = None) -> RunContext:
    env = Environment(name="test", root=tmp_path, crm=crm or {}, warehouse={"url": "unused://"})
    ctx = RunContext(project=Project(root=tmp_path, doc=None, default_environment="test", check_paths=[]),
                     environment=env)
    ctx.cache[WAREHOUSE_CACHE] = wh  # the run's warehouse
    return ctx


def run(entry: dict[str, Any], wh: Warehouse, tmp_path: Path, **kw: Any) -> Evidence:
    (check,) = handoff_checks(entry, HERE)
    return check.run(context(wh, tmp_path, **kw))


def fail(entry: dict[str, Any], wh: Warehouse, tmp_path: Path, **kw: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as failed:
        run(entry, wh, tmp_path, **kw)
    return failed.value


def at(minutes_before_as_of: float) -> datetime:
    return AS_OF - timedelta(minutes=minutes_before_as_of)


DAY = 24 * 60


def test_the_check_is_one_item_per_handoff_that_needs_the_warehouse() -> None:
    (check,) = handoff_checks({
        "id": "lead-to-sales", "within": "5m",
        "source": {"warehouse": {"table": "events", "key": "lead_id", "at": "occurred_at"}},
        "destination": {"crm": {"object": "contacts", "key": "email"}}}, HERE)
    assert check.name == f"{DOD_ID}[lead-to-sales]" and check.location == HERE
    assert check.needs == {WAREHOUSE, CRM}


def test_dropped_keys_are_counted_and_named(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    for i in range(1, 6):
        events.add((f"L000{i}", "lead.created", at(DAY + i)))
    for i in (1, 3, 5):
        events.add((f"L000{i}", "sales.queue.received", at(DAY + i - 0.5)))
    failed = fail(events.entry(), wh, tmp_path)
    assert failed.message.startswith(
        "lead.created fired 5, sales.queue.received received 3; 2 leads missing: L0004, L0002;")
    details = failed.evidence.details
    assert details["missing_keys"] == ["L0004", "L0002"]  # oldest firing first
    assert details["missing"] == 2 and details["late"] == 0 and details["missing_keys_complete"] is True
    assert json.dumps(details)  # the report can keep it


def test_all_received_within_the_sla_passes(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "lead.created", at(60)), ("L1", "sales.queue.received", at(59)),
               ("L2", "lead.created", at(90)), ("L2", "sales.queue.received", at(87)))
    evidence = run(events.entry(), wh, tmp_path)
    assert evidence.summary == ("lead.created fired 2, sales.queue.received received 2; "
                                "slowest: L2 took 3m, SLA 5m (then L1 1m)")


def test_a_late_arrival_is_a_breach_not_a_drop(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    """Late means received: it is in ``received``, not among the missing, and it fails the SLA."""
    events.add(("L0042", "lead.created", at(DAY)), ("L0042", "sales.queue.received", at(DAY - 192)),
               ("L0043", "lead.created", at(DAY)), ("L0043", "sales.queue.received", at(DAY - 1)))
    failed = fail(events.entry(), wh, tmp_path)
    assert failed.message == ("lead.created fired 2, sales.queue.received received 2; 1 arrived later than the "
                              "5m SLA; slowest: L0042 took 3h12m, SLA 5m (then L0043 1m)")
    assert failed.evidence.details["missing"] == 0 and failed.evidence.details["late"] == 1


def test_keys_younger_than_the_sla_are_not_yet_due(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "lead.created", at(DAY)), ("L1", "sales.queue.received", at(DAY - 1)),
               ("L2", "lead.created", at(2)))  # fired 2 minutes before as_of: 3 more minutes to arrive
    evidence = run(events.entry(), wh, tmp_path)
    assert "; 1 not yet due" in evidence.summary and "missing" not in evidence.summary
    # the same data seen 10 minutes later: now it is overdue, a drop
    failed = fail(events.entry(as_of="2026-11-14T00:10:00Z"), wh, tmp_path)
    assert "1 lead missing: L2" in failed.message and "not yet due" not in failed.message


def test_without_as_of_the_sla_counts_from_now(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    fresh = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    events.add(("L1", "lead.created", fresh), ("L2", "lead.created", fresh - timedelta(hours=2)))
    entry = events.entry()
    del entry["as_of"]
    failed = fail(entry, wh, tmp_path)
    assert "1 lead missing: L2" in failed.message and "1 not yet due" in failed.message
    assert failed.evidence.details["as_of_declared"] is False


def test_duplicate_receipts_and_firings_count_once(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "lead.created", at(DAY)), ("L1", "lead.created", at(DAY - 30)),  # fired twice: first counts
               ("L1", "sales.queue.received", at(DAY - 2)), ("L1", "sales.queue.received", at(DAY - 3)),
               ("L1", "sales.queue.received", at(DAY - 31)))
    evidence = run(events.entry(), wh, tmp_path)
    assert evidence.summary.startswith("lead.created fired 1, sales.queue.received received 1; slowest: L1 took 2m")
    assert "1 received more than once (counted once)" in evidence.summary


def test_a_receipt_before_the_firing_does_not_count(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "sales.queue.received", at(DAY + 1)), ("L1", "lead.created", at(DAY)),
               ("L2", "lead.created", at(DAY)), ("L2", "sales.queue.received", at(DAY - 1)))
    failed = fail(events.entry(), wh, tmp_path)
    assert failed.message.startswith("lead.created fired 2, sales.queue.received received 1; 1 lead missing: L1;")
    assert "1 received only before it fired (counted missing): L1" in failed.message
    assert failed.evidence.details["received_before_firing"] == ["L1"]


def test_null_keys_cannot_be_traced_and_fail(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "lead.created", at(DAY)), ("L1", "sales.queue.received", at(DAY - 1)),
               (None, "lead.created", at(DAY)), (None, "lead.created", at(DAY)),
               (None, "sales.queue.received", at(DAY - 1)))  # a NULL receipt matches nothing either
    failed = fail(events.entry(), wh, tmp_path)
    assert failed.message.startswith("lead.created fired 1, sales.queue.received received 1;")
    assert "2 lead.created rows without a key cannot be traced" in failed.message
    assert failed.evidence.details["null_keys"] == 2 and failed.evidence.details["missing"] == 0


def test_the_window_and_as_of_bound_what_is_counted(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("OLD", "lead.created", at(31 * DAY)),  # before the 30-day window: not counted
               ("FUTURE", "lead.created", at(-60)),  # after as_of: had not happened yet
               ("L1", "lead.created", at(DAY)),
               ("L1", "sales.queue.received", at(-1)))  # received after as_of: not yet received then
    failed = fail(events.entry(), wh, tmp_path)
    assert failed.message == "lead.created fired 1, sales.queue.received received 0; 1 lead missing: L1"


def test_a_sql_side(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(("L1", "lead.created", at(DAY)), ("L2", "lead.created", at(DAY)),
               ("L1", "sales.queue.received", at(DAY - 1)))
    entry = events.entry()
    entry["destination"] = {"warehouse": {"sql": f"SELECT lead_id AS key, occurred_at AS at FROM {events.name} "
                                                 "WHERE event = 'sales.queue.received'"}}
    failed = fail(entry, wh, tmp_path)
    assert failed.message == ("lead.created fired 2, destination received 1; 1 lead missing: L2; "
                              "slowest: L1 took 1m, SLA 5m")


def test_many_missing_keys_are_sampled_in_the_message_and_kept_in_the_evidence(
        events: Events, wh: Warehouse, tmp_path: Path) -> None:
    events.add(*[(f"L{i:04d}", "lead.created", at(DAY + i)) for i in range(30)])
    failed = fail(events.entry(), wh, tmp_path)
    assert "30 leads missing: L0029, L0028," in failed.message and "(and 10 more)" in failed.message
    assert len(failed.evidence.details["missing_keys"]) == 30


# --- a CRM destination ----------------------------------------------------------------------------------------


class Counting(httpx.BaseTransport):
    """The sandbox's transport, remembering each search's IN values."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.searches: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/search"):
            body = json.loads(request.content)
            values = [f.get("values") for g in body["filterGroups"] for f in g["filters"] if f["operator"] == "IN"]
            self.searches.append(len(values[0]))
        return self.inner.handle_request(request)


def test_a_crm_destination_is_searched_in_batches_of_100(events: Events, wh: Warehouse, tmp_path: Path) -> None:
    """250 leads fired; the CRM holds 240 of them, 3 without an owner: 10 + 3 missing, in 3 searches."""
    owner = "anna@acme.example"

    def row(i: int) -> str:  # owned a minute after the lead fired, by HubSpot's owner-assigned date
        assigned = "" if i < 3 else f"{owner},{(at(DAY + i) + timedelta(minutes=1)).isoformat()}Z"
        return f"p{i},lead{i}@example.com,{assigned or ','}"

    lines = ["id,email,owner_email,hubspot_owner_assigneddate"] + [row(i) for i in range(240)]
    (tmp_path / "contacts.csv").write_text("\n".join(lines) + "\n")
    scenario = tmp_path / "crm.yml"
    scenario.write_text(f"owners:\n  - {{email: {owner}, first_name: Anna}}\nrecords: {{contacts: contacts.csv}}\n")
    events.add(*[(f"lead{i}@example.com", "lead.created", at(DAY + i)) for i in range(250)])
    entry = events.entry(destination={"crm": {"object": "contacts", "key": "email", "has_owner": True}})
    counting = Counting(hubspot_transport(scenario))
    ctx = context(wh, tmp_path)
    ctx.crm_connector = crm_for(Environment(name="t", root=tmp_path, crm={"type": "sandbox"}), transport=counting)
    (check,) = handoff_checks(entry, HERE)
    with pytest.raises(CheckFailed) as failed:
        check.run(ctx)
    assert failed.value.message.startswith("lead.created fired 250, contacts with an owner received 237; "
                                           "13 leads missing: lead249@example.com, lead248@example.com,")
    assert "example.com took 1m, SLA 5m" in failed.value.message  # timed by the owner-assigned date
    unowned_or_absent = [*range(3), *range(240, 250)]
    assert set(failed.value.evidence.details["missing_keys"]) == {f"lead{i}@example.com" for i in unowned_or_absent}
    assert counting.searches == [100, 100, 50]


# --- bad entries ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "problem"), [
    ({"within": "5 minutes"}, "'5 minutes' is not a duration. Fix: write a duration such as 30s, 5m or 1h"),
    ({"window": "90d"}, "'90d' is longer than 30d"),
    ({"as_of": "last tuesday"}, "as_of 'last tuesday' is not a date or date-time. Fix: write an ISO date-time"),
    ({"destination": {"queue": {}}}, "a handoff's destination is a warehouse table or CRM records"),
    ({"source": {"warehouse": {"table": "events"}}}, "the handoff's source warehouse side needs key, at"),
    ({"within": None}, "a handoff needs `within:`, its SLA. Fix: write within: 5m"),
    ({"destination": {"crm": {"object": "people", "key": "email"}}},
     "unknown CRM object 'people'. Fix: use one of contacts, companies, deals, leads"),
])
def test_an_unusable_entry_is_an_error_at_its_line(change: dict[str, Any], problem: str) -> None:
    entry = {
        "id": "x", "within": "5m",
        "source": {"warehouse": {"table": "events", "key": "lead_id", "at": "occurred_at"}},
        "destination": {"warehouse": {"table": "events", "key": "lead_id", "at": "occurred_at"}}}
    with pytest.raises(SpecError) as error:
        handoff_checks({**entry, **change}, HERE)
    assert str(error.value).startswith(f"{HERE}: {problem}")


# --- every dialect compiles it ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "epoch"), [
    ("postgresql", "EXTRACT(EPOCH FROM"), ("duckdb", "EXTRACT(EPOCH FROM"), ("sqlite", "julianday("),
    ("snowflake", "DATE_PART(epoch_second,"), ("bigquery", "UNIX_MICROS("),
])
def test_every_handoff_query_compiles_with_the_dialects_own_epoch(dialect: str, epoch: str) -> None:
    from sqlalchemy.engine.default import DefaultDialect

    from gtmcheck.kinds.reconcile.handoff_queries import Arrivals, WarehouseSide

    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import dialect as pg

        target: Any = pg()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import dialect as lite

        target = lite()
    else:  # the dialect's name picks the epoch function; snowflake and bigquery's packages are extras
        target = type(dialect, (DefaultDialect,), {"name": dialect})()
    side = WarehouseSide(table="analytics.events", key="lead_id", at="occurred_at", where="event = 'x'")
    queries = Arrivals(side, side)
    for statement in (queries.summary(), queries.missing(5), queries.slowest(5), queries.early_only(5),
                      queries.null_keys(), queries.all_fired(5)):
        sql = str(statement.compile(dialect=target))
        assert epoch in sql and "analytics" in sql, sql
