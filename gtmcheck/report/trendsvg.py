"""The history in report.html: a strip of an item's last runs and a sparkline per reconciled total.

Inline SVG styled by classes in the page's own CSS (the page's Content-Security-Policy allows no inline
style), so it prints, works offline and needs no script. The report draws the ``Trends`` it is given; it
never opens the history store.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from ..visible import visible

if TYPE_CHECKING:
    from ..history.trends import MetricTrend, Trends

TREND_CSS = """
.hist { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; margin-top: 4px; color: var(--muted);
  font-size: 12px; }
.hist svg { display: inline-block; vertical-align: middle; }
.runs-strip rect { fill: #d0d5dd; }
.runs-strip rect.h-passed, .runs-strip rect.h-attested { fill: var(--ok); }
.runs-strip rect.h-failed, .runs-strip rect.h-error { fill: var(--bad); }
.runs-strip rect.h-not_configured { fill: #f79009; }
.sparkline polyline { fill: none; stroke: var(--info); stroke-width: 1.5; }
.sparkline rect.band { fill: var(--info-bg); }
.sparkline circle { fill: var(--info); }
.sparkline circle.v-anomalous { fill: var(--bad); }
.trend-verdict.v-anomalous { color: var(--bad); font-weight: 650; }
"""
_W, _H, _GAP = 5, 14, 1  # one run's mark in the strip
_SPARK_W, _SPARK_H = 120, 28


def _e(value: object) -> str:
    return escape(visible(str(value)), quote=True)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def runs_strip(statuses: Sequence[str | None], run_labels: Sequence[str]) -> str:
    """One mark per run, oldest left; a run without the item is grey."""
    marks = []
    for i, status in enumerate(statuses):
        label = f"{run_labels[i] if i < len(run_labels) else ''}: {status or 'not in this run'}"
        css = f' class="h-{_e(status)}"' if status else ""
        marks.append(f'<rect x="{i * (_W + _GAP)}" y="0" width="{_W}" height="{_H}"{css}><title>{_e(label)}</title>'
                     "</rect>")
    width = max(1, len(statuses) * (_W + _GAP) - _GAP)
    failing = sum(s in ("failed", "error") for s in statuses)
    aria = f"last {len(statuses)} runs: {failing} failed or errored"
    return (f'<svg class="runs-strip" width="{width}" height="{_H}" viewBox="0 0 {width} {_H}" role="img" '
            f'aria-label="{_e(aria)}">{"".join(marks)}</svg>')


def sparkline(trend: MetricTrend) -> str:
    """The metric's values as a line, its normal band shaded, the newest value a dot (red when anomalous)."""
    values = [v for _, v in trend.points]
    band = trend.verdict.band
    low, high = min(values), max(values)
    if band is not None:
        low, high = min(low, band[0]), max(high, band[1])
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return round(_SPARK_H - 2 - (v - low) / span * (_SPARK_H - 4), 2)

    step = (_SPARK_W - 4) / max(1, len(values) - 1)
    points = " ".join(f"{round(2 + i * step, 2)},{y(v)}" for i, v in enumerate(values))
    parts = [f'<svg class="sparkline" width="{_SPARK_W}" height="{_SPARK_H}" viewBox="0 0 {_SPARK_W} {_SPARK_H}" '
             f'role="img" aria-label="{_e(trend.metric)}: {_e(", ".join(_number(v) for v in values))}">']
    if band is not None:
        top, bottom = y(band[1]), y(band[0])
        parts.append(f'<rect class="band" x="0" y="{top}" width="{_SPARK_W}" height="{round(bottom - top, 2)}"/>')
    parts.append(f'<polyline points="{points}"/>')
    last_x = round(2 + (len(values) - 1) * step, 2)
    parts.append(f'<circle class="v-{_e(trend.verdict.status)}" cx="{last_x}" cy="{y(values[-1])}" r="2.5"/></svg>')
    return "".join(parts)


def verdict_text(trend: MetricTrend) -> str:
    v = trend.verdict
    if v.status == "not_enough_history":
        return f"not enough history ({v.points} earlier values)"
    if v.status == "anomalous":
        z = f"z {v.z:+.1f}, " if v.z is not None else ""
        band = f"normal {_number(v.band[0])}…{_number(v.band[1])}" if v.band else ""
        return f"anomalous ({z}{band})"
    return "normal"


def item_history(trends: Trends | None, checklist: object, item_id: object) -> str:
    """The history line under a check: its strip, then each reconciled total's sparkline and verdict."""
    if trends is None:
        return ""
    statuses = trends.strip(str(checklist), str(item_id))
    if not statuses:
        return ""
    labels = [started.strftime("%Y-%m-%d %H:%M") for _, started in trends.runs]
    parts = [f'<span>last {len(statuses)} runs {runs_strip(statuses, labels)}</span>']
    for trend in trends.item_metrics(str(checklist), str(item_id)):
        name = trend.metric + (f" [{trend.group}]" if trend.group else "")
        parts.append(f'<span class="trend">{_e(name)} {_e(_number(trend.points[-1][1]))} {sparkline(trend)} '
                     f'<span class="trend-verdict v-{_e(trend.verdict.status)}">{_e(verdict_text(trend))}</span>'
                     "</span>")
    return f'<div class="hist">{"".join(parts)}</div>'
