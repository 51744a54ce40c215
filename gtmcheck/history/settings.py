"""``history:`` in gtmcheck.yml: where the run history is kept, or that it is not.

``history: false`` turns it off (runs append nothing); ``history: {path: .gtmcheck/history.duckdb}`` is the
default, a DuckDB file under the project root; ``history: {store: warehouse, table: gtmcheck_history}`` keeps
it in tables of the environment's warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HistoryError

if TYPE_CHECKING:
    from .store import HistoryStore

DEFAULT_PATH = ".gtmcheck/history.duckdb"
DEFAULT_TABLE = "gtmcheck_history"
FILE, WAREHOUSE = "file", "warehouse"

SECTION_SCHEMA: dict[str, Any] = {
    "description": "Where each run's results are kept for trends (`gtmcheck history`, report.html): false turns "
                   "it off; default a DuckDB file .gtmcheck/history.duckdb. Each environment keeps its last 400 "
                   "runs.",
    "type": ["boolean", "object"],
    "additionalProperties": False,
    "properties": {
        "store": {"enum": [FILE, WAREHOUSE],
                  "description": "file (default): a DuckDB file; warehouse: tables in the environment's "
                                 "warehouse (its `warehouse.url`)."},
        "path": {"type": "string", "minLength": 1,
                 "description": "The DuckDB file, relative to the project root (store: file)."},
        "table": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,49}$",
                  "x-hint": "a plain SQL name: letters, digits and _, at most 50",
                  "description": "The table name (with `<table>_metrics` beside it); default gtmcheck_history."},
    },
}


@dataclass(frozen=True)
class HistorySettings:
    """What ``history:`` says (the defaults when it is absent)."""

    enabled: bool = True
    store: str = FILE
    path: str = DEFAULT_PATH
    table: str = DEFAULT_TABLE

    @classmethod
    def from_section(cls, section: object) -> HistorySettings:
        """From the validated section: ``None``/``true`` for the defaults, ``false`` for off, else a mapping."""
        if section is None or section is True:
            return cls()
        if section is False:
            return cls(enabled=False)
        if not isinstance(section, dict):
            return cls()
        return cls(store=str(section.get("store", FILE)), path=str(section.get("path", DEFAULT_PATH)),
                   table=str(section.get("table", DEFAULT_TABLE)))

    def file(self, root: Path) -> Path:
        return (Path(root) / self.path).resolve()

    def open(self, root: Path, warehouse: dict[str, Any] | None, environment: str) -> HistoryStore:
        """The store these settings name, for an environment whose ``warehouse:`` block is ``warehouse``."""
        from .store import HistoryStore

        if not self.enabled:
            raise HistoryError("the history is turned off in gtmcheck.yml (history: false)")
        if self.store == WAREHOUSE:
            url = (warehouse or {}).get("url")
            if not url:
                raise HistoryError(f"history: {{store: warehouse}} but environment {environment!r} has no "
                                   "warehouse url. Fix: add warehouse: {url: ...} to it, or keep the history in a file")
            url = str(url)
            if url.startswith(("duckdb:///", "sqlite:///")) and not url.split(":///", 1)[1].startswith(("/", ":")):
                url = f"{url.split(':///', 1)[0]}:///{(Path(root) / url.split(':///', 1)[1]).resolve().as_posix()}"
            return HistoryStore(url, self.table)
        return HistoryStore.for_file(self.file(root), table=self.table)
