"""The attribution model recomputed in the warehouse, and the invariants of an attribution table, as Core SQL.

Every function returns a SQLAlchemy ``Select`` that the caller runs through the warehouse connector
(``Warehouse.select``); each dialect (DuckDB, PostgreSQL, Snowflake, BigQuery) compiles its own SQL, so the
model is computed where the rows are (push-down) and only the differences come back. The credits follow
docs/attribution.md, "Models, exactly"; ``tests/test_attribution_models.py`` runs hand-checked paths through
every model on each warehouse of the test matrix.

Names from the checklist are checked as plain identifiers (``warehouse_queries.check_identifier``) and quoted
by the dialect; ``where`` fragments pass ``warehouse_queries.check_where``. Timestamps are cast to TIMESTAMP,
credits and values to DOUBLE, so text columns (a CSV loaded as it is) compare and sum the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Double,
    Select,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Subquery, TableClause

from ...connectors.warehouse_queries import check_identifier, check_where
from ...errors import WarehouseError
from .models import AttributionModel, AttributionTable, Conversions, Lookback, Touchpoints

__all__ = ["SecondsBetween", "compare_channels", "compare_conversions", "credit_by_channel", "eligible_touches",
           "expected_credits", "invariant_queries", "recompute", "touches_by_channel"]

DAY_SECONDS = 86_400
MAX_HALVINGS = 1000.0  # time decay: older than this many half-lives weighs 0 (2^-1000 is near DOUBLE's floor)


class SecondsBetween(FunctionElement[Any]):
    """Seconds from the first timestamp to the second, in the dialect's own spelling (arguments: start, end)."""

    name = "seconds_between"
    inherit_cache = True
    type = Double()


@compiles(SecondsBetween)
def _epoch_of_interval(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(SecondsBetween, "snowflake")
def _datediff_snowflake(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(DATEDIFF(millisecond, {start}, {end}) / 1000.0)"


@compiles(SecondsBetween, "bigquery")
def _datetime_diff_bigquery(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(DATETIME_DIFF({end}, {start}, MICROSECOND) / 1000000.0)"


def _days_between(start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(SecondsBetween(start, end), Double) / literal(float(DAY_SECONDS), Double)


def _num(value: float) -> ColumnElement[Any]:
    return literal(float(value), Double)


def _source(name: str, columns: list[str | None]) -> TableClause:
    """``name`` (``t``, ``schema.t`` or ``db.schema.t``) as a table holding ``columns`` (each a plain name)."""
    parts = check_identifier(name, "table")
    cols = sorted({c for c in columns if c is not None})
    for c in cols:
        if len(check_identifier(c)) != 1:
            raise WarehouseError(f"column {c!r} must be a plain column name, not a dotted one")
    return table(parts[-1], *(column(c) for c in cols), schema=".".join(parts[:-1]) or None)


def _filtered(statement: Select[Any], where: str | None) -> Select[Any]:
    checked = check_where(where)
    return statement.where(text(f"({checked})")) if checked else statement


def _touches(tp: Touchpoints) -> Subquery:
    t = _source(tp.table, [tp.id, tp.key, tp.channel, tp.at])
    statement = select(t.c[tp.id].label("touch_id"), t.c[tp.key].label("touch_key"),
                       t.c[tp.channel].label("channel"), cast(t.c[tp.at], DateTime).label("touch_at"))
    return _filtered(statement, tp.where).subquery("touches")


def _conversions(conv: Conversions) -> Select[Any]:
    """The conversions with their value (DOUBLE; NULL without ``value``) and W-shaped's two milestones."""
    c = _source(conv.table, [conv.id, conv.key, conv.at, conv.value, conv.lead_created_at,
                             conv.opportunity_created_at])

    def stamp(col: str | None, label: str) -> ColumnElement[Any]:
        return (cast(c.c[col], DateTime) if col else cast(null(), DateTime)).label(label)

    statement = select(
        c.c[conv.id].label("conversion_id"), c.c[conv.key].label("conversion_key"),
        cast(c.c[conv.at], DateTime).label("converted_at"),
        (cast(c.c[conv.value], Double) if conv.value else cast(null(), Double)).label("value"),
        stamp(conv.lead_created_at, "lead_created_at"), stamp(conv.opportunity_created_at, "opportunity_created_at"),
    )
    return _filtered(statement, conv.where)


def _eligible(tp: Touchpoints, conv: Conversions, lookback: Lookback, carry: Sequence[str] = ()) -> Subquery:
    """Each conversion's eligible touches with ``pos`` (1..n by time then id), ``n`` and the ``carry`` columns.

    ``carry``: any of ``touch_at, converted_at, age_days, lead_created_at, opportunity_created_at``; only what
    a model reads is carried, since each column rides through the window's sort.
    """
    touches, convs = _touches(tp), _conversions(conv).subquery("conversions")
    by_conversion = convs.c.conversion_id
    available: dict[str, ColumnElement[Any]] = {
        "touch_at": touches.c.touch_at, "converted_at": convs.c.converted_at,
        "age_days": _days_between(touches.c.touch_at, convs.c.converted_at).label("age_days"),
        "lead_created_at": convs.c.lead_created_at, "opportunity_created_at": convs.c.opportunity_created_at,
    }
    carried = [available[name] for name in carry]
    joined = convs.join(touches, touches.c.touch_key == convs.c.conversion_key)
    in_window = (touches.c.touch_at <= convs.c.converted_at,
                 cast(SecondsBetween(touches.c.touch_at, convs.c.converted_at), Double)
                 < _num(lookback.days * DAY_SECONDS))
    if lookback.steps is None:
        return select(
            by_conversion, touches.c.touch_id, touches.c.channel, *carried,
            func.row_number().over(partition_by=by_conversion,
                                   order_by=(touches.c.touch_at, touches.c.touch_id)).label("pos"),
            func.count().over(partition_by=by_conversion).label("n"),
        ).select_from(joined).where(*in_window).subquery("eligible")
    windowed = select(
        by_conversion, touches.c.touch_id, touches.c.channel, *carried,
        func.count().over(partition_by=by_conversion).label("in_window"),
        func.row_number().over(partition_by=by_conversion,
                               order_by=(touches.c.touch_at.desc(), touches.c.touch_id.desc())).label("from_last"),
    ).select_from(joined).where(*in_window).subquery("windowed")
    w = windowed.c
    n = case((w.in_window > lookback.steps, literal(lookback.steps)), else_=w.in_window)
    return (select(w.conversion_id, w.touch_id, w.channel, *(w[name] for name in carry),
                   (n - w.from_last + 1).label("pos"), n.label("n"))
            .where(w.from_last <= lookback.steps).subquery("eligible"))


def touches_by_channel(tp: Touchpoints, since: datetime, until: datetime | None = None) -> Select[Any]:
    """``channel, touches``: how many touches each channel had after ``since`` (and at or before ``until``).

    For "every channel is tracked in the window" and the share of touches no channel rule placed
    (``Unassigned``); a NULL channel is ``''``.
    """
    touches = _touches(tp)
    channel = func.coalesce(touches.c.channel, "")
    count: ColumnElement[Any] = func.count()
    statement = select(channel.label("channel"), count.label("touches")).where(touches.c.touch_at > since)
    if until is not None:
        statement = statement.where(touches.c.touch_at <= until)
    return statement.group_by(channel).order_by(channel)


def eligible_touches(tp: Touchpoints, conv: Conversions, lookback: Lookback) -> Select[Any]:
    """``conversion_id, touch_id, channel, touch_at, converted_at, pos, n``: the touches each conversion may credit.

    Eligible: the same key, ``touch_at <= converted_at``, ``touch_at > converted_at - days``, then the latest
    ``steps``; ``pos`` numbers them 1..n by (time, id).
    """
    e = _eligible(tp, conv, lookback, ("touch_at", "converted_at")).c
    return select(e.conversion_id, e.touch_id, e.channel, e.touch_at, e.converted_at, e.pos, e.n)


def _position_based(model: AttributionModel, e: Any) -> ColumnElement[Any]:
    total = sum(model.position_weights)
    first, middle, last = (w / total for w in model.position_weights)
    ends = first + last
    two_first, two_last = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
    return case(
        (e.n == 1, _num(1.0)),
        (and_(e.n == 2, e.pos == 1), _num(two_first)),
        (e.n == 2, _num(two_last)),
        (e.pos == 1, _num(first)),
        (e.pos == e.n, _num(last)),
        else_=_num(middle) / cast(e.n - 2, Double),
    )


def _time_decay(model: AttributionModel, eligible: Subquery) -> Select[Any]:
    """2^(-age/half_life) normalised; ages are taken from the latest touch's so no weight underflows to 0."""
    e = eligible.c
    aged = select(e.conversion_id, e.touch_id, e.channel, e.age_days,
                  func.min(e.age_days).over(partition_by=e.conversion_id).label("youngest")).subquery("aged")
    a = aged.c
    halvings = (a.age_days - a.youngest) / _num(model.half_life_days)
    # PostgreSQL raises on a power that underflows; past 1000 halvings (2^-1000) the weight is 0 anyway
    weight = case((halvings > _num(MAX_HALVINGS), _num(0.0)),
                  else_=func.power(_num(2.0), -halvings, type_=Double()))
    credit = weight / func.sum(weight, type_=Double()).over(partition_by=a.conversion_id)
    return select(a.conversion_id, a.touch_id, a.channel, credit.label("credit"))


def _w_shaped(model: AttributionModel, eligible: Subquery) -> Select[Any]:
    """First, lead-creation and opportunity-creation roles, the rest spread; normalised over what is assigned."""
    e = eligible.c
    total = sum(model.w_weights)
    w_first, w_lead, w_opp, w_rest = (w / total for w in model.w_weights)

    def latest_before(milestone: ColumnElement[Any], label: str) -> ColumnElement[Any]:
        return func.max(case((e.touch_at <= milestone, e.pos))).over(partition_by=e.conversion_id).label(label)

    roles = select(e.conversion_id, e.touch_id, e.channel, e.pos, e.n,
                   latest_before(e.lead_created_at, "lead_pos"),
                   latest_before(e.opportunity_created_at, "opp_pos")).subquery("roles")
    r = roles.c
    lead, opp = func.coalesce(r.lead_pos, 0), func.coalesce(r.opp_pos, 0)
    role_holders = (literal(1)
                    + case((and_(lead > 0, lead != 1), 1), else_=0)
                    + case((and_(opp > 0, opp != 1, opp != lead), 1), else_=0))
    rest = r.n - role_holders
    assigned = (_num(w_first) + case((lead > 0, _num(w_lead)), else_=_num(0.0))
                + case((opp > 0, _num(w_opp)), else_=_num(0.0)) + case((rest > 0, _num(w_rest)), else_=_num(0.0)))
    own = (case((r.pos == 1, _num(w_first)), else_=_num(0.0))
           + case((r.pos == lead, _num(w_lead)), else_=_num(0.0))
           + case((r.pos == opp, _num(w_opp)), else_=_num(0.0))
           + case((and_(r.pos != 1, r.pos != lead, r.pos != opp), _num(w_rest) / cast(rest, Double)),
                  else_=_num(0.0)))
    credit = case((r.n == 1, _num(1.0)), (assigned > 0, own / assigned), else_=_num(1.0) / cast(r.n, Double))
    return select(r.conversion_id, r.touch_id, r.channel, credit.label("credit"))


def recompute(model: AttributionModel, tp: Touchpoints, conv: Conversions, lookback: Lookback) -> Select[Any]:
    """``conversion_id, touch_id, channel, credit``: the model's shares (summing to 1 for a conversion with touches).

    Conversions with no eligible touch have no row here (``expected_credits`` puts them in the bucket).
    """
    if model.name == "time_decay":
        return _time_decay(model, _eligible(tp, conv, lookback, ("age_days",)))
    if model.name == "w_shaped":
        return _w_shaped(model, _eligible(tp, conv, lookback, ("touch_at", "lead_created_at",
                                                                "opportunity_created_at")))
    e = _eligible(tp, conv, lookback).c
    if model.name == "first_touch":
        credit: ColumnElement[Any] = case((e.pos == 1, _num(1.0)), else_=_num(0.0))
    elif model.name == "last_touch":
        credit = case((e.pos == e.n, _num(1.0)), else_=_num(0.0))
    elif model.name == "linear":
        credit = _num(1.0) / cast(e.n, Double)
    elif model.name == "position_based":
        credit = _position_based(model, e)
    elif model.name == "last_non_direct":
        direct = list(model.direct_channels)
        not_direct = case((e.channel.in_(direct), null()), else_=e.pos) if direct else e.pos
        last = func.coalesce(func.max(not_direct).over(partition_by=e.conversion_id), e.n)
        credit = case((e.pos == last, _num(1.0)), else_=_num(0.0))
    else:
        raise WarehouseError(f"the {model.name!r} model cannot be recomputed; only its invariants are checked")
    return select(e.conversion_id, e.touch_id, e.channel, credit.label("credit"))


def expected_credits(model: AttributionModel, tp: Touchpoints, conv: Conversions, lookback: Lookback,
                     attr: AttributionTable) -> Select[Any]:
    """``conversion_id, channel, credit``: the model's credit per conversion and channel, in ``attr``'s unit.

    A conversion with no eligible touch gives all its credit to the bucket (``attr.unattributed``); in unit
    ``value`` shares are multiplied by the conversion's value (a NULL value counts 0). A NULL channel is ''.
    """
    if attr.unit == "value" and conv.value is None:
        raise WarehouseError("an attribution table in unit `value` needs the conversions' `value` column")
    recomputed = recompute(model, tp, conv, lookback).subquery("recomputed")
    channel = func.coalesce(recomputed.c.channel, "")
    grouped = (select(recomputed.c.conversion_id, channel.label("channel"),
                      func.sum(recomputed.c.credit).label("credit"))
               .group_by(recomputed.c.conversion_id, channel).subquery("grouped"))
    # every conversion once: its channels' shares, or the bucket's 1 when no touch was eligible (no match)
    convs = _conversions(conv).subquery("all_conversions")
    share = func.coalesce(grouped.c.credit, _num(1.0))
    credit = share * func.coalesce(convs.c.value, _num(0.0)) if attr.unit == "value" else share
    return (select(convs.c.conversion_id, func.coalesce(grouped.c.channel, attr.unattributed).label("channel"),
                   credit.label("credit"))
            .select_from(convs.outerjoin(grouped, grouped.c.conversion_id == convs.c.conversion_id)))


def _attribution(attr: AttributionTable) -> TableClause:
    return _source(attr.table, [attr.conversion, attr.touch, attr.channel, attr.credit])


def _actual_credits(attr: AttributionTable) -> Select[Any]:
    """``conversion_id, channel, credit``: the attribution table's rows (a NULL channel is ``''``), unsummed."""
    a = _attribution(attr)
    return select(a.c[attr.conversion].label("conversion_id"), func.coalesce(a.c[attr.channel], "").label("channel"),
                  cast(a.c[attr.credit], Double).label("credit"))


def credit_by_channel(source: Select[Any] | AttributionTable) -> Select[Any]:
    """``channel, credit_total, share``: credit per channel of either side, and its share of all credit.

    ``source``: an attribution table, or a select with ``channel`` and ``credit`` columns (``recompute``,
    ``expected_credits``).
    """
    rows = (_actual_credits(source) if isinstance(source, AttributionTable) else source).subquery("credits")
    total = func.sum(rows.c.credit)
    share = total / func.nullif(func.sum(total).over(), _num(0.0))
    return (select(rows.c.channel, total.label("credit_total"), share.label("share"))
            .group_by(rows.c.channel).order_by(rows.c.channel))


def _differences(expected: Select[Any], actual: Select[Any], keys: list[str], tolerance: float) -> Select[Any]:
    """Both sides' credits summed per ``keys``: the groups whose sums differ by more than ``tolerance``.

    One ``UNION ALL`` and one aggregate rather than two aggregates and a full outer join: a key on one side
    only sums 0 on the other, and the warehouse holds one hash table, not three (half the memory at 10 M rows).
    """
    e, a = expected.subquery("expected_side"), actual.subquery("actual_side")
    zero = _num(0.0)
    both = union_all(
        select(*(e.c[k] for k in keys), e.c.credit.label("expected"), zero.label("actual")),
        select(*(a.c[k] for k in keys), zero.label("expected"), a.c.credit.label("actual")),
    ).subquery("both_sides")
    expected_sum, actual_sum = func.sum(both.c.expected), func.sum(both.c.actual)
    group = [both.c[k] for k in keys]
    return (select(*group, expected_sum.label("expected"), actual_sum.label("actual"),
                   (actual_sum - expected_sum).label("diff"))
            .group_by(*group).having(func.abs(actual_sum - expected_sum) > _num(tolerance)).order_by(*group))


def compare_conversions(model: AttributionModel, tp: Touchpoints, conv: Conversions, lookback: Lookback,
                        attr: AttributionTable, tolerance: float) -> Select[Any]:
    """``conversion_id, channel, expected, actual, diff``: where the table and the model disagree (``|diff| > tol``).

    Credits are compared per conversion and channel in ``attr``'s unit; a conversion the table credits but
    the conversions do not hold is expected 0.
    """
    return _differences(expected_credits(model, tp, conv, lookback, attr), _actual_credits(attr),
                        ["conversion_id", "channel"], tolerance)


def compare_channels(model: AttributionModel, tp: Touchpoints, conv: Conversions, lookback: Lookback,
                     attr: AttributionTable, tolerance: float) -> Select[Any]:
    """``channel, expected, actual, diff``: channel totals (in ``attr``'s unit) that differ by more than ``tol``."""
    return _differences(expected_credits(model, tp, conv, lookback, attr), _actual_credits(attr), ["channel"],
                        tolerance)


def invariant_queries(attr: AttributionTable, conv: Conversions, tp: Touchpoints, lookback: Lookback,
                      tolerance: float) -> dict[str, Select[Any]]:
    """The invariants any attribution table must keep, each a query of its violations (no row: it holds).

    - ``credit_sum``: ``conversion_id, credit_sum, expected_sum``: credits not summing to 1 (unit share) or to
      the conversion's value (unit value) within ``tolerance``;
    - ``negative``: ``conversion_id, touch_id, channel, credit``: rows with a credit below 0;
    - ``outside_window``: ``conversion_id, touch_id, channel, touch_at, converted_at``: rows whose touch is
      after its conversion or ``lookback.days`` or more before it (absent when the table has no touch column);
    - ``unattributed``: ``conversion_id, converted_at``: conversions with no row at all, not even in the bucket;
    - ``unattributed_share``: one row ``bucket_only, conversions, share``: conversions credited only to the
      bucket (channel ``attr.unattributed``), out of all conversions.
    """
    a = _attribution(attr)
    convs = _conversions(conv).subquery("conversions")
    credit = cast(a.c[attr.credit], Double)
    touch = a.c[attr.touch] if attr.touch else cast(null(), a.c[attr.conversion].type)
    queries: dict[str, Select[Any]] = {}

    sums = select(a.c[attr.conversion].label("conversion_id"), func.sum(credit).label("credit_sum")).group_by(
        a.c[attr.conversion]).subquery("sums")
    if attr.unit == "value":
        if conv.value is None:
            raise WarehouseError("an attribution table in unit `value` needs the conversions' `value` column")
        target: ColumnElement[Any] = func.coalesce(convs.c.value, _num(0.0))
        queries["credit_sum"] = (
            select(sums.c.conversion_id, sums.c.credit_sum, target.label("expected_sum"))
            .select_from(sums.join(convs, convs.c.conversion_id == sums.c.conversion_id, isouter=True))
            .where(func.abs(sums.c.credit_sum - target) > _num(tolerance)).order_by(sums.c.conversion_id))
    else:
        queries["credit_sum"] = (select(sums.c.conversion_id, sums.c.credit_sum, _num(1.0).label("expected_sum"))
                                 .where(func.abs(sums.c.credit_sum - _num(1.0)) > _num(tolerance))
                                 .order_by(sums.c.conversion_id))

    queries["negative"] = (select(a.c[attr.conversion].label("conversion_id"), touch.label("touch_id"),
                                  a.c[attr.channel].label("channel"), credit.label("credit"))
                           .where(credit < _num(0.0)).order_by(a.c[attr.conversion]))

    if attr.touch:
        t = _source(tp.table, [tp.id, tp.at])
        touch_at = cast(t.c[tp.at], DateTime)
        too_old = cast(SecondsBetween(touch_at, convs.c.converted_at), Double) >= _num(lookback.days * DAY_SECONDS)
        queries["outside_window"] = (
            select(a.c[attr.conversion].label("conversion_id"), a.c[attr.touch].label("touch_id"),
                   a.c[attr.channel].label("channel"), touch_at.label("touch_at"), convs.c.converted_at)
            .select_from(a.join(t, t.c[tp.id] == a.c[attr.touch])
                         .join(convs, convs.c.conversion_id == a.c[attr.conversion]))
            .where(or_(touch_at > convs.c.converted_at, too_old)).order_by(a.c[attr.conversion], a.c[attr.touch]))

    queries["unattributed"] = (select(convs.c.conversion_id, convs.c.converted_at)
                               .where(~exists().where(a.c[attr.conversion] == convs.c.conversion_id))
                               .order_by(convs.c.conversion_id))

    in_bucket = case((a.c[attr.channel] == attr.unattributed, 0), else_=1)
    per_conversion = (select(a.c[attr.conversion].label("conversion_id"),
                             func.sum(in_bucket).label("outside_bucket"))
                      .group_by(a.c[attr.conversion]).subquery("per_conversion"))
    joined = convs.join(per_conversion, per_conversion.c.conversion_id == convs.c.conversion_id, isouter=True)
    bucket_only = func.sum(case((per_conversion.c.outside_bucket == 0, 1), else_=0))
    everyone = func.count()
    queries["unattributed_share"] = select(
        func.coalesce(bucket_only, 0).label("bucket_only"), everyone.label("conversions"),
        (cast(func.coalesce(bucket_only, 0), Double) / func.nullif(cast(everyone, Double), _num(0.0))).label("share"),
    ).select_from(joined)
    return queries
