"""Drill-down to records on DuckDB, a real PostgreSQL (``GTMCHECK_TEST_POSTGRES_URL``) and Snowflake (fakesnow).

Every seeded difference is named with both values, nothing is invented (equal tables in another row order
or another numeric type give no difference), and only the rows of differing buckets are pulled.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Numeric, String, Table, insert

from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.errors import WarehouseError
from gtmcheck.kinds.reconcile import drilldown
from gtmcheck.kinds.reconcile.drilldown import KeyedSide, ValueDiff, diff_keys, diff_records

POSTGRES_ENV = "GTMCHECK_TEST_POSTGRES_URL"
BASE = {f"d{i:04d}": Decimal(1000 + 37 * i) for i in range(1, 1201)}


@dataclass
class Db:
    wh: Warehouse
    meta: MetaData
    prefix: str

    def table(self, rows: list[tuple[Any, Any]], amount: Any = None) -> str:
        name = f"{self.prefix}_{len(self.meta.tables)}"
        table = Table(name, self.meta, Column("id", String(20)), Column("amount", amount or Numeric(18, 2)),
                      Column("region", String(8)))
        table.create(self.wh.engine)
        if rows:
            data = [{"id": k, "amount": v, "region": "emea" if i % 2 else "amer"} for i, (k, v) in enumerate(rows)]
            with self.wh.engine.begin() as conn:  # one multi-row INSERT: fakesnow parses each statement
                conn.execute(insert(table).values(data))
        return name


@pytest.fixture(params=["duckdb", "postgresql", pytest.param("snowflake", marks=pytest.mark.filterwarnings(
    "ignore:Arrow output on a DB-API result:UserWarning"))])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    prefix = f"dd_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        wh = Warehouse("duckdb:///wh.duckdb", root=tmp_path)
    elif request.param == "postgresql":
        url = os.environ.get(POSTGRES_ENV)
        if not url:
            pytest.skip(f"{POSTGRES_ENV} is not set; run eval \"$(.ci/postgres.sh)\" to test against PostgreSQL")
        wh = Warehouse(url)
    else:
        fakesnow = pytest.importorskip("fakesnow", reason="pip install -e '.[test]' brings fakesnow")
        patch = fakesnow.patch()
        patch.__enter__()
        request.addfinalizer(lambda: patch.__exit__(None, None, None))
        wh = Warehouse("snowflake://gtm:fakesnow-pw@account/gtmdb/public")
    meta = MetaData()
    try:
        yield Db(wh, meta, prefix)
    finally:
        meta.drop_all(wh.engine)
        wh.close()


def _side(table: str, label: str = "warehouse", **kw: Any) -> KeyedSide:
    return KeyedSide(key="id", table=table, value=kw.pop("value", "amount"), label=label, **kw)


def test_each_sort_of_difference_is_named_with_both_values(db: Db) -> None:
    left = dict(BASE)
    right = dict(BASE)
    del right["d0007"]                      # missing on the right (in the CRM)
    right["x0001"] = Decimal(5)             # missing on the left (in the warehouse)
    right["d0100"] = Decimal("4701.00")     # value differs
    right["d0200"] = None                   # NULL against a value
    left["d0300"] = None                    # a value against NULL
    rows_right = [*right.items(), ("d0400", BASE["d0400"])]  # d0400 twice on the right
    diff = diff_keys(db.wh, _side(db.table(list(left.items()))), _side(db.table(rows_right), "CRM"), precision=2)
    assert diff.missing_right == ["d0007"]
    assert diff.missing_left == ["x0001"]
    by_key = {d.key: d for d in diff.differing}
    assert set(by_key) == {"d0100", "d0200", "d0300"}
    assert by_key["d0100"] == ValueDiff("d0100", f"{BASE['d0100']}.00", "4701.00")
    assert by_key["d0200"] == ValueDiff("d0200", f"{BASE['d0200']}.00", None)
    assert by_key["d0300"] == ValueDiff("d0300", None, f"{BASE['d0300']}.00")
    assert [(d.key, d.left, d.right) for d in diff.duplicated] == [
        ("d0400", (f"{BASE['d0400']}.00",), (f"{BASE['d0400']}.00", f"{BASE['d0400']}.00"))]
    counts = diff.total_counts
    assert (counts.missing_left, counts.missing_right, counts.differing, counts.duplicated) == (1, 1, 3, 1)
    assert (counts.left_rows, counts.right_rows) == (1200, 1201)
    assert "d0007: missing in CRM" in diff.sample
    assert "x0001: missing in warehouse" in diff.sample
    assert f"d0200: {BASE['d0200']}.00 (warehouse) vs NULL (CRM)" in diff.sample
    evidence = diff.evidence()
    assert evidence["sides"] == {"left": "warehouse", "right": "CRM"}
    assert evidence["differing"][0] == {"key": "d0100", "left": f"{BASE['d0100']}.00", "right": "4701.00"}
    assert evidence["missing_right"] == ["d0007"] and evidence["counts"]["differing"] == 3


def test_equal_tables_in_another_order_and_numeric_type_give_no_difference(db: Db) -> None:
    rows = list(BASE.items()) + [("d9999", Decimal(28000))]
    as_numeric = db.table(rows)
    as_integer = db.table([(k, int(v)) for k, v in reversed(rows)], amount=Integer)
    as_float = db.table([(k, float(v)) for k, v in sorted(rows, key=lambda r: str(r[1]))], amount=Float)
    for other in (as_integer, as_float):
        diff = diff_keys(db.wh, _side(as_numeric), _side(other, "CRM"), precision=2)
        assert diff.total_counts.differences == 0, diff.sample
        assert diff.sample == [] and diff.listed == 0


def test_identical_duplicates_are_no_difference_and_null_keys_are_counted_not_matched(db: Db) -> None:
    rows = [*BASE.items(), ("d0001", BASE["d0001"]), (None, Decimal(1))]
    diff = diff_keys(db.wh, _side(db.table(rows)), _side(db.table(list(reversed(rows))), "CRM"), precision=2)
    assert diff.total_counts.differences == 0
    assert (diff.total_counts.left_null_keys, diff.total_counts.right_null_keys) == (1, 1)


def test_records_in_memory_hash_exactly_as_the_warehouse_does(db: Db) -> None:
    """The CRM side's records: equal ones give no difference on every dialect, seeded ones are all named."""
    table = db.table(list(BASE.items()))
    same: dict[str, Any] = {k: float(v) if i % 2 else str(v) for i, (k, v) in enumerate(BASE.items())}
    assert diff_records(db.wh, _side(table), same, precision=2).total_counts.differences == 0
    crm = dict(same)
    del crm["d0011"]
    crm["c0001"] = "12"
    crm["d0500"] = "1.5"
    crm["d0600"] = None
    diff = diff_records(db.wh, _side(table), crm, precision=2)
    assert (diff.missing_right, diff.missing_left) == (["d0011"], ["c0001"])
    assert diff.differing == [ValueDiff("d0500", f"{BASE['d0500']}.00", "1.50"),
                              ValueDiff("d0600", f"{BASE['d0600']}.00", None)]


def test_presence_only_compares_keys_and_a_subquery_side_binds_its_parameters(db: Db) -> None:
    table = db.table(list(BASE.items()))
    crm = {k: "ignored" for k in BASE if k != "d0042"} | {"new1": None}
    diff = diff_records(db.wh, _side(table, value=None), crm)
    assert (diff.missing_right, diff.missing_left, diff.differing) == (["d0042"], ["new1"], [])
    sub = KeyedSide(key="id", sql=f"SELECT id, amount FROM {table} WHERE region = :region", value="amount",
                    params={"region": "emea"}, label="finance")
    whole = KeyedSide(key="id", table=table, value="amount", where="region = :r", params={"r": "emea"})
    assert diff_keys(db.wh, whole, sub, precision=2).total_counts.differences == 0
    everything = diff_keys(db.wh, _side(table), sub, precision=2)
    assert everything.total_counts.missing_right == 600
    same_label = diff_keys(db.wh, _side(table), KeyedSide(key="id", table=table, value="amount", where="1 = 0"),
                           precision=2)
    assert f"d0001: missing in warehouse {table}" in same_label.sample  # two warehouse sides named by table


def test_only_the_rows_of_differing_buckets_are_pulled(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small buckets forced so the bucket split and the pull batches run; every difference is still found."""
    monkeypatch.setattr(drilldown, "TARGET_BUCKET_ROWS", 400)
    monkeypatch.setattr(drilldown, "MAX_BUCKET_ROWS", 30)
    monkeypatch.setattr(drilldown, "PULL_BATCH_ROWS", 40)
    pulled: list[int] = []
    original = drilldown._SqlSide.rows

    def counting(self: Any, modulus: int, residues: Any) -> Any:
        for row in original(self, modulus, residues):
            pulled.append(1)
            yield row

    monkeypatch.setattr(drilldown._SqlSide, "rows", counting)
    right = dict(BASE)
    changed = ["d0003", "d0333", "d0777", "d1111"]
    for key in changed:
        right[key] += 1
    diff = diff_keys(db.wh, _side(db.table(list(BASE.items()))), _side(db.table(list(right.items())), "CRM"),
                     precision=2)
    assert sorted(d.key for d in diff.differing) == changed
    assert 2 * len(changed) <= len(pulled) <= 2 * len(changed) * 30  # at most four buckets of 30 a side


def test_past_the_cap_differences_are_counted_not_listed(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drilldown, "MAX_LISTED", 5)
    right = {k: v for i, (k, v) in enumerate(BASE.items()) if i >= 12}
    diff = diff_keys(db.wh, _side(db.table(list(BASE.items()))), _side(db.table(list(right.items())), "CRM"),
                     sample=3, precision=2)
    assert diff.total_counts.missing_right == 12
    assert len(diff.missing_right) == 5 and set(diff.missing_right) <= set(list(BASE)[:12])
    assert diff.not_listed == 7 and len(diff.sample) == 3
    assert diff.evidence()["not_listed"] == 7 and diff.evidence()["max_listed"] == 5


@pytest.mark.parametrize(("side", "message"), [
    (KeyedSide(key="id; drop table x", table="t"), "not a plain identifier"),
    (KeyedSide(key="id", table="t", where="1=1; drop table t"), "may not contain"),
    (KeyedSide(key="id", table="t", value="amount -- x"), "may not contain"),
    (KeyedSide(key="id", table="t", sql="select 1"), "not both"),
])
def test_unsafe_sides_are_refused_before_any_query(side: KeyedSide, message: str, tmp_path: Path) -> None:
    with Warehouse("duckdb:///wh.duckdb", root=tmp_path) as wh, pytest.raises(WarehouseError, match=message):
        diff_keys(wh, side, KeyedSide(key="id", table="t", value=side.value))


def test_an_unsupported_dialect_says_where_drill_down_runs(tmp_path: Path) -> None:
    with Warehouse("sqlite:///wh.sqlite", root=tmp_path) as wh, pytest.raises(WarehouseError) as err:
        diff_keys(wh, KeyedSide(key="id", table="t"), KeyedSide(key="id", table="u"))
    assert "duckdb, postgresql, snowflake" in str(err.value)


def test_md5_checksums_name_the_same_keys_as_the_warehouse_hash(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """diff_keys hashes with the warehouse's own hash; the MD5 SQL (diff_records' twin) must agree with it."""
    right = dict(BASE)
    del right["d0005"]
    right["d0900"] = None
    left_table, right_table = db.table(list(BASE.items())), db.table(list(right.items()))
    native = diff_keys(db.wh, _side(left_table), _side(right_table, "CRM"), precision=2)
    monkeypatch.setattr(drilldown, "NATIVE_HASH", False)
    md5 = diff_keys(db.wh, _side(left_table), _side(right_table, "CRM"), precision=2)
    for found in (native, md5):
        assert found.missing_right == ["d0005"]
        assert found.differing == [ValueDiff("d0900", f"{BASE['d0900']}.00", None)]
        assert found.total_counts.differences == 2


def test_text_values_null_and_empty_differ_and_compare_as_written(db: Db) -> None:
    """Without precision values compare as text: '' is not NULL, and 28000 is not 28000.00."""
    left = db.table([("a", Decimal(1)), ("b", Decimal(2)), ("c", Decimal(3))])
    right = db.table([("a", 1), ("b", 2), ("c", 3)], amount=Integer)
    as_text = diff_keys(db.wh, _side(left), _side(right, "CRM"))
    assert [(d.key, d.left, d.right) for d in as_text.differing] == [("a", "1.00", "1"), ("b", "2.00", "2"),
                                                                     ("c", "3.00", "3")]
    region = diff_records(db.wh, _side(left, value="region"), {"a": "amer", "b": "", "c": None})
    assert region.differing == [ValueDiff("b", "emea", ""), ValueDiff("c", "amer", None)]


@pytest.mark.parametrize("every_row", [False, True], ids=["differing-buckets", "every-row"])
def test_a_large_mismatch_is_merged_in_one_ordered_pass_with_the_same_answer(
        db: Db, monkeypatch: pytest.MonkeyPatch, every_row: bool) -> None:
    """Past STREAM_ABOVE_ROWS both sides stream ordered by hash and are merged; batches cut between hashes."""
    monkeypatch.setattr(drilldown, "STREAM_ABOVE_ROWS", 0)
    monkeypatch.setattr(drilldown, "PULL_BATCH_ROWS", 64)  # many cuts, keys never split across two batches
    monkeypatch.setattr(drilldown, "FETCH_ROWS", 7)
    if every_row:
        monkeypatch.setattr(drilldown, "RESIDUES_PER_QUERY", 1)  # too many buckets to name: every row streams
        monkeypatch.setattr(drilldown, "STREAM_PASS_ROWS", 300)  # in several passes, each a part of the hashes
    right = {k: v + 1 if i % 3 == 0 else v for i, (k, v) in enumerate(BASE.items()) if i % 50}
    right["z0001"] = Decimal(1)
    tripled = [k for i, k in enumerate(BASE) if i % 50 and i % 3 and i % 7 == 1]  # 3 rows, 3 values: some
    rows_right = [*right.items(), *((k, right[k] + extra) for k in tripled for extra in (2, 3))]  # span chunks
    left_table = db.table(list(BASE.items()))
    diff = diff_keys(db.wh, _side(left_table), _side(db.table(rows_right), "CRM"), precision=2)
    changed = sorted(k for i, (k, _) in enumerate(BASE.items()) if i % 50 and i % 3 == 0)
    assert sorted(diff.missing_right) == [k for i, k in enumerate(BASE) if i % 50 == 0]
    assert diff.missing_left == ["z0001"]
    assert sorted(d.key for d in diff.differing) == changed
    assert sorted(d.key for d in diff.duplicated) == tripled
    assert all(len(d.right) == 3 and len(d.left) == 1 for d in diff.duplicated)
    crm = diff_records(db.wh, _side(left_table), {k: str(v) for k, v in right.items()}, precision=2)
    assert sorted(d.key for d in crm.differing) == changed and crm.missing_left == ["z0001"]


def test_a_failing_query_is_a_warehouse_error_naming_the_side(db: Db) -> None:
    table = db.table(list(BASE.items()))
    with pytest.raises(WarehouseError, match="drill-down on the CRM side failed") as err:
        diff_keys(db.wh, _side(table), _side(f"{db.prefix}_missing", "CRM"), precision=2)
    assert "fakesnow-pw" not in str(err.value)
