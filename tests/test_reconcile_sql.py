"""Every query ``gtmcheck/kinds/reconcile/sql.py`` emits compiles for every dialect gtmcheck documents: DuckDB,
PostgreSQL, Snowflake and BigQuery (compile only: no network). DuckDB, PostgreSQL and Snowflake (fakesnow) also
run them in tests/test_reconcile_totals.py; BigQuery's SQL is checked here, as text.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from gtmcheck.connectors.crm import GroupBy, Measure
from gtmcheck.errors import WarehouseError
from gtmcheck.kinds.reconcile.model import WarehouseSide
from gtmcheck.kinds.reconcile.schema import BUCKETS
from gtmcheck.kinds.reconcile.sql import side_query, sql_side_query, unsafe_sql


def _dialects() -> dict[str, Dialect]:
    from duckdb_engine import Dialect as DuckDBDialect

    try:
        import sqlalchemy_bigquery as bigquery
        from snowflake.sqlalchemy import snowdialect as snowflake
    except ImportError as exc:  # skipped locally, required in CI (GTMCHECK_TEST_REQUIRE_WAREHOUSES)
        if os.environ.get("GTMCHECK_TEST_REQUIRE_WAREHOUSES"):
            pytest.fail(f"a dialect cannot be imported: {exc}")
        pytest.skip(f"a dialect cannot be imported: {exc}; pip install -e '.[test]'")
    return {"duckdb": DuckDBDialect(), "postgresql": postgresql.dialect(), "snowflake": snowflake.SnowflakeDialect(),
            "bigquery": bigquery.BigQueryDialect()}


def compile_for(dialect: Dialect, statement: Any) -> str:
    return " ".join(str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})).split())


MEASURES = [Measure("count", None), Measure("sum", "amount"), Measure("avg", "amount"), Measure("sum", "amount * fx")]
GROUPS = [None, GroupBy("region", None), *(GroupBy("closedate", b) for b in BUCKETS)]  # type: ignore[arg-type]


def _side(measure: Measure, group_by: GroupBy | None, where: str | None = "stage = 'won'") -> WarehouseSide:
    return WarehouseSide("analytics.deals", None, measure, where, group_by, "id", "updated_at", ())


@pytest.mark.parametrize("name", ["duckdb", "postgresql", "snowflake", "bigquery"])
def test_every_side_query_compiles_for_every_dialect(name: str) -> None:
    dialect = _dialects()[name]
    for measure, group_by, cutoff in itertools.product(MEASURES, GROUPS, [None, datetime(2026, 11, 1)]):
        sql = compile_for(dialect, side_query(_side(measure, group_by), cutoff))
        assert sql.startswith("SELECT ")
        assert ("GROUP BY 1" in sql) == (group_by is not None)
        assert ("<=" in sql) == (cutoff is not None)
    sql_side = WarehouseSide(None, "select region as key, sum(arr) as value from arr group by region;", None, None,
                             None, None, None, ())
    assert compile_for(dialect, sql_side_query(sql_side)) == ("select region as key, sum(arr) as value from arr "
                                                              "group by region")


def test_bigquery_gets_its_own_date_trunc_and_exact_sums() -> None:
    query = side_query(_side(Measure("sum", "amount"), GroupBy("closedate", "week")))
    sql = compile_for(_dialects()["bigquery"], query)
    assert sql == ("SELECT DATE_TRUNC(CAST(`closedate` AS DATE), ISOWEEK) AS `grp`, sum(CAST(`amount` AS NUMERIC)) "
                   "AS `total` FROM `analytics`.`deals` WHERE (stage = 'won') GROUP BY 1")


@pytest.mark.parametrize("name", ["duckdb", "postgresql", "snowflake"])
def test_the_other_dialects_truncate_with_the_unit_first(name: str) -> None:
    query = side_query(_side(Measure("avg", "amount * fx"), GroupBy("closedate", "quarter")))
    assert compile_for(_dialects()[name], query) == (
        "SELECT DATE_TRUNC('quarter', closedate) AS grp, sum(CAST((amount * fx) AS NUMERIC(38, 9))) AS total, "
        "count((amount * fx)) AS n FROM analytics.deals WHERE (stage = 'won') GROUP BY 1")


def test_names_are_quoted_by_the_dialect_and_user_sql_is_checked() -> None:
    pg = _dialects()["postgresql"]
    side = WarehouseSide("Deals", None, Measure("sum", "Amount"), None, GroupBy("Region", None), None, None, ())
    sql = compile_for(pg, side_query(side))
    assert sql == 'SELECT "Region" AS grp, sum(CAST("Amount" AS NUMERIC(38, 9))) AS total FROM "Deals" GROUP BY 1'
    for bad in ("1 = 1; drop table deals", "1 = 1 -- x", "1 = 1 /* x */"):
        assert unsafe_sql(bad) is not None
        with pytest.raises(WarehouseError, match="cannot be sent to the warehouse"):
            side_query(_side(Measure("count", None), None, where=bad))
    assert unsafe_sql("delete from deals", whole=True) == "it is not a SELECT (or WITH ... SELECT) query"
    assert unsafe_sql("with w as (select 1 as value) select value from w;", whole=True) is None
    with pytest.raises(WarehouseError, match="not a plain table name"):
        side_query(WarehouseSide("deals; drop", None, Measure("count", None), None, None, None, None, ()))
