"""The run history: every run's results, kept for trends, "since when" and "N in a row".

Neutral: it reads the report's results (``report.json``'s structure) and knows no kind, no pytest and no CLI.
The store (``gtmcheck.history.store``, SQLAlchemy) is imported where it is used, so loading a project stays light.
"""

from .fingerprint import fingerprint, normalise
from .rows import ItemRow, MetricRow, RunRecord, record_of
from .settings import DEFAULT_PATH, DEFAULT_TABLE, HistorySettings

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_TABLE",
    "HistorySettings",
    "ItemRow",
    "MetricRow",
    "RunRecord",
    "fingerprint",
    "normalise",
    "record_of",
]
