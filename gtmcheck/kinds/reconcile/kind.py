"""The reconcile kind: CRM and warehouse agree on declared totals, and every handoff reaches its destination.

Shape of a ``kind: reconcile`` checklist (besides the shared header and ``manual:``); docs/reconcile.md
explains every key and ``gtmcheck schema --kind reconcile`` prints the schema::

    totals:                               # RECONCILE-TOTALS[<id>], one check per entry
      - id: closed-won
        label: closed-won                 # the message's words: "expected 428000 closed-won (warehouse)"
        expected:                         # the reference side
          warehouse: {table: deals, measure: {sum: amount}, where: "dealstage = 'closedwon'",
                      group_by: {month: closedate}, key: id, updated_at: closedate}
        actual:
          crm: {object: deals, filters: [{property: dealstage, eq: closedwon}], measure: {sum: amount},
                group_by: {month: closedate}, key: source_id}
        tolerance: {absolute: 0, percent: 0.5}
        precision: 2
        min_age: 1h
    handoffs:                             # RECONCILE-HANDOFFS[<id>] (``handoffs.handoff_checks``)
      - {id: lead-to-sales, source: {...}, destination: {...}, within: 5m, window: 30d}

A side with ``sql:`` instead of ``table:`` returns ``key`` and ``value`` columns (one row per group).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import CheckError, Evidence, Location, NotConfigured
from ...findings import Finding
from ..base import CRM, WAREHOUSE, Check, KindBase, cached_spec
from .model import CACHE_KEY, CrmSide, HandoffEntry, ReconcileSpec, TotalsEntry, compile_spec
from .observe import observe_reconcile
from .rules import BLOCKING, entry_problems, lint_reconcile
from .schema import SCHEMA
from .totals import totals_check

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

__all__ = ["HANDOFFS_ID", "SCHEMA", "TOTALS_ID", "ReconcileKind", "spec_of"]

TOTALS_ID = "RECONCILE-TOTALS"
HANDOFFS_ID = "RECONCILE-HANDOFFS"


def spec_of(checklist: Checklist) -> ReconcileSpec:
    """The compiled spec, compiling on first use (``prepare`` normally did it at load time)."""
    return cached_spec(checklist, CACHE_KEY, compile_spec)


def _needs(entry: TotalsEntry) -> frozenset[str]:
    return frozenset(CRM if isinstance(side, CrmSide) else WAREHOUSE for side in (entry.expected, entry.actual))


def _unverifiable(message: str) -> Any:
    def run(ctx: RunContext) -> Evidence:
        raise CheckError(message)

    return run


class ReconcileKind(KindBase):
    """Totals that must agree between CRM and warehouse (or two warehouse tables), and handoffs that must land."""

    name = "reconcile"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return lint_reconcile(checklist, spec_of(checklist))

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """Each declared total per group as both sides report it now, with the checklist's tolerance."""
        return observe_reconcile(spec_of(checklist), ctx)

    def observe_needs(self, checklist: Checklist) -> frozenset[str]:
        return frozenset().union(*(_needs(e) for e in spec_of(checklist).totals))

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        for entry in spec.totals:
            blocking = [p for p in entry_problems(entry) if p.rule.code in BLOCKING]
            if blocking:
                first = blocking[0]
                where = checklist.location(first.path, key=first.key)
                run = _unverifiable(f"{first.message} ({first.rule.code} at {where}); fix: {first.rule.hint}")
            else:
                run = totals_check(entry)
            yield Check(TOTALS_ID, run, entry.location, param=entry.id,
                        description=f"{entry.label} agrees between the two sides", needs=_needs(entry))
        if spec.handoffs:
            yield from _handoff_checks(spec.handoffs)


def _handoff_checks(entries: Iterable[HandoffEntry]) -> Iterator[Check]:
    """RECONCILE-HANDOFFS from ``handoffs.py`` when this version has it; else each entry is not configured."""
    try:
        module = importlib.import_module(f"{__package__}.handoffs")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.handoffs":
            raise
        module = None
    for entry in entries:
        if module is not None:
            yield from module.handoff_checks(entry.raw, entry.location)
        else:
            yield Check(HANDOFFS_ID, _not_built(entry.location), entry.location, param=entry.id)


def _not_built(where: Location) -> Any:
    def run(ctx: RunContext) -> Evidence:
        raise NotConfigured("handoff checks are not built in this version of gtmcheck; attest "
                            f"{HANDOFFS_ID} under manual: (configured at line {where.line})")

    return run
