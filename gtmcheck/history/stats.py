"""Robust statistics over a run history: whether tonight's value is unusual for its metric.

Median and MAD (median absolute deviation) rather than mean and standard deviation, because one bad night
must not widen the band that judges the next one. Points come from the same weekday when there are enough
(Monday's totals look like Mondays'), else from every day. A change under the floor is never anomalous, so a
total that moves by a cent is not news; with fewer than ``min_points`` earlier values the verdict is
``not_enough_history``: a status of its own, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

NORMAL, ANOMALOUS, NOT_ENOUGH_HISTORY = "normal", "anomalous", "not_enough_history"
MIN_POINTS = 4
Z_THRESHOLD = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
MAD_SCALE = 0.6745  # makes the MAD comparable with a standard deviation for normal data


@dataclass(frozen=True)
class Floor:
    """The least change that can be anomalous: ``absolute`` units, or ``relative`` (a fraction) of the median.

    The larger of the two applies; a change at or under it is always ``normal``.
    """

    absolute: float = 1.0
    relative: float = 0.01

    def at(self, centre: float) -> float:
        return max(self.absolute, self.relative * abs(centre))


@dataclass(frozen=True)
class Verdict:
    """What the history says of one value: its status, and the numbers that status rests on."""

    status: str
    value: float
    points: int  # how many earlier values were compared
    basis: str | None = None  # "same_weekday" or "all_days"; None without enough history
    median: float | None = None
    mad: float | None = None
    z: float | None = None  # the robust z; None when the MAD is 0 (the floor decides)
    band: tuple[float, float] | None = None  # values in it are normal

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "value": self.value, "points": self.points, "basis": self.basis,
                "median": self.median, "mad": self.mad, "z": None if self.z is None else round(self.z, 3),
                "band": None if self.band is None else list(self.band)}


def comparable_points(on: date, earlier: Sequence[tuple[date, float]],
                      min_points: int = MIN_POINTS) -> tuple[str, list[float]]:
    """The values to compare with: the same weekday's when at least ``min_points``, else every day's."""
    same = [v for d, v in earlier if d.weekday() == on.weekday()]
    if len(same) >= min_points:
        return "same_weekday", same
    return "all_days", [v for _, v in earlier]


def assess(value: float, on: date, earlier: Sequence[tuple[date, float]], *, min_points: int = MIN_POINTS,
           floor: Floor | None = None, threshold: float = Z_THRESHOLD) -> Verdict:
    """Judge ``value`` (observed on ``on``) against ``earlier`` values ``(date, value)`` of the same metric."""
    floor = floor or Floor()
    basis, points = comparable_points(on, earlier, min_points)
    if len(points) < min_points:
        return Verdict(NOT_ENOUGH_HISTORY, value, len(points))
    centre = median(points)
    mad = median(abs(p - centre) for p in points)
    least = floor.at(centre)
    change = abs(value - centre)
    if mad == 0:  # every earlier value (or most) the same: only the floor can say what is a change
        half = least
        z = None
        unusual = change > least
    else:
        half = max(threshold * mad / MAD_SCALE, least)
        z = MAD_SCALE * (value - centre) / mad
        unusual = abs(z) > threshold and change > least
    return Verdict(ANOMALOUS if unusual else NORMAL, value, len(points), basis, centre, mad, z,
                   (centre - half, centre + half))


def streak_start(newest_first: Sequence[tuple[object, str]], wanted: str) -> object | None:
    """The key of the oldest entry of the unbroken run of ``wanted`` at the newest end; ``None`` if it is not there."""
    start = None
    for key, value in newest_first:
        if value != wanted:
            break
        start = key
    return start


def streak_length(newest_first: Sequence[str], wanted: str) -> int:
    """How many of the newest values in a row equal ``wanted``."""
    count = 0
    for value in newest_first:
        if value != wanted:
            break
        count += 1
    return count
