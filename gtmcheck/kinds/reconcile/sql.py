"""Every query the reconcile kind emits, built with SQLAlchemy Core so each dialect compiles its own SQL.

The warehouse computes the totals (``SUM``/``COUNT`` ... ``GROUP BY`` pushed down; an average is its sum and
count); only one row per
group comes back. Names from the checklist (tables, columns) are validated by the schema and quoted by the
dialect through ``table()``/``column()``; the user's own SQL (``where``, a measure expression such as
``amount * fx``, a whole ``sql:``) passes ``unsafe_sql`` first (no ``;``, ``--`` or ``/*``, as the warehouse
connector asks of its ``where`` fragments) and then goes in as ``text``/``literal_column``.

Date buckets are one construct, ``DateBucket``, compiled per dialect: ``DATE_TRUNC('month', col)`` for DuckDB,
PostgreSQL and Snowflake, ``DATE_TRUNC(CAST(col AS DATE), MONTH)`` for BigQuery (weeks start on Monday
everywhere: ISO weeks). ``tests/test_reconcile_sql.py`` compiles every statement here for every dialect.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    TextClause,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ...connectors.crm import GroupBy, Measure
from ...errors import WarehouseError
from .model import WarehouseSide

__all__ = ["SUM_TYPE", "DateBucket", "MAX_GROUPS", "measure_columns", "side_query", "sql_side_query", "unsafe_sql"]

SUM_TYPE = Numeric(38, 9)  # what values are summed as: exact, 9 decimal places
MAX_GROUPS = 10_000  # groups one side may return; more is a checklist asking for rows, not totals
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$\-]{0,127}")
_BIGQUERY_PARTS = {"day": "DAY", "week": "ISOWEEK", "month": "MONTH", "quarter": "QUARTER", "year": "YEAR"}
_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def unsafe_sql(fragment: str, *, whole: bool = False) -> str | None:
    """Why ``fragment`` may not be pasted into a query, or ``None``: one statement, no comments.

    ``whole``: a complete ``sql:`` query, which must also start with SELECT or WITH.
    """
    body = fragment.strip()
    if whole:
        body = body.rstrip(";").rstrip()
    if ";" in body or "--" in body or "/*" in body:
        return "it contains ';', '--' or '/*' (one statement, no comments)"
    if whole and not _SELECT.match(body):
        return "it is not a SELECT (or WITH ... SELECT) query"
    return None


def _checked(fragment: str, what: str, *, whole: bool = False) -> str:
    reason = unsafe_sql(fragment, whole=whole)
    if reason is not None:
        raise WarehouseError(f"the {what} cannot be sent to the warehouse: {reason}")
    return fragment.strip().rstrip(";").rstrip() if whole else fragment


class DateBucket(FunctionElement[Any]):
    """``DATE_TRUNC`` of a column to a bucket, in the dialect's own spelling (arguments: bucket, column)."""

    name = "date_bucket"
    inherit_cache = True


@compiles(DateBucket)
def _date_trunc(element: DateBucket, compiler: Any, **kw: Any) -> str:
    bucket, col = list(element.clauses)
    return f"DATE_TRUNC('{bucket.name}', {compiler.process(col, **kw)})"


@compiles(DateBucket, "bigquery")
def _date_trunc_bigquery(element: DateBucket, compiler: Any, **kw: Any) -> str:
    bucket, col = list(element.clauses)
    return f"DATE_TRUNC(CAST({compiler.process(col, **kw)} AS DATE), {_BIGQUERY_PARTS[bucket.name]})"


def _column(name: str) -> ColumnElement[Any]:
    if not all(_IDENT.fullmatch(part) for part in name.split(".")):
        raise WarehouseError(f"{name!r} is not a plain column name")
    return column(name)


def _table(name: str) -> Any:
    parts = name.split(".")
    if len(parts) > 3 or not all(_IDENT.fullmatch(p) for p in parts):
        raise WarehouseError(f"{name!r} is not a plain table name")
    return table(parts[-1], schema=".".join(parts[:-1]) or None)


def _expression(expr: str) -> ColumnElement[Any]:
    """A plain column is quoted as one; anything else is the user's SQL expression, checked first."""
    if all(_IDENT.fullmatch(part) for part in expr.split(".")) and "-" not in expr:
        return column(expr)
    return literal_column(f"({_checked(expr, 'measure expression')})")


def measure_columns(measure: Measure) -> list[ColumnElement[Any]]:
    """``COUNT(*)`` as ``total``; a sum as ``total``; an average as its sum (``total``) and count (``n``).

    Values are summed as ``DECIMAL(38, 9)`` whatever the column's type, so a DOUBLE column or a dialect that
    sums in floating point (fakesnow) still gives an exact total; an average is divided in Python, as Decimal.
    NULLs are skipped by SQL itself (``SUM``, ``COUNT(col)``); a count of records counts every row.
    """
    if measure.kind == "count":
        return [func.count().label("total")]
    assert measure.property is not None
    inner = _expression(measure.property)
    total = func.sum(cast(inner, SUM_TYPE)).label("total")
    return [total] if measure.kind == "sum" else [total, func.count(inner).label("n")]


def group_expression(group_by: GroupBy) -> ColumnElement[Any]:
    col = _column(group_by.property)
    if group_by.bucket is None:
        return col
    return DateBucket(literal_column(group_by.bucket), col)


def side_query(side: WarehouseSide, cutoff: datetime | None = None) -> Select[Any]:
    """The pushed-down total of a ``table:`` side: ``grp``/``total`` rows (no ``grp`` without ``group_by``).

    ``cutoff`` (``min_age``): rows whose ``updated_at`` is later are left out, and so are rows whose
    ``updated_at`` is NULL (their age is unknown), as the CRM's ``LTE`` filter leaves out empty values.
    """
    if side.table is None or side.measure is None:
        raise WarehouseError("a warehouse side needs `table` and `measure` (or `sql`)")
    measures = measure_columns(side.measure)
    if side.group_by is not None:
        grp = group_expression(side.group_by)
        # GROUP BY 1: every dialect here accepts the ordinal, and no dialect rewrites it (BigQuery's compiler
        # would group a bucket by an anonymous label that is not in the SELECT)
        query = select(grp.label("grp"), *measures).group_by(literal_column("1"))
    else:
        query = select(*measures)
    query = query.select_from(_table(side.table))
    if side.where:
        query = query.where(text(f"({_checked(side.where, 'where clause')})"))
    if cutoff is not None:
        if side.updated_at is None:
            raise WarehouseError("min_age needs `updated_at` on every warehouse side")
        query = query.where(_column(side.updated_at) <= cutoff)
    return query


def sql_side_query(side: WarehouseSide) -> TextClause:
    """A ``sql:`` side as written, checked to be one SELECT."""
    assert side.sql is not None
    return text(_checked(side.sql, "sql query", whole=True))
