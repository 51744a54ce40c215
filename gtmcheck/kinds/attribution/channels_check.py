"""ATTR-CHANNELS-TRACKED: every channel the UTM checklist reports on is tracked and attributed, recently.

The channels come from the UTM checklist ``channels.utm`` names (its ``channels.expected``, classified by its
``channels:`` map: ``utm_map``), never from a copy. In the lookback window ending on the environment's today
(``ctx.today()``), each expected channel must have touches in the touchpoints table AND credit in the
attribution table; and the touches no channel rule places (channel
``Unassigned`` or empty, or, when the touchpoints name ``source``/``medium``, classified Unassigned by the UTM
map) must stay at or under ``unassigned_max``. Only counts per channel come back from the warehouse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Select, cast, column, func, literal_column, select, table, text

from ...channels import UNASSIGNED
from ...connectors.warehouse_queries import check_identifier, check_where
from ...errors import CheckError, CheckFailed, Evidence
from ..base import WAREHOUSE, Check
from ..reconcile import warehouse_of
from .compiled import AttributionSpec, utm_columns
from .sql import credit_by_channel
from .utm_map import UtmProblem, load_utm

if TYPE_CHECKING:
    from ...context import RunContext
    from ..utm import UtmSpec
    from .models import Touchpoints

DOD_ID = "ATTR-CHANNELS-TRACKED"
MAX_GROUPS = 10_000  # (channel, source, medium, campaign) groups read; more is not a channel map


def _table(name: str, columns: list[str | None]) -> Any:
    parts = check_identifier(name, "table")
    cols = sorted({c for c in columns if c is not None})
    for c in cols:
        check_identifier(c)
    return table(parts[-1], *(column(c) for c in cols), schema=".".join(parts[:-1]) or None)


def _where(statement: Select[Any], where: str | None) -> Select[Any]:
    checked = check_where(where)
    return statement.where(text(f"({checked})")) if checked else statement


def touch_groups(tp: Touchpoints, utm_cols: tuple[str | None, str | None, str | None], since: datetime,
                 until: datetime) -> Select[Any]:
    """``channel, source, medium, campaign, touches`` in ``(since, until]``: what the UTM map classifies."""
    t = _table(tp.table, [tp.channel, tp.at, *utm_cols])
    at = cast(t.c[tp.at], DateTime)
    cols: list[Any] = [func.coalesce(t.c[tp.channel], "").label("channel")]
    for name, col in zip(("source", "medium", "campaign"), utm_cols, strict=True):
        cols.append((func.coalesce(t.c[col], "") if col else literal_column("''")).label(name))
    statement: Select[Any] = select(*cols, func.count().label("touches")).where(at > since, at <= until)
    statement = _where(statement, tp.where)
    return statement.group_by(*cols[:1], *(c for c, u in zip(cols[1:], utm_cols, strict=True) if u))


def _window(spec: AttributionSpec, ctx: RunContext) -> tuple[datetime, datetime]:
    until = datetime.combine(ctx.today() + timedelta(days=1), time())  # the end of today
    return until - timedelta(days=spec.lookback.days), until


def _classified(utm: UtmSpec, rows: list[tuple[Any, ...]], classify: bool) -> tuple[Counter[str], int]:
    """Touches per channel (as the table names them) and how many no channel rule places."""
    per_channel: Counter[str] = Counter()
    unassigned = 0
    for channel, source, medium, campaign, n in rows:
        per_channel[str(channel)] += int(n)
        mapped = utm.channels.classify(str(source), str(medium), str(campaign)) if classify else None
        if str(channel) in ("", UNASSIGNED) or mapped == UNASSIGNED:
            unassigned += int(n)
    return per_channel, unassigned


def check_channels(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Pass when every expected channel has touches and credit in the window and Unassigned stays small."""
    utm = load_utm(spec)
    if isinstance(utm, UtmProblem):
        raise CheckError(f"{utm.message} (ATTR106 at {spec.location('channels', 'utm')}); fix: {utm.hint}")
    tp, attr = spec.touchpoints, spec.attribution
    if tp is None or attr is None:
        raise CheckError("channels are checked in `touchpoints:` and `attribution:`; add them")
    since, until = _window(spec, ctx)
    utm_cols = utm_columns(spec.checklist)
    classify = utm_cols[0] is not None and utm_cols[1] is not None
    wh = warehouse_of(ctx)
    _, groups = wh.select(touch_groups(tp, utm_cols, since, until), limit=MAX_GROUPS + 1)
    if len(groups) > MAX_GROUPS:
        raise CheckError(f"the touchpoints hold more than {MAX_GROUPS} channel/source/medium/campaign groups in the "
                         "window; name fewer UTM columns under `touchpoints:`")
    per_channel, unassigned = _classified(utm, [tuple(g) for g in groups], classify)
    _, credited_rows = wh.select(credit_by_channel(attr))
    credited = {str(r[0]): float(r[1] or 0) for r in credited_rows}
    total = sum(per_channel.values())
    share = 100.0 * unassigned / total if total else 0.0
    window = f"the {spec.lookback.days} days to {ctx.today().isoformat()}"
    untracked = [c for c in utm.expected if per_channel.get(c, 0) == 0]
    unattributed = [c for c in utm.expected if c not in untracked and credited.get(c, 0.0) <= 0]
    details: dict[str, Any] = {
        "window": {"since": since.isoformat(), "until": until.isoformat()},
        "expected": list(utm.expected), "touches": dict(sorted(per_channel.items())),
        "credit": dict(sorted(credited.items())), "unassigned": {"touches": unassigned, "of": total,
                                                                  "share_percent": round(share, 2),
                                                                  "max_percent": spec.unassigned_max},
        "classified_by_utm_map": classify,
    }
    problems = [f"{c}: no touches in {window}" for c in untracked]
    problems += [f"{c}: touches in {window} but no credit in {attr.table}" for c in unattributed]
    if share > spec.unassigned_max:
        problems.append(f"{unassigned} of {total} touches ({share:.1f}%) are Unassigned, over {spec.unassigned_max:g}%")
    if problems:
        raise CheckFailed(
            "; ".join(problems),
            expected=f"touches and credit for {', '.join(utm.expected)} in {window}, at most "
            f"{spec.unassigned_max:g}% Unassigned",
            received=f"missing: {', '.join(untracked + unattributed) or 'none'}; Unassigned {share:.1f}%",
            evidence=Evidence(f"{len(untracked) + len(unattributed)} of {len(utm.expected)} channels missing", details),
        )
    return Evidence(f"all {len(utm.expected)} channels of {spec.data['channels']['utm']} have touches and credit in "
                    f"{window}; Unassigned {share:.1f}% of {total} touches (max {spec.unassigned_max:g}%)", details)


def channel_checks(spec: AttributionSpec) -> Iterator[Check]:
    if "channels" in spec.data:
        yield Check(DOD_ID, partial(check_channels, spec), spec.location("channels"),
                    description="every channel the UTM checklist reports on is tracked and attributed",
                    needs=frozenset({WAREHOUSE}))
