"""The dialect matrix: one ``warehouse_url`` fixture over DuckDB, PostgreSQL and Snowflake (fakesnow), and
``compile_for`` to render any statement for a dialect (BigQuery included) with its values inlined.

- DuckDB: a file in the test's ``tmp_path``.
- PostgreSQL: ``GTMCHECK_TEST_POSTGRES_URL`` (``eval "$(.ci/postgres.sh)"``), in a schema of its own per test
  (``search_path``), dropped afterwards, so parallel runs on one server never see each other's tables.
- Snowflake: fakesnow, a DuckDB-backed emulator of the Snowflake connector. The URL goes through the real
  ``snowflake-sqlalchemy`` dialect, so the Snowflake dialect's SQL is what runs. fakesnow 0.12 imports
  modules that ``snowflake-connector-python`` 5 removed, and ``snowflake-sqlalchemy`` 2.1 (the first release
  for SQLAlchemy 2.1) asks for connector 5.1 while running on 4.8: the test extra pins the connector below 5
  and ``.ci/run`` adds the dialect with ``pip install --no-deps`` (see docs/reconcile.md, "What runs where").
  fakesnow sums through DOUBLE (``SUM(TRY_CAST(x AS DOUBLE))``), so sums come back as floats there.

``load_csv_tables(url, data_dir)`` loads CSVs (the demo's) into any of them, typed as the demo warehouse types them.

Locally a missing PostgreSQL or Snowflake dialect skips its tests with the command that brings it; with
``GTMCHECK_TEST_REQUIRE_WAREHOUSES=1`` (set by ``.ci/run``) it fails them: CI runs the whole matrix.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Numeric, String, Table, create_engine, insert, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.sql import ClauseElement

from gtmcheck.connectors.demo_warehouse import _TYPES as DEMO_TYPES

POSTGRES_ENV = "GTMCHECK_TEST_POSTGRES_URL"
REQUIRE_ENV = "GTMCHECK_TEST_REQUIRE_WAREHOUSES"
DIALECTS = ("duckdb", "postgresql", "snowflake")
# DuckDB 2 warns when fakesnow reads a result through Arrow (an extra copy): fakesnow's business, not ours.
FAKESNOW_WARNING = "ignore:Arrow output on a DB-API result:UserWarning"
SNOWFLAKE_DIALECT_FIX = "pip install --no-deps 'snowflake-sqlalchemy>=2.1,<2.2'"


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail where the whole matrix is required (CI)."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: every warehouse of the matrix is required)")
    pytest.skip(reason)


def postgres_url() -> str:
    """The test server's URL, or skip (fail in CI) with the command that starts one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        unavailable(f"{POSTGRES_ENV} is not set; run eval \"$(.ci/postgres.sh)\" to test against PostgreSQL")
    return url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections work in a fresh schema (dropped afterwards)."""
    url = make_url(postgres_url())
    schema = f"gtm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fakesnow_url() -> Iterator[str]:
    """A Snowflake URL answered by fakesnow (in memory) while the context lasts."""
    try:
        import fakesnow
    except ImportError as exc:
        unavailable(f"fakesnow cannot be imported ({exc}); pip install -e '.[test]'")
    try:
        import snowflake.sqlalchemy  # noqa: F401
    except ImportError as exc:
        unavailable(f"the Snowflake SQLAlchemy dialect cannot be imported ({exc}); {SNOWFLAKE_DIALECT_FIX}")
    with fakesnow.patch():
        yield "snowflake://fake:snow@fakesnow/gtmcheck/public"


@pytest.fixture(params=[
    "duckdb", "postgresql", pytest.param("snowflake", marks=pytest.mark.filterwarnings(FAKESNOW_WARNING)),
])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty warehouse of each dialect of the matrix, as a SQLAlchemy URL (``Warehouse(warehouse_url)``)."""
    if request.param == "duckdb":
        yield f"duckdb:///{(tmp_path / 'warehouse.duckdb').as_posix()}"
    elif request.param == "postgresql":
        with postgres_schema() as url:
            yield url
    else:
        with fakesnow_url() as url:
            yield url


# The demo warehouse's column types (demo_warehouse.py) as SQLAlchemy types, with how to read a CSV cell.
_COLUMN_TYPES: dict[str, tuple[Any, Any]] = {
    "VARCHAR": (String(200), str),
    "DECIMAL(18,2)": (Numeric(18, 2), Decimal),
    "DATE": (Date(), date.fromisoformat),
    "TIMESTAMP": (DateTime(), lambda v: datetime.fromisoformat(v).replace(tzinfo=None)),  # UTC, as DuckDB keeps it
    "INTEGER": (Integer(), int),
}


def load_csv_tables(url: str, data_dir: Path, names: Sequence[str] = ()) -> dict[str, int]:
    """Each ``data_dir/*.csv`` (or those ``names``) as a table of the same name in the warehouse at ``url``.

    Columns are typed as the demo warehouse types them (money exact, dates as dates), other columns text;
    an empty cell is NULL. Returns the rows loaded per table.
    """
    engine = create_engine(url)
    loaded: dict[str, int] = {}
    try:
        for path in sorted(Path(data_dir).glob("*.csv")):
            if names and path.stem not in names:
                continue
            with path.open(encoding="utf-8", newline="") as f:
                rows = list(csv.DictReader(f))
            types = DEMO_TYPES.get(path.stem, {})
            columns = list(rows[0]) if rows else []
            kinds = {c: _COLUMN_TYPES[types.get(c, "VARCHAR")] for c in columns}
            meta = MetaData()
            table = Table(path.stem, meta, *(Column(c, kinds[c][0]) for c in columns))
            meta.create_all(engine)
            values = [{c: kinds[c][1](v) if v not in ("", None) else None for c, v in row.items()} for row in rows]
            with engine.begin() as conn:
                conn.execute(insert(table), values)
            loaded[path.stem] = len(values)
    finally:
        engine.dispose()
    return loaded


def dialect_for(name: str) -> Dialect:
    """A dialect instance by name (``duckdb``, ``postgresql``, ``snowflake``, ``bigquery``, ...)."""
    if name == "bigquery":
        try:
            import sqlalchemy_bigquery
        except ImportError as exc:
            unavailable(f"sqlalchemy-bigquery cannot be imported ({exc}); pip install -e '.[test]'")
        return sqlalchemy_bigquery.BigQueryDialect()  # type: ignore[no-any-return]
    try:
        dialect: Any = make_url(f"{name}://").get_dialect()
    except NoSuchModuleError as exc:
        fix = SNOWFLAKE_DIALECT_FIX if name == "snowflake" else "pip install -e '.[test]'"
        unavailable(f"SQLAlchemy has no {name} dialect here ({exc}); {fix}")
    return dialect()  # type: ignore[no-any-return]


def compile_for(dialect_name: str, statement: ClauseElement) -> str:
    """``statement`` as the dialect writes it, with bound values rendered inline (for reading and asserting).

    Typed binds render (a LIMIT, ``bindparam(..., type_=...)``); a value given to a ``text()`` parameter with
    ``.params()`` has no type and cannot: write that value into the test's SQL instead.
    """
    return str(statement.compile(dialect=dialect_for(dialect_name), compile_kwargs={"literal_binds": True}))
