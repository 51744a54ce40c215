"""Every query the warehouse side emits compiles for DuckDB, PostgreSQL, Snowflake and BigQuery, and the date
buckets run on the dialect matrix (DuckDB, PostgreSQL, fakesnow) with the keys the CRM side gives.

``STATEMENTS`` lists the queries by name; a module that emits more (the reconcile kind's ``sql.py``) adds its
own so this test compiles them all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Date, MetaData, Numeric, String, Table, insert
from sqlalchemy.engine import Dialect
from warehouses import compile_for, dialect_for

from gtmcheck.connectors.aggregation import bucket_key
from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.connectors.warehouse_queries import (
    PERIODS,
    count_statement,
    grouped_statement,
    sample_statement,
    total_statement,
)

COMPILED_FOR = ("duckdb", "postgresql", "snowflake", "bigquery")
WON = "dealstage = 'closedwon'"

STATEMENTS: dict[str, Callable[[Dialect], Any]] = {
    "total": lambda d: total_statement(d, "analytics.deals", "amount", WON),
    "count": lambda d: count_statement(d, "deals", WON),
    "grouped by a column": lambda d: grouped_statement(d, "deals", "amount", "region", WON),
    **{f"grouped by {p}": (lambda d, p=p: grouped_statement(d, "deals", "amount", "closedate", WON, p))
       for p in PERIODS},
    "sample": lambda d: sample_statement("SELECT id, amount FROM deals WHERE amount > 10", 7),
}


@pytest.mark.parametrize("dialect_name", COMPILED_FOR)
@pytest.mark.parametrize("name", STATEMENTS)
def test_every_query_compiles_for_every_dialect(name: str, dialect_name: str) -> None:
    sql = compile_for(dialect_name, STATEMENTS[name](dialect_for(dialect_name)))
    assert sql.startswith("SELECT") and "deals" in sql
    assert "%(" not in sql and "?" not in sql  # every value rendered: nothing left for a driver to bind


def test_bigquery_truncates_dates_its_own_way_and_weeks_start_on_monday() -> None:
    bigquery = dialect_for("bigquery")

    def grouped(period: str) -> str:
        return compile_for("bigquery", grouped_statement(bigquery, "deals", "amount", "closedate", WON, period))

    assert "date_trunc(`closedate`, ISOWEEK) AS `grp`" in grouped("week")  # WEEK would start on Sunday
    assert "date_trunc(`closedate`, MONTH)" in grouped("month")
    assert "GROUP BY `grp` ORDER BY `grp`" in grouped("quarter")  # BigQuery groups by the label it names
    assert "LIMIT 7" in compile_for("bigquery", STATEMENTS["sample"](bigquery))
    assert compile_for("bigquery", total_statement(bigquery, "proj.analytics.deals", "amount")).endswith(
        "FROM `proj`.`analytics`.`deals`")


def test_other_dialects_truncate_with_the_period_first() -> None:
    for name in ("duckdb", "postgresql", "snowflake"):
        sql = compile_for(name, grouped_statement(dialect_for(name), "deals", "amount", "closedate", None, "week"))
        assert "date_trunc('week', closedate) AS grp" in sql


DAYS = [date(2026, 12, 27), date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 4),
        date(2027, 3, 31), date(2027, 4, 1)]  # a Sunday, a Monday, the year end, a quarter end


@pytest.mark.parametrize("period", PERIODS)
def test_date_buckets_on_every_warehouse_match_the_crm_side(warehouse_url: str, period: str) -> None:
    meta = MetaData()
    deals = Table("bucketed_deals", meta, Column("id", String(8), primary_key=True), Column("amount", Numeric(18, 2)),
                  Column("closedate", Date))
    with Warehouse(warehouse_url) as wh:
        meta.create_all(wh.engine)
        with wh.engine.begin() as conn:
            conn.execute(insert(deals), [{"id": f"d{i}", "amount": Decimal(10 ** i), "closedate": day}
                                         for i, day in enumerate(DAYS)])
        got = wh.grouped_totals("bucketed_deals", "amount", "closedate", period=period)  # type: ignore[arg-type]
    expected: dict[str, Decimal] = {}
    for i, day in enumerate(DAYS):  # the keys CrmConnector.aggregate gives for the same dates
        expected[bucket_key(day, period)] = expected.get(bucket_key(day, period), Decimal(0)) + 10 ** i
    assert got == expected
    assert list(got) == sorted(got)
