"""ATTR-MODEL-DOCUMENTED: the declared model, recomputed in the warehouse, is the one the attribution table holds.

Two checks. ``ATTR-MODEL-DOCUMENTED`` needs the rationale and recomputes the model in SQL (``sql.compare_*``):
every conversion's credit per channel must match the table within ``tolerance``; the first differences are
named, the full list (capped) is in the evidence. An ``external`` model cannot be recomputed: it passes on its
rationale and vendor, and the invariants say the rest. ``ATTR-MODEL-DOCUMENTED[invariants]`` holds any table
(external included) to what every attribution must keep: credits summing to 1 (or the value), none negative,
none outside the window, no conversion dropped; it reports the share left unattributed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from ...errors import CheckError, CheckFailed, Evidence
from ..base import WAREHOUSE, Check
from ..reconcile import warehouse_of
from .compiled import AttributionSpec
from .lint import blocking
from .models import AttributionModel, AttributionTable, Conversions, Touchpoints
from .sql import compare_channels, compare_conversions, credit_by_channel, invariant_queries

if TYPE_CHECKING:
    from ...context import RunContext

DOD_ID = "ATTR-MODEL-DOCUMENTED"
SHOWN = 5  # differences named in the message
EVIDENCE_ROWS = 1000  # differences kept in the report's evidence
SECTIONS = ("model", "conversions", "touchpoints", "attribution")
INVARIANTS = {
    "credit_sum": "credits not summing to {target}",
    "negative": "negative credits",
    "outside_window": "credits to touches outside the window (after the conversion or older than the lookback)",
    "unattributed": "conversions dropped (no row, not even in the {bucket} bucket)",
}


def model_text(model: AttributionModel) -> str:
    """``position_based (first 0.4, middle 0.2, last 0.4)``: the model as the messages name it."""
    if model.name == "position_based":
        first, middle, last = model.position_weights
        return f"position_based (first {first:g}, middle {middle:g}, last {last:g})"
    if model.name == "w_shaped":
        return "w_shaped ({})".format(", ".join(
            f"{r} {w:g}" for r, w in zip(("first", "lead", "opportunity", "rest"), model.w_weights, strict=True)))
    if model.name == "time_decay":
        return f"time_decay (half-life {model.half_life_days:g} days)"
    if model.name == "last_non_direct":
        return f"last_non_direct (skipping {', '.join(model.direct_channels)})"
    return model.name


def _num(value: Any) -> str:
    return "NULL" if value is None else f"{float(value):.6g}"


def _rows(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{n: (v if v is None or isinstance(v, (int, float, str)) else str(v)) for n, v in zip(names, row,
                                                                                                     strict=True)}
            for row in rows]


def _unverifiable(spec: AttributionSpec, sections: tuple[str, ...]) -> None:
    problem = blocking(spec, sections)
    if problem is not None:
        where = spec.at(problem.path, key=problem.key)
        raise CheckError(f"{problem.message} ({problem.rule.code} at {where}); fix: {problem.rule.hint}")


def _tables(spec: AttributionSpec) -> tuple[Conversions, Touchpoints, AttributionTable]:
    if spec.conversions is None or spec.touchpoints is None or spec.attribution is None:
        raise CheckError("the model cannot be recomputed without `conversions:`, `touchpoints:` and `attribution:`")
    return spec.conversions, spec.touchpoints, spec.attribution


def check_model(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Pass when the rationale is written and the table holds the declared model's credits."""
    name = spec.data["model"]["name"]
    if spec.rationale is None:
        raise CheckFailed(f"the {name} model has no rationale: the DoD asks for the model and why",
                          expected="`rationale:` saying why this model fits", received="no rationale")
    _unverifiable(spec, SECTIONS)
    model = spec.model
    if model is None:
        raise CheckError("the model's parameters are unusable; run `gtmcheck lint` for the line")
    if model.name == "external":
        vendor = f" by {spec.vendor}" if spec.vendor else ""
        return Evidence(f"external model{vendor}, documented with its rationale; it cannot be recomputed, so "
                        f"{DOD_ID}[invariants] holds the table to the invariants", {"rationale": spec.rationale})
    conv, tp, attr = _tables(spec)
    wh = warehouse_of(ctx)
    tol = spec.tolerance
    names, rows = wh.select(compare_conversions(model, tp, conv, spec.lookback, attr, tol), limit=EVIDENCE_ROWS + 1)
    ch_names, ch_rows = wh.select(compare_channels(model, tp, conv, spec.lookback, attr, tol))
    what = f"{model_text(model)}, lookback {spec.lookback.days} days"
    if spec.lookback.steps:
        what += f" (latest {spec.lookback.steps} touches)"
    details: dict[str, Any] = {"model": what, "tolerance": tol, "unit": attr.unit, "rationale": spec.rationale}
    if not rows and not ch_rows:
        _, totals = wh.select(credit_by_channel(attr))
        details["channels"] = {str(r[0]): _num(r[1]) for r in totals}
        return Evidence(f"{what} recomputed in the warehouse agrees with {attr.table} within {tol:g} for every "
                        f"conversion ({len(totals)} channels credited)", details)
    listed = rows[:EVIDENCE_ROWS]
    details["conversions"] = _rows(names, listed)
    details["conversions_not_listed"] = len(rows) > EVIDENCE_ROWS
    details["channels"] = _rows(ch_names, ch_rows)
    convs = sorted({str(r[0]) for r in listed})
    shown = "; ".join(f"{r[0]} {r[1] or '(no channel)'}: expected {_num(r[2])}, {attr.table} has {_num(r[3])}"
                      for r in listed[:SHOWN])
    more = "" if len(rows) <= SHOWN else f"; ... {'over ' if len(rows) > EVIDENCE_ROWS else ''}" \
                                         f"{len(listed) - SHOWN} more in the evidence"
    raise CheckFailed(
        f"{attr.table} does not hold the declared {what}: {len(convs)}"
        f"{'+' if len(rows) > EVIDENCE_ROWS else ''} conversion(s) differ by more than {tol:g}: {shown}{more}",
        expected=f"the credits of {what}",
        received=f"{len(listed)} conversion-channel credit(s) differ in {attr.table}, {len(ch_rows)} channel "
        "total(s)",
        evidence=Evidence(f"differing conversions: {', '.join(convs[:20])}{' ...' if len(convs) > 20 else ''}",
                          details),
    )


def check_invariants(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Fail on each broken invariant, naming the conversions; report the unattributed share either way."""
    _unverifiable(spec, ("conversions", "touchpoints", "attribution"))
    conv, tp, attr = spec.conversions, spec.touchpoints, spec.attribution
    if conv is None or attr is None:
        raise CheckError("the invariants need `conversions:` and `attribution:`")
    if tp is None:  # the window check needs the touches; a per-channel table has no touch column either
        attr = AttributionTable(**{**attr.__dict__, "touch": None})
        tp = Touchpoints(table=conv.table)
    queries = invariant_queries(attr, conv, tp, spec.lookback, spec.tolerance)
    wh = warehouse_of(ctx)
    _, share_rows = wh.select(queries.pop("unattributed_share"))
    bucket_only, total, share = share_rows[0] if share_rows else (0, 0, None)
    unattributed = f"{int(bucket_only or 0)} of {int(total or 0)} conversions only in the {attr.unattributed} " \
                   f"bucket ({(float(share or 0) * 100):.1f}%)"
    details: dict[str, Any] = {"unattributed_share": {"bucket_only": int(bucket_only or 0),
                                                      "conversions": int(total or 0),
                                                      "share": float(share or 0)}}
    broken: list[str] = []
    target = "1" if attr.unit == "share" else "the conversion's value"
    for name, query in queries.items():
        names, rows = wh.select(query, limit=EVIDENCE_ROWS + 1)
        details[name] = _rows(names, rows[:EVIDENCE_ROWS])
        if rows:
            broken.append(_describe(name, rows, target, attr.unattributed))
    if broken:
        raise CheckFailed(
            f"{attr.table} breaks {len(broken)} invariant(s): " + "; ".join(broken) + f"; {unattributed}",
            expected="credits summing to " + target + " per conversion, none negative, none outside the "
            f"{spec.lookback.days}-day window, every conversion present",
            received="; ".join(b.split(":")[0] for b in broken),
            evidence=Evidence(unattributed, details),
        )
    return Evidence(f"{attr.table} keeps every invariant (sums, signs, window, no conversion dropped); "
                    f"{unattributed}", details)


def _describe(name: str, rows: Sequence[Sequence[Any]], target: str, bucket: str) -> str:
    head = INVARIANTS[name].format(target=target, bucket=bucket)
    more = f" (over {EVIDENCE_ROWS})" if len(rows) > EVIDENCE_ROWS else f" ({len(rows)})"
    if name == "credit_sum":
        items = [f"{r[0]} sums to {_num(r[1])}, not {_num(r[2])}" for r in rows[:SHOWN]]
    elif name == "negative":
        items = [f"{r[0]} {r[2]}: {_num(r[3])}" for r in rows[:SHOWN]]
    elif name == "outside_window":
        items = [f"{r[0]} touch {r[1]} at {r[3]} (converted {r[4]})" for r in rows[:SHOWN]]
    else:
        items = [str(r[0]) for r in rows[:SHOWN]]
    return f"{head}{more}: " + ", ".join(items) + (" ..." if len(rows) > SHOWN else "")


def model_checks(spec: AttributionSpec) -> Iterator[Check]:
    """ATTR-MODEL-DOCUMENTED and its [invariants], when the checklist declares a model."""
    if "model" not in spec.data:
        return
    external = spec.data["model"]["name"] == "external"  # documented only: nothing to recompute or read
    yield Check(DOD_ID, partial(check_model, spec), spec.location("model"),
                description="the declared model, with its rationale, recomputed in the warehouse matches the table",
                needs=frozenset() if external else frozenset({WAREHOUSE}))
    if "attribution" in spec.data:
        yield Check(DOD_ID, partial(check_invariants, spec), spec.location("attribution"), param="invariants",
                    description="the attribution table keeps the invariants of any model",
                    needs=frozenset({WAREHOUSE}))
