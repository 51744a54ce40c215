"""RECONCILE-TOTALS semantics, each written so that the wrong semantics fails it, on DuckDB, a real PostgreSQL
(``GTMCHECK_TEST_POSTGRES_URL``) and Snowflake through fakesnow (its DuckDB-backed emulator, so the Snowflake
dialect's SQL really runs). The CRM side is a fake connector that computes ``aggregate`` from records in
memory, applying the filters it is given, so what the check asks of the CRM is what is tested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, String, Table, insert

from gtmcheck.connectors.crm import Filter, GroupBy, Measure, to_epoch_ms
from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.errors import CheckError, CheckFailed, Evidence, Location
from gtmcheck.kinds.reconcile.model import CrmSide, Tolerance, TotalsEntry, WarehouseSide
from gtmcheck.kinds.reconcile.totals import WAREHOUSE_CACHE, totals_check

# fakesnow reads results through DuckDB's Arrow export, which warns about a copy on DuckDB 2.0
pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")

POSTGRES_ENV = "GTMCHECK_TEST_POSTGRES_URL"
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
OLD = NOW - timedelta(days=2)
YOUNG = NOW - timedelta(minutes=10)
AMOUNT = Measure("sum", "amount")


@dataclass
class Backend:
    """A warehouse of one dialect and the tables a test made in it (dropped afterwards)."""

    wh: Warehouse
    meta: MetaData = field(default_factory=MetaData)

    def table(self, rows: Sequence[Mapping[str, Any]], scale: int = 2) -> str:
        """A ``deals``-like table holding ``rows`` (id, amount, stage, closedate, updated_at); its unique name."""
        name = f"rec_{uuid.uuid4().hex[:10]}"
        table = Table(name, self.meta, Column("id", String(10)), Column("amount", Numeric(18, scale)),
                      Column("stage", String(20)), Column("closedate", Date), Column("updated_at", DateTime))
        table.create(self.wh.engine)
        full = [{"stage": "closedwon", "closedate": date(2026, 7, 1), "updated_at": OLD, **r} for r in rows]
        if full:
            with self.wh.engine.begin() as conn:
                conn.execute(insert(table), full)
        return name


def unavailable(reason: str) -> None:
    """Skip locally; fail where CI requires every warehouse of the matrix (``GTMCHECK_TEST_REQUIRE_WAREHOUSES``)."""
    if os.environ.get("GTMCHECK_TEST_REQUIRE_WAREHOUSES"):
        pytest.fail(f"{reason} (GTMCHECK_TEST_REQUIRE_WAREHOUSES is set)")
    pytest.skip(reason)


@pytest.fixture(params=["duckdb", "postgresql", "snowflake"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "duckdb":
        b = Backend(Warehouse("duckdb:///wh.duckdb", root=tmp_path))
    elif request.param == "postgresql":
        url = os.environ.get(POSTGRES_ENV)
        if not url:
            unavailable(f"{POSTGRES_ENV} is not set; run eval \"$(.ci/postgres.sh)\" to test against PostgreSQL")
        b = Backend(Warehouse(str(url)))
    else:
        try:
            import fakesnow
            import snowflake.sqlalchemy  # noqa: F401  (the Snowflake dialect: .ci/run installs it)
        except ImportError as exc:
            unavailable(f"fakesnow or the Snowflake dialect cannot be imported ({exc}); see docs/reconcile.md")
        with fakesnow.patch():
            b = Backend(Warehouse("snowflake://gtm:secret@account/gtm/public"))
            try:
                yield b
            finally:
                b.meta.drop_all(b.wh.engine)
                b.wh.close()
        return
    try:
        yield b
    finally:
        b.meta.drop_all(b.wh.engine)
        b.wh.close()


class FakeCrm:
    """A CRM connector whose ``aggregate`` totals in-memory records as the CRM would (filters, NULLs, buckets)."""

    vendor = "fake"

    def __init__(self, records: Sequence[Mapping[str, str | None]]) -> None:
        self.records = records
        self.calls: list[tuple[str, list[Filter], Measure, GroupBy | None]] = []

    def aggregate(self, object_type: str, filters: Sequence[Filter], measure: Measure,
                  group_by: GroupBy | None) -> dict[Any, Decimal | int]:
        self.calls.append((object_type, list(filters), measure, group_by))
        groups: dict[Any, list[Mapping[str, str | None]]] = {}
        for rec in self.records:
            if all(_holds(rec, f) for f in filters):
                key = _bucket(rec.get(group_by.property), group_by.bucket) if group_by else None
                groups.setdefault(key, []).append(rec)
        out: dict[Any, Decimal | int] = {}
        for key, recs in groups.items():
            if measure.kind == "count":
                out[key] = len(recs)
                continue
            values = [Decimal(str(v)) for r in recs if (v := r.get(measure.property or "")) not in (None, "")]
            if values:
                out[key] = sum(values, Decimal(0)) / (len(values) if measure.kind == "avg" else 1)
        if group_by is None and not out:
            out[None] = 0
        return out


def _holds(rec: Mapping[str, str | None], f: Filter) -> bool:
    value = rec.get(f.property)
    if f.operator == "HAS_PROPERTY":
        return value not in (None, "")
    if f.operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value in (None, ""):
        return f.operator == "NEQ"
    if f.operator == "EQ":
        return value == f.value
    if f.operator == "NEQ":
        return value != f.value
    if f.operator == "IN":
        return value in f.values
    a, b = _number(value), _number(f.value)
    return {"LT": a < b, "LTE": a <= b, "GT": a > b, "GTE": a >= b}[f.operator]


def _number(text: str | None) -> float:
    try:
        return float(text or "")
    except ValueError:
        ms = to_epoch_ms(text)
        assert ms is not None
        return float(ms)


def _bucket(value: str | None, bucket: str | None) -> str | None:
    if value is None or bucket is None:
        return value
    day = date.fromisoformat(value[:10])
    return {"month": f"{day.year:04d}-{day.month:02d}", "day": day.isoformat(), "year": f"{day.year:04d}",
            "quarter": f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"}[bucket]


def wside(table: str | None = None, *, sql: str | None = None, measure: Measure | None = AMOUNT,
          where: str | None = None, group_by: GroupBy | None = None, updated_at: str | None = None,
          key: str | None = None) -> WarehouseSide:
    return WarehouseSide(table, sql, None if sql else measure, where, group_by, key, updated_at, ())


def cside(*, filters: Sequence[Filter] = (), measure: Measure = AMOUNT,
          group_by: GroupBy | None = None, updated_at: str | None = None) -> CrmSide:
    return CrmSide("deals", tuple(filters), measure, group_by, None, updated_at, ())


def entry(expected: WarehouseSide | CrmSide, actual: WarehouseSide | CrmSide, *, label: str = "closed-won",
          absolute: str = "0", percent: str | None = None, precision: int | None = None,
          min_age_s: float | None = None) -> TotalsEntry:
    return TotalsEntry("t", label, expected, actual, Tolerance(Decimal(absolute), Decimal(percent) if percent else
                                                               None), precision, min_age_s, 0, Location("t.gtm.yml"))


def run(e: TotalsEntry, wh: Warehouse | None = None, crm: FakeCrm | None = None) -> Evidence:
    ctx: Any = SimpleNamespace(cache={WAREHOUSE_CACHE: wh} if wh else {}, crm=lambda: crm)
    return totals_check(e)(ctx)


def failure(e: TotalsEntry, wh: Warehouse | None = None, crm: FakeCrm | None = None) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        run(e, wh, crm)
    return info.value


MONTHLY = GroupBy("closedate", "month")


# --- a filter on one side only --------------------------------------------------------------------------------


def test_a_filter_applies_to_its_own_side_only(backend: Backend) -> None:
    t = backend.table([{"id": "d1", "amount": 100}, {"id": "d2", "amount": 50, "stage": "closedlost"}])
    won = wside(t, where="stage = 'closedwon'")
    assert "100 closed-won agree" in run(entry(won, wside(t, where="stage = 'closedwon'")), backend.wh).summary
    failed = failure(entry(won, wside(t)), backend.wh)  # the unfiltered side counts the lost deal too
    assert failed.message == ("expected 100 closed-won (warehouse " + t + "), received 150 (warehouse " + t
                              + "), diff +50 (+50.0%)")


def test_a_crm_side_gets_its_own_filters_and_no_others(backend: Backend) -> None:
    t = backend.table([{"id": "d1", "amount": 100}, {"id": "d2", "amount": 50, "stage": "closedlost"}])
    crm = FakeCrm([{"dealstage": "closedwon", "amount": "100"}, {"dealstage": "closedlost", "amount": "50"}])
    won = [Filter("dealstage", "EQ", "closedwon")]
    run(entry(wside(t, where="stage = 'closedwon'"), cside(filters=won)), backend.wh, crm)
    assert crm.calls[-1][1] == won
    failed = failure(entry(wside(t, where="stage = 'closedwon'"), cside()), backend.wh, crm)
    assert crm.calls[-1][1] == []
    assert failed.message.startswith("expected 100 closed-won (warehouse), received 150 (CRM), diff +50")


# --- groups ---------------------------------------------------------------------------------------------------


def test_a_group_on_one_side_only_fails_even_when_the_total_is_within_tolerance(backend: Backend) -> None:
    exp = backend.table([{"id": "a", "amount": 10, "closedate": date(2026, 7, 3)},
                         {"id": "b", "amount": 1000, "closedate": date(2026, 8, 3)}])
    act = backend.table([{"id": "b", "amount": 1005, "closedate": date(2026, 8, 3)}])
    e = entry(wside(exp, group_by=MONTHLY), wside(act, group_by=MONTHLY), absolute="10", percent="1")
    failed = failure(e, backend.wh)
    assert "1 of 2 months differ, largest first: 2026-07: expected 10, received 0 (none in warehouse " in \
           failed.message
    assert failed.evidence.details["groups"] == [
        {"key": "2026-07", "expected": "10", "received": None, "diff": "-10"}]


def test_a_group_of_zero_on_one_side_is_the_other_sides_absence(backend: Backend) -> None:
    exp = backend.table([{"id": "a", "amount": None, "closedate": date(2026, 7, 3)},
                         {"id": "b", "amount": 1000, "closedate": date(2026, 8, 3)}])
    act = backend.table([{"id": "b", "amount": 1000, "closedate": date(2026, 8, 3)}])
    assert "2 months compared" in run(entry(wside(exp, group_by=MONTHLY), wside(act, group_by=MONTHLY)),
                                      backend.wh).summary


def test_groups_meet_across_warehouse_and_crm_by_bucket_text(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": 18000, "closedate": date(2026, 7, 10)},
                       {"id": "b", "amount": 27000, "closedate": date(2026, 10, 2)},
                       {"id": "c", "amount": 383000, "closedate": date(2026, 3, 1)}])
    crm = FakeCrm([{"amount": "8000", "closedate": "2026-10-02"}, {"amount": "383000", "closedate": "2026-03-01"}])
    e = entry(wside(t, group_by=MONTHLY), cside(group_by=MONTHLY), precision=2)
    failed = failure(e, backend.wh, crm)
    assert failed.message == (
        "expected 428000 closed-won (warehouse), received 391000 (CRM), diff -37000 (-8.6%); "
        "2 of 3 months differ, largest first: 2026-10: expected 27000, received 8000, diff -19000; "
        "2026-07: expected 18000, received 0 (none in CRM), diff -18000")
    assert failed.expected == "428000 closed-won (warehouse), exactly"
    crm.records = [*crm.records, {"amount": "18000", "closedate": "2026-07-10"}]
    crm.records[0] = {"amount": "27000", "closedate": "2026-10-02"}
    assert run(e, backend.wh, crm).summary == "428000 closed-won agree between warehouse and CRM, 3 months compared"


# --- the percent denominator ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("expected", "received", "passes"), [
    ("1000", "990", True),   # 10 <= 1% of |1000|; a denominator of |990| (9.9) would fail it
    ("990", "1000", False),  # 10 > 1% of |990| = 9.9; a denominator of |1000| would pass it
    ("-1000", "-990", True),  # |expected|: a negative total has a positive allowance
])
def test_the_percent_denominator_is_the_expected_total(backend: Backend, expected: str, received: str,
                                                       passes: bool) -> None:
    e = entry(wside(sql=f"select {expected} as value"), wside(sql=f"select {received} as value"), percent="1")
    if passes:
        assert "within tolerance" in run(e, backend.wh).summary
    else:
        assert failure(e, backend.wh).expected == f"{expected} closed-won (warehouse sql), within 1%"


def test_an_expected_zero_leaves_only_the_absolute_tolerance_and_says_so(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": 5, "stage": "open"}])
    e = entry(wside(t, where="stage = 'closedwon'"), wside(t), percent="50")
    message = failure(e, backend.wh).message
    assert message == (f"expected 0 closed-won (warehouse {t}), received 5 (warehouse {t}), diff +5 (expected 0: no "
                       "percentage); expected 0, so only the absolute tolerance applies")
    assert "within tolerance" in run(entry(e.expected, e.actual, absolute="5", percent="50"), backend.wh).summary


# --- min_age --------------------------------------------------------------------------------------------------


def test_min_age_leaves_young_records_out_on_both_warehouse_sides(backend: Backend) -> None:
    exp = backend.table([{"id": "a", "amount": 100}, {"id": "x", "amount": 7, "updated_at": YOUNG},
                         {"id": "n", "amount": 3, "updated_at": None}])
    act = backend.table([{"id": "a", "amount": 100}, {"id": "y", "amount": 40, "updated_at": YOUNG}])
    aged = entry(wside(exp, updated_at="updated_at"), wside(act, updated_at="updated_at"), min_age_s=3600)
    assert run(aged, backend.wh).summary == f"100 closed-won agree between warehouse {exp} and warehouse {act}"
    assert "diff +30" in failure(entry(aged.expected, aged.actual), backend.wh).message  # without min_age
    one_side = entry(wside(exp, updated_at="updated_at"), wside(act, updated_at="updated_at"), min_age_s=3600)
    one_side = entry(one_side.expected, wside(act), min_age_s=3600)  # the actual side cannot apply it
    with pytest.raises(Exception, match="min_age needs `updated_at`"):
        run(one_side, backend.wh)


def test_min_age_reaches_the_crm_as_an_lte_filter_on_its_property(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": 100}, {"id": "x", "amount": 7, "updated_at": YOUNG}])
    iso = "%Y-%m-%dT%H:%M:%SZ"
    crm = FakeCrm([{"amount": "100", "hs_lastmodifieddate": OLD.strftime(iso)},
                   {"amount": "55", "hs_lastmodifieddate": YOUNG.strftime(iso)},
                   {"amount": "9", "hs_lastmodifieddate": None}])
    e = entry(wside(t, updated_at="updated_at"), cside(updated_at="hs_lastmodifieddate"), min_age_s=3600)
    before = datetime.now(UTC).timestamp() * 1000
    assert "100 closed-won agree" in run(e, backend.wh, crm).summary
    after = datetime.now(UTC).timestamp() * 1000
    (prop, op, value) = (crm.calls[-1][1][-1].property, crm.calls[-1][1][-1].operator, crm.calls[-1][1][-1].value)
    assert (prop, op) == ("hs_lastmodifieddate", "LTE")
    hour = 3_600_000  # the cutoff is an hour before the moment the check ran (not the test module's import)
    assert value is not None and before - hour - 1000 <= int(value) <= after - hour + 1000


# --- NULL amounts, counts, averages ---------------------------------------------------------------------------


def test_sum_and_avg_skip_null_amounts_and_count_counts_rows(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": 100}, {"id": "b", "amount": 200}, {"id": "c", "amount": None}])
    assert "300 closed-won agree" in run(entry(wside(t), wside(sql="select 300 as value")), backend.wh).summary
    count = Measure("count", None)
    assert "3 deals agree" in run(entry(wside(t, measure=count), wside(sql="select 3 as value"), label="deals"),
                                  backend.wh).summary
    assert "150 avg agree" in run(entry(wside(t, measure=Measure("avg", "amount")), wside(sql="select 150 as value"),
                                        label="avg", precision=2), backend.wh).summary
    crm = FakeCrm([{"amount": "100"}, {"amount": "200"}, {"amount": None}, {"amount": ""}])
    assert "300 closed-won agree" in run(entry(wside(t), cside()), backend.wh, crm).summary
    assert "diff +1" in failure(entry(wside(t, measure=count), cside(measure=count), label="deals"), backend.wh,
                                crm).message  # the CRM holds 4 records, one with an empty amount


def test_an_expression_measure_is_computed_by_the_warehouse(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": 100}, {"id": "b", "amount": 250}])
    e = entry(wside(t, measure=Measure("sum", "amount * 2")), wside(sql="select 700 as value"))
    assert "700 closed-won agree" in run(e, backend.wh).summary


# --- rounding and Decimal -------------------------------------------------------------------------------------


def test_precision_rounds_half_up_before_comparing(backend: Backend) -> None:
    t = backend.table([{"id": "a", "amount": Decimal("10.005")}], scale=3)
    e = entry(wside(t), wside(sql="select 10.01 as value"), precision=2)
    assert "10.01 closed-won agree" in run(e, backend.wh).summary  # half-even would give 10.00
    failed = failure(entry(e.expected, e.actual), backend.wh)  # without precision: 10.005 against 10.01
    assert "expected 10.005 closed-won" in failed.message and "diff +0.005" in failed.message


def test_decimal_totals_have_no_float_drift(backend: Backend) -> None:
    t = backend.table([{"id": f"c{i}", "amount": Decimal("0.10")} for i in range(10)])
    crm = FakeCrm([{"amount": "0.1"}] * 10)
    assert "1 closed-won agree" in run(entry(wside(t), cside()), backend.wh, crm).summary
    assert "1 closed-won agree" in run(entry(wside(t), wside(sql="select 1 as value")), backend.wh).summary


# --- the message ----------------------------------------------------------------------------------------------


def test_the_groups_are_capped_with_and_n_more(backend: Backend) -> None:
    t = backend.table([{"id": f"m{m}", "amount": 100 * m, "closedate": date(2026, m, 1)} for m in range(1, 10)])
    crm = FakeCrm([])
    failed = failure(entry(wside(t, group_by=MONTHLY), cside(group_by=MONTHLY)), backend.wh, crm)
    assert "9 of 9 months differ, largest first: 2026-09: expected 900, received 0 (none in CRM), diff -900" \
           in failed.message
    assert failed.message.endswith("; ... and 4 more")
    assert [g["key"] for g in failed.evidence.details["groups"]] == [f"2026-0{m}" for m in range(9, 0, -1)]


def test_a_sql_side_with_the_wrong_shape_is_not_verified(backend: Backend) -> None:
    with pytest.raises(CheckError, match="returns 3 columns"):
        run(entry(wside(sql="select 1 as a, 2 as b, 3 as c"), wside(sql="select 1 as value")), backend.wh)


def test_a_connector_without_aggregate_is_not_verified() -> None:
    class Old:
        vendor = "hubspot"

    e = entry(cside(), cside())
    ctx: Any = SimpleNamespace(cache={}, crm=lambda: Old())
    with pytest.raises(CheckError, match="hubspot connector cannot compute totals"):
        totals_check(e)(ctx)


def test_a_float_total_is_read_through_its_shortest_text() -> None:
    class FloatCrm(FakeCrm):
        def aggregate(self, object_type: str, filters: Sequence[Filter], measure: Measure,
                      group_by: GroupBy | None) -> dict[Any, Any]:
            return {None: 0.1 + 0.2 if filters else Decimal("0.3")}  # 0.30000000000000004 as a float

    crm = FloatCrm([])
    e = entry(cside(), cside(filters=[Filter("dealstage", "EQ", "closedwon")]))
    with pytest.raises(CheckFailed, match=r"received 0.30000000000000004 \(CRM deals\), diff \+0.00000000000000004"):
        totals_check(e)(SimpleNamespace(cache={}, crm=lambda: crm))
    rounded = entry(cside(), cside(filters=[Filter("x", "EQ", "y")]), precision=2)
    assert "0.30 closed-won agree" in totals_check(rounded)(SimpleNamespace(cache={}, crm=lambda: crm)).summary


# --- the records that differ (drilldown.py is the drill-down engineer's; a stand-in records the calls) ----------


@dataclass(frozen=True)
class StandInSide:
    key: str
    table: str | None = None
    sql: str | None = None
    value: str | None = None
    where: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = "warehouse"


class StandInDrilldown:
    """What ``records.py`` asks of ``drilldown``: KeyedSide, diff_keys, diff_records; answers like KeyDiff."""

    KeyedSide = StandInSide

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _answer(self, lines: list[str], total: int) -> Any:
        return SimpleNamespace(total_counts=SimpleNamespace(differences=total), sample=lines,
                               evidence=lambda: {"missing_right": ["d006"], "differing": [{"key": "d009"}]})

    def diff_keys(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(("diff_keys", args, kwargs))
        return self._answer(["d006: missing in warehouse b"], 1)

    def diff_records(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(("diff_records", args, kwargs))
        return self._answer(["d006: missing in CRM", "d009: 27000.00 (warehouse) vs 8000.00 (CRM)"], 12)


class SearchingCrm(FakeCrm):
    def search(self, object_type: str, groups: Sequence[Sequence[Filter]], properties: Sequence[str] = ()) -> Any:
        self.searched = (object_type, [list(g) for g in groups], list(properties))
        return iter([SimpleNamespace(id="1", properties={"source_id": "d009", "amount": "8000"})])


def test_a_failed_total_names_the_records_that_differ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = StandInDrilldown()
    monkeypatch.setitem(__import__("sys").modules, "gtmcheck.kinds.reconcile.drilldown", stand_in)
    wh = Warehouse("duckdb:///wh.duckdb", root=tmp_path)
    b = Backend(wh)
    t = b.table([{"id": "d006", "amount": 18000}, {"id": "d009", "amount": 27000}])
    crm = SearchingCrm([{"dealstage": "closedwon", "amount": "8000", "hs_lastmodifieddate": "2026-01-01"}])
    won = Filter("dealstage", "EQ", "closedwon")
    exp = WarehouseSide(t, None, AMOUNT, "stage = 'closedwon'", None, "id", "updated_at", ())
    act = CrmSide("deals", (won,), AMOUNT, None, "source_id", "hs_lastmodifieddate", ())
    failed = failure(entry(exp, act, precision=2, min_age_s=3600), wh, crm)
    assert failed.message == (
        "expected 45000 closed-won (warehouse), received 8000 (CRM), diff -37000 (-82.2%); 12 records differ: "
        "d006: missing in CRM; d009: 27000.00 (warehouse) vs 8000.00 (CRM); ... and 10 more")
    assert failed.evidence.details["records"] == {"missing_right": ["d006"], "differing": [{"key": "d009"}]}
    ((name, args, kwargs),) = stand_in.calls
    assert name == "diff_records" and args[0] is wh
    assert args[1] == StandInSide(key="id", table=t, value="amount", where="(stage = 'closedwon') AND updated_at "
                                  "<= :gtm_cutoff", params={"gtm_cutoff": args[1].params["gtm_cutoff"]})
    assert args[2] == [("d009", "8000")] and kwargs == {"label": "CRM", "sample": 10, "precision": 2}
    object_type, (filters,), properties = crm.searched
    assert (object_type, filters[0], filters[1].operator, properties) == ("deals", won, "LTE", ["source_id", "amount"])
    # warehouse against warehouse: diff_keys, each side under its own name; a count compares presence only
    other = b.table([{"id": "d009", "amount": 27000}])
    count = Measure("count", None)
    failure(entry(wside(t, measure=count, key="id"), wside(other, measure=count, key="id"), label="deals"), wh)
    name, args, kwargs = stand_in.calls[-1]
    assert name == "diff_keys" and (args[1].value, args[2].value) == (None, None)
    assert (args[1].label, args[2].label) == (f"warehouse {t}", f"warehouse {other}")
    b.meta.drop_all(wh.engine)
    wh.close()


def test_without_a_key_on_both_sides_or_with_a_sql_side_no_records_are_listed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = StandInDrilldown()
    monkeypatch.setitem(__import__("sys").modules, "gtmcheck.kinds.reconcile.drilldown", stand_in)
    wh = Warehouse("duckdb:///wh.duckdb", root=tmp_path)
    b = Backend(wh)
    t = b.table([{"id": "d006", "amount": 18000}])
    assert failure(entry(wside(t, key="id"), wside(sql="select 1 as value")), wh).message.endswith("(-100.0%)")
    assert failure(entry(wside(t, key="id"), wside(t, where="1 = 0")), wh).message.endswith("(-100.0%)")
    assert stand_in.calls == []
    b.meta.drop_all(wh.engine)
    wh.close()
