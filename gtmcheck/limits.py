"""Numbers, dates and durations that mean something: the bounds every validated YAML file keeps.

A JSON Schema ``number`` admits ``.inf`` and a 999-digit integer; a ``YYYY-MM-DD`` pattern admits
2026-02-30; a duration pattern admits ``99999999999d``. None of them means anything to a CRM or a clock,
and each used to travel on until it broke something far away (an ``OverflowError`` in the routing solver,
a lead sent with ``employees=inf``). The bounds, checked by ``schema.validate`` for every checklist,
``gtmcheck.yml`` and sandbox scenario, so a bad value is an error at its own line:

- every number is finite and within ``±MAX_NUMBER`` (10^15): a CRM number property is a double, which
  holds every whole number up to 2^53 (about 9e15) exactly; nothing in a checklist counts further;
- a ``format: date`` string is a real calendar date (no 2026-02-30, no 2026-13-01);
- a duration is at most its schema's ``x-max-duration`` (``durations.MAX_DURATION``, 30 days, unless
  the schema says less).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from .durations import duration_seconds

MAX_NUMBER = 10**15
NUMBER_HINT = "write a finite number between -1e15 and 1e15, or quote it to make it a string"
DATE_FORMAT = "date"
MAX_DURATION_KEYWORD = "x-max-duration"

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks(DATE_FORMAT, raises=ValueError)
def _is_calendar_date(instance: object) -> bool:
    """``YYYY-MM-DD`` naming a day that exists; other shapes are left to the schema's pattern."""
    if not isinstance(instance, str) or len(instance) != 10 or not instance[:4].isdigit():
        return True
    try:
        date.fromisoformat(instance)
    except ValueError as exc:
        raise ValueError(f"{instance} is not a real date ({exc})") from None
    return True


def _max_duration(validator: Any, limit: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """The ``x-max-duration`` keyword: a duration string no longer than ``limit`` (``30d``)."""
    if not isinstance(instance, str):
        return
    seconds, most = duration_seconds(instance), duration_seconds(limit)
    if seconds is not None and most is not None and seconds > most:
        yield ValidationError(f"{instance} is longer than {limit}, the longest allowed here")


Validator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {MAX_DURATION_KEYWORD: _max_duration}
)


def number_problem(value: object) -> str | None:
    """Why ``value`` is not a number a checklist can use, or ``None`` (also for non-numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "is not a number (NaN)"
    if isinstance(value, float) and math.isinf(value):
        return "is infinite" if value > 0 else "is minus infinity"
    if abs(value) > MAX_NUMBER:
        shown = f"a {len(str(abs(value)))}-digit number" if isinstance(value, int) else f"{value:g}"
        return f"is {shown}, beyond ±10^15"
    return None


def bad_numbers(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every number in ``data`` that breaks the bounds, with its path and the problem."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*where, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*where, i), v) for i, v in enumerate(value))
        else:
            problem = number_problem(value)
            if problem is not None:
                yield where, problem
