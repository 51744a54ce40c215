"""Hand-checked paths through every attribution model, run in the warehouse (DuckDB, PostgreSQL, Snowflake).

The credits below are written by hand from the definitions in docs/attribution.md ("Models, exactly"), never
computed by the code under test. Every conversion is at 2026-06-30 12:00; touches are named t<path><step>:

- c1, 1 touch: Email 3 days before;
- c2, 2 touches: Paid Search 14 days and Direct 7 days before (lead created 10 days, opportunity 5 days before);
- c3, 3 touches: Email 21, Paid Social 14, Referral 7 days before (lead 14 days before, exactly at t32, and
  opportunity 10 days before: both roles fall on t32);
- c5, 5 touches: Referral 28, Email 21, Direct 14, Paid Search 7 days before and Direct at the conversion itself
  (lead 20, opportunity 10 days before); t50 (95 days before) is outside the 90-day window, t56 (a day after)
  is after the conversion, and tx1 is another person's touch;
- c6, 2 Direct touches 8 days and 1 day before, no lead or opportunity dates;
- c0: a conversion with no touch at all.

Time decay (half-life 7 days) is a worked example: ages 14 and 7 days weigh 1/4 and 1/2, so 1/3 and 2/3;
ages 28, 21, 14, 7, 0 weigh 1/16, 1/8, 1/4, 1/2, 1 (sum 31/16), so 1/31, 2/31, 4/31, 8/31, 16/31.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Double, MetaData, String, Table, create_engine, insert

from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.errors import WarehouseError
from gtmcheck.kinds.attribution.models import (
    MODELS,
    AttributionModel,
    AttributionTable,
    Conversions,
    Lookback,
    Touchpoints,
)
from gtmcheck.kinds.attribution.sql import (
    compare_channels,
    compare_conversions,
    credit_by_channel,
    eligible_touches,
    invariant_queries,
    recompute,
    touches_by_channel,
)

CONVERTED = datetime(2026, 6, 30, 12, 0)
TP = Touchpoints("touchpoints")
CONV = Conversions("conversions", value="value", lead_created_at="lead_created_at",
                   opportunity_created_at="opportunity_created_at")
WINDOW = Lookback(days=90)


def _ago(days: float) -> datetime:
    return CONVERTED - timedelta(days=days)


# (id, contact, channel, days before the conversion)
TOUCHES = [
    ("t11", "p1", "Email", 3),
    ("t21", "p2", "Paid Search", 14), ("t22", "p2", "Direct", 7),
    ("t31", "p3", "Email", 21), ("t32", "p3", "Paid Social", 14), ("t33", "p3", "Referral", 7),
    ("t50", "p5", "Email", 95), ("t51", "p5", "Referral", 28), ("t52", "p5", "Email", 21),
    ("t53", "p5", "Direct", 14), ("t54", "p5", "Paid Search", 7), ("t55", "p5", "Direct", 0),
    ("t56", "p5", "Email", -1),
    ("t61", "p6", "Direct", 8), ("t62", "p6", "Direct", 1),
    ("tx1", "px", "Email", 2),
]
# (id, contact, value, lead created (days before), opportunity created (days before))
CONVERSIONS = [
    ("c0", "p0", 10.0, None, None),
    ("c1", "p1", 100.0, 1, 1),
    ("c2", "p2", 200.0, 10, 5),
    ("c3", "p3", 300.0, 14, 10),
    ("c5", "p5", 500.0, 20, 10),
    ("c6", "p6", 600.0, None, None),
]

ONE = {("c1", "t11"): 1.0}
EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    "first_touch": {**ONE, ("c2", "t21"): 1, ("c2", "t22"): 0, ("c3", "t31"): 1, ("c3", "t32"): 0, ("c3", "t33"): 0,
                    ("c5", "t51"): 1, ("c5", "t52"): 0, ("c5", "t53"): 0, ("c5", "t54"): 0, ("c5", "t55"): 0,
                    ("c6", "t61"): 1, ("c6", "t62"): 0},
    "last_touch": {**ONE, ("c2", "t21"): 0, ("c2", "t22"): 1, ("c3", "t31"): 0, ("c3", "t32"): 0, ("c3", "t33"): 1,
                   ("c5", "t51"): 0, ("c5", "t52"): 0, ("c5", "t53"): 0, ("c5", "t54"): 0, ("c5", "t55"): 1,
                   ("c6", "t61"): 0, ("c6", "t62"): 1},
    # the last touch not Direct; c6 is all Direct, so its last touch
    "last_non_direct": {**ONE, ("c2", "t21"): 1, ("c2", "t22"): 0, ("c3", "t31"): 0, ("c3", "t32"): 0,
                        ("c3", "t33"): 1, ("c5", "t51"): 0, ("c5", "t52"): 0, ("c5", "t53"): 0, ("c5", "t54"): 1,
                        ("c5", "t55"): 0, ("c6", "t61"): 0, ("c6", "t62"): 1},
    "linear": {**ONE, ("c2", "t21"): 0.5, ("c2", "t22"): 0.5, ("c3", "t31"): 0.333333, ("c3", "t32"): 0.333333,
               ("c3", "t33"): 0.333333, ("c5", "t51"): 0.2, ("c5", "t52"): 0.2, ("c5", "t53"): 0.2,
               ("c5", "t54"): 0.2, ("c5", "t55"): 0.2, ("c6", "t61"): 0.5, ("c6", "t62"): 0.5},
    "time_decay": {**ONE, ("c2", "t21"): 0.333333, ("c2", "t22"): 0.666667, ("c3", "t31"): 0.142857,
                   ("c3", "t32"): 0.285714, ("c3", "t33"): 0.571429, ("c5", "t51"): 0.032258,
                   ("c5", "t52"): 0.064516, ("c5", "t53"): 0.129032, ("c5", "t54"): 0.258065,
                   ("c5", "t55"): 0.516129, ("c6", "t61"): 0.333333, ("c6", "t62"): 0.666667},
    # 2 touches: 0.4 and 0.4 normalised to halves; 3: 0.4/0.2/0.4; 5: the middle 0.2 over three touches
    "position_based": {**ONE, ("c2", "t21"): 0.5, ("c2", "t22"): 0.5, ("c3", "t31"): 0.4, ("c3", "t32"): 0.2,
                       ("c3", "t33"): 0.4, ("c5", "t51"): 0.4, ("c5", "t52"): 0.066667, ("c5", "t53"): 0.066667,
                       ("c5", "t54"): 0.066667, ("c5", "t55"): 0.4, ("c6", "t61"): 0.5, ("c6", "t62"): 0.5},
    # c2: first and lead on t21 (0.6), opportunity t22 (0.3), no touch left for the rest: / 0.9
    # c3: first t31 0.3, lead and opportunity both on t32 0.6, rest t33 0.1
    # c5: first t51, lead t52 (21 days <= 20 days before), opportunity t53, rest 0.1 over t54 and t55
    # c6: no lead or opportunity date: first 0.3 and rest 0.1 on t62, / 0.4
    "w_shaped": {**ONE, ("c2", "t21"): 0.666667, ("c2", "t22"): 0.333333, ("c3", "t31"): 0.3, ("c3", "t32"): 0.6,
                 ("c3", "t33"): 0.1, ("c5", "t51"): 0.3, ("c5", "t52"): 0.3, ("c5", "t53"): 0.3, ("c5", "t54"): 0.05,
                 ("c5", "t55"): 0.05, ("c6", "t61"): 0.75, ("c6", "t62"): 0.25},
}


def _load(url: str, attribution: list[tuple[str, str | None, str, float]] | None = None) -> None:
    """The paths as tables; touch times as ISO text (as a CSV gives them), conversion times as TIMESTAMP."""
    meta = MetaData()
    touchpoints = Table("touchpoints", meta, Column("id", String(20)), Column("contact_id", String(20)),
                        Column("channel", String(40)), Column("occurred_at", String(40)))
    conversions = Table("conversions", meta, Column("id", String(20)), Column("contact_id", String(20)),
                        Column("converted_at", DateTime()), Column("value", Double()),
                        Column("lead_created_at", DateTime()), Column("opportunity_created_at", DateTime()))
    attr = Table("attribution", meta, Column("conversion_id", String(20)), Column("touchpoint_id", String(20)),
                 Column("channel", String(40)), Column("credit", Double()))
    engine = create_engine(url)
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(touchpoints), [
                {"id": i, "contact_id": p, "channel": ch, "occurred_at": _ago(d).strftime("%Y-%m-%dT%H:%M:%SZ")}
                for i, p, ch, d in TOUCHES])
            conn.execute(insert(conversions), [
                {"id": i, "contact_id": p, "converted_at": CONVERTED, "value": v,
                 "lead_created_at": None if lead is None else _ago(lead),
                 "opportunity_created_at": None if opp is None else _ago(opp)}
                for i, p, v, lead, opp in CONVERSIONS])
            if attribution:
                conn.execute(insert(attr), [{"conversion_id": c, "touchpoint_id": t, "channel": ch, "credit": cr}
                                            for c, t, ch, cr in attribution])
    finally:
        engine.dispose()


@pytest.fixture
def paths(warehouse_url: str) -> Iterator[Warehouse]:
    _load(warehouse_url)
    with Warehouse(warehouse_url) as wh:
        yield wh


def _rows(wh: Warehouse, statement: Any) -> list[dict[str, Any]]:
    keys, rows = wh.select(statement)
    return [dict(zip([k.lower() for k in keys], row, strict=True)) for row in rows]


def _credits(wh: Warehouse, model: AttributionModel, lookback: Lookback = WINDOW) -> dict[tuple[str, str], float]:
    return {(r["conversion_id"], r["touch_id"]): float(r["credit"]) for r in _rows(wh, recompute(model, TP, CONV,
                                                                                                  lookback))}


@pytest.mark.parametrize("name", [m for m in MODELS if m != "external"])
def test_every_model_gives_the_hand_checked_credits(paths: Warehouse, name: str) -> None:
    got = _credits(paths, AttributionModel(name))
    assert got.keys() == EXPECTED[name].keys()  # no c0 (no touch), no t50/t56/tx1 (outside the window, another's)
    for key, credit in EXPECTED[name].items():
        assert got[key] == pytest.approx(credit, abs=1e-6), key
    for conversion in {c for c, _ in got}:
        assert sum(v for (c, _), v in got.items() if c == conversion) == pytest.approx(1.0)


def test_eligible_touches_are_numbered_by_time_within_the_window(paths: Warehouse) -> None:
    rows = _rows(paths, eligible_touches(TP, CONV, WINDOW))
    c5 = sorted((r["pos"], r["touch_id"], r["n"]) for r in rows if r["conversion_id"] == "c5")
    assert c5 == [(1, "t51", 5), (2, "t52", 5), (3, "t53", 5), (4, "t54", 5), (5, "t55", 5)]
    assert {r["conversion_id"] for r in rows} == {"c1", "c2", "c3", "c5", "c6"}


def test_steps_keep_only_the_latest_touches(paths: Warehouse) -> None:
    got = _credits(paths, AttributionModel("position_based"), Lookback(days=90, steps=3))
    assert {k: round(v, 6) for k, v in got.items() if k[0] == "c5"} == {
        ("c5", "t53"): 0.4, ("c5", "t54"): 0.2, ("c5", "t55"): 0.4}
    short = _credits(paths, AttributionModel("first_touch"), Lookback(days=10))  # 10 days: t54 (7), t55 (0)
    assert {k for k, v in short.items() if k[0] == "c5" and v == 1} == {("c5", "t54")}
    assert ("c3", "t31") not in short and ("c3", "t33") in short


def test_custom_weights_and_half_life_change_the_credits(paths: Warehouse) -> None:
    # half-life 14 days: c2's ages 14 and 7 weigh 2^-1 and 2^-0.5: 0.414214 and 0.585786
    decay = _credits(paths, AttributionModel("time_decay", half_life_days=14))
    assert decay[("c2", "t21")] == pytest.approx(0.414214, abs=1e-6)
    # U-shape 0.5/0.0/0.5 with 5 touches: the middle gets nothing, not 1 - 0.5 + 0.5
    u = _credits(paths, AttributionModel("position_based", position_weights=(0.5, 0.0, 0.5)))
    assert [round(u[("c5", t)], 6) for t in ("t51", "t52", "t53", "t54", "t55")] == [0.5, 0, 0, 0, 0.5]
    # 0.3/0.6/0.1 (first-heavy): 3 touches take 0.3, 0.6, 0.1
    skewed = _credits(paths, AttributionModel("position_based", position_weights=(0.3, 0.6, 0.1)))
    assert [round(skewed[("c3", t)], 6) for t in ("t31", "t32", "t33")] == [0.3, 0.6, 0.1]
    # c2 with 2 touches: 0.3 and 0.1 normalised: 0.75 and 0.25
    assert [round(skewed[("c2", t)], 6) for t in ("t21", "t22")] == [0.75, 0.25]
    # a half-life of a quarter hour: 2^(-28 days / 15 min) underflows, yet the latest touch keeps all the credit
    steep = _credits(paths, AttributionModel("time_decay", half_life_days=0.01))
    assert steep[("c5", "t55")] == pytest.approx(1.0) and steep[("c5", "t51")] == pytest.approx(0.0)
    none_direct = _credits(paths, AttributionModel("last_non_direct", direct_channels=()))
    assert none_direct[("c5", "t55")] == 1


def test_touches_are_counted_per_channel_in_a_window(paths: Warehouse) -> None:
    def counted(until: datetime | None) -> dict[str, int]:
        return {r["channel"]: int(r["touches"]) for r in _rows(paths, touches_by_channel(TP, _ago(8), until))}

    # after 8 days before (t61, exactly 8 days before, is out): t11, tx1 / t22, t55, t62 / t33 / t54
    assert counted(CONVERTED) == {"Direct": 3, "Email": 2, "Paid Search": 1, "Referral": 1}
    assert counted(None)["Email"] == 3  # and t56, a day after


def test_the_external_model_is_not_recomputed() -> None:
    with pytest.raises(WarehouseError, match="cannot be recomputed"):
        recompute(AttributionModel("external"), TP, CONV, WINDOW)


def test_bad_names_and_where_clauses_never_reach_the_warehouse() -> None:
    with pytest.raises(WarehouseError, match="plain identifier"):
        recompute(AttributionModel("linear"), Touchpoints("touchpoints; drop table x"), CONV, WINDOW)
    with pytest.raises(WarehouseError, match="where clause"):
        recompute(AttributionModel("linear"), Touchpoints("touchpoints", where="1=1; drop table x"), CONV, WINDOW)
    with pytest.raises(ValueError, match="unknown attribution model"):
        AttributionModel("u_shaped")
    with pytest.raises(ValueError, match="lookback days"):
        Lookback(days=0)
    with pytest.raises(ValueError, match="unit must be one of share, value"):
        AttributionTable("attribution", unit="euros")
    with pytest.raises(WarehouseError, match="needs the conversions' `value` column"):
        compare_conversions(AttributionModel("linear"), TP, Conversions("conversions"), WINDOW,
                            AttributionTable("attribution", unit="value"), 0.01)


def _table_from_model(name: str, unit: str = "share") -> list[tuple[str, str | None, str, float]]:
    """An attribution table a tool would write for the model (hand-checked credits, bucket for c0)."""
    channels = {i: ch for i, _, ch, _ in TOUCHES}
    values = {c: v for c, _, v, _, _ in CONVERSIONS}
    rows: list[tuple[str, str | None, str, float]] = [("c0", None, "Unattributed", 1.0)]
    rows += [(c, t, channels[t], credit) for (c, t), credit in EXPECTED[name].items()]
    return [(c, t, ch, cr * values[c] if unit == "value" else cr) for c, t, ch, cr in rows]


def test_a_table_built_by_the_model_agrees_and_one_built_by_another_model_is_named(warehouse_url: str) -> None:
    _load(warehouse_url, _table_from_model("position_based"))
    attr = AttributionTable("attribution")
    with Warehouse(warehouse_url) as wh:
        model = AttributionModel("position_based")
        assert _rows(wh, compare_conversions(model, TP, CONV, WINDOW, attr, 0.001)) == []
        assert _rows(wh, compare_channels(model, TP, CONV, WINDOW, attr, 0.001)) == []
        linear = AttributionModel("linear")
        diffs = _rows(wh, compare_conversions(linear, TP, CONV, WINDOW, attr, 0.001))
        assert {(r["conversion_id"], r["channel"]) for r in diffs} == {
            ("c3", "Email"), ("c3", "Paid Social"), ("c3", "Referral"),
            ("c5", "Referral"), ("c5", "Email"), ("c5", "Direct"), ("c5", "Paid Search")}
        c3_social = next(r for r in diffs if (r["conversion_id"], r["channel"]) == ("c3", "Paid Social"))
        assert float(c3_social["expected"]) == pytest.approx(0.333333, abs=1e-6)
        assert float(c3_social["actual"]) == pytest.approx(0.2)
        assert float(c3_social["diff"]) == pytest.approx(-0.133333, abs=1e-6)
        # c5's Direct under linear: t53 + t55 = 0.4; the table (position-based): 0.066667 + 0.4
        by_channel = {r["channel"]: r for r in _rows(wh, compare_channels(linear, TP, CONV, WINDOW, attr, 0.001))}
        assert float(by_channel["Referral"]["actual"]) == pytest.approx(0.8)  # c3 0.4 + c5 0.4
        assert float(by_channel["Referral"]["expected"]) == pytest.approx(0.533333, abs=1e-6)  # c3 1/3 + c5 0.2


def test_unit_value_multiplies_by_the_conversion_value(warehouse_url: str) -> None:
    _load(warehouse_url, _table_from_model("w_shaped", unit="value"))
    attr = AttributionTable("attribution", unit="value")
    with Warehouse(warehouse_url) as wh:
        assert _rows(wh, compare_conversions(AttributionModel("w_shaped"), TP, CONV, WINDOW, attr, 0.01)) == []
        diffs = _rows(wh, compare_conversions(AttributionModel("last_touch"), TP, CONV, WINDOW, attr, 0.01))
        c3_referral = next(r for r in diffs if (r["conversion_id"], r["channel"]) == ("c3", "Referral"))
        assert float(c3_referral["expected"]) == pytest.approx(300.0) and float(c3_referral["actual"]) == 30.0
        assert _rows(wh, invariant_queries(attr, CONV, TP, WINDOW, 0.01)["credit_sum"]) == []
        totals = {r["channel"]: float(r["credit_total"]) for r in _rows(wh, credit_by_channel(attr))}
        assert totals["Unattributed"] == 10.0  # c0's value, in the bucket
        assert totals["Paid Social"] == pytest.approx(180.0)  # c3: 0.6 * 300


# A broken attribution table: c2 double-counted (sums to 2), c3 with a negative credit (sum still 1), c5
# crediting a touch 95 days old and one after the conversion, c6 only in the bucket, c0 with no row at all.
BROKEN: list[tuple[str, str | None, str, float]] = [
    ("c1", "t11", "Email", 1.0),
    ("c2", "t21", "Paid Search", 0.5), ("c2", "t22", "Direct", 0.5),
    ("c2", "t21", "Paid Search", 0.5), ("c2", "t22", "Direct", 0.5),
    ("c3", "t31", "Email", 0.7), ("c3", "t32", "Paid Social", 0.5), ("c3", "t33", "Referral", -0.2),
    ("c5", "t50", "Email", 0.5), ("c5", "t56", "Email", 0.5),
    ("c6", None, "Unattributed", 1.0),
]


def test_the_invariants_name_what_breaks_them(warehouse_url: str) -> None:
    _load(warehouse_url, BROKEN)
    queries = invariant_queries(AttributionTable("attribution"), CONV, TP, WINDOW, 0.001)
    with Warehouse(warehouse_url) as wh:
        sums = _rows(wh, queries["credit_sum"])
        assert [(r["conversion_id"], float(r["credit_sum"])) for r in sums] == [("c2", 2.0)]
        negative = _rows(wh, queries["negative"])
        assert [(r["conversion_id"], r["touch_id"], float(r["credit"])) for r in negative] == [("c3", "t33", -0.2)]
        outside = _rows(wh, queries["outside_window"])
        assert [(r["conversion_id"], r["touch_id"]) for r in outside] == [("c5", "t50"), ("c5", "t56")]
        assert [r["conversion_id"] for r in _rows(wh, queries["unattributed"])] == ["c0"]
        (share,) = _rows(wh, queries["unattributed_share"])
        assert (int(share["bucket_only"]), int(share["conversions"])) == (1, 6)
        assert float(share["share"]) == pytest.approx(1 / 6)


def test_a_healthy_table_keeps_every_invariant(warehouse_url: str) -> None:
    _load(warehouse_url, _table_from_model("time_decay"))
    queries = invariant_queries(AttributionTable("attribution"), CONV, TP, WINDOW, 0.001)
    with Warehouse(warehouse_url) as wh:
        for name in ("credit_sum", "negative", "outside_window", "unattributed"):
            assert _rows(wh, queries[name]) == [], name
        (share,) = _rows(wh, queries["unattributed_share"])
        assert (int(share["bucket_only"]), int(share["conversions"])) == (1, 6)  # c0, in the bucket


@pytest.mark.parametrize("dialect", ["duckdb", "postgresql", "snowflake", "bigquery"])
def test_every_statement_compiles_for_every_documented_dialect(dialect: str) -> None:
    from warehouses import compile_for

    for unit in ("share", "value"):
        attr = AttributionTable("analytics.attribution", unit=unit)
        statements = [eligible_touches(TP, CONV, Lookback(days=30, steps=4)), credit_by_channel(attr),
                      *invariant_queries(attr, CONV, TP, WINDOW, 0.01).values()]
        for name in (m for m in MODELS if m != "external"):
            model = AttributionModel(name)
            statements += [recompute(model, TP, CONV, WINDOW), compare_conversions(model, TP, CONV, WINDOW, attr, 0.01),
                           compare_channels(model, TP, CONV, WINDOW, attr, 0.01)]
        for statement in statements:
            sql = compile_for(dialect, statement)
            assert sql.lstrip().upper().startswith(("SELECT", "WITH")), sql[:80]
            assert "analytics" in sql or "touchpoints" in sql
