"""Date buckets in aggregate SOQL, and the numbers of an ``AggregateResult`` row.

A bucket is grouped by aliased date functions (``CALENDAR_YEAR(CloseDate) y, CALENDAR_MONTH(CloseDate) m``),
which work in UTC unless wrapped in ``convertTimezone``. SOQL's ``WEEK_IN_YEAR`` counts weeks from January 1st,
so weeks are grouped by day and the caller sums the days into ISO weeks (the key of a day's row is its
Monday). Keys are those of ``aggregation.bucket_key``, the warehouse connector's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .aggregation import bucket_key
from .answers import Answer

__all__ = ["aggregate_number", "bucket_columns", "bucket_from_row"]

# Aliased date parts per bucket: (alias, SOQL function).
BUCKET_PARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "year": (("y", "CALENDAR_YEAR"),),
    "quarter": (("y", "CALENDAR_YEAR"), ("q", "CALENDAR_QUARTER")),
    "month": (("y", "CALENDAR_YEAR"), ("m", "CALENDAR_MONTH")),
    "week": (("y", "CALENDAR_YEAR"), ("m", "CALENDAR_MONTH"), ("d", "DAY_IN_MONTH")),
    "day": (("y", "CALENDAR_YEAR"), ("m", "CALENDAR_MONTH"), ("d", "DAY_IN_MONTH")),
}


def bucket_columns(field: str, bucket: str) -> tuple[list[str], list[str]]:
    """The aliased SELECT columns and the GROUP BY expressions for ``bucket`` of the (checked) ``field``."""
    parts = [(alias, f"{function}({field})") for alias, function in BUCKET_PARTS[bucket]]
    return [f"{expr} {alias}" for alias, expr in parts], [expr for _, expr in parts]


def bucket_from_row(row: Mapping[str, Any], bucket: str, answer: Answer, path: str) -> str | None:
    """The bucket key of an ``AggregateResult`` row (``None``: the records without a date)."""
    parts: dict[str, int] = {}
    for alias, _function in BUCKET_PARTS[bucket]:
        value = row.get(alias)
        if value is None:  # no date on these records: SOQL's null group
            return None
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
            raise answer.wrong(f"{path}.{alias}", "a whole number (a date part)", value)
        parts[alias] = int(value)
    if bucket == "year":
        return f"{parts['y']:04d}"
    if bucket == "quarter":
        return f"{parts['y']:04d}-Q{parts['q']}"
    if bucket == "month":
        return f"{parts['y']:04d}-{parts['m']:02d}"
    return bucket_key(date(parts["y"], parts["m"], parts["d"]), bucket)


def aggregate_number(row: Mapping[str, Any], name: str, answer: Answer, path: str) -> Decimal | None:
    """The number in column ``name`` (``expr0``...) of an aggregate row; ``None`` for SOQL's null."""
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise answer.wrong(f"{path}.{name}", "a number", value)
    return Decimal(value)
