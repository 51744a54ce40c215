"""The history store: two tables reached through SQLAlchemy, a DuckDB file by default or a warehouse table.

``<table>`` holds one row per check per run, ``<table>_metrics`` one row per number a check measured. One
writer appends (the controller process at the end of a run; pytest-xdist workers never write), and an append
is idempotent per run id: appending a run again replaces its rows. Each environment keeps its last
``KEEP_RUNS`` runs; older runs are deleted by the append that pushes them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .. import secrets
from ..errors import HistoryError
from .rows import ItemRow, MetricRow, RunRecord
from .stats import streak_length, streak_start

KEEP_RUNS = 400  # per environment
LOCK_WAIT_S = 5.0  # how long to wait for another process's lock on the DuckDB file
_IDENTIFIER_MAX = 50
T = TypeVar("T")


def _naive(value: datetime | None) -> datetime | None:
    """UTC without a zone, as every dialect stores it alike."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def valid_table_name(name: str) -> bool:
    return bool(name) and len(name) <= _IDENTIFIER_MAX and name.replace("_", "a").isalnum() and \
        name.isascii() and not name[0].isdigit()


class HistoryStore:
    """The history behind one SQLAlchemy URL (``duckdb:////abs/history.duckdb``, a warehouse's URL)."""

    def __init__(self, url: str, table: str = "gtmcheck_history", *, keep_runs: int = KEEP_RUNS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not valid_table_name(table):
            raise HistoryError(f"history table name {table!r} is not a plain SQL name (letters, digits, _)")
        secrets.register_url_passwords(url)
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            raise HistoryError(f"not a SQLAlchemy URL: {secrets.redact(url)!r}") from exc
        self.display = parsed.render_as_string(hide_password=True)
        self.keep_runs = keep_runs
        self.sleep = sleep
        self.dialect = parsed.get_backend_name()
        database = parsed.database or ""
        # a DuckDB file is made by the first append; reading one that is not there reads an empty history
        self.file = Path(database) if self.dialect == "duckdb" and database not in ("", ":memory:") else None
        try:
            self.engine: Engine = create_engine(parsed)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise HistoryError(f"{self.display}: cannot use this URL for the history ({exc})") from exc
        meta = MetaData()
        self.items = Table(
            table, meta,
            Column("run_id", String(64), nullable=False),
            Column("environment", String(200), nullable=False),
            Column("started_at", DateTime(), nullable=False),
            Column("finished_at", DateTime()),
            Column("checklist", String(1000), nullable=False),
            Column("kind", String(50), nullable=False),
            Column("owner", String(320), nullable=False),
            Column("item_id", String(1000), nullable=False),
            Column("dod", String(100), nullable=False),
            Column("status", String(20), nullable=False),
            Column("fingerprint", String(32), nullable=False),
            Column("message", String(2000), nullable=False),
            Index(f"{table}_env_run", "environment", "run_id"),
            Index(f"{table}_env_item", "environment", "checklist", "item_id"),
        )
        self.metrics = Table(
            f"{table}_metrics", meta,
            Column("run_id", String(64), nullable=False),
            Column("environment", String(200), nullable=False),
            Column("started_at", DateTime(), nullable=False),
            Column("checklist", String(1000), nullable=False),
            Column("item_id", String(1000), nullable=False),
            Column("metric", String(100), nullable=False),
            Column("metric_group", String(500), nullable=False),
            Column("value", Float(), nullable=False),
            Index(f"{table}_metrics_env_run", "environment", "run_id"),
        )
        self.meta = meta

    @classmethod
    def for_file(cls, path: Path, **kwargs: object) -> HistoryStore:
        """A DuckDB file (its folder made on the first write)."""
        return cls(f"duckdb:///{Path(path).resolve().as_posix()}", **kwargs)  # type: ignore[arg-type]

    # --- plumbing -------------------------------------------------------------------------------------

    def _do(self, doing: str, work: Callable[[], T]) -> T:
        """``work()`` with a database error turned into one ``HistoryError`` line; a locked DuckDB file waited for."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                return work()
            except Exception as exc:  # noqa: BLE001 - SQLAlchemy's, the OS's, and driver errors it did not wrap
                orig = getattr(exc, "orig", None) or exc
                first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
                if "lock" in first.lower() and time.monotonic() < deadline:
                    self.sleep(0.2)
                    continue
                raise HistoryError(secrets.redact(f"{self.display}: {doing}: {first}")) from None

    def close(self) -> None:
        self.engine.dispose()

    def exists(self) -> bool:
        """Whether anything was ever appended here."""
        if self.file is not None and not self.file.is_file():
            return False

        def check() -> bool:
            return inspect(self.engine).has_table(self.items.name)
        return self._do("cannot read", check)

    # --- writing --------------------------------------------------------------------------------------

    def append(self, record: RunRecord) -> int:
        """Add a run's rows (replacing that run's earlier rows, if any) and drop runs past ``keep_runs``."""
        def write() -> int:
            if self.file is not None:
                self.file.parent.mkdir(parents=True, exist_ok=True)
            self.meta.create_all(self.engine, checkfirst=True)
            with self.engine.begin() as conn:
                for table in (self.items, self.metrics):
                    conn.execute(delete(table).where(table.c.run_id == record.run_id,
                                                     table.c.environment == record.environment))
                if record.items:
                    conn.execute(insert(self.items), [_item_values(r) for r in record.items])
                if record.metrics:
                    conn.execute(insert(self.metrics), [_metric_values(m) for m in record.metrics])
                old = conn.execute(
                    select(self.items.c.run_id).where(self.items.c.environment == record.environment)
                    .group_by(self.items.c.run_id)
                    .order_by(func.min(self.items.c.started_at).desc(), self.items.c.run_id.desc())
                    .offset(self.keep_runs)
                ).scalars().all()
                for start in range(0, len(old), 500):
                    chunk = list(old[start:start + 500])
                    for table in (self.items, self.metrics):
                        conn.execute(delete(table).where(table.c.environment == record.environment,
                                                         table.c.run_id.in_(chunk)))
            return len(record.items) + len(record.metrics)
        return self._do("cannot append", write)

    # --- reading --------------------------------------------------------------------------------------

    def environments(self) -> list[str]:
        if not self.exists():
            return []
        def read() -> list[str]:
            with self.engine.connect() as conn:
                return sorted(conn.execute(select(self.items.c.environment).distinct()).scalars().all())
        return self._do("cannot read", read)

    def runs(self, environment: str, last: int = 30) -> list[tuple[str, datetime]]:
        """The last ``last`` runs of an environment, oldest first: ``(run_id, started_at)``."""
        if not self.exists():
            return []
        def read() -> list[tuple[str, datetime]]:
            with self.engine.connect() as conn:
                started = func.min(self.items.c.started_at)
                rows = conn.execute(
                    select(self.items.c.run_id, started).where(self.items.c.environment == environment)
                    .group_by(self.items.c.run_id).order_by(started.desc(), self.items.c.run_id.desc())
                    .limit(last)
                ).all()
            return [(str(r[0]), _aware(r[1]) or datetime.min.replace(tzinfo=UTC)) for r in reversed(rows)]
        return self._do("cannot read", read)

    def item_rows(self, environment: str, run_ids: Sequence[str]) -> list[ItemRow]:
        """Every check's row in those runs, oldest run first."""
        if not run_ids or not self.exists():
            return []
        def read() -> list[ItemRow]:
            c = self.items.c
            with self.engine.connect() as conn:
                rows = conn.execute(select(self.items).where(c.environment == environment, c.run_id.in_(list(run_ids)))
                                    .order_by(c.started_at, c.run_id, c.checklist, c.item_id)).all()
            return [_item_row(r._mapping) for r in rows]
        return self._do("cannot read", read)

    def metric_rows(self, environment: str, checklist: str | None = None,
                    item_id: str | None = None) -> list[MetricRow]:
        """Every kept value of the environment's metrics (optionally one item's), oldest first."""
        if not self.exists():
            return []
        def read() -> list[MetricRow]:
            c = self.metrics.c
            query = select(self.metrics).where(c.environment == environment)
            if checklist is not None:
                query = query.where(c.checklist == checklist)
            if item_id is not None:
                query = query.where(c.item_id == item_id)
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(c.started_at, c.run_id)).all()
            return [MetricRow(str(r.run_id), str(r.environment), _aware(r.started_at) or datetime.min,
                              str(r.checklist), str(r.item_id), str(r.metric), str(r.metric_group), float(r.value))
                    for r in rows]
        return self._do("cannot read", read)

    def _item_history(self, environment: str, checklist: str, item: str) -> list[ItemRow]:
        """The item's rows, newest first."""
        if not self.exists():
            return []
        def read() -> list[ItemRow]:
            c = self.items.c
            with self.engine.connect() as conn:
                rows = conn.execute(select(self.items).where(
                    c.environment == environment, c.checklist == checklist, c.item_id == item)
                    .order_by(c.started_at.desc(), c.run_id.desc())).all()
            return [_item_row(r._mapping) for r in rows]
        return self._do("cannot read", read)

    def first_seen(self, environment: str, checklist: str, item: str, fingerprint: str) -> datetime | None:
        """When the current unbroken streak of ``fingerprint`` began (``None`` if the latest run is another)."""
        rows = self._item_history(environment, checklist, item)
        start = streak_start([(r.started_at, r.fingerprint) for r in rows], fingerprint)
        return start if isinstance(start, datetime) else None

    def consecutive(self, environment: str, checklist: str, item: str, status: str) -> int:
        """How many of the item's latest runs in a row ended with ``status``."""
        return streak_length([r.status for r in self._item_history(environment, checklist, item)], status)


def _item_values(row: ItemRow) -> dict[str, object]:
    """The row as the table takes it, each text cut to its column's length (PostgreSQL would refuse more)."""
    return {"run_id": row.run_id[:64], "environment": row.environment[:200], "started_at": _naive(row.started_at),
            "finished_at": _naive(row.finished_at), "checklist": row.checklist[:1000], "kind": row.kind[:50],
            "owner": row.owner[:320], "item_id": row.item_id[:1000], "dod": row.dod[:100], "status": row.status[:20],
            "fingerprint": row.fingerprint[:32], "message": row.message[:2000]}


def _metric_values(row: MetricRow) -> dict[str, object]:
    return {"run_id": row.run_id[:64], "environment": row.environment[:200], "started_at": _naive(row.started_at),
            "checklist": row.checklist[:1000], "item_id": row.item_id[:1000], "metric": row.metric[:100],
            "metric_group": row.group[:500], "value": row.value}


def _item_row(data: Mapping[Any, Any]) -> ItemRow:
    return ItemRow(str(data["run_id"]), str(data["environment"]), _aware(data["started_at"]) or datetime.min,
                   _aware(data["finished_at"]), str(data["checklist"]), str(data["kind"]), str(data["owner"]),
                   str(data["item_id"]), str(data["dod"]), str(data["status"]), str(data["fingerprint"]),
                   str(data["message"]))
