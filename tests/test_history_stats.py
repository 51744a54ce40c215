"""Robust statistics, fingerprints and streaks, each checked by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gtmcheck.history import fingerprint, normalise
from gtmcheck.history.stats import (
    ANOMALOUS,
    NORMAL,
    NOT_ENOUGH_HISTORY,
    Floor,
    assess,
    comparable_points,
    streak_length,
    streak_start,
)

FRIDAY = date(2026, 11, 27)


def days_back(values: list[float], start: date = FRIDAY) -> list[tuple[date, float]]:
    """``values`` on the days before ``start``, the last value the day before it."""
    return [(start - timedelta(days=len(values) - i), v) for i, v in enumerate(values)]


def fridays_back(values: list[float]) -> list[tuple[date, float]]:
    return [(FRIDAY - timedelta(weeks=len(values) - i), v) for i, v in enumerate(values)]


def test_same_weekday_is_used_when_it_has_enough_points() -> None:
    # four earlier Fridays around 100, every other day around 500: tonight's 100 is a normal Friday
    earlier = fridays_back([98, 100, 102, 100]) + [(FRIDAY - timedelta(days=d), 500.0) for d in (1, 2, 3, 4, 5)]
    basis, points = comparable_points(FRIDAY, earlier)
    assert basis == "same_weekday" and sorted(points) == [98, 100, 100, 102]
    verdict = assess(100, FRIDAY, earlier)
    assert verdict.status == NORMAL and verdict.basis == "same_weekday" and verdict.median == 100


def test_too_few_same_weekday_points_fall_back_to_all_days() -> None:
    earlier = fridays_back([100, 100, 100]) + [(FRIDAY - timedelta(days=d), 500.0) for d in (1, 2)]
    basis, points = comparable_points(FRIDAY, earlier)
    assert basis == "all_days" and len(points) == 5
    verdict = assess(100, FRIDAY, earlier)
    assert verdict.basis == "all_days" and verdict.median == 100  # median of 100,100,100,500,500


def test_robust_z_by_hand() -> None:
    # values 10, 12, 14, 16, 18: median 14, deviations 4 2 0 2 4 -> MAD 2; x = 30: z = 0.6745 * 16 / 2 = 5.396
    verdict = assess(30, FRIDAY, days_back([10, 12, 14, 16, 18]), floor=Floor(absolute=0, relative=0))
    assert verdict.status == ANOMALOUS
    assert verdict.median == 14 and verdict.mad == 2
    assert verdict.z == pytest.approx(5.396)
    # the band is where |z| <= 3.5: 14 +- 3.5 * 2 / 0.6745 = 14 +- 10.378
    assert verdict.band == pytest.approx((3.622, 24.378), abs=1e-3)
    assert assess(20, FRIDAY, days_back([10, 12, 14, 16, 18]), floor=Floor(0, 0)).status == NORMAL  # z 2.02


def test_a_change_under_the_floor_is_never_anomalous() -> None:
    # median 1000, deviations 1 0 1 0 1 1 -> MAD 1; 1008 is z = 0.6745 * 8 = 5.4, anomalous without a floor
    earlier = days_back([999.0, 1000.0, 1001.0, 1000.0, 999.0, 1001.0])
    assert assess(1008, FRIDAY, earlier, floor=Floor(absolute=0, relative=0)).status == ANOMALOUS
    # 1% of the median is 10: a change of 8 is under the floor, whatever its z
    under = assess(1008, FRIDAY, earlier, floor=Floor(absolute=0, relative=0.01))
    assert under.status == NORMAL and under.z == pytest.approx(5.396)
    assert assess(1008, FRIDAY, earlier, floor=Floor(absolute=9, relative=0)).status == NORMAL
    assert assess(1011, FRIDAY, earlier, floor=Floor(absolute=0, relative=0.01)).status == ANOMALOUS


def test_mad_zero_uses_the_floor() -> None:
    earlier = days_back([428000.0] * 6)
    same = assess(428000, FRIDAY, earlier)
    assert same.status == NORMAL and same.mad == 0 and same.z is None
    floor = Floor(absolute=1, relative=0.01)  # 4280
    assert assess(430000, FRIDAY, earlier, floor=floor).status == NORMAL  # change 2000 <= 4280
    drop = assess(391000, FRIDAY, earlier, floor=floor)
    assert drop.status == ANOMALOUS and drop.z is None
    assert drop.band == (428000 - 4280, 428000 + 4280)


def test_fewer_than_min_points_is_not_enough_history() -> None:
    verdict = assess(5, FRIDAY, days_back([1, 1, 1]))
    assert verdict.status == NOT_ENOUGH_HISTORY and verdict.points == 3 and verdict.band is None
    assert assess(5, FRIDAY, []).status == NOT_ENOUGH_HISTORY
    assert assess(5, FRIDAY, days_back([1, 1, 1, 1]), floor=Floor(0, 0)).status == ANOMALOUS
    assert assess(5, FRIDAY, days_back([1, 1, 1, 1, 1]), min_points=6).status == NOT_ENOUGH_HISTORY


def test_streaks() -> None:
    newest_first = [("d5", "b"), ("d4", "b"), ("d3", "a"), ("d2", "b")]
    assert streak_start(newest_first, "b") == "d4"  # the current streak began on d4, not d2
    assert streak_start(newest_first, "a") is None  # not the newest: no current streak
    assert streak_length(["failed", "failed", "passed", "failed"], "failed") == 2
    assert streak_length(["passed"], "failed") == 0


def test_fingerprint_ignores_what_changes_between_runs() -> None:
    one = ("lead.created fired 120, received 108; 12 missing; slowest 1m35s; run gtm-20261127T020000-abc123, "
           "contact 48213, event 3f2a1b4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c at 2026-11-27T02:00:01Z took 0.84 s")
    two = ("lead.created fired 120, received 108; 12 missing; slowest 2m01s; run gtm-20261128T020000-def456, "
           "contact 50001, event 9e8d7c6b-1d2e-4f5a-8b9c-0d1e2f3a4b5c at 2026-11-28T02:00:09Z took 1.2 s")
    assert normalise(one) == normalise(two)
    assert fingerprint("c.gtm.yml", "X", "failed", one) == fingerprint("c.gtm.yml", "X", "failed", two)
    # what the failure says does count: 13 missing is another failure
    assert fingerprint("c.gtm.yml", "X", "failed", one) != \
        fingerprint("c.gtm.yml", "X", "failed", one.replace("12 missing", "13 missing"))
    assert fingerprint("c.gtm.yml", "X", "failed", one) != fingerprint("c.gtm.yml", "Y", "failed", one)
