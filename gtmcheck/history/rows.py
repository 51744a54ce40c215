"""What one run adds to the history, read from the report's results (``report.json``'s structure).

The history knows no kind: an item's metrics come from the shape of its evidence details, which the kinds
already publish in ``report.json``:

- a reconciled total: ``{"expected": {"total": X}, "received": {"total": Y}, "diff": D, "groups": [...]}``
  gives metrics ``expected``, ``received`` and ``diff`` for the whole (group ``""``) and for each group listed;
- a handoff count: numeric ``fired`` and ``received`` (with ``missing``, ``late``) give a metric each.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import secrets
from .fingerprint import drift_fingerprint, drift_row_id, fingerprint

MAX_MESSAGE = 500  # characters of a message kept per row: enough to read, not a copy of the report
CHECKLIST_ITEM = "(checklist)"  # the item id of a checklist that could not be loaded, or is missing
_COUNTS = ("fired", "received", "missing", "late")


@dataclass(frozen=True)
class ItemRow:
    """One check's outcome in one run."""

    run_id: str
    environment: str
    started_at: datetime
    finished_at: datetime | None
    checklist: str
    kind: str
    owner: str
    item_id: str
    dod: str
    status: str
    fingerprint: str
    message: str


@dataclass(frozen=True)
class MetricRow:
    """One number a check measured in one run: a reconciled total, per group or for the whole."""

    run_id: str
    environment: str
    started_at: datetime
    checklist: str
    item_id: str
    metric: str
    group: str
    value: float


@dataclass
class RunRecord:
    """Everything one run appends."""

    run_id: str
    environment: str
    started_at: datetime
    finished_at: datetime | None
    items: list[ItemRow] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; ``None`` when there is none."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def metrics_of(details: object) -> Iterator[tuple[str, str, float]]:
    """``(metric, group, value)`` for each number the details carry in a shape the history knows."""
    if not isinstance(details, Mapping):
        return
    expected, received = details.get("expected"), details.get("received")
    if isinstance(expected, Mapping) and isinstance(received, Mapping):
        for name, value in (("expected", expected.get("total")), ("received", received.get("total")),
                            ("diff", details.get("diff"))):
            number = _number(value)
            if number is not None:
                yield name, "", number
        for group in details.get("groups") or []:
            if isinstance(group, Mapping) and group.get("key") is not None:
                for name in ("expected", "received", "diff"):
                    number = _number(group.get(name))
                    if number is not None:
                        yield name, str(group["key"]), number
    elif isinstance(details.get("fired"), int) and isinstance(received, int):
        for name in _COUNTS:
            value = details.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                yield name, "", float(value)


def _message(text: object) -> str:
    clean = secrets.redact(str(text or ""))
    return clean if len(clean) <= MAX_MESSAGE else clean[: MAX_MESSAGE - 1] + "…"


def _drifts_of(details: object) -> Iterator[Mapping[str, Any]]:
    """The baseline drifts a BASELINE-DRIFT item's details list (``{"drifts": [{"path", "was", "is", ...}]}``)."""
    drifts = details.get("drifts") if isinstance(details, Mapping) else None
    for drift in drifts if isinstance(drifts, list) else ():
        if isinstance(drift, Mapping) and isinstance(drift.get("path"), str):
            yield drift


def record_of(report: Mapping[str, Any], *, run_id: str | None = None, environment: str | None = None) -> RunRecord:
    """The rows a report stands for; ``run_id``/``environment`` default to the report summary's."""
    summary: Mapping[str, Any] = report.get("summary") or {}
    run = str(run_id or summary.get("run_id") or "")
    env = str(environment or summary.get("environment") or "")
    if not run or not env:
        raise ValueError("the report names no run id or environment")
    started = parse_time(summary.get("started_at")) or datetime.now(UTC)
    duration = _number(summary.get("duration_s"))
    finished = started + timedelta(seconds=duration) if duration is not None else None
    record = RunRecord(run, env, started, finished)
    for entry in report.get("checklists") or []:
        file, kind, owner = str(entry.get("file") or ""), str(entry.get("kind") or ""), str(entry.get("owner") or "")
        items = entry.get("items") or []
        if not items and (entry.get("error") or entry.get("status")):  # unloadable or missing: one row says so
            status = "error" if entry.get("error") else str(entry.get("status"))
            message = _message(entry.get("error") or entry.get("message"))
            record.items.append(ItemRow(run, env, started, finished, file, kind, owner, CHECKLIST_ITEM, "",
                                        status, fingerprint(file, CHECKLIST_ITEM, status, message), message))
        for item in items:
            item_id, status = str(item.get("id") or ""), str(item.get("status") or "")
            message = _message(item.get("message") or "")
            record.items.append(ItemRow(run, env, started, finished, file, kind, owner, item_id,
                                        str(item.get("dod") or ""), status,
                                        fingerprint(file, item_id, status, message), message))
            for metric, group, value in metrics_of(item.get("details")):
                record.metrics.append(MetricRow(run, env, started, file, item_id, metric, group, value))
            for drift in _drifts_of(item.get("details")):  # one row each: "since when" a drift has been seen
                path = str(drift["path"])
                record.items.append(ItemRow(run, env, started, finished, file, kind, str(drift.get("owner") or owner),
                                            drift_row_id(item_id, path), str(item.get("dod") or ""), status,
                                            drift_fingerprint(file, path, drift.get("was"), drift.get("is")),
                                            _message(drift.get("message") or path)))
    return record
