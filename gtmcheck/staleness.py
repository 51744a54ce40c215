"""Dates on attestations and sign-offs: how long each counts, and which are in the future.

An attestation is what a person saw on one day; the stack moves on. ``gtmcheck.yml`` declares how long an
attestation and a sign-off count (``governance: {max_age: {attestation: 90d, signoff: 180d}}``); a checklist
or a ``manual:`` item may make that shorter, never longer, so a checklist cannot extend its own acceptance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from .durations import duration_seconds

Subject = Literal["attestation", "signoff"]


@dataclass(frozen=True)
class GovernancePolicy:
    """``gtmcheck.yml``'s ``governance:``: components a go-live requires, and how long dates count."""

    require: tuple[str, ...] = ()
    max_age: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> GovernancePolicy:
        section = section or {}
        return cls(require=tuple(section.get("require") or ()), max_age=dict(section.get("max_age") or {}))


@dataclass(frozen=True)
class MaxAge:
    """The age that applies to one date, and where it was declared (for the message)."""

    text: str
    days: int


def effective_max_age(subject: Subject, *declared: Mapping[str, str] | str | None) -> MaxAge | None:
    """The shortest of the ages declared for ``subject`` (project, checklist, item); ``None`` if none is.

    A mapping is a ``max_age:`` section (its ``subject`` key counts); a string is an item's own age.
    """
    ages: list[str] = []
    for source in declared:
        if isinstance(source, str):
            ages.append(source)
        elif source and isinstance(source.get(subject), str):
            ages.append(source[subject])
    best: MaxAge | None = None
    for text in ages:
        seconds = duration_seconds(text)
        if seconds is None:
            continue
        days = max(1, math.ceil(seconds / 86400)) if math.isfinite(seconds) else 10**6
        if best is None or days < best.days:
            best = MaxAge(text, days)
    return best


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_day(text: str | None) -> date | None:
    """The day a checklist wrote (schema-checked already); ``None`` when absent."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def stale_since(on: str | None, max_age: MaxAge | None, today: date) -> date | None:
    """The day a date dated ``on`` stopped counting, when that day is today or earlier; else ``None``."""
    day = parse_day(on)
    if day is None or max_age is None:
        return None
    expires = day + timedelta(days=max_age.days)
    return expires if expires <= today else None


def in_future(on: str | None, today: date) -> bool:
    day = parse_day(on)
    return day is not None and day > today
