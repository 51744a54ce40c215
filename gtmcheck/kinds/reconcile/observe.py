"""What a reconcile checklist rests on, read-only, for the baseline: each declared total per group, per side.

Section ``totals``: ``{"<total id>": {"<group>": {"<side>": {"value", "tolerance_pct", "tolerance_abs"}}}}``,
e.g. ``{"closed-won": {"2026-07": {"CRM": {"value": 50000, "tolerance_pct": 0.5, "tolerance_abs": 0}}}}``; an
ungrouped total is group ``total``. Values come from the same push-down as RECONCILE-TOTALS (``totals.fetch``:
SQL in the warehouse, ``aggregate`` in the CRM), rounded to the checklist's ``precision``, and carry the
checklist's own tolerance, so a total drifts from the baseline only past what the checklist accepts between
the two sides. Entries that cannot be verified (a blocking lint problem) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import ReconcileSpec, TotalsEntry
from .rules import BLOCKING, entry_problems
from .totals import NO_GROUP, _round, fetch, side_names

if TYPE_CHECKING:
    from ...context import RunContext

UNGROUPED = "total"


def observe_reconcile(spec: ReconcileSpec, ctx: RunContext) -> Mapping[str, Any]:
    """Every verifiable declared total, per group and side; ``{}`` when the checklist declares none."""
    totals: dict[str, Any] = {}
    for entry in spec.totals:
        if any(p.rule.code in BLOCKING for p in entry_problems(entry)):
            continue
        totals[entry.id] = _observe_entry(entry, ctx)
    return {"totals": totals} if totals else {}


def _observe_entry(entry: TotalsEntry, ctx: RunContext) -> dict[str, Any]:
    cutoff = None
    if entry.min_age_s is not None:
        cutoff = (datetime.now(UTC) - timedelta(seconds=entry.min_age_s)).replace(tzinfo=None)
    labels = side_names(entry)
    sides = [_round(fetch(ctx, side, cutoff).values, entry.precision) for side in (entry.expected, entry.actual)]
    keys = sorted(set(sides[0]) | set(sides[1]))
    # a group one side lacks is 0 there, as RECONCILE-TOTALS reads it: a month whose only deal was lost is 0
    return {UNGROUPED if key == NO_GROUP else key: {label: _measured(values.get(key, Decimal(0)), entry)
                                                     for label, values in zip(labels, sides, strict=True)}
            for key in keys}


def _measured(value: Decimal, entry: TotalsEntry) -> dict[str, Any]:
    tol = entry.tolerance
    out: dict[str, Any] = {"value": json_number(value), "tolerance_abs": json_number(tol.absolute)}
    if tol.percent is not None:
        out["tolerance_pct"] = json_number(tol.percent)
    return out


def json_number(value: Decimal) -> int | float:
    """A Decimal as JSON writes it: an int when whole, else the shortest float."""
    return int(value) if value == value.to_integral_value() else float(value)
