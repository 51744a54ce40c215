"""The pytest plugin end to end, through pytester: collection, markers, failures, JUnit, reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

PROJECT = """\
version: 1
environments:
  local: {crm: {type: sandbox}, web: {type: live}}
  prod: {crm: {type: hubspot, token: "${GTM_TEST_TOKEN}"}}
default_environment: local
"""

CRM = """\
kind: crm
name: CRM build-out
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}
manual:
  - id: CRM-HANDOFF-SLA
    evidence: https://wiki.acme.example/sla
    attested_by: lee@acme.example
"""

ALL_ATTESTED = """\
kind: reconcile
name: Totals
owner: revops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}
manual:
  - {id: RECONCILE-TOTALS, evidence: "https://bi.acme.example/q/1", attested_by: lee@acme.example}
  - {id: RECONCILE-HANDOFFS, evidence: "https://bi.acme.example/q/2", attested_by: lee@acme.example}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    checks = pytester.mkdir("checks")
    (checks / "crm.gtm.yml").write_text(CRM)
    (checks / "totals.gtm.yml").write_text(ALL_ATTESTED)
    (checks / "notes.yml").write_text("kind: crm\n")  # ordinary YAML is never collected
    return pytester


def test_items_have_readable_ids_and_markers(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q", "checks")
    result.stdout.fnmatch_lines([
        "checks/crm.gtm.yml::CRM-FIELDS-MAPPED",
        "checks/crm.gtm.yml::CRM-HANDOFF-SLA",
        "checks/totals.gtm.yml::RECONCILE-TOTALS",
        "*8 tests collected*",
    ])
    assert "notes.yml" not in result.stdout.str()
    only = project.runpytest("--collect-only", "-q", "-m", "reconcile", "checks")
    only.stdout.fnmatch_lines(["*2/8 tests collected (6 deselected)*"])


def test_attested_passes_and_unconfigured_fails_with_a_fix(project: pytest.Pytester) -> None:
    result = project.runpytest("checks", "-v")
    result.assert_outcomes(passed=3, failed=5)
    out = result.stdout.str()
    assert "CRM-FIELDS-MAPPED: Custom fields mapped end-to-end and validated with test records" in out
    assert "not configured: this checklist neither verifies nor attests it" in out
    assert "at checks/crm.gtm.yml:1" in out
    assert "Traceback" not in out and "raise NotConfigured" not in out


def test_traceback_only_when_asked(project: pytest.Pytester) -> None:
    result = project.runpytest("checks/crm.gtm.yml", "--gtm-traceback")
    assert "raise NotConfigured" in result.stdout.str()


def test_location_points_at_the_yaml_line(project: pytest.Pytester) -> None:
    items, _ = project.inline_genitems("checks/crm.gtm.yml")
    by_name = {item.name: item for item in items}
    path, line, name = by_name["CRM-HANDOFF-SLA"].location
    assert path == "checks/crm.gtm.yml" and line + 1 == 7
    assert name == "CRM-HANDOFF-SLA"


def test_bad_checklist_is_a_collection_error_at_its_line(project: pytest.Pytester) -> None:
    (project.path / "checks" / "bad.gtm.yml").write_text(
        "kind: crm\nname: x\nowner: a@b.example\nbuilt_by: c@d.example\n"
        "signoff: {by: e@f.example, role: revops, on: 20261120}\n"
    )
    result = project.runpytest("checks")
    result.stdout.fnmatch_lines(
        ["checks/bad.gtm.yml:5:46: signoff.on must be a string, not a number. Fix: write the date as YYYY-MM-DD"]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_junit_properties(project: pytest.Pytester) -> None:
    project.runpytest("checks", "--junitxml=junit.xml", "-o", "junit_family=xunit1")
    root = ET.parse(project.path / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "CRM-HANDOFF-SLA")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["dod_item"] == "CRM-HANDOFF-SLA"
    assert props["owner"] == "mops@acme.example"
    assert props["gtm_status"] == "attested"


def test_report_json_has_the_documented_shape(project: pytest.Pytester) -> None:
    project.runpytest("checks", "--gtm-report-dir=out")
    report = json.loads((project.path / "out" / "report.json").read_text())
    summary = report["summary"]
    assert {"passed", "failed", "error", "attested", "not_configured", "completeness", "go_live"} <= set(summary)
    # CRM-SIGNOFF is checked, not left unconfigured: one revops signer, no marketing ops
    assert (summary["attested"], summary["not_configured"], summary["failed"]) == (3, 4, 1)
    assert summary["go_live"] is False
    by_file = {c["file"]: c for c in report["checklists"]}
    crm, totals = by_file["checks/crm.gtm.yml"], by_file["checks/totals.gtm.yml"]
    assert {"file", "kind", "name", "owner", "signoff", "items"} <= set(crm)
    assert {"id", "dod", "status", "message", "evidence"} <= set(crm["items"][0])
    (signoff,) = [i for i in crm["items"] if i["id"] == "CRM-SIGNOFF"]
    assert signoff["status"] == "failed"
    assert signoff["message"].startswith("no valid sign-off from marketing ops (gtm_engineer or head_of_marketing_ops)")
    assert totals["go_live"] is True and totals["completeness"] == 100.0
    assert crm["completeness"] == round(100 / 6, 1)
    assert summary["completeness"] == round(100 * 3 / 8, 1)
    for name in ("report.md", "report.html", "junit.xml"):
        assert (project.path / "out" / name).stat().st_size > 0


def test_partial_run_gives_no_go_live(project: pytest.Pytester) -> None:
    project.runpytest("checks", "-m", "reconcile", "--gtm-report-dir=out")
    summary = json.loads((project.path / "out" / "report.json").read_text())["summary"]
    assert summary["partial"] is True and summary["go_live"] is False


def test_unknown_env_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("checks", "--gtm-env", "staging")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown environment 'staging'; gtmcheck.yml defines: local, prod*"])


def test_missing_token_names_the_variable_not_a_value(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GTM_TEST_TOKEN", raising=False)
    result = project.runpytest("checks", "--gtm-env", "prod")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gtmcheck.yml:4:*environment variable GTM_TEST_TOKEN is not set*"])
