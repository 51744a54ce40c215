"""The history as people read it: each item's last runs as a strip, each metric's values and verdict.

Built from store rows for ``gtmcheck history`` and for report.html (which is given a ``Trends`` and never
opens the store itself).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .fingerprint import is_drift_row
from .rows import MetricRow
from .stats import Floor, Verdict, assess

if TYPE_CHECKING:
    from .store import HistoryStore

LAST_RUNS = 30
# one character per run: Unicode, and the ASCII fallback for terminals that cannot show it
MARKS = {"passed": ("✓", "."), "attested": ("✓", "a"), "failed": ("✗", "F"), "error": ("!", "E"),
         "not_configured": ("○", "n"), None: ("·", "-")}
ItemKey = tuple[str, str]  # (checklist file, item id)


def strip_text(statuses: Sequence[str | None], *, ascii_only: bool = False) -> str:
    """``✓✓✓✗✗`` (oldest left): one mark per run, ``·`` where the item was not in that run."""
    return "".join(MARKS.get(s, MARKS[None])[1 if ascii_only else 0] for s in statuses)


@dataclass(frozen=True)
class MetricTrend:
    """One metric of one item: its values over the last runs and the verdict on the newest."""

    checklist: str
    item_id: str
    metric: str
    group: str
    points: list[tuple[datetime, float]]  # oldest first, the last ``LAST_RUNS`` at most
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {"checklist": self.checklist, "item": self.item_id, "metric": self.metric, "group": self.group,
                "values": [{"started_at": t.isoformat(), "value": v} for t, v in self.points],
                "verdict": self.verdict.as_dict()}


@dataclass
class Trends:
    """An environment's last runs: per item the status in each, per metric the values and verdict."""

    environment: str
    runs: list[tuple[str, datetime]] = field(default_factory=list)  # oldest first
    statuses: dict[ItemKey, list[str | None]] = field(default_factory=dict)  # aligned with ``runs``
    owners: dict[ItemKey, str] = field(default_factory=dict)
    metrics: dict[ItemKey, list[MetricTrend]] = field(default_factory=dict)

    def strip(self, checklist: str, item_id: str) -> list[str | None]:
        return self.statuses.get((checklist, item_id), [])

    def item_metrics(self, checklist: str, item_id: str) -> list[MetricTrend]:
        return self.metrics.get((checklist, item_id), [])


def matches(pattern: str | None, item_id: str, dod: str) -> bool:
    """``--item``: the item's id, its DoD id, or a glob over the item id."""
    return pattern is None or pattern in (item_id, dod) or fnmatch.fnmatchcase(item_id, pattern)


def metric_trend(rows: Sequence[MetricRow], last: int, floor: Floor | None = None) -> MetricTrend:
    """The trend of one metric's rows (oldest first): the newest value judged against every earlier one."""
    newest = rows[-1]
    earlier = [(r.started_at.date(), r.value) for r in rows[:-1]]
    verdict = assess(newest.value, newest.started_at.date(), earlier, floor=floor)
    return MetricTrend(newest.checklist, newest.item_id, newest.metric, newest.group,
                       [(r.started_at, r.value) for r in rows[-last:]], verdict)


def build_trends(store: HistoryStore, environment: str, *, last: int = LAST_RUNS, item: str | None = None,
                 groups: bool = False) -> Trends:
    """The environment's trends over its last ``last`` runs; ``groups`` adds each group's metrics too."""
    trends = Trends(environment, store.runs(environment, last))
    position = {run_id: i for i, (run_id, _) in enumerate(trends.runs)}
    for row in store.item_rows(environment, list(position)):
        if is_drift_row(row.item_id) or not matches(item, row.item_id, row.dod):
            continue  # a drift's own row serves "since when"; its check's strip shows the nights
        key = (row.checklist, row.item_id)
        trends.statuses.setdefault(key, [None] * len(trends.runs))[position[row.run_id]] = row.status
        trends.owners[key] = row.owner
    series: dict[tuple[str, str, str, str], list[MetricRow]] = {}
    for metric in store.metric_rows(environment):
        if (metric.checklist, metric.item_id) in trends.statuses and (groups or metric.group == ""):
            series.setdefault((metric.checklist, metric.item_id, metric.metric, metric.group), []).append(metric)
    for (checklist, item_id, _, _), rows in series.items():
        if rows[-1].run_id in position:  # a metric the last runs still measure
            trends.metrics.setdefault((checklist, item_id), []).append(metric_trend(rows, last))
    return trends
