"""The warehouse connector's queries as SQLAlchemy Core statements, built for one dialect.

Built with Core (``select``, ``func``) rather than pasted into strings so that every dialect renders its own
SQL: LIMIT or TOP, its quoting, its ``DATE_TRUNC``. Names from checklists are validated as identifiers and
quoted with the dialect's preparer; ``where`` fragments are the checklist author's SQL with ``:name``
parameters. Tests compile every statement for DuckDB, PostgreSQL, Snowflake and BigQuery.

Date buckets (``period``) are ``DATE_TRUNC`` everywhere; the differences:

- BigQuery writes ``DATE_TRUNC(col, MONTH)``, and its ``WEEK`` starts on Sunday: weeks use ``ISOWEEK`` (Monday);
- DuckDB, PostgreSQL and Snowflake write ``DATE_TRUNC('month', col)``; their weeks start on Monday (Snowflake:
  with the default ``WEEK_START`` of 0);
- a ``timestamp with time zone`` is truncated in the session's time zone (run warehouse sessions in UTC to
  match the CRM side, which buckets in UTC).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlalchemy import func, literal_column, select, table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import quoted_name
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from ..errors import WarehouseError

__all__ = ["PERIODS", "Period", "bucket", "count_statement", "grouped_statement", "identifier", "sample_statement",
           "total_statement"]

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$\-]{0,127}")


def check_identifier(name: str, what: str = "column") -> list[str]:
    """The parts of ``name`` (``x``, ``schema.x`` or ``db.schema.x``); a ``WarehouseError`` unless plain identifiers."""
    if not isinstance(name, str) or not name:
        raise WarehouseError(f"{what} name must be a non-empty string")
    parts = name.split(".")
    if len(parts) > 3 or not all(_IDENT.fullmatch(p) for p in parts):
        raise WarehouseError(
            f"{what} {name!r} is not a plain identifier; use letters, digits and _ "
            f"(optionally schema.{what} or database.schema.{what})"
        )
    return parts


def identifier(dialect: Dialect, name: str, what: str = "column") -> str:
    """``name`` (``x``, ``schema.x`` or ``db.schema.x``) validated and quoted for ``dialect``."""
    return ".".join(dialect.identifier_preparer.quote(p) for p in check_identifier(name, what))


def _column(dialect: Dialect, name: str) -> ColumnElement[Any]:
    return literal_column(identifier(dialect, name))


def _from(dialect: Dialect, name: str) -> Any:
    return table(quoted_name(identifier(dialect, name, "table"), quote=False))


def check_where(where: str | None) -> str:
    """A user's filter expression, refused if it could end or comment out the statement; ``""`` for none."""
    if where is None or not where.strip():
        return ""
    if ";" in where or "--" in where or "/*" in where:
        raise WarehouseError("a where clause may not contain ';', '--' or '/*'; pass values as parameters")
    return where


def _filtered(statement: Select[Any], where: str | None) -> Select[Any]:
    checked = check_where(where)
    return statement.where(text(f"({checked})")) if checked else statement


def bucket(dialect: Dialect, column: ColumnElement[Any], period: str) -> ColumnElement[Any]:
    """``column`` truncated to the start of its ``period``, in the dialect's own spelling."""
    if period not in PERIODS:
        raise WarehouseError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    if dialect.name == "bigquery":
        return func.date_trunc(column, literal_column("ISOWEEK" if period == "week" else period.upper()))
    return func.date_trunc(literal_column(f"'{period}'"), column)


def total_statement(dialect: Dialect, table_name: str, column: str, where: str | None = None) -> Select[Any]:
    """``SELECT SUM(column) FROM table [WHERE ...]``."""
    return _filtered(select(func.sum(_column(dialect, column))).select_from(_from(dialect, table_name)), where)


def count_statement(dialect: Dialect, table_name: str, where: str | None = None) -> Select[Any]:
    """``SELECT COUNT(*) FROM table [WHERE ...]``."""
    return _filtered(select(func.count()).select_from(_from(dialect, table_name)), where)


def grouped_statement(dialect: Dialect, table_name: str, column: str, by: str, where: str | None = None,
                      period: str | None = None) -> Select[Any]:
    """``SUM(column)`` per value of ``by`` (or per ``period`` of it), as rows ``(grp, total)`` in key order."""
    key = _column(dialect, by)
    if period is not None:
        key = bucket(dialect, key, period)
    grp = key.label("grp")  # grouped by the label: BigQuery names it, the others repeat the expression
    statement = select(grp, func.sum(_column(dialect, column)).label("total"))
    return _filtered(statement.select_from(_from(dialect, table_name)), where).group_by(grp).order_by(grp)


def rows_statement(dialect: Dialect, table_name: str, columns: list[str], where: str | None = None,
                   order_by: str | None = None, limit: int = 1000) -> Select[Any]:
    """``columns`` of at most ``limit`` rows of ``table`` [WHERE ...] [ORDER BY ...]."""
    statement = _filtered(select(*(_column(dialect, c) for c in columns)).select_from(_from(dialect, table_name)),
                          where)
    if order_by:
        statement = statement.order_by(_column(dialect, order_by))
    return statement.limit(limit)


def sample_statement(sql: str, limit: int) -> Select[Any]:
    """At most ``limit`` rows of one SELECT, the limit rendered by the dialect (LIMIT, TOP, FETCH FIRST)."""
    body = sql.strip().rstrip(";").strip()
    if ";" in body:
        raise WarehouseError("sample takes one SELECT statement")
    inner = text(body).columns().subquery("gtmcheck_sample")
    return select(literal_column("*")).select_from(inner).limit(limit)
