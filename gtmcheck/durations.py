"""Durations as checklists and the project file write them (``500ms``, ``30s``, ``5m``, ``1h``, ``2d``).

A duration is at most ``MAX_DURATION`` (30 days: SLAs and ages are minutes to days, and a run never waits
longer); a schema may say less with ``x-max-duration`` (checked in ``limits``).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Location, SpecError

PATTERN = r"^[1-9][0-9]*(ms|s|m|h|d)$"
HINT = "write a duration such as 30s, 5m or 1h"
MAX_DURATION = "30d"
SCHEMA: dict[str, Any] = {"type": "string", "pattern": PATTERN, "x-max-duration": MAX_DURATION, "x-hint": HINT}
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MAX_DIGITS = 12  # more digits than any duration up to the limit needs, in any unit


def duration_seconds(text: str) -> float | None:
    """Seconds, or ``None`` when ``text`` is not a duration (a huge count is ``inf``, never an error)."""
    m = re.fullmatch(PATTERN, text)
    if m is None:
        return None
    digits = text[: -len(m.group(1))]
    if len(digits) > _MAX_DIGITS:
        return float("inf")
    return int(digits) * _UNITS[m.group(1)]


def parse_duration(text: str, where: Location, maximum: str = MAX_DURATION) -> float:
    """Seconds; a ``SpecError`` at ``where`` when ``text`` is not a duration or is longer than ``maximum``."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise SpecError(f"{text!r} is not a duration", where, HINT)
    most = duration_seconds(maximum)
    assert most is not None
    if seconds > most:
        raise SpecError(f"{text!r} is longer than {maximum}, the longest duration allowed here", where,
                        f"write at most {maximum}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest way to write ``seconds`` as a duration: ``300.0`` -> ``5m``."""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"
