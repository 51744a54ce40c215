"""The demo stack's DuckDB warehouse, built from the CSVs in ``gtmcheck/demo/data`` at first use.

Every ``*.csv`` becomes a table of the same name (``deals``, ``contacts``, ``companies``, ``events``,
``touchpoints``). The file is never committed: it is built when missing or older than any CSV, into a
temporary file beside the target that is then renamed over it, so a reader never sees half a warehouse
and two processes building at once both end with a complete file.

``events`` holds the handoff events of both demo scenarios, told apart by its ``scenario`` column:
``healthy`` has 120 ``lead.created`` and 120 matching ``sales.queue.received``; ``drifted`` has the same
120 leads and 108 receipts (12 leads from unmatched territories never reached the sales queue).
"""

from __future__ import annotations

import csv as _csv
import os
import re
from pathlib import Path

import duckdb

from ..errors import WarehouseError

__all__ = ["build_demo_warehouse", "is_stale"]

_TABLE = re.compile(r"[a-z_][a-z0-9_]*")
# Column types that auto-detection would get wrong or loose: money is exact, ids are text.
_TYPES: dict[str, dict[str, str]] = {
    "deals": {"id": "VARCHAR", "amount": "DECIMAL(18,2)", "closedate": "DATE", "createdate": "DATE"},
    "contacts": {"id": "VARCHAR", "employees": "INTEGER", "createdate": "DATE"},
    "companies": {"id": "VARCHAR", "employees": "INTEGER"},
    "events": {"event_id": "VARCHAR", "lead_id": "VARCHAR", "occurred_at": "TIMESTAMP"},
    "touchpoints": {"id": "VARCHAR", "contact_id": "VARCHAR", "occurred_at": "TIMESTAMP"},
}


def _sources(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.glob("*.csv") if _TABLE.fullmatch(p.stem))


def is_stale(data_dir: Path, target: Path) -> bool:
    """True when ``target`` is missing or older than one of the CSVs it is built from."""
    if not target.is_file():
        return True
    built = target.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _sources(data_dir))


def build_demo_warehouse(data_dir: Path, target: Path, *, force: bool = False) -> Path:
    """Build ``target`` from ``data_dir/*.csv`` unless it is already up to date; return ``target``."""
    data_dir, target = Path(data_dir), Path(target)
    sources = _sources(data_dir)
    if not sources:
        raise WarehouseError(f"no CSV files to build the demo warehouse from in {data_dir}")
    if not force and not is_stale(data_dir, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for csv in sources:
                with csv.open(encoding="utf-8", newline="") as f:
                    header = set(next(_csv.reader(f), []))
                types = {k: v for k, v in _TYPES.get(csv.stem, {}).items() if k in header}
                type_sql = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
                con.execute(
                    f'CREATE TABLE "{csv.stem}" AS SELECT * FROM read_csv(?, header = true, '
                    f"auto_detect = true{', types = ' + type_sql if types else ''})",
                    [str(csv)],
                )
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
