"""report.html draws the history it is given: a strip per check, a sparkline and verdict per total."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_report_render import ready_report

from gtmcheck.history.rows import ItemRow, MetricRow, RunRecord
from gtmcheck.history.store import HistoryStore
from gtmcheck.history.trends import Trends, build_trends
from gtmcheck.report.html import render_html

FILE, ITEM = "checks/reconcile.gtm.yml", "RECONCILE-TOTALS[arr]"


def trends(tmp_path: Path, received: list[float], statuses: list[str]) -> Trends:
    store = HistoryStore.for_file(tmp_path / "h.duckdb")
    start = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    try:
        for night, (value, status) in enumerate(zip(received, statuses, strict=True)):
            at = start + timedelta(days=night)
            run_id = f"gtm-{at:%Y%m%dT%H%M%S}-abcdef"
            record = RunRecord(run_id, "production", at, at)
            record.items.append(ItemRow(run_id, "production", at, at, FILE, "reconcile", "revops@acme.example",
                                        ITEM, "RECONCILE-TOTALS", status, "f", ""))
            record.metrics.append(MetricRow(run_id, "production", at, FILE, ITEM, "received", "", value))
            store.append(record)
        return build_trends(store, "production")
    finally:
        store.close()


def test_each_check_shows_its_runs_and_each_total_its_trend(tmp_path: Path) -> None:
    html = render_html(ready_report(), trends(tmp_path, [428000] * 6 + [391000], ["passed"] * 6 + ["failed"]))
    strip = re.search(r'<svg class="runs-strip"[^>]*aria-label="last 7 runs: 1 failed or errored">(.*?)</svg>', html)
    assert strip is not None
    assert strip.group(1).count('class="h-passed"') == 6 and strip.group(1).count('class="h-failed"') == 1
    assert "2026-11-07 02:00: failed" in strip.group(1)  # each mark says which run and what
    spark = re.search(r'<svg class="sparkline"[^>]*aria-label="received: 428000, (?:428000, ){5}391000">', html)
    assert spark is not None
    assert '<circle class="v-anomalous"' in html and "anomalous (normal 423720…432280)" in html
    # the check with no history (RECONCILE-HANDOFFS) shows none; the page still loads nothing
    assert html.count('class="runs-strip"') == 1
    assert "<script" not in html and 'src="' not in html


def test_without_history_the_page_is_as_before() -> None:
    assert render_html(ready_report(), None) == render_html(ready_report())
    assert '<svg class="runs-strip"' not in render_html(ready_report())


def test_few_runs_say_not_enough_history(tmp_path: Path) -> None:
    html = render_html(ready_report(), trends(tmp_path, [428000, 428000], ["passed", "passed"]))
    assert "not enough history (1 earlier values)" in html
    assert '<circle class="v-not_enough_history"' in html
