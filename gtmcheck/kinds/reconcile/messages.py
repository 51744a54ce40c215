"""What a CFO reads when totals disagree: one line with both totals and the difference, then the groups.

    expected 428000 closed-won (warehouse), received 391000 (CRM), diff -37000 (-8.6%);
    2 of 12 months differ, largest first: 2026-10: expected 27000, received 8000, diff -19000;
    2026-07: expected 18000, received 0 (none in CRM), diff -18000

Numbers are ``Decimal`` printed plainly: no float noise, no exponent, no thousands separators; whole numbers
without decimals, others with the checklist's ``precision`` (``428000.50``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SHOWN_GROUPS = 5  # groups named in the message; the evidence lists every one


def number(value: Decimal, precision: int | None = None) -> str:
    """``428000``, ``428000.50`` (precision 2), ``0.125``: plain text, never ``4.28E+5``."""
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    if precision is not None:
        return f"{value.quantize(Decimal(1).scaleb(-precision)):f}"
    return f"{value.normalize():f}"


def signed(value: Decimal, precision: int | None = None) -> str:
    text = number(value, precision)
    return text if text.startswith("-") or value == 0 else f"+{text}"


def percent(diff: Decimal, expected: Decimal) -> str:
    """``-8.6%`` of |expected|; an expected 0 has no percentage."""
    if expected == 0:
        return "expected 0: no percentage"
    share = (diff * 100 / abs(expected)).quantize(Decimal("0.1"))
    if share == 0:
        return "0.0%" if diff == 0 else ("under +0.1%" if diff > 0 else "under -0.1%")
    return f"{'+' if share > 0 else ''}{share:f}%"


@dataclass(frozen=True)
class GroupDiff:
    """One group that differs (or exists on one side only)."""

    key: str
    expected: Decimal | None  # None: the group is not on the expected side
    actual: Decimal | None

    @property
    def diff(self) -> Decimal:
        return (self.actual or Decimal(0)) - (self.expected or Decimal(0))

    def describe(self, precision: int | None, expected_side: str, actual_side: str) -> str:
        exp = number(self.expected or Decimal(0), precision) + (f" (none in {expected_side})"
                                                                if self.expected is None else "")
        act = number(self.actual or Decimal(0), precision) + (f" (none in {actual_side})"
                                                              if self.actual is None else "")
        return f"{self.key}: expected {exp}, received {act}, diff {signed(self.diff, precision)}"


def headline(label: str, expected: Decimal, actual: Decimal, precision: int | None, expected_side: str,
             actual_side: str) -> str:
    """``expected 428000 closed-won (warehouse), received 391000 (CRM), diff -37000 (-8.6%)``."""
    diff = actual - expected
    return (f"expected {number(expected, precision)} {label} ({expected_side}), received "
            f"{number(actual, precision)} ({actual_side}), diff {signed(diff, precision)} "
            f"({percent(diff, expected)})")


def groups_line(groups: list[GroupDiff], total_groups: int, noun: str, precision: int | None,
                expected_side: str, actual_side: str, shown: int = SHOWN_GROUPS) -> str:
    """``2 of 12 months differ, largest first: ...; ... and 3 more`` (largest absolute difference first)."""
    ordered = sorted(groups, key=lambda g: (-abs(g.diff), g.key))
    parts = [g.describe(precision, expected_side, actual_side) for g in ordered[:shown]]
    more = f"; ... and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return (f"{len(groups)} of {total_groups} {noun} differ, largest first: " + "; ".join(parts) + more)
