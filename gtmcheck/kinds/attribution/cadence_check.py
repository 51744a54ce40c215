"""ATTR-REVIEW-CADENCE: a review cadence of monthly or more often, and the last review within it.

Judged on the environment's calendar (``ctx.today()``), so the nightly run catches a review that lapsed
after sign-off; it reads only the checklist and needs nothing of the stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from ...errors import CheckFailed, Evidence
from ..base import Check
from .compiled import MONTHLY_DAYS, AttributionSpec

if TYPE_CHECKING:
    from ...context import RunContext

DOD_ID = "ATTR-REVIEW-CADENCE"


def check_cadence(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Pass when the cadence is at most monthly and the last review is no older than the cadence."""
    review = spec.review
    assert review is not None
    today = ctx.today()
    age = (today - review.last).days
    details = {"cadence": review.cadence, "cadence_days": review.cadence_days, "last": review.last.isoformat(),
               "today": today.isoformat(), "days_since": age}
    if review.cadence_days > MONTHLY_DAYS:
        raise CheckFailed(f"the agreed cadence, {review.cadence} ({review.cadence_days} days), is longer than "
                          "monthly; the DoD asks for monthly at least",
                          expected=f"a cadence of at most {MONTHLY_DAYS} days (monthly)",
                          received=f"{review.cadence} ({review.cadence_days} days)")
    if age < 0:
        raise CheckFailed(f"the last review is dated {review.last.isoformat()}, after today ({today.isoformat()})",
                          expected="a past review date", received=review.last.isoformat())
    if age > review.cadence_days:
        raise CheckFailed(
            f"the review has lapsed: the last one was on {review.last.isoformat()}, {age} days before "
            f"{today.isoformat()}; {review.cadence} allows {review.cadence_days}",
            expected=f"a review within {review.cadence_days} days ({review.cadence})",
            received=f"last review {age} days ago",
            evidence=Evidence(f"{age - review.cadence_days} days overdue", details),
        )
    return Evidence(f"reviewed {review.cadence}; last on {review.last.isoformat()}, {age} days ago (next due "
                    f"within {review.cadence_days - age} days)", details)


def cadence_checks(spec: AttributionSpec) -> Iterator[Check]:
    if spec.review is not None:
        yield Check(DOD_ID, partial(check_cadence, spec), spec.location("review"),
                    description="the review cadence is monthly at least and the last review is within it")
