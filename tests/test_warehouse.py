"""The warehouse connector against DuckDB (a temp file) and a real PostgreSQL (``GTMCHECK_TEST_POSTGRES_URL``).

In CI ``.ci/postgres.sh`` starts PostgreSQL and prints the export line; locally::

    eval "$(.ci/postgres.sh)" && pytest tests/test_warehouse.py
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, Numeric, String, Table, insert

from gtmcheck import secrets
from gtmcheck.connectors.demo_warehouse import build_demo_warehouse, is_stale
from gtmcheck.connectors.warehouse import MAX_SAMPLE, Warehouse
from gtmcheck.errors import ConfigError, WarehouseError
from gtmcheck.project import Environment

POSTGRES_ENV = "GTMCHECK_TEST_POSTGRES_URL"

DEALS = [
    {"id": f"d{i:03d}", "amount": Decimal(1000 + 250 * i) + Decimal("0.50") * (i % 2),
     "stage": "closedwon" if i % 3 else "closedlost", "owner": ["ann", "ben", "cy"][i % 3],
     "closedate": f"2026-{1 + i % 12:02d}-{1 + i % 27:02d}", "seats": i}
    for i in range(1, 61)
]


@dataclass
class Loaded:
    wh: Warehouse
    table: str


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set; run eval \"$(.ci/postgres.sh)\" to test against PostgreSQL")
    return url


@pytest.fixture(params=["duckdb", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Loaded]:
    if request.param == "duckdb":
        wh = Warehouse("duckdb:///wh.duckdb", root=tmp_path)
    else:
        wh = Warehouse(_postgres_url())
    name = f"deals_{uuid.uuid4().hex[:10]}"
    meta = MetaData()
    table = Table(
        name, meta,
        Column("id", String(10), primary_key=True), Column("amount", Numeric(18, 2)), Column("stage", String(20)),
        Column("owner", String(10)), Column("closedate", Date), Column("seats", Integer),
    )
    from datetime import date

    rows = [{**d, "closedate": date.fromisoformat(str(d["closedate"]))} for d in DEALS]
    meta.create_all(wh.engine)
    with wh.engine.begin() as conn:
        conn.execute(insert(table), rows)
    try:
        yield Loaded(wh, name)
    finally:
        meta.drop_all(wh.engine)
        wh.close()


def test_total_is_pushed_down_and_equals_the_python_sum(loaded: Loaded) -> None:
    expected = sum((Decimal(d["amount"]) for d in DEALS if d["stage"] == "closedwon"), Decimal(0))  # type: ignore[arg-type]
    got = loaded.wh.total(loaded.table, "amount", "stage = :stage", {"stage": "closedwon"})
    assert got == expected
    assert loaded.wh.total(loaded.table, "amount") == sum(Decimal(d["amount"]) for d in DEALS)  # type: ignore[arg-type]
    assert loaded.wh.total(loaded.table, "amount", "stage = :s", {"s": "nothing"}) == 0
    assert loaded.wh.total(loaded.table, "seats") == sum(range(1, 61))


def test_count_and_scalar(loaded: Loaded) -> None:
    assert loaded.wh.count(loaded.table, "stage = :s", {"s": "closedlost"}) == 20
    assert loaded.wh.scalar(f"SELECT MAX(seats) FROM {loaded.table} WHERE owner = :o", {"o": "ann"}) == 60


def test_grouped_totals(loaded: Loaded) -> None:
    expected: dict[str, Decimal] = {}
    for d in DEALS:
        expected[str(d["owner"])] = expected.get(str(d["owner"]), Decimal(0)) + Decimal(d["amount"])  # type: ignore[arg-type]
    assert loaded.wh.grouped_totals(loaded.table, "amount", "owner") == expected


def test_grouped_totals_by_month(loaded: Loaded) -> None:
    expected: dict[str, Decimal] = {}
    for d in DEALS:
        if d["stage"] == "closedwon":
            month = str(d["closedate"])[:7]
            expected[month] = expected.get(month, Decimal(0)) + Decimal(d["amount"])  # type: ignore[arg-type]
    got = loaded.wh.grouped_totals(loaded.table, "amount", "closedate", "stage = 'closedwon'", period="month")
    assert got == expected
    assert list(got) == sorted(got)


def test_sample_is_bounded(loaded: Loaded) -> None:
    rows = loaded.wh.sample(f"SELECT id, amount FROM {loaded.table} ORDER BY id;", limit=7)
    assert [r["id"] for r in rows] == [f"d{i:03d}" for i in range(1, 8)]
    assert set(rows[0]) == {"id", "amount"}
    assert loaded.wh.sample(f"SELECT * FROM {loaded.table} WHERE owner = :o", {"o": "cy"}, limit=1000) != []
    assert len(loaded.wh.sample(f"SELECT * FROM {loaded.table}", limit=10**9)) == len(DEALS) <= MAX_SAMPLE


@pytest.mark.parametrize("name", ["deals; drop table x", 'deals"', "a b", "x.y.z.w", "", "1abc", "amount)--"])
def test_identifiers_from_checklists_are_validated(loaded: Loaded, name: str) -> None:
    with pytest.raises(WarehouseError, match="identifier|non-empty"):
        loaded.wh.total(name, "amount")
    with pytest.raises(WarehouseError, match="identifier|non-empty"):
        loaded.wh.total(loaded.table, name)
    with pytest.raises(WarehouseError, match="identifier|non-empty"):
        loaded.wh.grouped_totals(loaded.table, "amount", name)


def test_where_cannot_smuggle_a_second_statement(loaded: Loaded) -> None:
    with pytest.raises(WarehouseError, match="where clause"):
        loaded.wh.total(loaded.table, "amount", f"1=1; DROP TABLE {loaded.table}")
    assert loaded.wh.count(loaded.table) == len(DEALS)


def test_bad_sql_is_a_warehouse_error(loaded: Loaded) -> None:
    with pytest.raises(WarehouseError, match="query failed"):
        loaded.wh.scalar("SELECT no_such_column FROM no_such_table")
    with pytest.raises(WarehouseError, match="query failed"):
        loaded.wh.total(loaded.table, "no_such_column")
    assert loaded.wh.count(loaded.table) == len(DEALS)  # the pool still works after a failed query


def test_password_is_redacted_in_errors() -> None:
    pytest.importorskip("psycopg", reason="psycopg is in the [postgres] and [test] extras")
    password = "s3cret-Pa55word"
    wh = Warehouse(f"postgresql+psycopg://gtm:{password}@127.0.0.1:1/gtm",
                   engine_options={"connect_args": {"connect_timeout": 2}})
    with pytest.raises(WarehouseError) as info:
        wh.scalar("SELECT 1")
    assert password not in str(info.value)
    assert "127.0.0.1" in str(info.value)
    assert password not in repr(wh) and password not in wh.display_url
    assert secrets.redact(f"leaked {password}") == "leaked ***"
    wh.close()


def test_postgres_wrong_password_is_redacted() -> None:
    url = _postgres_url()
    from sqlalchemy.engine import make_url

    bad = make_url(url).set(password="Wr0ng-passw0rd-xyz").render_as_string(hide_password=False)
    wh = Warehouse(bad)
    with pytest.raises(WarehouseError) as info:
        wh.total("anything", "amount")
    assert "Wr0ng-passw0rd-xyz" not in str(info.value)
    wh.close()


def test_unknown_dialect_says_which_extra_to_install() -> None:
    # the test extra brings snowflake-sqlalchemy (fakesnow runs the Snowflake dialect), so BigQuery's stands in
    with pytest.raises(WarehouseError, match=r"gtmcheck\[bigquery\]"):
        Warehouse("bigquery://user:Secret-123@project/dataset")
    with pytest.raises(WarehouseError) as info:
        Warehouse("nosuchdb://user:Secret-456@host/db")
    assert "Secret-456" not in str(info.value)


def test_not_a_url() -> None:
    with pytest.raises(WarehouseError, match="not a SQLAlchemy URL"):
        Warehouse("this is not a url")


def test_relative_duckdb_path_resolves_against_root(tmp_path: Path) -> None:
    with Warehouse("duckdb:///sub/w.duckdb", root=tmp_path) as wh:
        assert wh.url.database == str(tmp_path / "sub" / "w.duckdb")
    with Warehouse("duckdb:///:memory:", root=tmp_path) as wh:
        assert wh.scalar("SELECT 41 + 1") == 42


# --- the demo warehouse ---------------------------------------------------------------------------------------

def test_demo_warehouse_matches_its_csvs(tmp_path: Path, repo: Path) -> None:
    target = build_demo_warehouse(repo / "gtmcheck/demo/data", tmp_path / "w.duckdb")
    with Warehouse(f"duckdb:///{target}") as wh:
        assert wh.tables() == ["companies", "contacts", "deals", "events", "touchpoints"]
        assert wh.total("deals", "amount", "dealstage = 'closedwon'") == Decimal(428000)
        events = "scenario = :s AND event = :e"
        assert wh.count("events", events, {"s": "healthy", "e": "lead.created"}) == 120
        assert wh.count("events", events, {"s": "healthy", "e": "sales.queue.received"}) == 120
        assert wh.count("events", events, {"s": "drifted", "e": "lead.created"}) == 120
        assert wh.count("events", events, {"s": "drifted", "e": "sales.queue.received"}) == 108
        assert wh.count("contacts") == 48
        assert wh.scalar("SELECT COUNT(DISTINCT contact_id) FROM touchpoints") == 48


def test_demo_warehouse_is_built_once_and_rebuilt_when_a_csv_changes(tmp_path: Path, repo: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text("id,amount,dealstage\nd1,10,closedwon\nd2,5,closedlost\n")
    target = tmp_path / "w.duckdb"
    assert is_stale(data, target)
    build_demo_warehouse(data, target)
    assert not is_stale(data, target)
    first = target.stat().st_mtime_ns
    build_demo_warehouse(data, target)
    assert target.stat().st_mtime_ns == first  # up to date: not rebuilt
    (data / "deals.csv").write_text("id,amount,dealstage\nd1,10,closedwon\nd2,5,closedwon\n")
    os.utime(data / "deals.csv", ns=(first + 10**9, first + 10**9))
    assert is_stale(data, target)
    build_demo_warehouse(data, target)
    with Warehouse(f"duckdb:///{target}") as wh:
        assert wh.total("deals", "amount", "dealstage = 'closedwon'") == 15
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "w.duckdb"]  # no temp files left


def test_for_environment_builds_the_demo_warehouse(tmp_path: Path, repo: Path) -> None:
    demo = tmp_path / "gtmcheck" / "demo"
    (demo / "data").mkdir(parents=True)
    (demo / "data" / "deals.csv").write_text("id,amount,dealstage\nd1,7,closedwon\n")
    env = Environment(name="sandbox", root=tmp_path, warehouse={"url": "duckdb:///gtmcheck/demo/warehouse.duckdb"})
    with Warehouse.for_environment(env) as wh:
        assert wh.total("deals", "amount") == 7
    assert (demo / "warehouse.duckdb").is_file()


def test_for_environment_without_a_warehouse() -> None:
    with pytest.raises(ConfigError, match="no warehouse"):
        Warehouse.for_environment(Environment(name="x", root=Path.cwd()))


def test_demo_warehouse_is_ignored_by_git(repo: Path) -> None:
    assert "gtmcheck/demo/warehouse.duckdb" in (repo / ".gitignore").read_text().split()
