"""The attribution kind: the model documented and recomputed, channels tracked, a baseline, the board, a cadence.

Shape of a ``kind: attribution`` checklist (besides the shared header and ``manual:``); docs/attribution.md
explains every key and ``gtmcheck schema --kind attribution`` prints the schema::

    model: {name: position_based, weights: {first: 0.4, middle: 0.2, last: 0.4}}
    rationale: Long cycles with many touches ...
    lookback: {days: 90}
    conversions: {table: conversions, value: value}
    touchpoints: {table: touchpoints, source: source, medium: medium}
    attribution: {table: attribution, unit: share}
    channels: {utm: utm.gtm.yml, unassigned_max: 5%}
    baseline: {go_live: 2026-12-01, max_shift: 5pp}
    board_view: {table: board_attribution}
    review: {cadence: monthly, last: 2026-11-20}

Checks: ATTR-MODEL-DOCUMENTED and [invariants] (model_check.py), ATTR-CHANNELS-TRACKED (channels_check.py),
ATTR-BASELINE (baseline_check.py), ATTR-BOARD-SIGNOFF (board_check.py), ATTR-REVIEW-CADENCE (cadence_check.py).
An item none of them configures is attested under ``manual:`` or not configured. Every check only reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...findings import Finding
from ..base import Check, KindBase, cached_spec
from .baseline_check import baseline_checks, observe
from .board_check import board_checks
from .cadence_check import cadence_checks
from .channels_check import channel_checks
from .compiled import CACHE_KEY, AttributionSpec, compile_spec
from .lint import lint_attribution
from .model_check import model_checks
from .schema import SCHEMA

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist


def spec_of(checklist: Checklist) -> AttributionSpec:
    """The compiled spec, compiling on first use (``prepare`` normally did it at load time)."""
    return cached_spec(checklist, CACHE_KEY, compile_spec)


class AttributionKind(KindBase):
    """The attribution model: documented with its rationale, recomputed against the table the board reads."""

    name = "attribution"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return lint_attribution(spec_of(checklist))

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        yield from model_checks(spec)
        yield from channel_checks(spec)
        yield from baseline_checks(spec)
        yield from board_checks(spec)
        yield from cadence_checks(spec)

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        return observe(spec_of(checklist), ctx)
