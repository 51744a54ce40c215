"""The demo stack's DuckDB warehouses, built from CSVs at first use: one warehouse per sandbox environment.

Every ``*.csv`` of a data folder becomes a table of the same name (``deals``, ``contacts``, ``companies``,
``events``, ``touchpoints``, ``conversions``, ``attribution``); a scenario's
``warehouse: {tables: {events: data/drifted/events.csv}}`` replaces a table with its own CSV, so each
environment reads its own rows with no filter to know about. The file is
never committed: it is built when missing or older than any CSV, into a temporary file beside the target
that is then renamed over it, so a reader never sees half a warehouse and two processes building at once both
end with a complete file.

The demo's one story: ``gtmcheck/demo/data/events.csv`` is the signed-off (healthy) stack's 120
``lead.created`` and 120 matching ``sales.queue.received``; ``data/drifted/events.csv`` (the drifted scenario's)
has the same 120 leads and 108 receipts: the 12 Spanish and Italian enterprise leads that the drifted routing
(``enterprise-emea`` rebuilt without ES and IT) left in the default inbound queue nobody watches never reached
the sales queue. Deals are shared: closed-won totals 428000 in both warehouses.
"""

from __future__ import annotations

import csv as _csv
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import duckdb

from ..errors import WarehouseError

__all__ = ["build_demo_warehouse", "is_stale", "sandbox_warehouse", "sync_folder"]

BUILD_FORMAT = "2"  # 2: ``contacts`` is a view over the loaded rows and the sandbox's synced contacts
SYNCED_TABLE = "contacts"
OWN_SCHEMA = "_gtmcheck"  # the build's format and the loaded contacts, out of the default schema's listing

_TABLE = re.compile(r"[a-z_][a-z0-9_]*")
# Column types that auto-detection would get wrong or loose: money is exact, ids are text.
_TYPES: dict[str, dict[str, str]] = {
    "deals": {"id": "VARCHAR", "amount": "DECIMAL(18,2)", "closedate": "DATE", "createdate": "DATE"},
    "contacts": {"id": "VARCHAR", "employees": "INTEGER", "createdate": "DATE"},
    "companies": {"id": "VARCHAR", "employees": "INTEGER"},
    "events": {"event_id": "VARCHAR", "lead_id": "VARCHAR", "employees": "INTEGER", "occurred_at": "TIMESTAMP"},
    "touchpoints": {"id": "VARCHAR", "contact_id": "VARCHAR", "occurred_at": "TIMESTAMP"},
    "conversions": {"id": "VARCHAR", "contact_id": "VARCHAR", "converted_at": "TIMESTAMP", "value": "DECIMAL(18,2)",
                    "lead_created_at": "TIMESTAMP", "opportunity_created_at": "TIMESTAMP"},
    "attribution": {"conversion_id": "VARCHAR", "touchpoint_id": "VARCHAR", "channel": "VARCHAR"},
}


def _sources(data_dir: Path, tables: Mapping[str, Path] | None = None) -> dict[str, Path]:
    """Table name -> CSV: every ``data_dir/*.csv``, then ``tables`` replacing or adding tables."""
    found = {p.stem: p for p in sorted(data_dir.glob("*.csv")) if _TABLE.fullmatch(p.stem)}
    for name, path in (tables or {}).items():
        if not _TABLE.fullmatch(name):
            raise WarehouseError(f"demo warehouse table name {name!r} is not a plain lower-case identifier")
        found[name] = Path(path)
    return dict(sorted(found.items()))


def is_stale(data_dir: Path, target: Path, tables: Mapping[str, Path] | None = None) -> bool:
    """True when ``target`` is missing or older than one of the CSVs it is built from."""
    if not target.is_file() or _built_format(target) != BUILD_FORMAT:
        return True
    built = target.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _sources(data_dir, tables).values())


def sync_folder(target: Path) -> Path:
    """Where the sandbox CRM's sync (``sandbox/sync.py``) writes the contacts this warehouse's view reads."""
    return target.with_name(f"{target.stem}-sync")


def _built_format(target: Path) -> str | None:
    """The format the file was built in (``None``: built by an older gtmcheck, or unreadable)."""
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            row = con.execute(f'SELECT format FROM "{OWN_SCHEMA}".build').fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row else None


def _synced_view(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Make ``contacts`` a view: the loaded rows, each replaced by the latest visible synced version of it."""
    loaded = f'"{OWN_SCHEMA}"."{SYNCED_TABLE}"'
    con.execute(f'CREATE TABLE {loaded} AS SELECT * FROM "{SYNCED_TABLE}"')
    con.execute(f'DROP TABLE "{SYNCED_TABLE}"')
    columns = con.execute(f"DESCRIBE {loaded}").fetchall()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_none.jsonl").touch()  # the glob always matches a file
    pattern = str(folder / "*.jsonl").replace("'", "''")
    picked = []
    for name, kind, *_ in columns:
        value = f"json_extract_string(props, '$.\"{name}\"')"
        if name == "id":
            value = "coalesce(json_extract_string(props, '$.source_id'), id)"
        elif str(kind).upper() == "DATE":
            value = f"left({value}, 10)"
        picked.append(f'TRY_CAST({value} AS {kind}) AS "{name}"')
    con.execute(
        f'CREATE VIEW "{SYNCED_TABLE}" AS WITH synced AS (SELECT * FROM read_json(\'{pattern}\', '
        "format = 'newline_delimited', columns = {'id': 'VARCHAR', 'visible_ms': 'BIGINT', 'props': 'JSON'}) "
        "WHERE visible_ms <= epoch_ms(now()) QUALIFY row_number() OVER (PARTITION BY id ORDER BY visible_ms DESC) "
        f"= 1), rows AS (SELECT {', '.join(picked)} FROM synced) "
        f"SELECT * FROM {loaded} WHERE CAST(id AS VARCHAR) NOT IN (SELECT CAST(id AS VARCHAR) FROM rows) "
        "UNION ALL SELECT * FROM rows"
    )


def sandbox_warehouse(scenario: Path | None) -> Path:
    """The DuckDB file of a sandbox environment that names no warehouse: built from its scenario's data.

    The scenario's ``warehouse:`` says which CSVs (none: the bundled demo's ``data/``); the file goes in the
    cache, one per set of sources, so the healthy and the drifted environment never share (or rebuild) one.
    """
    from ..bundled import DEMO_DIR, demo_warehouse_path
    from ..sandbox.scenario_warehouse import warehouse_sources

    data_dir, tables = DEMO_DIR / "data", dict[str, Path]()
    if scenario is not None and scenario.is_file():
        data_dir, tables = warehouse_sources(scenario) or (data_dir, tables)
    target = demo_warehouse_path()
    if data_dir.resolve() != (DEMO_DIR / "data").resolve() or tables:
        names = "\n".join(f"{t}={p.resolve()}" for t, p in _sources(data_dir, tables).items())
        digest = hashlib.sha256(names.encode()).hexdigest()[:12]
        target = target.parent / f"{(scenario.stem if scenario else 'demo')}-{digest}" / target.name
    return build_demo_warehouse(data_dir, target, tables=tables)


def build_demo_warehouse(data_dir: Path, target: Path, *, force: bool = False,
                         tables: Mapping[str, Path] | None = None) -> Path:
    """Build ``target`` from ``data_dir/*.csv`` (and ``tables``) unless it is up to date; return ``target``."""
    data_dir, target = Path(data_dir), Path(target)
    sources = _sources(data_dir, tables)
    if not sources:
        raise WarehouseError(f"no CSV files to build the demo warehouse from in {data_dir}")
    missing = [str(p) for p in sources.values() if not p.is_file()]
    if missing:
        raise WarehouseError(f"cannot build the demo warehouse {target}: no such CSV {', '.join(missing)}")
    if not force and not is_stale(data_dir, target, tables):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for name, csv in sources.items():
                with csv.open(encoding="utf-8", newline="") as f:
                    header = set(next(_csv.reader(f), []))
                types = {k: v for k, v in _TYPES.get(name, {}).items() if k in header}
                type_sql = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
                con.execute(
                    f'CREATE TABLE "{name}" AS SELECT * FROM read_csv(?, header = true, '
                    f"auto_detect = true{', types = ' + type_sql if types else ''})",
                    [str(csv)],
                )
            con.execute(f'CREATE SCHEMA "{OWN_SCHEMA}"')
            con.execute(f'CREATE TABLE "{OWN_SCHEMA}".build AS SELECT ? AS format', [BUILD_FORMAT])
            if SYNCED_TABLE in sources:
                _synced_view(con, sync_folder(target))
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot build the demo warehouse {target} from {data_dir}: {exc}") from exc
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return target
