"""The demo's attribution data: made by gtmcheck/demo/make_attribution.py (plain Python), checked by the SQL.

The healthy stack's attribution table is position-based (0.4, 0.2, 0.4) over 90 days and the SQL recompute
agrees with it on every warehouse of the matrix; the drifted one counts d005 twice and its Paid Video touches
went Unassigned in September. Two implementations agreeing is the point: neither is checked against itself.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from warehouses import load_csv_tables

from gtmcheck.bundled import DEMO_DIR, demo_scenario
from gtmcheck.connectors.demo_warehouse import build_demo_warehouse
from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.kinds.attribution.models import AttributionModel, AttributionTable, Conversions, Lookback, Touchpoints
from gtmcheck.kinds.attribution.sql import (
    compare_channels,
    compare_conversions,
    credit_by_channel,
    invariant_queries,
    touches_by_channel,
)
from gtmcheck.sandbox import scenario_today
from gtmcheck.sandbox.scenario_warehouse import warehouse_sources

DATA = DEMO_DIR / "data"
MODEL = AttributionModel("position_based", position_weights=(0.4, 0.2, 0.4))
TP = Touchpoints("touchpoints")
CONV = Conversions("conversions", value="value", lead_created_at="lead_created_at",
                   opportunity_created_at="opportunity_created_at")
WINDOW = Lookback(days=90)
ATTR = AttributionTable("attribution")
UTM_CHANNELS = {"Paid Search", "Paid Social", "Paid Video", "Organic Social", "Email", "Referral"}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_attribution", DEMO_DIR / "make_attribution.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(wh: Warehouse, statement: Any) -> list[dict[str, Any]]:
    keys, rows = wh.select(statement)
    return [dict(zip([k.lower() for k in keys], row, strict=True)) for row in rows]


def test_the_committed_csvs_are_what_the_script_makes(capsys: pytest.CaptureFixture[str]) -> None:
    script = _script()
    assert script.main(["--check"]) == 0, capsys.readouterr().out
    made = script.outputs()
    for path, content in made.items():
        assert path.read_text(encoding="utf-8") == content, path


def test_the_script_says_which_file_went_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "drifted").mkdir(parents=True)
    for name in ("deals.csv", "contacts.csv", "touchpoints.csv", "conversions.csv", "attribution.csv",
                 "drifted/touchpoints.csv", "drifted/attribution.csv"):
        (data / name).write_text((DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    with (data / "touchpoints.csv").open("a", encoding="utf-8") as f:
        f.write("t0999,p003,Email,newsletter,email,fy26q2_emea_nurture,2026-05-10T08:00:00Z\n")
    script = _script()
    assert script.main(["--check", "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "attribution.csv: differs" in out and "conversions.csv" not in out
    assert script.main(["--data", str(data)]) == 0
    assert script.main(["--check", "--data", str(data)]) == 0
    assert "d004,t0999,Email,0.5" in (data / "attribution.csv").read_text(encoding="utf-8")


def test_the_scenarios_pin_their_calendar() -> None:
    assert scenario_today(demo_scenario()) == date(2026, 11, 27)
    assert scenario_today(demo_scenario("drifted")) == date(2027, 2, 26)


@pytest.fixture
def healthy(warehouse_url: str) -> Iterator[Warehouse]:
    load_csv_tables(warehouse_url, DATA, ["touchpoints", "conversions", "attribution"])
    with Warehouse(warehouse_url) as wh:
        yield wh


@pytest.fixture
def drifted(warehouse_url: str) -> Iterator[Warehouse]:
    load_csv_tables(warehouse_url, DATA, ["conversions"])
    load_csv_tables(warehouse_url, DATA / "drifted", ["touchpoints", "attribution"])
    with Warehouse(warehouse_url) as wh:
        yield wh


def test_the_healthy_table_is_the_declared_model(healthy: Warehouse) -> None:
    assert _rows(healthy, compare_conversions(MODEL, TP, CONV, WINDOW, ATTR, 1e-6)) == []
    assert _rows(healthy, compare_channels(MODEL, TP, CONV, WINDOW, ATTR, 1e-6)) == []
    queries = invariant_queries(ATTR, CONV, TP, WINDOW, 1e-6)
    for name in ("credit_sum", "negative", "outside_window", "unattributed"):
        assert _rows(healthy, queries[name]) == [], name
    (share,) = _rows(healthy, queries["unattributed_share"])
    assert (int(share["bucket_only"]), int(share["conversions"])) == (1, 11)  # d010: no touch in its window
    credited = {r["channel"] for r in _rows(healthy, credit_by_channel(ATTR)) if float(r["credit_total"]) > 0}
    assert UTM_CHANNELS <= credited
    # another model is told apart: linear disagrees on every conversion of three touches or more
    linear = _rows(healthy, compare_conversions(AttributionModel("linear"), TP, CONV, WINDOW, ATTR, 1e-6))
    assert {r["conversion_id"] for r in linear} == {"d003", "d005", "d006", "d009"}


def test_every_utm_channel_is_touched_in_the_healthy_window_and_paid_video_not_in_the_drifted_one(
        tmp_path: Path) -> None:
    def channels_since(target: Path, since: datetime) -> set[str]:
        with Warehouse(f"duckdb:///{target}") as wh:
            return {r["channel"] for r in _rows(wh, touches_by_channel(TP, since))}

    healthy_data, healthy_tables = warehouse_sources(demo_scenario()) or (DATA, {})
    healthy = build_demo_warehouse(healthy_data, tmp_path / "healthy.duckdb", tables=healthy_tables)
    assert UTM_CHANNELS <= channels_since(healthy, datetime(2026, 11, 27) - timedelta(days=90))
    drifted_data, drifted_tables = warehouse_sources(demo_scenario("drifted")) or (DATA, {})
    assert {"touchpoints", "attribution"} <= set(drifted_tables)
    drifted = build_demo_warehouse(drifted_data, tmp_path / "drifted.duckdb", tables=drifted_tables)
    recent = channels_since(drifted, datetime(2027, 2, 26) - timedelta(days=90))
    assert recent >= (UTM_CHANNELS - {"Paid Video"}) | {"Unassigned"}
    assert "Paid Video" not in recent


def test_the_drifted_table_double_counts_one_conversion(drifted: Warehouse) -> None:
    diffs = _rows(drifted, compare_conversions(MODEL, TP, CONV, WINDOW, ATTR, 1e-6))
    assert {r["conversion_id"] for r in diffs} == {"d005"}
    email = next(r for r in diffs if r["channel"] == "Email")
    assert (float(email["expected"]), float(email["actual"])) == pytest.approx((0.4, 0.8))
    sums = _rows(drifted, invariant_queries(ATTR, CONV, TP, WINDOW, 1e-6)["credit_sum"])
    assert [(r["conversion_id"], float(r["credit_sum"])) for r in sums] == [("d005", pytest.approx(2.0))]
    # the untagged Paid Video touches of d008 and d009 are credited as Unassigned, as the model says
    channels = {r["channel"]: float(r["credit_total"]) for r in _rows(drifted, credit_by_channel(ATTR))}
    assert channels["Unassigned"] == pytest.approx(0.9) and channels["Paid Video"] == pytest.approx(0.8)
