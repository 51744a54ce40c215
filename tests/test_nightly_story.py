"""The nightly drift run end to end, as the demo tells it (issue 14's acceptance).

Save the baseline on the healthy sandbox; three months later (the drifted sandbox, read-only) the run names each
seeded drift with its owner, and `gtmcheck notify` sends one digest per owner to a real local receiver; the next
night, with the same failures, sends nothing new; the night after they clear sends "resolved".
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_receiver import Receiver, running_receiver
from test_baseline import make_project

MOPS, REVOPS = "mops@acme.example", "revops@acme.example"
SEEDED_DRIFTS = {  # (checklist, JSON pointer) -> the checklist's owner, who must hear of it
    ("checks/crm.gtm.yml", "/properties/contacts.lead_source_detail/options"): REVOPS,
    ("checks/reconcile.gtm.yml", "/totals/closed-won/2026-07/CRM"): REVOPS,
    ("checks/reconcile.gtm.yml", "/totals/closed-won/2026-10/CRM"): REVOPS,
    ("checks/webhooks.gtm.yml", "/events/account.updated/versions_seen"): REVOPS,
    ("checks/attribution.gtm.yml", "/credit_share/Paid Video"): REVOPS,
    ("checks/routing.gtm.yml", "/outcomes/enterprise-emea"): MOPS,
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def project(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(repo, tmp_path_factory.mktemp("nightly") / "project")


def gtmcheck(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=project, capture_output=True,
                            text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def night(project: Path, env: str, name: str) -> dict[str, Any]:
    """One nightly run: read-only, rechecking what fails, kept in the project's history."""
    run = gtmcheck(project, "run", "--env", env, "--read-only", "--recheck", "--report-dir", name, "-q")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    report: dict[str, Any] = json.loads((project / name / "report.json").read_text())
    return report


def notify(project: Path, name: str, receiver: Receiver) -> list[dict[str, Any]]:
    receiver.clear()
    sent = gtmcheck(project, "notify", "--report", name, "--to", f"webhook:{receiver.url}/hook/s3cret",
                    "--report-url", "https://ci.acme.example/runs/1")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "s3cret" not in sent.stdout + sent.stderr
    bodies: list[dict[str, Any]] = receiver.bodies("/hook")
    return bodies


def test_save_on_healthy_drift_three_months_later_alert_once_then_resolve(project: Path,
                                                                          receiver: Receiver) -> None:
    saved = gtmcheck(project, "baseline", "save", "--env", "sandbox")
    assert saved.returncode == 0, saved.stdout + saved.stderr

    # night 1: the drifted stack, read-only; every seeded drift is named with its owner
    report = night(project, "sandbox-drifted", "night1")
    drifts = {(c["file"], d["path"]): d for c in report["checklists"] for i in c["items"]
              if i["id"] == "BASELINE-DRIFT" for d in (i.get("details") or {}).get("drifts", [])}
    for key, owner in SEEDED_DRIFTS.items():
        assert key in drifts, f"{key} not named; drifts: {sorted(drifts)}"
        assert drifts[key]["owner"] == owner and drifts[key]["since"] and drifts[key]["message"]
    assert "webinars" in json.dumps(drifts[("checks/crm.gtm.yml", "/properties/contacts.lead_source_detail/options")])
    # nothing was written to the CRM: the checks that create records are not run, and say so
    not_run = [i for c in report["checklists"] for i in c["items"]
               if i["status"] == "not_configured" and "read-only environment" in i.get("message", "")]
    assert not_run

    first = notify(project, "night1", receiver)
    by_owner = {b["owner"]: b for b in first}
    assert len(first) == len(by_owner), "one digest per owner"
    assert {MOPS, REVOPS} <= set(by_owner)
    for (checklist, path), owner in SEEDED_DRIFTS.items():
        assert any(f["checklist"] == checklist and f["item"] == path for f in by_owner[owner]["new"]), (checklist, path)
    assert all(b["report_url"] == "https://ci.acme.example/runs/1" for b in first)

    assert all(d["since"] == "new tonight, since the baseline of 2026-11-27" for d in drifts.values())

    # night 2: the same failures: nothing new is sent, and each drift says since when it has been seen
    second = night(project, "sandbox-drifted", "night2")
    assert notify(project, "night2", receiver) == []
    since = {d["since"] for c in second["checklists"] for i in c["items"] if i["id"] == "BASELINE-DRIFT"
             for d in (i.get("details") or {}).get("drifts", [])}
    assert len(since) == 1 and since.pop().startswith("seen every night since 20")

    # night 3: the stack is healthy again: each owner hears "resolved", and nothing new
    healthy = night(project, "sandbox", "night3")
    failed = [(c["file"], i["id"], i["message"]) for c in healthy["checklists"] for i in c["items"]
              if i["status"] == "failed"]
    assert healthy["summary"]["failed"] == 0, failed
    third = {b["owner"]: b for b in notify(project, "night3", receiver)}
    assert set(third) == set(by_owner)
    for owner, body in third.items():
        assert body["new"] == [] and len(body["resolved"]) == len(by_owner[owner]["new"])

    # and the history kept the three nights
    history = gtmcheck(project, "history", "--env", "sandbox-drifted", "--format", "json")
    assert history.returncode == 0, history.stderr
