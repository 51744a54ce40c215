"""The SQL of RECONCILE-HANDOFFS, built with SQLAlchemy Core so every dialect compiles it.

The warehouse does the work: source keys are grouped to their first firing, left-joined to every receipt of
the same key, and only counts and bounded samples come back. Times are compared as epoch seconds
(``epoch_seconds``, compiled per dialect), so a ``TIMESTAMP``, a ``TIMESTAMPTZ`` and the window bounds,
given as numbers, never meet a time-zone conversion of the driver's.

Each side is a table with a key column, a time column and an optional ``where`` (the checklist author's SQL
over their own warehouse, after the connector's safety checks), or a ``sql`` query returning ``key`` and ``at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, bindparam, case, column, func, select, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select, Subquery
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ...connectors.warehouse_queries import check_identifier, check_where
from ...errors import WarehouseError

__all__ = ["Arrivals", "WarehouseSide", "epoch_seconds"]


class epoch_seconds(FunctionElement[float]):  # noqa: N801 (a SQL function, named as SQL names them)
    """Seconds since 1970-01-01 of a timestamp column, in the dialect's own words."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"  # PostgreSQL, DuckDB


@compiles(epoch_seconds, "snowflake")
def _epoch_snowflake(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE_PART(epoch_second, {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "bigquery")
def _epoch_bigquery(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"UNIX_MICROS({compiler.process(element.clauses, **kw)}) / 1000000.0"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def _number(name: str) -> Any:
    return bindparam(name, type_=Float())


def _table(name: str) -> Any:
    parts = check_identifier(name, "table")
    return table(parts[-1], schema=".".join(parts[:-1]) or None)


def _column(name: str) -> ColumnElement[Any]:
    check_identifier(name, "column")
    return column(name)


@dataclass(frozen=True)
class WarehouseSide:
    """One side of a handoff in the warehouse: ``table``/``key``/``at``/``where``, or ``sql`` giving ``key``, ``at``."""

    table: str | None = None
    key: str | None = None
    at: str | None = None
    where: str | None = None
    sql: str | None = None

    def rows(self, *, null_keys: bool = False) -> Subquery:
        """``(k, t)``: the side's keys and their times as epoch seconds; only the NULL keys with ``null_keys``."""
        if self.sql is not None:
            body = self.sql.strip().rstrip(";").strip()
            if ";" in body:
                raise WarehouseError("a handoff's `sql:` is one SELECT statement returning `key` and `at`")
            source: Any = text(body).columns(column("key"), column("at")).subquery("handoff_sql")
            key, at = source.c.key, source.c.at
            query = select(key.label("k"), epoch_seconds(at).label("t")).select_from(source)
        else:
            assert self.table and self.key and self.at
            key, at = _column(self.key), _column(self.at)
            query = select(key.label("k"), epoch_seconds(at).label("t")).select_from(_table(self.table))
            where = check_where(self.where)
            if where:
                query = query.where(text(f"({where})"))
        query = query.where(key.is_(None) if null_keys else key.is_not(None))
        return query.subquery()


class Arrivals:
    """Every query of one handoff: each source key's first firing against its first receipt at or after it.

    ``start``/``as_of`` bound the firings counted (epoch seconds), receipts later than ``as_of`` had not happened
    yet; ``within`` is the SLA in seconds. Bound parameters carry every number.
    """

    def __init__(self, source: WarehouseSide, destination: WarehouseSide | None) -> None:
        self.source = source
        self.destination = destination

    def _in_window(self, rows: Subquery) -> ColumnElement[bool]:
        return and_(rows.c.t >= _number("start"), rows.c.t <= _number("as_of"))

    def fired(self) -> Select[Any]:
        """Each source key once, at its first firing in the window: ``(k, fired)``."""
        src = self.source.rows()
        return select(src.c.k, func.min(src.c.t).label("fired")).where(self._in_window(src)).group_by(src.c.k)

    def null_keys(self) -> Select[Any]:
        """How many source rows of the window have no key (they cannot be traced)."""
        src = self.source.rows(null_keys=True)
        return select(func.count().label("n")).select_from(src).where(self._in_window(src))

    def arrivals(self) -> Subquery:
        """``(k, fired, got, early, receipts)`` per source key; ``got`` is NULL when nothing came after the firing."""
        assert self.destination is not None
        fired = self.fired().subquery("fired")
        dst = self.destination.rows()
        dst_q = select(dst.c.k, dst.c.t).where(dst.c.t <= _number("as_of")).subquery("received")
        after = dst_q.c.t >= fired.c.fired
        return (
            select(
                fired.c.k,
                fired.c.fired,
                func.min(case((after, dst_q.c.t), else_=None)).label("got"),
                func.max(case((and_(dst_q.c.k.is_not(None), ~after), 1), else_=0)).label("early"),
                func.count(dst_q.c.k).label("receipts"),
            )
            .select_from(fired.outerjoin(dst_q, dst_q.c.k == fired.c.k))
            .group_by(fired.c.k, fired.c.fired)
            .subquery("arrivals")
        )

    def summary(self) -> Select[Any]:
        """One row of counts: fired, received, late, missing, not yet due, received twice or more, received early."""
        a = self.arrivals()
        got, fired = a.c.got, a.c.fired
        due = _number("due_before")
        within = _number("within")

        def n(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        return select(
            func.count().label("fired"),
            n(got.is_not(None)).label("received"),
            n(and_(got.is_not(None), got - fired > within)).label("late"),
            n(and_(got.is_(None), fired <= due)).label("missing"),
            n(and_(got.is_(None), fired > due)).label("not_yet_due"),
            n(a.c.receipts > 1).label("duplicated"),
            n(and_(got.is_(None), a.c.early == 1)).label("early_only"),
        ).select_from(a)

    def missing(self, n: int) -> Select[Any]:
        """The keys that are due and never arrived, oldest firing first (the caller bounds the sample)."""
        a = self.arrivals()
        return (select(a.c.k, a.c.fired, a.c.early).where(a.c.got.is_(None), a.c.fired <= _number("due_before"))
                .order_by(a.c.fired, a.c.k).limit(n))

    def slowest(self, n: int) -> Select[Any]:
        """The arrivals that took longest, slowest first."""
        a = self.arrivals()
        took = (a.c.got - a.c.fired).label("took")
        return (select(a.c.k, took).where(a.c.got.is_not(None)).order_by(took.desc(), a.c.k)
                .limit(n))

    def early_only(self, n: int) -> Select[Any]:
        """Keys received only before they fired (clock skew, or a key used twice)."""
        a = self.arrivals()
        return (select(a.c.k).where(a.c.got.is_(None), a.c.early == 1).order_by(a.c.k)
                .limit(n))

    def all_fired(self, n: int) -> Select[Any]:
        """Every source key with its first firing, by key (for a CRM destination, which is asked in batches)."""
        fired = self.fired().subquery("fired")
        return (select(fired.c.k, fired.c.fired).order_by(fired.c.k)
                .limit(n))
