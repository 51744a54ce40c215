"""Counts, sums and averages of CRM records, folded the same way for every vendor.

HubSpot has no aggregate API: its connector counts from a search's ``total`` and folds sums and averages from
one scan of the few properties needed (``ScanCache`` shares that scan between every check of the run that
needs the same object, filters and properties). Salesforce aggregates in SOQL and hands its partial rows
(a day's count and sum, say) to the same ``Partial`` so both vendors answer alike:

- amounts are strings in HubSpot: they are read as ``Decimal``; an empty or missing value is skipped by
  ``sum`` and ``avg`` (as SQL skips NULL) and counted by ``count`` without a property; a value that is not a
  number raises ``ConnectorError`` naming the record;
- date buckets are taken in UTC from ISO dates, ISO datetimes or epoch milliseconds, with the warehouse
  connector's keys: ``2026-07-14`` (day), the Monday ``2026-07-13`` (week), ``2026-07``, ``2026-Q3``, ``2026``;
- without ``group_by`` the one key is ``None``, and a count or sum over nothing is 0; a group exists only
  where a record is (a record without the group property falls in the ``None`` group, as SQL's NULL group);
  an average over no value is left out (SQL's NULL), never 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConnectorError
from .crm import GroupBy, Measure, to_epoch_ms

__all__ = ["BUCKETS", "Partial", "Row", "ScanCache", "bucket_key", "check_measure", "fold_rows", "number", "result"]

BUCKETS = ("day", "week", "month", "quarter", "year")
KINDS = ("count", "sum", "avg")
Row = tuple[str | None, ...]  # a scanned record: its id, then the values of the scanned properties


def check_measure(measure: Measure, group_by: GroupBy | None) -> None:
    """Refuse a measure or grouping the connectors cannot compute, before any request is sent."""
    if measure.kind not in KINDS:
        raise ConnectorError(f"measure {measure.kind!r} is not one of {', '.join(KINDS)}")
    if measure.kind != "count" and not measure.property:
        raise ConnectorError(f"a {measure.kind} needs the property to {measure.kind}")
    if group_by is not None and group_by.bucket is not None and group_by.bucket not in BUCKETS:
        raise ConnectorError(f"date bucket {group_by.bucket!r} is not one of {', '.join(BUCKETS)}")


def bucket_key(day: date, bucket: str) -> str:
    """The key of the bucket holding ``day``, in the warehouse connector's format."""
    if bucket == "day":
        return day.isoformat()
    if bucket == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if bucket == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if bucket == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def date_of(value: str | None, what: str) -> date | None:
    """The UTC date of a CRM date value; ``None`` when empty; ``ConnectorError`` when it is not a date."""
    if value is None or not value.strip():
        return None
    ms = to_epoch_ms(value)
    if ms is None:
        raise ConnectorError(f"{what} is {value!r}, not a date (ISO 8601 or epoch milliseconds)")
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def number(value: str | None, what: str) -> Decimal | None:
    """A CRM amount (a string in HubSpot) as ``Decimal``; ``None`` when empty; ``ConnectorError`` when not a number."""
    if value is None or not value.strip():
        return None
    try:
        parsed = Decimal(value.strip())
    except InvalidOperation:
        parsed = Decimal("NaN")
    if not parsed.is_finite():
        raise ConnectorError(f"{what} is {value!r}, not a number")
    return parsed


@dataclass
class Partial:
    """What is known of one group: its records, how many carry a value, and the sum of those values."""

    records: int = 0
    values: int = 0
    total: Decimal = Decimal(0)

    def add(self, records: int = 0, values: int = 0, total: Decimal | int | None = None) -> None:
        self.records += records
        self.values += values
        if total is not None:
            self.total += Decimal(total)

    def value(self, measure: Measure) -> Decimal | int | None:
        """The measure of this group; ``None`` for an average over no value."""
        if measure.kind == "count":
            return self.values if measure.property else self.records
        if measure.kind == "sum":
            return self.total
        return self.total / self.values if self.values else None


def result(partials: dict[Any, Partial], measure: Measure, grouped: bool) -> dict[Any, Decimal | int]:
    """The answer of ``aggregate``: a value per group (``None`` alone without grouping; 0 for nothing counted)."""
    if not grouped:
        partials.setdefault(None, Partial())
    out: dict[Any, Decimal | int] = {}
    for key, partial in partials.items():
        value = partial.value(measure)
        if value is not None:
            out[key] = value
    return out


def fold_rows(rows: Iterable[Row], names: Sequence[str], measure: Measure, group_by: GroupBy | None,
              what: str) -> dict[Any, Decimal | int]:
    """Aggregate scanned rows (id, then the values of ``names``) in Python; ``what`` names the records in errors."""
    value_at = names.index(measure.property) + 1 if measure.property else None
    group_at = names.index(group_by.property) + 1 if group_by is not None else None
    partials: dict[Any, Partial] = {}
    for row in rows:
        key: Any = None
        if group_by is not None and group_at is not None:
            raw = row[group_at]
            if group_by.bucket is None:
                key = raw if raw not in (None, "") else None
            else:
                day = date_of(raw, f"{what} {row[0]}'s {group_by.property}")
                key = bucket_key(day, group_by.bucket) if day is not None else None
        partial = partials.setdefault(key, Partial())
        if value_at is None:
            partial.add(records=1)
            continue
        if measure.kind == "count":
            present = row[value_at] not in (None, "")
            partial.add(records=1, values=int(present))
            continue
        amount = number(row[value_at], f"{what} {row[0]}'s {measure.property}")
        partial.add(records=1, values=0 if amount is None else 1, total=amount)
    return result(partials, measure, group_by is not None)


class ScanCache:
    """One scan per object and filters for the whole run: later callers (and threads) reuse its rows.

    A scan is kept with the properties it read; a later call that needs some of those properties is answered
    from it (a sum by month and an ungrouped sum share one scan of ``amount`` and ``closedate``), one that
    needs another property scans again. A scan that fails is not kept, so the next caller tries again.
    ``scans`` counts the scans made.
    """

    def __init__(self) -> None:
        self._kept: dict[Hashable, list[tuple[tuple[str, ...], list[Row]]]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.scans = 0

    def rows(self, key: Hashable, names: Sequence[str], scan: Callable[[], Iterable[Row]]) -> list[Row]:
        """Rows of (id, then ``names``) for ``key``, from ``scan()`` unless a kept scan holds those properties."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            for kept_names, kept_rows in self._kept.get(key, []):
                if set(names) <= set(kept_names):
                    if tuple(names) == kept_names:
                        return kept_rows
                    at = [0, *(kept_names.index(n) + 1 for n in names)]
                    return [tuple(row[i] for i in at) for row in kept_rows]
            rows = list(scan())
            with self._lock:
                self._kept.setdefault(key, []).append((tuple(names), rows))
                self.scans += 1
            return rows

    def clear(self) -> None:
        """Forget every scan (a later call reads the CRM again)."""
        with self._lock:
            self._kept.clear()
