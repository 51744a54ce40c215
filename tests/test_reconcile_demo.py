"""The reconcile demo tells one story: the healthy stack agrees; the drifted one lost 37000 closed-won in the CRM
and the 12 ES/IT enterprise leads its routing leaves in the default queue never reached sales.

The first tests run the repository's handoff entry through ``handoff_checks`` against each environment's own
warehouse; the last two run ``gtmcheck run`` as a user does (they need the whole reconcile kind: the totals
checks and the CRM aggregate).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckFailed, Location
from gtmcheck.kinds.reconcile.handoffs import WAREHOUSE_CACHE, handoff_checks
from gtmcheck.project import load_project

DROPPED = ["L0007", "L0019", "L0023", "L0031", "L0042", "L0050", "L0058", "L0066", "L0077", "L0085", "L0096",
           "L0110"]
FIRED_VS_RECEIVED = "lead.created fired 120, sales.queue.received received 108; 12 leads missing: " + ", ".join(
    DROPPED)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def handoff_check(repo: Path, env_name: str) -> tuple[Any, RunContext]:
    checklist = yaml.safe_load((repo / "checks" / "reconcile.gtm.yml").read_text())
    (entry,) = checklist["handoffs"]
    (check,) = handoff_checks(entry, Location("checks/reconcile.gtm.yml", 1, 1))
    project = load_project(repo)
    ctx = RunContext(project=project, environment=project.environment(env_name))
    return check, ctx


def test_the_healthy_stack_hands_every_lead_to_sales(repo: Path, cache: Path) -> None:
    check, ctx = handoff_check(repo, "sandbox")
    evidence = check.run(ctx)
    assert evidence.summary.startswith("lead.created fired 120, sales.queue.received received 120; slowest: ")
    ctx.cache[WAREHOUSE_CACHE].close()


def test_the_drifted_stack_drops_the_es_it_enterprise_leads(repo: Path, cache: Path) -> None:
    check, ctx = handoff_check(repo, "sandbox-drifted")
    with pytest.raises(CheckFailed) as failed:
        check.run(ctx)
    assert failed.value.message.startswith(FIRED_VS_RECEIVED + ";")
    assert failed.value.evidence.details["missing_keys"] == DROPPED
    wh: Warehouse = ctx.cache[WAREHOUSE_CACHE]
    keys = ", ".join(f"'{k}'" for k in DROPPED)
    lost = wh.sample(f"SELECT DISTINCT country, employees >= 1000 AS enterprise FROM events "
                     f"WHERE lead_id IN ({keys})")
    assert {(r["country"], r["enterprise"]) for r in lost} == {("ES", True), ("IT", True)}
    wh.close()


# --- gtmcheck run, end to end (needs the whole reconcile kind) -------------------------------------------------


def gtmcheck_run(repo: Path, out: Path, env: str, cache: Path) -> tuple[int, dict[str, Any], str]:
    import os

    result = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "-k", "RECONCILE", "--report-dir", str(out)],
        cwd=repo, capture_output=True, text=True, timeout=300, env={**os.environ, "GTMCHECK_CACHE_DIR": str(cache)})
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.returncode, json.loads((out / "report.json").read_text()), output


def items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for c in report["checklists"] if c["kind"] == "reconcile" for i in c["items"]}


def test_gtmcheck_run_passes_reconcile_on_the_healthy_sandbox(repo: Path, tmp_path: Path, cache: Path) -> None:
    code, report, output = gtmcheck_run(repo, tmp_path / "out", "sandbox", cache)
    assert code == 0, output
    found = items(report)
    assert found["RECONCILE-TOTALS[closed-won]"]["status"] == "passed"
    assert found["RECONCILE-HANDOFFS[lead-to-sales]"]["status"] == "passed"


def test_gtmcheck_run_fails_reconcile_on_the_drifted_sandbox(repo: Path, tmp_path: Path, cache: Path) -> None:
    code, report, output = gtmcheck_run(repo, tmp_path / "out", "sandbox-drifted", cache)
    assert code == 1, output
    found = items(report)
    totals = found["RECONCILE-TOTALS[closed-won]"]
    assert totals["status"] == "failed"
    assert "expected 428000 closed-won (warehouse), received 391000 (CRM), diff -37000 (-8.6%)" in totals["message"]
    assert "2026-07" in totals["message"] and "2026-10" in totals["message"]  # the months that differ
    assert "d006" in totals["message"] and "d009" in totals["message"]  # and the deals
    records = totals["details"]["records"]  # the full list, in report.json's evidence details
    assert records["counts"]["missing_right"] + records["counts"]["differing"] == 2
    assert {d["key"] for d in records["differing"]} | set(records["missing_right"]) == {"d006", "d009"}
    handoffs = found["RECONCILE-HANDOFFS[lead-to-sales]"]
    assert handoffs["status"] == "failed"
    assert handoffs["message"].startswith(FIRED_VS_RECEIVED)
    assert FIRED_VS_RECEIVED in output  # what the terminal shows, too
