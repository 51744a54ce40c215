"""The history end to end: `gtmcheck run` appends each run, `gtmcheck history` and report.html show it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gtmcheck.history.store import HistoryStore

REPO = Path(__file__).resolve().parent.parent
ITEM = "RECONCILE-TOTALS[closed-won]"


def make_project(folder: Path, history: str = "") -> Path:
    """A user's repository: the demo's reconcile checklist against the healthy and the drifted sandbox."""
    (folder / "checks").mkdir(parents=True)
    shutil.copy(REPO / "checks" / "reconcile.gtm.yml", folder / "checks")
    demo = REPO / "gtmcheck" / "demo"
    (folder / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n"
        f"  sandbox:\n    crm: {{type: sandbox, scenario: {demo / 'healthy.yml'}}}\n"
        f"  sandbox-drifted:\n    crm: {{type: sandbox, scenario: {demo / 'drifted.yml'}}}\n"
        f"default_environment: sandbox\n{history}")
    return folder


def gtmcheck(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=folder, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def run(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = gtmcheck(folder, "run", "-q", "--report-dir", "out", *args)
    return result, json.loads((folder / "out" / "report.json").read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Two healthy nights and one drifted one."""
    folder = make_project(tmp_path_factory.mktemp("history"))
    reports = []
    for env in ("sandbox", "sandbox", "sandbox-drifted"):
        result, report = run(folder, "--env", env)
        assert result.returncode == (0 if env == "sandbox" else 1), result.stdout + result.stderr
        reports.append(report)
        if env == "sandbox":
            shutil.copy(folder / "out" / "report.html", folder / "sandbox.html")
    return folder, reports


def test_each_run_appends_its_rows(project: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, reports = project
    store = HistoryStore.for_file(folder / ".gtmcheck" / "history.duckdb")
    try:
        runs = store.runs("sandbox")
        assert [run_id for run_id, _ in runs] == [r["summary"]["run_id"] for r in reports[:2]]
        rows = store.item_rows("sandbox", [run_id for run_id, _ in runs])
        assert len(rows) == 4  # two checks, two runs
        assert {(r.run_id, r.checklist, r.item_id) for r in rows} == {
            (run_id, "checks/reconcile.gtm.yml", item)
            for run_id, _ in runs for item in (ITEM, "RECONCILE-HANDOFFS[lead-to-sales]")}
        assert {r.status for r in rows} == {"passed"} and {r.owner for r in rows} == {"revops@acme.example"}
        assert len({r.fingerprint for r in rows if r.item_id == ITEM}) == 1  # the same outcome both nights
        received = [m.value for m in store.metric_rows("sandbox", "checks/reconcile.gtm.yml", ITEM)
                    if m.metric == "received" and m.group == ""]
        assert received == [428000.0, 428000.0]
        drifted = store.item_rows("sandbox-drifted", [r for r, _ in store.runs("sandbox-drifted")])
        assert {r.status for r in drifted} == {"failed"}
        assert store.consecutive("sandbox-drifted", "checks/reconcile.gtm.yml", ITEM, "failed") == 1
    finally:
        store.close()


def test_history_command_prints_the_strip_and_the_trend(project: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, _ = project
    result = gtmcheck(folder, "history")
    assert result.returncode == 0, result.stderr
    assert "History of environment 'sandbox': last 2 runs" in result.stdout
    assert re.search(r"^  ✓✓  RECONCILE-TOTALS\[closed-won\]  passed 2 runs in a row$", result.stdout, re.M)
    assert re.search(r"^      received: 428000 428000  not enough history", result.stdout, re.M)
    drifted = gtmcheck(folder, "history", "--env", "sandbox-drifted", "--ascii", "--item", "RECONCILE-TOTALS")
    assert re.search(r"^  F  RECONCILE-TOTALS\[closed-won\]  failed 1 run in a row$", drifted.stdout, re.M)
    assert "HANDOFFS" not in drifted.stdout  # --item left it out
    assert "received: 391000" in drifted.stdout
    data = json.loads(gtmcheck(folder, "history", "--format", "json", "--last", "1").stdout)
    assert len(data["runs"]) == 1
    item = next(i for i in data["items"] if i["item"] == ITEM)
    assert item["statuses"] == ["passed"] and item["strip"] == "."
    assert {(m["metric"], m["verdict"]["status"]) for m in data["metrics"] if m["item"] == ITEM} >= {
        ("received", "not_enough_history"), ("expected", "not_enough_history")}


def test_history_command_refuses_bad_input(project: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, _ = project
    bad = gtmcheck(folder, "history", "--last", "0")
    assert bad.returncode == 2 and "--last 0: must be 1 or more" in bad.stderr
    unknown = gtmcheck(folder, "history", "--env", "nowhere")
    assert unknown.returncode == 2 and "unknown environment 'nowhere'" in unknown.stderr


def test_report_html_shows_the_last_runs_and_the_trend(project: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, _ = project
    html = (folder / "sandbox.html").read_text()  # the second healthy night's report
    strips = re.findall(r'<svg class="runs-strip"[^>]*>(.*?)</svg>', html)
    assert len(strips) == 2  # one per check
    assert all(strip.count('<rect') == 2 and strip.count('class="h-passed"') == 2 for strip in strips)
    assert html.count('<svg class="sparkline"') == 7  # expected, received, diff; fired, received, missing, late
    assert "not enough history" in html
    assert "<script" not in html and 'src="' not in html  # inline SVG: nothing loaded from anywhere


def test_no_history_flag_and_history_false(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "flag")
    result, _ = run(folder, "--no-history")
    assert result.returncode == 0
    assert not (folder / ".gtmcheck").exists()
    off = make_project(tmp_path / "off", history="history: false\n")
    result, _ = run(off)
    assert result.returncode == 0 and not (off / ".gtmcheck").exists()
    assert "gtmcheck history" not in result.stdout + result.stderr
    refused = gtmcheck(off, "history")
    assert refused.returncode == 2 and "turned off in gtmcheck.yml (history: false)" in refused.stderr
    dry = gtmcheck(folder, "run", "--no-history", "--dry-run")
    assert "--gtm-no-history" in dry.stdout  # plain pytest's option, which the run above went through
    empty = gtmcheck(folder, "history")
    assert empty.returncode == 0 and "No history yet" in empty.stdout


def test_a_broken_history_file_is_a_warning_and_the_result_stands(tmp_path: Path) -> None:
    folder = make_project(tmp_path, history="history: {path: state/history.duckdb}\n")
    (folder / "state").mkdir()
    (folder / "state" / "history.duckdb").write_bytes(b"this is not a database\n" * 100)
    result, report = run(folder)
    assert result.returncode == 0
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if "gtmcheck history" in line]
    assert len(warnings) == 1 and "warning: this run was not appended" in warnings[0]
    assert "the run's result is unchanged" in warnings[0]
    assert report["summary"]["go_live"] is True and report["summary"]["passed"] == 2
    assert (folder / "out" / "report.html").is_file()
    broken = gtmcheck(folder, "history")
    assert broken.returncode == 2 and "history.duckdb" in broken.stderr and "Fix:" in broken.stderr


def test_a_bad_history_section_is_refused_at_its_line(tmp_path: Path) -> None:
    folder = make_project(tmp_path, history="history: {store: cloud}\n")
    result = gtmcheck(folder, "history")
    assert result.returncode == 2
    assert re.search(r"^gtmcheck: error: gtmcheck\.yml:8:\d+: .*store.*cloud", result.stderr), result.stderr
    assert "Fix:" in result.stderr


def test_under_xdist_only_the_controller_appends(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    folder = make_project(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider", "-q", "-n", "2",
                             "--gtm-report-dir", "out"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = json.loads((folder / "out" / "report.json").read_text())["summary"]["run_id"]
    store = HistoryStore.for_file(folder / ".gtmcheck" / "history.duckdb")
    try:
        assert [r for r, _ in store.runs("sandbox")] == [run_id]  # one run, once: the workers wrote nothing
        assert len(store.item_rows("sandbox", [run_id])) == 2
    finally:
        store.close()
