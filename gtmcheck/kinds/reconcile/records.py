"""The records behind a total that differs: RECONCILE-TOTALS hands the keyed sides to ``drilldown``.

With a ``key`` on both sides, a failed total names the records that differ (missing on one side, value differs)
after the groups. Warehouse against warehouse: ``drilldown.diff_keys`` (keyed checksums bucketed in SQL, rows
pulled only for buckets that differ). CRM against warehouse: the CRM side's records come from one bounded paced
search (its filters, and ``min_age``'s cutoff) and ``drilldown.diff_records`` compares them with the
warehouse's checksums. A ``sql:`` side has no rows to name, and CRM against CRM is not drilled into.

``drilldown`` is imported lazily: without it (or when it cannot answer) the verdict stands, with a note.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...connectors.crm import Filter
from ...errors import ConnectorError
from .model import CrmSide, TotalsEntry, WarehouseSide

if TYPE_CHECKING:
    from ...connectors.warehouse import Warehouse
    from ...context import RunContext

SAMPLE = 10  # records named in the message; the evidence lists up to drilldown.MAX_LISTED
MAX_CRM_RECORDS = 100_000  # CRM records read for one drill-down (one paced search); more are not listed


def _drilldown() -> Any:
    try:
        return importlib.import_module(f"{__package__}.drilldown")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.drilldown":
            raise
        return None


def _keyed(drilldown: Any, side: WarehouseSide, label: str, cutoff: datetime | None) -> Any:
    """The side as ``drilldown.KeyedSide``: its table, key, value (none for a count) and where, cutoff included."""
    where, params = side.where, {}
    if cutoff is not None and side.updated_at is not None:
        where = f"({where}) AND {side.updated_at} <= :gtm_cutoff" if where else f"{side.updated_at} <= :gtm_cutoff"
        params = {"gtm_cutoff": cutoff}
    value = side.measure.property if side.measure is not None and side.measure.kind != "count" else None
    return drilldown.KeyedSide(key=side.key, table=side.table, value=value, where=where, params=params, label=label)


def _crm_records(ctx: RunContext, side: CrmSide, cutoff: datetime | None) -> Iterator[tuple[str | None, Any]]:
    """(key, value) of every record the CRM side totals, read in one paced search (at most ``MAX_CRM_RECORDS``)."""
    filters = list(side.filters)
    if cutoff is not None and side.updated_at is not None:
        filters.append(Filter(side.updated_at, "LTE", str(int(cutoff.timestamp() * 1000))))
    value_prop = side.measure.property if side.measure.kind != "count" else None
    assert side.key is not None
    props = [p for p in (side.key, value_prop) if p and p != "id"]
    for n, rec in enumerate(ctx.crm().search(side.object, [filters], props)):  # type: ignore[arg-type]
        if n >= MAX_CRM_RECORDS:
            raise _TooMany()
        key = rec.id if side.key == "id" else rec.properties.get(side.key)
        yield key, rec.properties.get(value_prop) if value_prop else None


class _TooMany(Exception):
    """More CRM records than one drill-down reads."""


def records_that_differ(ctx: RunContext, wh: Warehouse | None, entry: TotalsEntry, names: tuple[str, str],
                        cutoff: datetime | None) -> tuple[str, dict[str, Any] | None] | None:
    """``("2 records differ: d006: missing in CRM; ...", evidence)``, or ``None`` when there is no drill-down."""
    exp, act = entry.expected, entry.actual
    if not (exp.key and act.key) or any(isinstance(s, WarehouseSide) and s.table is None for s in (exp, act)):
        return None
    if isinstance(exp, CrmSide) and isinstance(act, CrmSide):
        return None
    drilldown = _drilldown()
    if drilldown is None or wh is None:
        return None
    try:
        if isinstance(exp, WarehouseSide) and isinstance(act, WarehouseSide):
            found = drilldown.diff_keys(wh, _keyed(drilldown, exp, names[0], cutoff),
                                        _keyed(drilldown, act, names[1], cutoff), sample=SAMPLE,
                                        precision=entry.precision)
        else:
            (wside, wname), (cside, cname) = ((exp, names[0]), (act, names[1])) if isinstance(exp, WarehouseSide) \
                else ((act, names[1]), (exp, names[0]))
            assert isinstance(wside, WarehouseSide) and isinstance(cside, CrmSide)
            found = drilldown.diff_records(wh, _keyed(drilldown, wside, wname, cutoff),
                                           list(_crm_records(ctx, cside, cutoff)), label=cname, sample=SAMPLE,
                                           precision=entry.precision)
    except _TooMany:
        return f"records not listed: the CRM side holds more than {MAX_CRM_RECORDS} records", None
    except ConnectorError as exc:  # the verdict stands; the listing could not be made
        return f"records not listed: {exc}", None
    total = found.total_counts.differences
    if total == 0:
        return None
    more = f"; ... and {total - len(found.sample)} more" if total > len(found.sample) else ""
    noun = "record differs" if total == 1 else "records differ"
    return f"{total} {noun}: " + "; ".join(found.sample) + more, found.evidence()
