"""Append a finished run's report to the history and read back the trends report.html shows.

Called once per run by the process that writes the report (never by a pytest-xdist worker). Any failure is a
``HistoryError`` the caller turns into one warning line: the history never changes a run's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import GtmcheckError, HistoryError
from .rows import record_of
from .trends import LAST_RUNS, Trends, build_trends

if TYPE_CHECKING:
    from ..project import Project
    from .store import HistoryStore


def open_store(project: Project, environment: str) -> HistoryStore | None:
    """The project's history for reading (``first_seen``, ``consecutive``); ``None`` when ``history: false``.

    Close it when done. The run being checked is not in it yet: it is appended when the run's report is written.
    """
    settings = project.history
    if not settings.enabled:
        return None
    warehouse = None
    if settings.store == "warehouse":
        try:
            warehouse = project.environment(environment).warehouse
        except GtmcheckError as exc:
            raise HistoryError(f"cannot open the warehouse of environment {environment!r}: {exc}") from None
    return settings.open(project.root, warehouse, environment)


def append_run(report: Mapping[str, Any], project: Project, *, last: int = LAST_RUNS) -> Trends | None:
    """Append the run's rows; the environment's trends after it, ``None`` when the history is off."""
    settings = project.history
    if not settings.enabled:
        return None
    try:
        record = record_of(report)
    except ValueError as exc:
        raise HistoryError(str(exc)) from None
    store = open_store(project, record.environment)
    assert store is not None  # enabled, checked above
    try:
        store.append(record)
        return build_trends(store, record.environment, last=last)
    finally:
        store.close()
