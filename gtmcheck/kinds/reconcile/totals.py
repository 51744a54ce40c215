"""RECONCILE-TOTALS: fetch each side's total (per group), compare within tolerance, say what differs.

Semantics (docs/reconcile.md says the same for users):

- Both sides are totalled where they live: the warehouse by SQL (``sql.py``), the CRM by
  ``CrmConnector.aggregate``. Only one row per group reaches Python; every value becomes a ``Decimal``.
- ``precision``: both values are rounded half up to that many places before they are compared.
- ``tolerance``: passes when |diff| <= ``absolute`` OR |diff| <= ``percent``% of |expected|; an expected 0
  leaves only ``absolute`` (the message says so). No tolerance means exact.
- Groups: the total and every group must be within tolerance; a group present on one side only fails
  (unless its value is 0, which is what the other side's absence means).
- ``min_age``: records whose ``updated_at`` is younger than it (or unknown) are left out on BOTH sides.
- NULL amounts: a sum or average skips them; a count counts records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from ...connectors.crm import Filter, GroupBy, Measure
from ...connectors.warehouse import Warehouse
from ...errors import CheckError, CheckFailed, ConfigError, Evidence, WarehouseError
from .messages import GroupDiff, groups_line, headline, number, signed
from .model import CrmSide, Side, TotalsEntry, WarehouseSide
from .records import records_that_differ
from .sql import MAX_GROUPS, side_query, sql_side_query

if TYPE_CHECKING:
    from ...context import RunContext

WAREHOUSE_CACHE = "reconcile.warehouse"
EVIDENCE_GROUPS = 1000  # differing groups kept in the report's evidence
NO_GROUP = ""
_lock = threading.Lock()


class Aggregating(Protocol):
    """The CRM connector's ``aggregate`` (counts from the search total, sums from one shared paced scan)."""

    def aggregate(self, object_type: str, filters: Sequence[Filter], measure: Measure,
                  group_by: GroupBy | None) -> Mapping[Any, Decimal | int]: ...


def warehouse_of(ctx: RunContext) -> Warehouse:
    """The run's warehouse, opened once per run (kept in ``ctx.cache``)."""
    with _lock:
        wh = ctx.cache.get(WAREHOUSE_CACHE)
        if wh is None:
            try:
                wh = Warehouse.for_environment(ctx.environment)
            except ConfigError as exc:
                raise CheckError(str(exc)) from None
            ctx.cache[WAREHOUSE_CACHE] = wh
        assert isinstance(wh, Warehouse)
        return wh


def to_decimal(value: Any) -> Decimal:
    """A total as ``Decimal``: floats through their shortest text (``0.1``, not 0.1000000000000000055...)."""
    if value is None:
        return Decimal(0)  # SUM over no (non-NULL) values
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise WarehouseError(f"a total is not a number: {str(value)[:40]!r}") from None


def group_key(value: Any, bucket: str | None) -> str:
    """The text both sides' groups meet on: ``2026-07`` for a month, ``2026-Q3``, ``2026``, ISO days."""
    if value is None:
        return "(empty)"
    if isinstance(value, str) and bucket and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        if bucket == "month":
            return f"{value.year:04d}-{value.month:02d}"
        if bucket == "quarter":
            return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
        if bucket == "year":
            return f"{value.year:04d}"
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return number(to_decimal(value))
    return str(value)


@dataclass(frozen=True)
class SideTotals:
    """One side's values per group (``NO_GROUP`` alone when it is not grouped)."""

    values: dict[str, Decimal]
    grouped: bool


def _bucket(side: Side) -> str | None:
    return side.group_by.bucket if side.group_by is not None else None


def warehouse_totals(wh: Warehouse, side: WarehouseSide, cutoff: datetime | None) -> SideTotals:
    """The side's totals, computed by the warehouse (one row per group comes back)."""
    if side.sql is not None:
        names, rows = wh.select(sql_side_query(side), limit=MAX_GROUPS + 1)
        lowered = [n.lower() for n in names]
        if len(names) == 1:
            if len(rows) > 1:
                raise CheckError(f"the sql query returned {len(rows)} rows of one column; return one row, or "
                                 "`key` and `value` columns")
            return SideTotals({NO_GROUP: to_decimal(rows[0][0] if rows else None)}, grouped=False)
        if len(names) != 2:
            raise CheckError(f"the sql query returns {len(names)} columns ({', '.join(names)}); return `key` and "
                             "`value`")
        k, v = (lowered.index("key"), lowered.index("value")) if {"key", "value"} <= set(lowered) else (0, 1)
        pairs = [(row[k], row[v]) for row in rows]
    else:
        names, rows = wh.select(side_query(side, cutoff), limit=MAX_GROUPS + 1)
        values = [_measured(row[1:] if side.group_by else row) for row in rows]
        if side.group_by is None:
            return SideTotals({NO_GROUP: values[0] if values else Decimal(0)}, grouped=False)
        pairs = [(row[0], value) for row, value in zip(rows, values, strict=True)]
    if len(pairs) > MAX_GROUPS:
        raise CheckError(f"the warehouse side has more than {MAX_GROUPS} groups; group by a coarser bucket")
    return SideTotals(_merge(pairs, _bucket(side)), grouped=True)


def _measured(row: Sequence[Any]) -> Decimal:
    """A total (one column), or an average from its sum and count (two): divided here, as Decimal."""
    if len(row) == 1:
        return to_decimal(row[0])
    total, n = to_decimal(row[0]), int(row[1] or 0)
    return total / n if n else Decimal(0)


def _merge(pairs: Sequence[tuple[Any, Any]], bucket: str | None) -> dict[str, Decimal]:
    """Groups keyed by their text; two raw keys that read the same (a date and its timestamp) add up."""
    out: dict[str, Decimal] = {}
    for key, value in pairs:
        text = group_key(key, bucket)
        out[text] = out.get(text, Decimal(0)) + to_decimal(value)
    return out


def crm_totals(ctx: RunContext, side: CrmSide, cutoff: datetime | None) -> SideTotals:
    """The side's totals through ``aggregate``; ``min_age`` is an LTE filter on ``updated_at`` (epoch ms)."""
    crm = ctx.crm()
    if not callable(getattr(crm, "aggregate", None)):
        raise CheckError(f"the {crm.vendor} connector cannot compute totals (no aggregate); attest "
                         "RECONCILE-TOTALS under manual: meanwhile")
    aggregating: Aggregating = crm  # type: ignore[assignment]
    filters = list(side.filters)
    if cutoff is not None:
        if side.updated_at is None:
            raise CheckError("min_age needs `updated_at` on the CRM side")
        filters.append(Filter(side.updated_at, "LTE", str(int(cutoff.timestamp() * 1000))))
    result = aggregating.aggregate(side.object, filters, side.measure, side.group_by)
    if side.group_by is None:
        values = list(result.values())
        return SideTotals({NO_GROUP: to_decimal(values[0] if values else None)}, grouped=False)
    return SideTotals(_merge(list(result.items()), _bucket(side)), grouped=True)


def fetch(ctx: RunContext, side: Side, cutoff: datetime | None) -> SideTotals:
    if isinstance(side, WarehouseSide):
        return warehouse_totals(warehouse_of(ctx), side, cutoff)
    return crm_totals(ctx, side, cutoff)


def _round(values: dict[str, Decimal], precision: int | None) -> dict[str, Decimal]:
    if precision is None:
        return values
    step = Decimal(1).scaleb(-precision)
    return {k: v.quantize(step, rounding=ROUND_HALF_UP) for k, v in values.items()}


def side_names(entry: TotalsEntry) -> tuple[str, str]:
    """``warehouse`` and ``CRM``; when both sides are the same system, each is named by its table or object."""
    def name(side: Side) -> str:
        return "CRM" if isinstance(side, CrmSide) else "warehouse"

    exp, act = name(entry.expected), name(entry.actual)
    if exp == act:
        return f"{exp} {entry.expected.name}", f"{act} {entry.actual.name}"
    return exp, act


_NOUNS = {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters", "year": "years"}


def compare(entry: TotalsEntry, expected: SideTotals, actual: SideTotals) -> Evidence:
    """The verdict: the evidence of a pass, or ``CheckFailed`` with the CFO-readable message."""
    exp_side, act_side = side_names(entry)
    exp_vals, act_vals = _round(expected.values, entry.precision), _round(actual.values, entry.precision)
    if expected.grouped != actual.grouped:
        grouped, single = (exp_side, act_side) if expected.grouped else (act_side, exp_side)
        raise CheckFailed(f"the {grouped} side returned {len(exp_vals if expected.grouped else act_vals)} groups "
                          f"and the {single} side one total; group both sides the same way",
                          expected="both sides grouped alike", received="groups on one side only")
    measure = (entry.expected.measure or entry.actual.measure)
    averages = measure is not None and measure.kind == "avg" and expected.grouped
    tol, precision = entry.tolerance, entry.precision
    total_exp, total_act = sum(exp_vals.values(), Decimal(0)), sum(act_vals.values(), Decimal(0))
    differing: list[GroupDiff] = []
    keys = sorted(set(exp_vals) | set(act_vals))
    if expected.grouped:
        for key in keys:
            e, a = exp_vals.get(key), act_vals.get(key)
            if e is None or a is None:
                if (e if e is not None else a) != 0:
                    differing.append(GroupDiff(key, e, a))
            elif not tol.allows(a - e, e):
                differing.append(GroupDiff(key, e, a))
    total_ok = averages or tol.allows(total_act - total_exp, total_exp)
    noun = _NOUNS.get(_bucket(entry.expected) or "", "groups")
    details: dict[str, Any] = {
        "expected": {"side": exp_side, "total": number(total_exp, precision)},
        "received": {"side": act_side, "total": number(total_act, precision)},
        "diff": number(total_act - total_exp, precision),
        "groups_compared": len(keys) if expected.grouped else 0,
        "tolerance": {"absolute": str(tol.absolute), "percent": None if tol.percent is None else str(tol.percent)},
        "precision": precision,
        "groups": [{"key": g.key, "expected": None if g.expected is None else number(g.expected, precision),
                    "received": None if g.actual is None else number(g.actual, precision),
                    "diff": number(g.diff, precision)}
                   for g in sorted(differing, key=lambda g: (-abs(g.diff), g.key))[:EVIDENCE_GROUPS]],
    }
    if total_ok and not differing:
        within = "" if total_act == total_exp else f" (diff {signed(total_act - total_exp, precision)} within " \
                                                    "tolerance)"
        what = f"{len(keys)} {noun} agree" if averages else (
            f"{number(total_exp, precision)} {entry.label} agree between {exp_side} and {act_side}{within}")
        if expected.grouped and not averages:
            what += f", {len(keys)} {noun} compared"
        return Evidence(what, details)
    parts: list[str] = []
    if not averages:
        line = headline(entry.label, total_exp, total_act, precision, exp_side, act_side)
        if tol.percent is not None and total_exp == 0:
            line += "; expected 0, so only the absolute tolerance applies"
        parts.append(line)
    if differing:
        parts.append(groups_line(differing, len(keys), noun, precision, exp_side, act_side))
    tolerance = _tolerance_text(entry)
    raise CheckFailed(
        "; ".join(parts),
        expected=f"{number(total_exp, precision)} {entry.label} ({exp_side}){tolerance}",
        received=f"{number(total_act, precision)} ({act_side})",
        evidence=Evidence(f"{len(differing)} of {len(keys)} {noun} differ" if expected.grouped else "", details),
    )


def _tolerance_text(entry: TotalsEntry) -> str:
    tol = entry.tolerance
    if tol.percent is None and tol.absolute == 0:
        return ", exactly"
    shares = [f"{number(tol.absolute)}" if tol.absolute else "", f"{number(tol.percent)}%" if tol.percent else ""]
    return ", within " + " or ".join(s for s in shares if s)


def totals_check(entry: TotalsEntry, now: Callable[[], datetime] | None = None) -> Callable[[RunContext], Evidence]:
    """The run function of ``RECONCILE-TOTALS[<id>]``; ``now`` is the wall clock ``min_age`` counts from."""
    def run(ctx: RunContext) -> Evidence:
        when = (now or (lambda: datetime.now(UTC)))()
        cutoff = (when - timedelta(seconds=entry.min_age_s)).astimezone(UTC).replace(tzinfo=None) \
            if entry.min_age_s is not None else None
        expected = fetch(ctx, entry.expected, cutoff)
        actual = fetch(ctx, entry.actual, cutoff)
        try:
            return compare(entry, expected, actual)
        except CheckFailed as failed:
            uses_warehouse = any(isinstance(s, WarehouseSide) for s in (entry.expected, entry.actual))
            found = records_that_differ(ctx, warehouse_of(ctx) if uses_warehouse else None, entry,
                                        side_names(entry), cutoff)
            if found is not None:
                failed.message = f"{failed.message}; {found[0]}"
                if found[1] is not None:
                    failed.evidence.details["records"] = found[1]
            raise
    return run
