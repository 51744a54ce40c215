"""A scenario's ``warehouse:``: the CSVs a sandbox environment's own demo warehouse is built from.

The sandbox CRM ignores the section; ``connectors.demo_warehouse.sandbox_warehouse`` reads it (with
``warehouse_sources``) for a sandbox environment that names no ``warehouse: {url: ...}``, so the healthy and
the drifted demo each read their own rows, as a real stack's warehouse holds only its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import yamlfile
from ..schema import validate

__all__ = ["WAREHOUSE_SCHEMA", "warehouse_sources"]

WAREHOUSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "x-default": "the bundled demo's CSVs (gtmcheck/demo/data)",
    "description": "The CSVs the warehouse of a sandbox environment with no `warehouse:` is built from "
    "(DuckDB, in the cache folder): each environment reads its own rows, as a real stack's warehouse "
    "holds only its own.",
    "properties": {
        "data": {"type": "string", "minLength": 1, "default": "data",
                 "description": "A folder, relative to this file: every `*.csv` becomes a table of the "
                 "same name.", "examples": ["data"]},
        "tables": {
            "type": "object",
            "x-key-name": "table",
            "x-key-example": "events",
            "x-default": "only the folder's",
            "description": "Tables that differ in this stack: a CSV each, relative to this file, "
            "replacing the folder's table of that name.",
            "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
            "additionalProperties": {"type": "string", "minLength": 1,
                                     "description": "The table's CSV.",
                                     "examples": ["data/drifted/events.csv"]},
            "examples": [{"events": "data/drifted/events.csv"}],
        },
    },
}


def warehouse_sources(path: Path) -> tuple[Path, dict[str, Path]] | None:
    """The scenario's ``warehouse:``: its data folder and the tables it replaces; ``None`` when it has none."""
    doc = yamlfile.load(Path(path))
    validate(doc, {"type": "object", "properties": {"warehouse": WAREHOUSE_SCHEMA}})
    section = doc.data.get("warehouse") if isinstance(doc.data, dict) else None
    if not isinstance(section, dict):
        return None
    base = Path(path).parent
    tables = {str(name): base / str(csv_path) for name, csv_path in (section.get("tables") or {}).items()}
    return base / str(section.get("data") or "data"), tables
