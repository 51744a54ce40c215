"""``gtmcheck history`` as text or JSON: per item its last runs as a strip, per reconciled total its trend."""

from __future__ import annotations

import json
from typing import Any

from .stats import ANOMALOUS, NOT_ENOUGH_HISTORY
from .trends import MetricTrend, Trends, strip_text


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def _streak(statuses: list[str | None]) -> str:
    """``failed 2 runs in a row`` for the newest status, when the item ran last time."""
    present = [s for s in statuses if s is not None]
    if not present or statuses[-1] is None:
        return "not in the last run" if present else ""
    newest, count = present[-1], 0
    for status in reversed(present):
        if status != newest:
            break
        count += 1
    return f"{newest.replace('_', ' ')} {count} run{'s' if count != 1 else ''} in a row"


def verdict_line(trend: MetricTrend) -> str:
    v = trend.verdict
    if v.status == NOT_ENOUGH_HISTORY:
        return f"not enough history ({v.points} earlier values; 4 needed)"
    basis = "same weekday" if v.basis == "same_weekday" else "all days"
    band = f"band {_number(v.band[0])}..{_number(v.band[1])}" if v.band else ""
    z = f"z {v.z:+.2f}, " if v.z is not None else "MAD 0, floor decides, "
    median = _number(v.median) if v.median is not None else "?"
    return f"{v.status} ({z}median {median}, {band}; {v.points} earlier values, {basis})"


def render_text(trends: Trends, *, ascii_only: bool = False) -> str:
    """The strips and trends, oldest run left; a line per item, a line per reconciled total under it."""
    if not trends.runs:
        return f"No runs of environment {trends.environment!r} in the history yet."
    first, last = trends.runs[0][1], trends.runs[-1][1]
    legend = ". passed  F failed  E error  a attested  n not configured  - not in that run" if ascii_only else \
        "✓ passed/attested  ✗ failed  ! error  ○ not configured  · not in that run"
    lines = [f"History of environment {trends.environment!r}: last {len(trends.runs)} runs, "
             f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC (oldest left)", f"  {legend}", ""]
    by_checklist: dict[str, list[tuple[str, list[str | None]]]] = {}
    for (checklist, item_id), statuses in sorted(trends.statuses.items()):
        by_checklist.setdefault(checklist, []).append((item_id, statuses))
    if not by_checklist:
        lines.append("No item matches.")
    for checklist, items in by_checklist.items():
        lines.append(checklist)
        for item_id, statuses in items:
            lines.append(f"  {strip_text(statuses, ascii_only=ascii_only)}  {item_id}  {_streak(statuses)}".rstrip())
            for trend in trends.item_metrics(checklist, item_id):
                name = trend.metric + (f"[{trend.group}]" if trend.group else "")
                values = " ".join(_number(v) for _, v in trend.points[-10:])
                more = "... " if len(trend.points) > 10 else ""
                mark = "!! " if trend.verdict.status == ANOMALOUS else ""
                lines.append(f"      {name}: {more}{values}  {mark}{verdict_line(trend)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def render_json(trends: Trends) -> str:
    out: dict[str, Any] = {
        "environment": trends.environment,
        "runs": [{"run_id": run_id, "started_at": started.isoformat()} for run_id, started in trends.runs],
        "items": [{"checklist": c, "item": i, "owner": trends.owners.get((c, i), ""), "statuses": s,
                   "strip": strip_text(s, ascii_only=True)}
                  for (c, i), s in sorted(trends.statuses.items())],
        "metrics": [t.as_dict() for ts in trends.metrics.values() for t in ts],
    }
    return json.dumps(out, indent=2, ensure_ascii=False)
