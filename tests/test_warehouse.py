"""The warehouse connector on the dialect matrix (``warehouses.py``): DuckDB, a real PostgreSQL
(``GTMCHECK_TEST_POSTGRES_URL``) and Snowflake through fakesnow.

In CI ``.ci/postgres.sh`` starts PostgreSQL and prints the export line; locally::

    eval "$(.ci/postgres.sh)" && pytest tests/test_warehouse.py
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, Numeric, String, Table, insert
from sqlalchemy.exc import NoSuchModuleError
from warehouses import load_csv_tables, postgres_url

from gtmcheck import secrets
from gtmcheck.connectors.demo_warehouse import build_demo_warehouse, is_stale
from gtmcheck.connectors.warehouse import MAX_SAMPLE, Warehouse
from gtmcheck.errors import ConfigError, WarehouseError
from gtmcheck.project import Environment

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


@pytest.fixture
def loaded(warehouse_url: str) -> Iterator[Loaded]:
    wh = Warehouse(warehouse_url)
    name = f"deals_{uuid.uuid4().hex[:10]}"
    meta = MetaData()
    table = Table(
        name, meta,
        Column("id", String(10), primary_key=True), Column("amount", Numeric(18, 2)), Column("stage", String(20)),
        Column("owner", String(10)), Column("closedate", Date), Column("seats", Integer),
    )
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
    url = postgres_url()
    from sqlalchemy.engine import make_url

    bad = make_url(url).set(password="Wr0ng-passw0rd-xyz").render_as_string(hide_password=False)
    wh = Warehouse(bad)
    with pytest.raises(WarehouseError) as info:
        wh.total("anything", "amount")
    assert "Wr0ng-passw0rd-xyz" not in str(info.value)
    wh.close()


def test_unknown_dialect_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dialect(url: object, **options: object) -> None:
        raise NoSuchModuleError("Can't load plugin: sqlalchemy.dialects:snowflake")

    monkeypatch.setattr("gtmcheck.connectors.warehouse.create_engine", no_dialect)  # as without the extra
    with pytest.raises(WarehouseError, match=r"gtmcheck\[snowflake\]"):
        Warehouse("snowflake://user:Secret-123@acct/db/schema")
    monkeypatch.undo()
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
        assert wh.tables() == ["attribution", "companies", "contacts", "conversions", "deals", "events",
                               "touchpoints"]
        assert wh.total("deals", "amount", "dealstage = 'closedwon'") == Decimal(428000)
        assert wh.count("events", "event = :e", {"e": "lead.created"}) == 120
        assert wh.count("events", "event = :e", {"e": "sales.queue.received"}) == 120
        assert wh.count("contacts") == 48
        assert wh.scalar("SELECT COUNT(DISTINCT contact_id) FROM touchpoints") == 48


def test_the_demo_data_gives_the_same_totals_on_every_warehouse(warehouse_url: str, tmp_path: Path,
                                                                repo: Path) -> None:
    data = repo / "gtmcheck/demo/data"
    loaded = load_csv_tables(warehouse_url, data, ["deals", "events"])
    reference = build_demo_warehouse(data, tmp_path / "reference.duckdb")
    won = "dealstage = 'closedwon'"
    with Warehouse(warehouse_url) as wh, Warehouse(f"duckdb:///{reference}") as duck:
        assert wh.total("deals", "amount", won) == duck.total("deals", "amount", won) == Decimal(428000)
        assert wh.count("events") == loaded["events"] == duck.count("events")
        for period in ("month", "week"):
            assert wh.grouped_totals("deals", "amount", "closedate", won, period=period) == duck.grouped_totals(
                "deals", "amount", "closedate", won, period=period)
        received = "event = :e"
        assert wh.count("events", received, {"e": "sales.queue.received"}) == duck.count(
            "events", received, {"e": "sales.queue.received"})


DROPPED = "SELECT lead_id, country, employees FROM events c WHERE event = 'lead.created' AND NOT EXISTS " \
          "(SELECT 1 FROM events r WHERE r.event = 'sales.queue.received' AND r.lead_id = c.lead_id) ORDER BY lead_id"


@pytest.mark.parametrize(("env_name", "received", "dropped"), [("sandbox", 120, 0), ("sandbox-drifted", 108, 12)])
def test_each_demo_environment_reads_its_own_warehouse(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                       env_name: str, received: int, dropped: int) -> None:
    """No filter to know about: the drifted environment's warehouse holds the drifted stack's events only."""
    from gtmcheck.project import load_project

    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    env = load_project(repo).environment(env_name)
    with Warehouse.for_environment(env) as wh:
        assert "scenario" not in {c.lower() for c in wh.sample("SELECT * FROM events", limit=1)[0]}
        assert wh.count("events", "event = 'lead.created'") == 120
        assert wh.count("events", "event = 'sales.queue.received'") == received
        assert wh.total("deals", "amount", "dealstage = 'closedwon'") == Decimal(428000)
        lost = wh.sample(DROPPED, limit=100)
    # the one story: the leads dropped are the ES/IT enterprise leads the drifted routing leaves in the queue
    assert len(lost) == dropped
    assert all(r["country"] in ("ES", "IT") and r["employees"] >= 1000 for r in lost)
    assert not list(repo.glob("gtmcheck/demo/**/*.duckdb.wal"))


def test_the_two_demo_warehouses_are_two_files_each_built_once(tmp_path: Path, repo: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmcheck.connectors.demo_warehouse import sandbox_warehouse

    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    healthy = sandbox_warehouse(repo / "gtmcheck/demo/healthy.yml")
    drifted = sandbox_warehouse(repo / "gtmcheck/demo/drifted.yml")
    assert healthy != drifted and healthy.name == drifted.name == "warehouse.duckdb"
    built = drifted.stat().st_mtime_ns
    assert sandbox_warehouse(repo / "gtmcheck/demo/drifted.yml") == drifted
    assert drifted.stat().st_mtime_ns == built  # cached: not rebuilt


def test_a_scenario_table_that_does_not_exist_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmcheck.connectors.demo_warehouse import sandbox_warehouse

    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "deals.csv").write_text("id,amount\nd1,5\n")
    scenario = tmp_path / "mine.yml"
    scenario.write_text("warehouse:\n  data: data\n  tables: {events: data/nope/events.csv}\n")
    with pytest.raises(WarehouseError, match="no such CSV .*nope/events.csv"):
        sandbox_warehouse(scenario)


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


def test_a_scenarios_unusable_warehouse_section_is_said_at_its_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmcheck.connectors.demo_warehouse import sandbox_warehouse
    from gtmcheck.errors import SpecError

    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    scenario = tmp_path / "mine.yml"
    scenario.write_text("portal_id: 1\nwarehouse:\n  data: data\n  tabels: {events: e.csv}\n")
    with pytest.raises(SpecError) as error:
        sandbox_warehouse(scenario)
    assert str(error.value).startswith(f"{scenario}:4:3:") and "tabels" in str(error.value)
    assert not (tmp_path / "cache").exists()
