"""The README's main job on the embedded sandbox, end to end, in subprocesses as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gtmcheck.report.schema import schema_problem


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def gtmcheck_run(repo: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run([sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", str(out), *extra], repo)
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert schema_problem(report) is None, schema_problem(report)  # every report written fits the published schema
    return result.returncode, report, result.stdout + result.stderr


def junit_outcomes(path: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status = "failed" if case.find("failure") is not None or case.find("error") is not None else "passed"
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = status
    return outcomes


@pytest.fixture(scope="module")
def sandbox_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("sandbox")
    code, report, output = gtmcheck_run(repo, out)
    return code, report, output, out


def test_main_job_passes_on_the_sandbox(sandbox_run: tuple[int, dict[str, Any], str, Path]) -> None:
    code, report, output, out = sandbox_run
    assert code == 0, output
    summary = report["summary"]
    assert summary["go_live"] is True, summary["blocking"]
    assert summary["completeness"] == 100.0
    assert summary["failed"] == summary["error"] == summary["not_configured"] == 0
    assert summary["environment"] == "sandbox"
    assert "Go-live: READY (sandbox) — 100.0% of DoD items done" in output  # the environment is in the verdict
    assert "UTM-URLS-RESOLVE[" in output  # progress: one line per check
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        assert (out / name).is_file()


def test_pytest_and_gtmcheck_run_reach_the_same_verdicts(
    repo: Path, sandbox_run: tuple[int, dict[str, Any], str, Path], tmp_path: Path
) -> None:
    _, _, _, out = sandbox_run
    result = run([sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider",
                  f"--junitxml={tmp_path / 'junit.xml'}", "-q"], repo)
    assert result.returncode == 0, result.stdout
    via_pytest = junit_outcomes(tmp_path / "junit.xml")
    via_run = junit_outcomes(out / "junit.xml")
    assert via_pytest == via_run
    assert len(via_pytest) > 10


def test_marker_selects_only_one_kind(repo: Path) -> None:
    result = run([sys.executable, "-m", "pytest", "checks", "-m", "utm", "--collect-only", "-q",
                  "-p", "no:cacheprovider"], repo)
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert ids and all(line.startswith("checks/utm.gtm.yml::UTM-") for line in ids)
    assert "deselected" in result.stdout  # the crm checklist's items were left out


def test_drifted_sandbox_fails_exactly_where_it_drifted(repo: Path, tmp_path: Path) -> None:
    """Broken landing pages, of the routing branches exactly the territory one, and the data it cost (the CRM's
    closed-won, the leads never handed to sales); no synthetic lead stays."""
    code, report, output = gtmcheck_run(repo, tmp_path, "--env", "sandbox-drifted")
    assert code == 1
    assert report["summary"]["go_live"] is False
    failed = [i for c in report["checklists"] for i in c["items"] if i["status"] == "failed"]
    assert {i["dod"] for i in failed} == {"UTM-URLS-RESOLVE", "ROUTING-RULES-EXPLICIT", "ROUTING-ALERTS",
                                          "WEBHOOK-SAMPLES-VALID",
                                          "WEBHOOK-VERSIONS-COMPATIBLE", "RECONCILE-TOTALS", "RECONCILE-HANDOFFS",
                                          "CRM-FIELDS-MAPPED", "CRM-LIFECYCLE-QA", "CRM-DEDUP-ACTIVE",
                                          "CRM-TEST-RECORDS-FLUSHED", "CRM-HANDOFF-SLA", "UTM-CRM-POPULATES",
                                          "UTM-CHANNEL-TRACE", "ATTR-MODEL-DOCUMENTED", "ATTR-CHANNELS-TRACKED",
                                          "ATTR-BASELINE", "ATTR-REVIEW-CADENCE",
                                          "BASELINE-DRIFT"}  # the attribution checklist's committed baseline
    attr = {i["id"]: i["message"] for i in failed if i["dod"].startswith("ATTR-")}
    assert attr["ATTR-CHANNELS-TRACKED"].startswith("Paid Video: no touches in the 90 days to 2027-02-26")
    assert "d005 sums to 2, not 1" in attr["ATTR-MODEL-DOCUMENTED[invariants]"]  # the double-counted conversion
    assert "the review has lapsed" in attr["ATTR-REVIEW-CADENCE"]
    drift = [i for c in report["checklists"] for i in c["items"] if i["dod"] == "BASELINE-DRIFT"]
    assert [(i["status"], "Paid Video" in i["message"]) for i in drift] == [("failed", True)]
    crm = {i["id"]: i["message"] for i in failed if i["dod"].startswith("CRM-")}
    assert set(crm) == {"CRM-FIELDS-MAPPED[properties.contacts]", "CRM-FIELDS-MAPPED[utm_campaign]",
                        "CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]", "CRM-LIFECYCLE-QA[audit]",
                        "CRM-DEDUP-ACTIVE[companies by domain]", "CRM-TEST-RECORDS-FLUSHED", "CRM-HANDOFF-SLA[sales]"}
    # each for its own seeded fault
    assert "has no option 'webinar' (it has 'webinars': renamed?)" in crm["CRM-FIELDS-MAPPED[properties.contacts]"]
    assert "utm_campaign is empty in the CRM" in crm["CRM-FIELDS-MAPPED[utm_campaign]"]
    assert "hs_lead_score = 50 (hs_lead_score gte 50) and still has lifecyclestage 'lead'" in \
        crm["CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]"]
    assert "lead -> customer x2 (skips marketingqualifiedlead" in crm["CRM-LIFECYCLE-QA[audit]"]
    assert "the companies by domain duplicate rule is not active" in crm["CRM-DEDUP-ACTIVE[companies by domain]"]
    assert crm["CRM-TEST-RECORDS-FLUSHED"].startswith("2 test records left in the CRM")
    assert "12 leads missing" in crm["CRM-HANDOFF-SLA[sales]"]
    assert any("dropped" in i["message"] for i in failed if i["dod"] == "UTM-URLS-RESOLVE")
    traced = [i for i in failed if i["dod"] in ("UTM-CRM-POPULATES", "UTM-CHANNEL-TRACE")]
    assert len(traced) == 7 and all("utm_campaign is empty in the CRM" in i["message"] for i in traced)
    # the real leads of the last day: the 6 ES/IT enterprise ones wait in the queue (the audit names them)
    alerts = {i["id"]: i["message"] for i in failed if i["dod"] == "ROUTING-ALERTS"}
    assert set(alerts) == {"ROUTING-ALERTS", "ROUTING-ALERTS[audit]"}
    assert alerts["ROUTING-ALERTS[audit]"].startswith("6 of 20 real contacts created in the last 24h misrouted: ")
    routing = [i for i in failed if i["dod"] == "ROUTING-RULES-EXPLICIT"]
    assert [i["id"] for i in routing] == ["ROUTING-RULES-EXPLICIT[enterprise-emea]"]
    message = routing[0]["message"]
    assert "expected anna@acme.example (rule enterprise-emea), received inbound-queue@acme.example (fallback) " \
           "after 0.5 s; lead {country: ES, employees: 1500}" in message
    assert "{country: IT, employees: 1500}" in message
    cleanup = report["summary"]["cleanup"]
    assert cleanup["clean"] is True and cleanup["remaining"] == 0 and cleanup["archived"] > 50
    assert "Go-live: BLOCKED (sandbox-drifted) — " in output


def test_a_known_token_appears_in_no_output_or_report(repo: Path, tmp_path: Path) -> None:
    """Every CLI command, with the token in the CRM config, a warehouse password and a checklist name."""
    token = "pat-na1-11111111-2222-3333-4444-555555555555"
    scenario = repo / "gtmcheck" / "demo" / "healthy.yml"
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  prod:\n"
        f"    crm: {{type: sandbox, scenario: \"{scenario}\", token: \"${{GTM_E2E_TOKEN}}\"}}\n"
        "    warehouse: {url: \"postgresql://gtm:${GTM_E2E_TOKEN}@db.acme.example/wh\"}\n"
        "    writes: true\n"
    )
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "t.gtm.yml").write_text(
        "kind: reconcile\nname: Totals ${GTM_E2E_TOKEN}\nowner: a@acme.example\nbuilt_by: b@acme.example\n"
    )
    commands = [
        ["run", "--report-dir", "out"], ["run", "--env", "prod", "--report-dir", "out2", "--require-go-live"],
        ["lint"], ["lint", "--format", "json"], ["lint", "--format", "sarif"], ["lint", "--format", "github"],
        ["schema"], ["schema", "--project"], ["rules"], ["report", "out/report.json"],
        ["report", "out/report.json", "--format", "html"], ["cleanup", "--dry-run"], ["cleanup"],
        ["run", "--env", "nope"], ["--help"],
    ]
    outputs = {}
    for args in commands:
        result = run([sys.executable, "-m", "gtmcheck.cli", *args], tmp_path, GTM_E2E_TOKEN=token)
        outputs[" ".join(args)] = result.stdout + result.stderr
        assert "Traceback" not in outputs[" ".join(args)], args
    assert '"name": "Totals ***"' in (tmp_path / "out" / "report.json").read_text()
    assert "Archived 0 synthetic record(s)" in outputs["cleanup"]
    for args, text in outputs.items():
        assert token not in text, args
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "gtmcheck.yml" and p.suffix != ".yml"]
    assert len(files) >= 8
    assert (tmp_path / ".gtmcheck" / "history.duckdb").is_file()  # the runs' history: binary, checked as bytes
    for path in files:
        assert token.encode() not in path.read_bytes(), path
