"""Every view tells the same truth (issue 9): the terminal, report.json, report.md and report.html.

A check configured by a ``url_files:`` CSV row is placed at that row everywhere; the environment is in every
headline; evidence URLs are links (http(s) only); the terminal's words and closing count are report.json's;
a run narrowed with -k/-m shows what it left out as "not selected", never as 0% done.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hostile import parse_html
from test_plugin import ALL_ATTESTED, CRM
from test_report_hostile import github

from gtmcheck import terminal
from gtmcheck.report.html import render_html
from gtmcheck.report.markdown import render_markdown

PROJECT = """\
version: 1
environments:
  local: {crm: {type: sandbox}, web: {type: live, timeout: 2}}
default_environment: local
"""

# Its one campaign URL comes from row 2 of urls.csv and cannot be reached (nothing listens on port 9).
UTM = """\
kind: utm
name: UTM
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
url_files:
  - {path: urls.csv, id_column: campaign_id, url_column: url}
resolve: {require_https: false}
"""
CSV = """\
campaign_id,url
webinar-q4,http://127.0.0.1:9/webinar?utm_source=google&utm_medium=cpc&utm_campaign=fy26q4_na_webinar
"""

CLOSING = re.compile(r"^gtmcheck \(environment (\w+)\): (.*)$", re.MULTILINE)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    checks = pytester.mkdir("checks")
    (checks / "crm.gtm.yml").write_text(CRM)
    (checks / "totals.gtm.yml").write_text(ALL_ATTESTED)
    return pytester


def report_of(pytester: pytest.Pytester) -> tuple[dict[str, Any], str, str]:
    out = pytester.path / "out"
    return (json.loads((out / "report.json").read_text()), (out / "report.md").read_text(),
            (out / "report.html").read_text())


def closing_counts(stdout: str) -> tuple[str, dict[str, int]]:
    """The terminal's closing gtmcheck line: its environment and its counts by status."""
    match = CLOSING.search(stdout)
    assert match, stdout
    counts = {m.group(2).replace(" ", "_"): int(m.group(1))
              for m in re.finditer(r"(\d+) (passed|failed|error|attested|not configured|not selected)",
                                   match.group(2))}
    return match.group(1), counts


def test_a_failure_from_a_url_files_csv_names_the_csv_file_and_row_in_every_view(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    checks = pytester.mkdir("checks")
    (checks / "utm.gtm.yml").write_text(UTM)
    (checks / "urls.csv").write_text(CSV)
    result = pytester.runpytest("checks", "--gtm-report-dir=out", "-k", "URLS")
    assert "at checks/urls.csv:2" in result.stdout.str()  # the terminal, as before
    report, md, html = report_of(pytester)
    (item,) = report["checklists"][0]["items"]
    assert item["status"] == "failed" and item["location"].startswith("checks/urls.csv:2:")
    # report.md as GitHub shows it: the failing check is placed at the CSV row, not at the checklist's line 2
    shown = github(md)
    failure = next(line for line in shown.splitlines() if "webinar-q4" in line and "does not resolve" in line)
    assert "(checks/urls.csv:2)" in failure and "utm.gtm.yml:2" not in failure
    # report.html: the check's row names the file and the row
    row = html.split("UTM-URLS-RESOLVE[webinar-q4]", 1)[1].split("</tr>", 1)[0]
    assert '<td class="line">checks/urls.csv:2</td>' in row


def test_the_environment_is_in_the_headline_of_every_view(project: pytest.Pytester) -> None:
    result = project.runpytest("checks", "--gtm-report-dir=out")
    env, _ = closing_counts(result.stdout.str())
    assert env == "local"
    report, md, html = report_of(project)
    assert report["summary"]["environment"] == "local"
    headline = next(line for line in md.splitlines() if line.startswith("**Go-live"))
    assert headline.startswith("**Go-live: blocked** (environment `local`) — ")
    assert '<div class="headline">Go-live blocked — local</div>' in html
    assert "<title>GTM go-live: blocked — local</title>" in html
    # a ready verdict on a sandbox says so in its headline: it cannot be read as production's
    ready = {"summary": {"go_live": True, "completeness": 100.0, "environment": "sandbox"}, "checklists": []}
    assert '<div class="headline">Ready for go-live — sandbox</div>' in render_html(ready)
    assert "**Go-live: ready** (environment `sandbox`) — 100.0% of DoD items done" in render_markdown(ready)


def test_evidence_urls_are_links_and_nothing_else_is() -> None:
    evidence = "attested by lee: https://wiki.acme.example/sla?a=1&b=2, not javascript:alert(1) or data:text/html,x"
    report = {
        "summary": {"go_live": False, "environment": "sandbox"},
        "checklists": [{
            "file": "checks/crm.gtm.yml", "kind": "crm", "name": "CRM", "owner": "o", "signoff": None,
            "dod": [{"id": "CRM-HANDOFF-SLA", "text": "SLA", "status": "failed"}],
            "items": [{"id": "CRM-HANDOFF-SLA", "dod": "CRM-HANDOFF-SLA", "status": "failed", "message": "m",
                       "evidence": evidence, "line": 7}],
        }],
    }
    html_links = [attrs["href"] for tag, attrs in parse_html(render_html(report)).tags
                  if tag == "a" and not str(attrs["href"]).startswith("#")]
    assert html_links == ["https://wiki.acme.example/sla?a=1&b=2"]  # the trailing comma is not part of it
    md_links = [attrs["href"] for tag, attrs in parse_html(github(render_markdown(report))).tags if tag == "a"]
    assert md_links == ["https://wiki.acme.example/sla?a=1&b=2"]


def test_the_terminal_counts_what_report_json_counts(project: pytest.Pytester) -> None:
    result = project.runpytest("checks", "--gtm-report-dir=out", "-v")
    result.assert_outcomes(passed=3, failed=5)  # pytest's own outcomes (and exit code) stay
    out = result.stdout.str()
    # an attested item is not printed as PASSED, an unconfigured one not as FAILED; the one FAILED is the
    # checked CRM-SIGNOFF (a revops signer, no marketing ops)
    assert re.search(r"crm\.gtm\.yml::CRM-HANDOFF-SLA ATTESTED", out), out
    assert re.search(r"crm\.gtm\.yml::CRM-FIELDS-MAPPED NOT CONFIGURED", out), out
    assert re.search(r"crm\.gtm\.yml::CRM-SIGNOFF FAILED ", out), out
    assert " PASSED" not in out and out.count(" FAILED ") == 1
    _, counts = closing_counts(out)
    summary = report_of(project)[0]["summary"]
    assert counts == {k: summary[k] for k in ("passed", "failed", "error", "attested", "not_configured")}
    assert (counts["attested"], counts["not_configured"], counts["failed"]) == (3, 4, 1)
    # the closing line says why pytest's "3 passed, 5 failed" differs
    assert "pytest's own count shows attested as passed, not configured as failed" in out


def test_a_check_that_could_not_be_verified_is_shown_as_error() -> None:
    def report(status: str, outcome: str) -> pytest.TestReport:
        return pytest.TestReport("checks/x.gtm.yml::X", ("x", 1, "X"), {}, outcome,  # type: ignore[arg-type]
                                 None, "call", gtm={"status": status})

    assert terminal.pytest_report_teststatus(report("error", "failed")) == ("failed", "E", ("ERROR", {"red": True}))
    assert terminal.pytest_report_teststatus(report("attested", "passed"))[:2] == ("passed", "A")  # type: ignore[index]
    assert terminal.pytest_report_teststatus(report("failed", "failed")) is None  # pytest's FAILED is right
    assert terminal.pytest_report_teststatus(report("passed", "passed")) is None


def test_a_run_narrowed_with_m_reports_the_rest_as_not_selected(project: pytest.Pytester) -> None:
    result = project.runpytest("checks", "--gtm-report-dir=out", "-m", "reconcile")
    _, counts = closing_counts(result.stdout.str())
    report, md, html = report_of(project)
    summary = report["summary"]
    assert summary["partial"] is True and summary["go_live"] is False
    assert summary["not_selected"] == counts["not_selected"] == 6  # the crm checklist's six checks
    crm = next(c for c in report["checklists"] if c["kind"] == "crm")
    assert {d["status"] for d in crm["dod"]} == {"not_selected"}
    assert summary["completeness"] == 100.0  # of what ran; nothing left out counts as not done
    row = next(line for line in md.splitlines() if line.startswith("| CRM build-out |"))
    assert "| not selected |" in row and "0.0%" not in row
    assert "(partial run: 6 DoD items not selected)" in md
    overview = html.split('<table class="overview">', 1)[1].split("</table>", 1)[0]
    crm_row = overview.split("CRM build-out", 1)[1].split("</tr>", 1)[0]
    assert "Not selected" in crm_row and "0%" not in crm_row
    assert "6 DoD items not selected" in html
