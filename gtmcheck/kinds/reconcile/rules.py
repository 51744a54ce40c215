"""Reconcile lint rules (``REC1xx``): what the schema cannot say about a ``totals:`` entry.

A configuration that cannot be verified at all (``BLOCKING``: no table or SQL, groups on one side only, unsafe
SQL, ``min_age`` with nothing to apply it to) is also what its check reports as "could not be verified", so a
run without ``gtmcheck lint`` still says what to fix, and never compares the wrong things.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...findings import Finding, Rule, Severity, register
from ...yamlfile import JsonPath
from .model import ReconcileSpec, Side, TotalsEntry, WarehouseSide
from .sql import unsafe_sql

if TYPE_CHECKING:
    from ...spec import Checklist

E, W = Severity.ERROR, Severity.WARNING

NO_SOURCE = register(
    "REC101", "reconcile.side-without-source", E,
    "A warehouse side has neither `table` (with `measure`) nor `sql`, or mixes them.",
    "give the side `table:` and `measure:` (optionally `where:`, `group_by:`), or one `sql:` query",
    "Anti-pattern: `warehouse: {where: ...}` with nothing to total, or `sql:` with a `where:` that would be "
    "ignored. Best practice: a side is a table with a measure, or SQL returning `key` and `value`.",
)
GROUPS_ONE_SIDE = register(
    "REC102", "reconcile.group-by-one-side", E,
    "Only one side groups its total, or the two sides group by different buckets.",
    "group both sides the same way (e.g. {month: closedate} and {month: closedate}), or neither",
    "Anti-pattern: months on the warehouse side against one CRM total: every month would look missing. "
    "Best practice: both sides use the same `group_by` bucket.",
)
NEVER_FAILS = register(
    "REC103", "reconcile.tolerance-never-fails", E,
    "A percent tolerance of 100 or more lets a total of 0 pass.",
    "use a percent below 100 (0.5 for currency totals is common)",
    "Anti-pattern: `percent: 100`, which passes when the CRM side is empty (a sync that stopped). "
    "Best practice: a tolerance a broken sync cannot meet.",
)
PERCENT_NO_REFERENCE = register(
    "REC104", "reconcile.percent-without-reference", W,
    "A percent tolerance without `absolute`: where the expected total is 0 there is nothing to take a share of.",
    "add `absolute:` with the smallest difference that matters, or accept that any difference fails there",
    "Anti-pattern: `tolerance: {percent: 1}` on monthly totals, where a month expected at 0 then allows no "
    "difference at all. Best practice: `{absolute: 100, percent: 1}` says what happens at 0.",
)
UNSAFE_SQL = register(
    "REC105", "reconcile.unsafe-sql", E,
    "A `where`, measure expression or `sql` holds ';', '--' or '/*', or `sql` is not a SELECT.",
    "write one SELECT (or a single condition) without comments or semicolons",
    "Anti-pattern: `where: \"stage = 'won'; drop table deals\"`. Best practice: one statement, which the "
    "warehouse runs read-only.",
)
MIN_AGE_NO_COLUMN = register(
    "REC106", "reconcile.min-age-without-column", E,
    "`min_age` is set but a side has no `updated_at` (or is `sql:`), so it could not leave young records out.",
    "add `updated_at:` (the column or CRM property min_age applies to) to every side, or filter in your SQL",
    "Anti-pattern: `min_age: 1h` applied to the CRM side only, so records in sync flight count on one side. "
    "Best practice: min_age leaves young records out of both sides.",
)
KEY_ONE_SIDE = register(
    "REC107", "reconcile.key-one-side", W,
    "Only one side declares `key`, so the records that differ cannot be named.",
    "declare `key:` on both sides (the CRM's synced id property against the warehouse's id column)",
    "Anti-pattern: `key: id` on the warehouse side only. Best practice: a key on both sides, so a failure "
    "names the deals that differ, not only the months.",
)
MEASURE_MISMATCH = register(
    "REC108", "reconcile.measure-mismatch", W,
    "The two sides total different measures (a count against a sum).",
    "use the same measure on both sides",
    "Anti-pattern: `count: true` against `sum: amount`. Best practice: compare like with like.",
)
BLOCKING = frozenset({NO_SOURCE.code, GROUPS_ONE_SIDE.code, UNSAFE_SQL.code, MIN_AGE_NO_COLUMN.code})


@dataclass(frozen=True)
class Problem:
    rule: Rule
    path: JsonPath
    message: str
    key: bool = False


def _warehouse_problems(side: WarehouseSide) -> Iterator[Problem]:
    p = side.path
    if side.table is None and side.sql is None:
        yield Problem(NO_SOURCE, p, "this warehouse side has neither `table` nor `sql`: nothing to total", True)
    elif side.table is not None and side.sql is not None:
        yield Problem(NO_SOURCE, (*p, "sql"), "this warehouse side has both `table` and `sql`; keep one", True)
    elif side.sql is not None:
        extra = [k for k, v in (("measure", side.measure), ("where", side.where), ("group_by", side.group_by),
                                ("updated_at", side.updated_at)) if v is not None]
        if extra:
            yield Problem(NO_SOURCE, (*p, extra[0]), f"`{extra[0]}` applies to `table:` sides; with `sql:` "
                          "write it in the query", True)
        reason = unsafe_sql(side.sql, whole=True)
        if reason:
            yield Problem(UNSAFE_SQL, (*p, "sql"), f"the sql query cannot be sent to the warehouse: {reason}")
    elif side.measure is None:
        yield Problem(NO_SOURCE, p, f"table {side.table!r} has no `measure` (count: true, sum: COL or avg: COL)",
                      True)
    if side.where is not None and (reason := unsafe_sql(side.where)):
        yield Problem(UNSAFE_SQL, (*p, "where"), f"the where clause cannot be sent to the warehouse: {reason}")
    if side.measure is not None and side.measure.property and (reason := unsafe_sql(side.measure.property)):
        yield Problem(UNSAFE_SQL, (*p, "measure", side.measure.kind),
                      f"the measure expression cannot be sent to the warehouse: {reason}")


def _groups(side: Side) -> tuple[bool, str | None] | None:
    """(grouped, bucket), or ``None`` when the side's SQL decides."""
    if isinstance(side, WarehouseSide) and side.sql is not None:
        return None
    return (side.group_by is not None, side.group_by.bucket if side.group_by else None)


def entry_problems(entry: TotalsEntry) -> list[Problem]:
    """Every problem of one entry, in the order a reader meets them."""
    found: list[Problem] = []
    for side in (entry.expected, entry.actual):
        if isinstance(side, WarehouseSide):
            found.extend(_warehouse_problems(side))
    exp, act = _groups(entry.expected), _groups(entry.actual)
    if exp is not None and act is not None and exp != act:
        grouped_side = entry.expected if exp[0] else entry.actual
        where = (*grouped_side.path, "group_by")
        if exp[0] and act[0]:
            found.append(Problem(GROUPS_ONE_SIDE, (*entry.actual.path, "group_by"),
                                 f"the sides group by different buckets ({exp[1] or 'value'} against "
                                 f"{act[1] or 'value'}); their groups could never meet"))
        else:
            found.append(Problem(GROUPS_ONE_SIDE, where, "only this side has `group_by`: the other side's one "
                                 "total would meet none of its groups"))
    if entry.tolerance.percent is not None:
        tol_path = (*entry.expected.path[:2], "tolerance", "percent")
        if entry.tolerance.percent >= 100:
            found.append(Problem(NEVER_FAILS, tol_path, f"percent {entry.tolerance.percent} lets a received "
                                 "total of 0 pass: the check cannot catch a sync that stopped"))
        elif not entry.tolerance.absolute_written:
            found.append(Problem(PERCENT_NO_REFERENCE, tol_path, "percent without absolute: a total or group "
                                 "expected at 0 has no reference, so any difference there fails"))
    if entry.min_age_s is not None:
        for side in (entry.expected, entry.actual):
            if isinstance(side, WarehouseSide) and side.sql is not None:
                found.append(Problem(MIN_AGE_NO_COLUMN, (*side.path, "sql"), "min_age cannot apply to a `sql:` "
                                     "side; leave young rows out in the query and drop min_age, or use `table:`"))
            elif side.updated_at is None:
                found.append(Problem(MIN_AGE_NO_COLUMN, side.path, "min_age is set but this side has no "
                                     "`updated_at`, so its young records would still count", True))
    keys = [side.key is not None for side in (entry.expected, entry.actual)]
    if any(keys) and not all(keys):
        keyed = entry.expected if keys[0] else entry.actual
        found.append(Problem(KEY_ONE_SIDE, (*keyed.path, "key"), "only this side declares `key`, so the "
                             "records that differ cannot be named"))
    kinds = {side.measure.kind for side in (entry.expected, entry.actual) if side.measure is not None}
    if len(kinds) > 1:
        found.append(Problem(MEASURE_MISMATCH, (*entry.actual.path, "measure"), "the sides total different "
                             f"measures ({' against '.join(sorted(kinds))})", True))
    return found


def lint_reconcile(checklist: Checklist, spec: ReconcileSpec) -> Iterator[Finding]:
    """The findings of every ``totals:`` entry, each at its line."""
    for entry in spec.totals:
        for problem in entry_problems(entry):
            yield problem.rule.finding(checklist.location(problem.path, key=problem.key), problem.message)

