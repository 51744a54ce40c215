"""The warehouse connector: any SQLAlchemy 2 URL, DuckDB the embedded default.

Totals are computed by the warehouse (``SUM`` pushed down); rows are pulled only to name the records that
differ, and then in bounded samples. Table, column and grouping names come from checklists, so they are
validated as identifiers and quoted by the dialect, never pasted into SQL as written. ``where`` fragments
are the checklist author's own SQL over their own warehouse; their values go in as bound parameters.

URLs (extras install the dialects)::

    duckdb:///gtmcheck/demo/warehouse.duckdb          relative to the project root (the repository's demo)
    (no warehouse: in a sandbox environment)          its scenario's (`warehouse:`), built in ~/.cache/gtmcheck
    postgresql+psycopg://user:pass@host:5432/db       pip install 'gtmcheck[postgres]'
    snowflake://user:pass@account/db/schema?warehouse=wh   pip install 'gtmcheck[snowflake]'
    bigquery://project/dataset                        pip install 'gtmcheck[bigquery]'

Errors are ``WarehouseError`` with the URL's password masked; the password is registered as a secret so
no report or log line can show it either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.base import Executable

from .. import secrets
from ..errors import ConfigError, WarehouseError
from .warehouse_queries import (  # PERIODS and Period stay importable from here
    PERIODS,  # noqa: F401
    Period,
    count_statement,
    grouped_statement,
    identifier,
    rows_statement,
    sample_statement,
    total_statement,
)

if TYPE_CHECKING:
    from ..project import Environment

__all__ = ["DEMO_WAREHOUSE", "MAX_SAMPLE", "Warehouse", "quote_identifier"]

MAX_SAMPLE = 1000  # the most rows ``sample`` ever pulls, whatever it is asked
DEMO_WAREHOUSE = "gtmcheck/demo/warehouse.duckdb"
_FILE_DIALECTS = ("duckdb", "sqlite")
_EXTRAS = {"postgresql": "postgres", "snowflake": "snowflake", "bigquery": "bigquery"}

Number = Decimal | float


def quote_identifier(engine: Engine, name: str, what: str = "column") -> str:
    """``name`` (``table``, ``schema.table`` or ``db.schema.table``) validated and quoted for ``engine``."""
    return identifier(engine.dialect, name, what)


def _number(value: Any) -> Number:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, (Decimal, float)):
        return value
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise WarehouseError(f"the warehouse returned a total that is not a number: {value!r}") from exc


def _group_key(value: Any, period: str | None) -> Any:
    if period is None or not isinstance(value, (date, datetime)):
        return value
    if period == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if period == "year":
        return f"{value.year:04d}"
    if period == "quarter":
        return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


class Warehouse:
    """A pooled SQLAlchemy engine and the few queries checks need.

    ``root`` resolves relative file paths in ``duckdb:///relative.duckdb`` (and ``sqlite:///``) URLs; an
    absolute path is ``duckdb:////abs/path.duckdb``.
    """

    def __init__(self, url: str, *, root: Path | None = None, read_only: bool = False,
                 engine_options: Mapping[str, Any] | None = None) -> None:
        secrets.register(url)
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            raise WarehouseError(
                f"not a SQLAlchemy URL: {secrets.redact(url)!r}; expected dialect+driver://user:password@host/db"
            ) from exc
        if parsed.password:
            secrets.register(str(parsed.password))
        parsed = self._resolve(parsed, root)
        self.url: URL = parsed
        self.dialect = parsed.get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "duckdb" and read_only:
            options["connect_args"] = {"read_only": True}
        options.update(engine_options or {})
        try:
            self.engine: Engine = create_engine(parsed, **options)
        except NoSuchModuleError as exc:
            extra = _EXTRAS.get(self.dialect)
            hint = f"; install it with pip install 'gtmcheck[{extra}]'" if extra else ""
            raise WarehouseError(f"no SQLAlchemy dialect for {self.display_url}{hint}") from exc
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise self.error("cannot use", exc) from exc

    @staticmethod
    def _resolve(url: URL, root: Path | None) -> URL:
        if url.get_backend_name() not in _FILE_DIALECTS or not url.database or url.database == ":memory:":
            return url
        path = Path(url.database)
        if not path.is_absolute() and root is not None:
            return url.set(database=str((root / path).resolve()))
        return url

    @classmethod
    def for_environment(cls, env: Environment) -> Warehouse:
        """The environment's warehouse; a demo DuckDB file is built from its CSVs when missing or stale.

        A sandbox environment with no ``warehouse:`` gets its scenario's (``warehouse:`` in the scenario file;
        the bundled demo's CSVs when it names none), so each sandbox environment reads its own rows.
        """
        conf = env.warehouse or {}
        url = conf.get("url")
        if not url and env.warehouse is None and env.is_sandbox:  # its scenario's, built where we may write
            from .demo_warehouse import sandbox_warehouse

            target = sandbox_warehouse(env.sandbox_scenario())
            return cls(f"duckdb:///{target.as_posix()}", read_only=True)
        if not url:
            raise ConfigError(f"environment {env.name!r} has no warehouse url; add warehouse: {{url: ...}}")
        wh_url = cls._resolve(make_url(url), env.root) if url.startswith(_FILE_DIALECTS) else None
        read_only = False
        if wh_url is not None and wh_url.get_backend_name() == "duckdb" and wh_url.database:
            target = Path(wh_url.database)
            if target.as_posix().endswith(DEMO_WAREHOUSE):
                from .demo_warehouse import build_demo_warehouse

                build_demo_warehouse(target.parent / "data", target)
                read_only = True  # many pytest workers may read it at once
        return cls(url, root=env.root, read_only=read_only)

    @property
    def display_url(self) -> str:
        """The URL with its password masked, for messages."""
        return self.url.render_as_string(hide_password=True)

    def error(self, doing: str, exc: BaseException) -> WarehouseError:
        """The ``WarehouseError`` for ``exc`` raised while ``doing``: the driver's first line, secrets masked."""
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return WarehouseError(secrets.redact(f"{self.display_url}: {doing}: {type(orig).__name__}: {first}"))

    def _execute(self, sql: str | Executable, params: Mapping[str, Any] | None, limit: int | None = None
                 ) -> tuple[list[str], list[Sequence[Any]]]:
        statement = text(sql) if isinstance(sql, str) else sql
        try:
            with self.engine.connect() as conn:
                result = conn.execute(statement, dict(params or {}))
                rows = result.fetchmany(limit) if limit is not None else result.fetchall()
                return list(result.keys()), [tuple(r) for r in rows]
        except SQLAlchemyError as exc:
            raise self.error("query failed", exc) from exc
        except Exception as exc:  # a driver error SQLAlchemy did not wrap (duckdb raises some directly)
            if isinstance(exc, WarehouseError):
                raise
            raise self.error("query failed", exc) from exc

    def scalar(self, sql: str | Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row of ``sql`` (``None`` when there is no row)."""
        _, rows = self._execute(sql, params, limit=1)
        return rows[0][0] if rows else None

    def total(self, table: str, column: str, where: str | None = None,
              params: Mapping[str, Any] | None = None) -> Number:
        """``SUM(column)`` over ``table`` computed by the warehouse; 0 when nothing matches."""
        return _number(self.scalar(total_statement(self.engine.dialect, table, column, where), params))

    def count(self, table: str, where: str | None = None, params: Mapping[str, Any] | None = None) -> int:
        """``COUNT(*)`` over ``table`` computed by the warehouse."""
        return int(self.scalar(count_statement(self.engine.dialect, table, where), params) or 0)

    def grouped_totals(self, table: str, column: str, by: str, where: str | None = None,
                       params: Mapping[str, Any] | None = None, *, period: Period | None = None,
                       ) -> dict[Any, Number]:
        """``SUM(column)`` per value of ``by`` (or per ``period`` of the date column ``by``), pushed down.

        With ``period`` the keys are ``YYYY-MM`` (month), ``YYYY-Qn``, ``YYYY`` or ISO dates (day, the Monday of a
        week), the keys ``CrmConnector.aggregate`` gives; see ``warehouse_queries`` for each dialect's buckets.
        """
        statement = grouped_statement(self.engine.dialect, table, column, by, where, period)
        _, rows = self._execute(statement, params)
        return {_group_key(grp, period): _number(value) for grp, value in rows}

    def sample(self, sql: str, params: Mapping[str, Any] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """At most ``limit`` rows of ``sql`` as dicts (the limit is pushed down, and capped at ``MAX_SAMPLE``)."""
        limit = max(0, min(int(limit), MAX_SAMPLE))
        keys, rows = self._execute(sample_statement(sql, limit), params, limit=limit)
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def rows(self, table: str, columns: Sequence[str], *, where: str | None = None, order_by: str | None = None,
             limit: int, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """``columns`` of at most ``limit`` rows of ``table`` (names checked and quoted, ``where`` as in ``total``).

        For readers that need more rows than ``sample`` gives (captured webhook payloads); the caller bounds
        ``limit``, and the warehouse applies it.
        """
        limit = max(0, int(limit))
        sql = rows_statement(self.engine.dialect, table, list(columns), where, order_by, limit)
        _, found = self._execute(sql, params, limit=limit)
        return [tuple(row) for row in found]

    def tables(self) -> list[str]:
        """Table (and view) names the warehouse's default schema holds (for lint hints)."""
        from sqlalchemy import inspect

        try:
            found = inspect(self.engine)
            schema = "main" if self.dialect == "duckdb" else None  # duckdb_engine lists every schema's otherwise
            return sorted({*found.get_table_names(schema=schema), *found.get_view_names(schema=schema)})
        except SQLAlchemyError as exc:
            raise self.error("cannot list tables", exc) from exc

    def select(self, statement: Executable, limit: int | None = None) -> tuple[list[str], list[Sequence[Any]]]:
        """Column names and rows of a SQLAlchemy Core statement, compiled by this warehouse's dialect.

        ``limit`` rows at most are fetched (the caller asks for one more than it accepts to see an overflow).
        """
        try:
            with self.engine.connect() as conn:
                result = conn.execute(statement)
                rows = result.fetchmany(limit) if limit is not None else result.fetchall()
                return list(result.keys()), [tuple(r) for r in rows]
        except SQLAlchemyError as exc:
            raise self.error("query failed", exc) from exc
        except Exception as exc:  # a driver error SQLAlchemy did not wrap (duckdb raises some directly)
            if isinstance(exc, WarehouseError):
                raise
            raise self.error("query failed", exc) from exc

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({self.display_url!r})"
