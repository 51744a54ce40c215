"""ATTR-BOARD-SIGNOFF (the issue's ATTR-BOARD-VIEW): the board view adds up, and the CRO or VP Revenue signed it.

The view names its source: a ``table:`` summed per channel, or one read-only ``sql:`` SELECT returning channel
and credit (checked like reconcile's SQL). Its per-channel totals are reconciled with the attribution table's
by the reconcile kind's own machinery (``reconcile.totals.fetch`` and ``compare``: pushed-down sums, the same
tolerance rules and messages). The sign-off itself stays human: the ``manual:`` attestation of
ATTR-BOARD-SIGNOFF, whose ``attested_by`` must be a ``signoff:`` signer in role cro or vp_revenue that
governance accepts (not the builder, not stale).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from ...connectors.crm import GroupBy, Measure
from ...dod import CROSS_FUNCTIONAL_SIGNER
from ...errors import CheckError, CheckFailed, Evidence
from ..base import WAREHOUSE, Check
from ..reconcile.model import Tolerance, TotalsEntry, WarehouseSide
from ..reconcile.totals import compare, fetch
from .compiled import AttributionSpec, BoardView
from .lint import BOARD_ID, blocking, board_signer_problem
from .models import AttributionTable

if TYPE_CHECKING:
    from ...context import RunContext

DOD_ID = BOARD_ID


def totals_entry(spec: AttributionSpec, board: BoardView, attr: AttributionTable) -> TotalsEntry:
    """The board view against the attribution table, as a reconcile ``totals:`` entry grouped by channel."""
    expected = WarehouseSide(table=attr.table, sql=None, measure=Measure("sum", attr.credit), where=None,
                             group_by=GroupBy(attr.channel, None), key=None, updated_at=None,
                             path=("attribution",))
    actual = WarehouseSide(table=board.table, sql=board.sql,
                           measure=Measure("sum", board.credit) if board.table else None,
                           where=board.where, group_by=GroupBy(board.channel, None) if board.table else None,
                           key=None, updated_at=None, path=("board_view",))
    return TotalsEntry(id="board-view", label=f"credit ({attr.unit})", expected=expected, actual=actual,
                       tolerance=Tolerance(absolute=Decimal(str(spec.tolerance)), absolute_written=True),
                       precision=None, min_age_s=None, index=0, location=spec.location("board_view"))


def _signed_off(spec: AttributionSpec, ctx: RunContext) -> str:
    """Who signed the board view off, or ``CheckFailed`` naming what is missing."""
    roles = " or ".join(CROSS_FUNCTIONAL_SIGNER.roles)
    manual = spec.checklist.manual.get(DOD_ID)
    if manual is None or not manual.attested_by or not manual.evidence:
        raise CheckFailed(f"the board view is not signed off: attest {DOD_ID} under `manual:` with the evidence "
                          f"(the minutes) and `attested_by:` the {roles} who signed it",
                          expected=f"a {roles} sign-off of the board view", received="no attestation")
    problem = board_signer_problem(spec)
    if problem is not None:
        raise CheckFailed(problem.message, expected=f"attested by a {roles} signer",
                          received=f"attested by {manual.attested_by}")
    _, verdicts = ctx.review_signers(spec.checklist)
    accepted = [v for v in verdicts if v.signoff.by == manual.attested_by
                and v.signoff.role in CROSS_FUNCTIONAL_SIGNER.roles and v.problem is None]
    if not accepted:
        why = "; ".join(v.problem.message for v in verdicts if v.signoff.by == manual.attested_by and v.problem)
        raise CheckFailed(f"{manual.attested_by}'s sign-off does not count" + (f": {why}" if why else ""),
                          expected=f"a valid {roles} signer", received=manual.attested_by)
    ctx.check_attestation(spec.checklist, manual)  # a stale sign-off no longer counts
    signer = accepted[0].signoff
    when = f" on {manual.on}" if manual.on else ""
    return f"signed off by {signer.by} ({signer.role}){when}: {manual.evidence}"


def check_board(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Pass when the board view reconciles per channel with the attribution table and is signed off."""
    problem = blocking(spec, ("board_view", "attribution"))
    if problem is not None:
        raise CheckError(f"{problem.message} ({problem.rule.code} at {spec.at(problem.path, key=problem.key)}); "
                         f"fix: {problem.rule.hint}")
    board, attr = spec.board_view, spec.attribution
    assert board is not None
    if attr is None:
        raise CheckError("the board view is reconciled with `attribution:`; add the attribution table")
    entry = totals_entry(spec, board, attr)
    expected = fetch(ctx, entry.expected, None)
    actual = fetch(ctx, entry.actual, None)
    try:
        agreed = compare(entry, expected, actual)
    except CheckFailed as failed:
        failed.message = f"the board view ({board.table or 'sql'}) does not add up to {attr.table} per channel: " \
                         f"{failed.message}"
        raise
    signed = _signed_off(spec, ctx)
    return Evidence(f"board view ({board.table or 'sql'}) agrees with {attr.table} per channel "
                    f"({agreed.summary}); {signed}", agreed.details)


def board_checks(spec: AttributionSpec) -> Iterator[Check]:
    if spec.board_view is not None:
        yield Check(DOD_ID, partial(check_board, spec), spec.location("board_view"),
                    description="the board view adds up to the attribution table and the CRO or VP Revenue signed it",
                    needs=frozenset({WAREHOUSE}), reads_attestation=True)
