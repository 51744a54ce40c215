"""The history store on DuckDB and PostgreSQL: append (idempotent per run), retention, streaks, warehouse tables."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect
from warehouses import postgres_schema

from gtmcheck.history import record_of
from gtmcheck.history.recorder import append_run, open_store
from gtmcheck.history.store import HistoryStore
from gtmcheck.history.trends import build_trends
from gtmcheck.project import load_project

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(params=["duckdb", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield f"duckdb:///{(tmp_path / 'history.duckdb').as_posix()}"
    else:
        with postgres_schema() as url:
            yield url


def report(night: int, *, status: str = "passed", received: float = 428000, message: str = "",
           env: str = "production") -> dict[str, Any]:
    """A report.json as a nightly run writes it: one reconciled total, one routing check."""
    started = START + timedelta(days=night)
    return {
        "summary": {"run_id": f"gtm-{started:%Y%m%dT%H%M%S}-00000{night % 10}", "environment": env,
                    "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_s": 12.5},
        "checklists": [
            {"file": "checks/reconcile.gtm.yml", "kind": "reconcile", "owner": "revops@acme.example", "items": [
                {"id": "RECONCILE-TOTALS[closed-won]", "dod": "RECONCILE-TOTALS", "status": status,
                 "message": message, "details": {
                     "expected": {"side": "warehouse", "total": "428000"},
                     "received": {"side": "CRM", "total": str(received)}, "diff": str(received - 428000),
                     "groups": [{"key": "2026-10", "expected": "27000", "received": "8000", "diff": "-19000"}]}}]},
            {"file": "checks/routing.gtm.yml", "kind": "routing", "owner": "mops@acme.example", "items": [
                {"id": "ROUTING-FALLBACK", "dod": "ROUTING-FALLBACK", "status": "passed", "message": ""}]},
        ],
    }


def test_append_and_read_back(history_url: str) -> None:
    store = HistoryStore(history_url)
    try:
        assert store.runs("production") == []  # nothing yet, and no table needed to say so
        added = store.append(record_of(report(0)))
        assert added == 2 + 6  # two checks; expected, received and diff for the whole and the one group
        assert store.append(record_of(report(0))) == 8  # again: replaces, never doubles
        runs = store.runs("production")
        assert [r for r, _ in runs] == [report(0)["summary"]["run_id"]]
        assert runs[0][1] == START
        rows = store.item_rows("production", [runs[0][0]])
        assert {(r.checklist, r.item_id, r.status, r.owner) for r in rows} == {
            ("checks/reconcile.gtm.yml", "RECONCILE-TOTALS[closed-won]", "passed", "revops@acme.example"),
            ("checks/routing.gtm.yml", "ROUTING-FALLBACK", "passed", "mops@acme.example")}
        assert all(r.finished_at == START + timedelta(seconds=12.5) for r in rows)
        metrics = {(m.metric, m.group): m.value for m in store.metric_rows("production")}
        assert metrics == {("expected", ""): 428000, ("received", ""): 428000, ("diff", ""): 0,
                           ("expected", "2026-10"): 27000, ("received", "2026-10"): 8000,
                           ("diff", "2026-10"): -19000}
        assert store.environments() == ["production"]
    finally:
        store.close()


def test_retention_keeps_the_last_runs_per_environment(history_url: str) -> None:
    store = HistoryStore(history_url, keep_runs=3)
    try:
        for night in range(5):
            store.append(record_of(report(night)))
        store.append(record_of(report(0, env="staging")))
        kept = [run_id for run_id, _ in store.runs("production", last=10)]
        assert kept == [report(n)["summary"]["run_id"] for n in (2, 3, 4)]
        assert len(store.metric_rows("production")) == 3 * 6  # the old runs' metrics went with them
        assert len(store.runs("staging")) == 1  # another environment keeps its own
    finally:
        store.close()


def test_first_seen_and_consecutive(history_url: str) -> None:
    store = HistoryStore(history_url)
    failing = "expected 428000 closed-won (warehouse), received 391000 (CRM), diff -37000 (-8.6%); took 1.2 s"
    try:
        store.append(record_of(report(0, status="failed", received=391000, message=failing)))
        store.append(record_of(report(1, status="passed")))
        for night in (2, 3, 4):  # the same failure three nights running, its timing different each night
            store.append(record_of(report(night, status="failed", received=391000,
                                          message=failing.replace("1.2 s", f"{night}.7 s"))))
        rows = store.item_rows("production", [r for r, _ in store.runs("production")])
        newest = [r for r in rows if r.item_id == "RECONCILE-TOTALS[closed-won]"][-1]
        item = ("production", "checks/reconcile.gtm.yml", "RECONCILE-TOTALS[closed-won]")
        assert store.first_seen(*item, newest.fingerprint) == START + timedelta(days=2)  # not night 0: broken
        assert store.consecutive(*item, "failed") == 3
        assert store.consecutive(*item, "passed") == 0
        assert store.first_seen(*item, "0" * 16) is None
        assert store.consecutive("production", "checks/routing.gtm.yml", "ROUTING-FALLBACK", "passed") == 5
    finally:
        store.close()


def test_trends_judge_the_newest_total(history_url: str) -> None:
    store = HistoryStore(history_url)
    try:
        for night in range(6):
            store.append(record_of(report(night)))
        store.append(record_of(report(6, status="failed", received=391000)))
        trends = build_trends(store, "production", last=5)
        assert len(trends.runs) == 5
        assert trends.strip("checks/reconcile.gtm.yml", "RECONCILE-TOTALS[closed-won]") == \
            ["passed"] * 4 + ["failed"]
        by_name = {t.metric: t for t in trends.item_metrics("checks/reconcile.gtm.yml",
                                                            "RECONCILE-TOTALS[closed-won]")}
        assert set(by_name) == {"expected", "received", "diff"}  # the whole; groups only when asked
        assert by_name["received"].verdict.status == "anomalous"
        assert by_name["expected"].verdict.status == "normal"
        assert [v for _, v in by_name["received"].points] == [428000] * 4 + [391000]
    finally:
        store.close()


@pytest.mark.parametrize("dialect", ["duckdb", "postgresql"])
def test_warehouse_table_store_from_the_project_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     dialect: str) -> None:
    """``history: {store: warehouse, table: ...}`` keeps the runs in the environment's warehouse."""
    def run(url: str) -> None:
        monkeypatch.setenv("HISTORY_TEST_WAREHOUSE", url)
        (tmp_path / "gtmcheck.yml").write_text(
            "version: 1\nenvironments:\n  production:\n    crm: {type: sandbox}\n"
            "    warehouse: {url: \"${HISTORY_TEST_WAREHOUSE}\"}\n"
            "history: {store: warehouse, table: nightly_history}\n")
        project = load_project(tmp_path)
        trends = append_run(report(0), project)
        assert trends is not None and len(trends.runs) == 1
        append_run(report(1), project)
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"nightly_history", "nightly_history_metrics"} <= tables
        assert not (tmp_path / ".gtmcheck").exists()  # no file store beside it
        store = HistoryStore(url, "nightly_history")
        try:
            assert len(store.runs("production")) == 2
        finally:
            store.close()
        shown = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "history", "--ascii"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert "..  ROUTING-FALLBACK  passed 2 runs in a row" in shown.stdout

    if dialect == "duckdb":
        run(f"duckdb:///{(tmp_path / 'warehouse.duckdb').as_posix()}")
    else:
        with postgres_schema() as url:
            run(url)


def test_open_store_reads_what_runs_appended(tmp_path: Path) -> None:
    """What drift and alerting use: the project's history, to ask "since when" and "how many in a row"."""
    (tmp_path / "gtmcheck.yml").write_text("version: 1\nenvironments:\n  production:\n    crm: {type: sandbox}\n")
    project = load_project(tmp_path)
    store = open_store(project, "production")
    assert store is not None
    try:
        assert store.consecutive("production", "checks/routing.gtm.yml", "ROUTING-FALLBACK", "passed") == 0
        assert not (tmp_path / ".gtmcheck").exists()  # reading an empty history makes no file
    finally:
        store.close()
    append_run(report(0), project)
    append_run(report(1), project)
    store = open_store(project, "production")
    assert store is not None
    try:
        assert store.consecutive("production", "checks/routing.gtm.yml", "ROUTING-FALLBACK", "passed") == 2
    finally:
        store.close()
    (tmp_path / "off").mkdir()
    (tmp_path / "off" / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  production:\n    crm: {type: sandbox}\nhistory: false\n")
    assert open_store(load_project(tmp_path / "off"), "production") is None
    assert append_run(report(0), load_project(tmp_path / "off")) is None
