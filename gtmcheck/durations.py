"""Durations as checklists and the project file write them (``500ms``, ``30s``, ``5m``, ``1h``, ``2d``)."""

from __future__ import annotations

import re
from typing import Any

from .errors import Location, SpecError

PATTERN = r"^[1-9][0-9]*(ms|s|m|h|d)$"
HINT = "write a duration such as 30s, 5m or 1h"
SCHEMA: dict[str, Any] = {"type": "string", "pattern": PATTERN, "x-hint": HINT}
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, where: Location) -> float:
    """Seconds; a ``SpecError`` at ``where`` when ``text`` is not a duration."""
    m = re.fullmatch(PATTERN, text)
    if m is None:
        raise SpecError(f"{text!r} is not a duration", where, HINT)
    return int(text[: -len(m.group(1))]) * _UNITS[m.group(1)]


def format_duration(seconds: float) -> str:
    """The shortest way to write ``seconds`` as a duration: ``300.0`` -> ``5m``."""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"
