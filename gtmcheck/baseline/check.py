"""BASELINE-DRIFT: observe a checklist's part of the stack now and compare it with the reviewed baseline.

One check per checklist that has a baseline file, beside its DoD items (it never counts toward the DoD's
completeness; a drift fails the run). It reads the stack through ``Kind.observe`` only: nothing is written.
The kind object is passed in, so this package never imports the kinds' registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ..dod import DodItem
from ..errors import CheckError, CheckFailed, Evidence, GtmcheckError, SpecError
from . import BaselineEntry, relative_checklist
from .diff import Drift, drifts

if TYPE_CHECKING:
    from ..context import RunContext
    from ..kinds.base import Check, Kind
    from ..spec import Checklist

DOD_ID = "BASELINE-DRIFT"
TEXT = "No drift from the reviewed baseline (gtmcheck baseline save)"
MARKER = "drift"
SHOWN = 20  # drift lines in the failure message; the evidence keeps them all


def drift_item(kind: str) -> DodItem:
    """The item BASELINE-DRIFT stands under: outside the kind's definition of done (``dod.TEMPLATES``)."""
    return DodItem(DOD_ID, kind, TEXT)


@dataclass(frozen=True)
class Comparison:
    """One checklist against its baseline: the entry, what was observed now, and each drift."""

    entry: BaselineEntry
    observed: Mapping[str, Any]
    drifts: list[Drift]

    @property
    def since(self) -> str:
        """Since when a drift may have happened, without history: after the baseline's date."""
        return f"since the baseline of {self.entry.saved_on.isoformat()}"


def since_each(ctx: RunContext, checklist: Checklist, result: Comparison) -> list[str]:
    """Since when each drift has been seen: the first night of its unbroken streak in the run history.

    A drift no earlier run saw is new tonight; without history (``history: false``, or unreadable) the baseline's
    date is all that is known. Reading the history never fails the check.
    """
    from ..history.fingerprint import drift_fingerprint, drift_row_id
    from ..history.recorder import open_store

    unknown = [result.since] * len(result.drifts)
    env = ctx.environment.name
    try:
        store = open_store(ctx.project, env)
    except GtmcheckError:
        return unknown
    if store is None:
        return unknown
    out = []
    try:
        for drift in result.drifts:
            first = store.first_seen(env, checklist.display, drift_row_id(DOD_ID, drift.path),
                                     drift_fingerprint(checklist.display, drift.path, drift.was, drift.is_))
            out.append(f"seen every night since {first:%Y-%m-%d}" if first else
                       f"new tonight, {result.since}")
    except GtmcheckError:
        return unknown
    finally:
        store.close()
    return out


def compare(checklist: Checklist, kind: Kind, ctx: RunContext, entry: BaselineEntry | None = None) -> Comparison:
    """Observe ``checklist`` now and diff it against its baseline (``ctx.baseline``), read-only.

    ``CheckError`` when there is no baseline, or the baseline is unreadable (the message names the file).
    """
    if entry is None:
        try:
            entry = ctx.baseline(checklist)
        except SpecError as exc:
            raise CheckError(exc.format()) from None
    if entry is None:
        raise CheckError(f"no baseline for {relative_checklist(ctx.project.root, checklist.path)}; run "
                         "`gtmcheck baseline save` and commit gtmcheck-baseline/")
    observed = dict(kind.observe(checklist, ctx))
    found = drifts(entry.observed, observed, checklist=entry.checklist, kind=checklist.kind,
                   name=checklist.name or entry.name, owner=checklist.owner or entry.owner)
    return Comparison(entry, observed, found)


def run_drift_check(ctx: RunContext, checklist: Checklist, kind: Kind) -> Evidence:
    """The run function of BASELINE-DRIFT: the evidence of no drift, or ``CheckFailed`` naming each drift."""
    result = compare(checklist, kind, ctx)
    entry = result.entry
    if not result.drifts:
        return Evidence(f"no drift from the baseline of {entry.saved_on.isoformat()} "
                        f"(environment {entry.environment!r}, {len(entry.observed)} section(s) compared)",
                        {"drifts": []})
    since = since_each(ctx, checklist, result)
    lines = [f"{d.line()} (owner {d.owner}, {s})" for d, s in zip(result.drifts, since, strict=True)]
    shown = lines[:SHOWN] + ([f"and {len(lines) - SHOWN} more"] if len(lines) > SHOWN else [])
    raise CheckFailed(  # one line (reports, JUnit); the terminal shows the drifts one per line (plugin)
        f"{len(lines)} drift(s) from the baseline: " + "; ".join(shown),
        expected=f"the stack as observed in the baseline of {entry.saved_on.isoformat()} "
                 f"(environment {entry.environment!r})",
        received=f"{len(lines)} change(s)",
        evidence=Evidence(f"{len(lines)} drift(s) {result.since}",
                          {"drifts": [d.as_dict(s) for d, s in zip(result.drifts, since, strict=True)]}),
    )


def drift_check(checklist: Checklist, kind: Kind) -> Check:
    """The BASELINE-DRIFT check of a checklist, at its ``kind:`` line."""
    from ..kinds.base import Check

    needs_of = getattr(kind, "observe_needs", None)
    needs: frozenset[str] = needs_of(checklist) if callable(needs_of) else frozenset()
    return Check(DOD_ID, partial(run_drift_check, checklist=checklist, kind=kind), checklist.location(("kind",)),
                 description="the stack has not drifted from the reviewed baseline", needs=needs)
