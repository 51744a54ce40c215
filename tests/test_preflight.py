"""The environment is checked once, before any check runs: one message per problem at its gtmcheck.yml line.

Through pytester (plain ``pytest checks/``) and the ``gtmcheck run`` command, as a user meets them: exit code 4,
``file:line:column: what. Fix: how``, nothing run, no report. And a check's progress line, printed by the plugin
outside output capture.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# imported here, not first inside pytester's in-process runs (which forget the modules they import): the rule
# registry would see the routing rules registered twice
import gtmcheck.connectors.hubspot  # noqa: F401
import gtmcheck.kinds.routing.checks  # noqa: F401
import gtmcheck.preflight  # noqa: F401
import gtmcheck.sandbox  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
HEALTHY = REPO / "gtmcheck" / "demo" / "healthy.yml"
ROUTING = """\
kind: routing
name: Inbound
owner: mops@acme.example
built_by: jane@acme.example
rules:
  - id: apac
    when: {country: {in: [JP]}}
    assign: {owner: ben@acme.example}
fallback: {queue: inbound-queue@acme.example}
sla: {assigned_within: 5m}
"""
UTM_OFFLINE = """\
kind: utm
name: Campaign URLs
owner: mops@acme.example
built_by: jane@acme.example
taxonomy:
  required: [utm_source]
  parameters:
    utm_source: {allowed: [google]}
"""


def project(pytester: pytest.Pytester, environments: str, default: str, **checklists: str) -> pytest.Pytester:
    pytester.makefile(".yml", gtmcheck=f"version: 1\nenvironments:\n{environments}default_environment: {default}\n")
    checks = pytester.mkdir("checks")
    for name, text in checklists.items():
        (checks / f"{name}.gtm.yml").write_text(text)
    return pytester


def assert_nothing_ran(result: pytest.RunResult, report_dir: Path) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str()
    assert "PASSED" not in out and "FAILED" not in out and " passed" not in out and " failed" not in out
    assert not (report_dir / "report.json").exists()  # no report claiming anything
    assert "Traceback" not in out + result.stderr.str()


def test_a_mistyped_scenario_is_one_message_at_its_line_and_nothing_runs(pytester: pytest.Pytester) -> None:
    typo = str(HEALTHY).replace("healthy.yml", "helthy.yml")
    project(pytester, f"  demo:\n    crm: {{type: sandbox, scenario: \"{typo}\"}}\n    writes: true\n", "demo",
            routing=ROUTING)
    result = pytester.runpytest("checks", "-v", "--gtm-report-dir", "out")
    assert_nothing_ran(result, pytester.path / "out")
    err = result.stderr.str()
    assert err.count("does not exist") == 1, err
    result.stderr.fnmatch_lines([
        f"ERROR: gtmcheck.yml:4:36: the sandbox scenario {typo} does not exist. Fix: fix the path (relative to "
        f"the folder of gtmcheck.yml); did you mean {HEALTHY}?",
    ])


def test_missing_token_variables_are_each_one_message_whatever_chose_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GTM_PF_TOKEN", raising=False)
    monkeypatch.setenv("GTM_PF_WAREHOUSE", "")
    project(pytester, "  prod:\n    crm: {type: hubspot, token: \"${GTM_PF_TOKEN}\"}\n"
            "    warehouse: {url: \"${GTM_PF_WAREHOUSE}\"}\n    writes: true\n", "prod", routing=ROUTING)
    result = pytester.runpytest("checks", "--gtm-report-dir", "out")  # the default environment: no --gtm-env
    assert_nothing_ran(result, pytester.path / "out")
    err = result.stderr.str()
    assert err.count("GTM_PF_TOKEN is not set") == 1 and err.count("GTM_PF_WAREHOUSE is set but empty") == 1, err
    result.stderr.fnmatch_lines([
        "ERROR: gtmcheck.yml:4:34: environment variable GTM_PF_TOKEN is not set. Fix: export GTM_PF_TOKEN=...*",
        "ERROR: gtmcheck.yml:5:23: environment variable GTM_PF_WAREHOUSE is set but empty. Fix: give *",
    ])


def test_an_environment_without_writes_is_read_only_and_says_so_at_each_check_that_writes(
    pytester: pytest.Pytester,
) -> None:
    """No stop before the run: each check that would create records is not run, with why, at its line."""
    project(pytester, f"  demo:\n    crm: {{type: sandbox, scenario: \"{HEALTHY}\"}}\n", "demo", routing=ROUTING)
    # no history: an in-process run must not be the first to import the history store's SQL dialects
    result = pytester.runpytest("checks", "-v", "-rs", "--gtm-report-dir", "out", "--gtm-no-history")
    out = result.stdout.str()
    assert "does not allow writes" not in out + result.stderr.str()
    result.stdout.fnmatch_lines([
        "*::ROUTING-RULES-EXPLICIT PASSED*",
        "*::ROUTING-RULES-EXPLICIT[[]apac[]] NOT CONFIGURED*",
        "*::ROUTING-FALLBACK-OWNER NOT CONFIGURED*",
        "NOT CONFIGURED [[]1[]] checks/routing.gtm.yml:6: read-only environment `demo`: this check creates synthetic "
        "records; the nightly run checks what it can read instead (the checks that write nothing)",
    ])
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    items = {i["id"]: i for c in report["checklists"] for i in c["items"]}
    assert items["ROUTING-FALLBACK-OWNER"]["status"] == "not_configured"
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the edge cases without a declared answer are not done


def test_not_writes_runs_what_an_environment_without_writes_can_check(pytester: pytest.Pytester) -> None:
    project(pytester, f"  demo:\n    crm: {{type: sandbox, scenario: \"{HEALTHY}\"}}\n", "demo", routing=ROUTING)
    result = pytester.runpytest("checks", "-v", "-m", "not writes")
    result.stdout.fnmatch_lines(["*::ROUTING-RULES-EXPLICIT PASSED*", "*::ROUTING-EDGE-CASES*unmatched_territory*"])
    assert "FALLBACK-OWNER" not in result.stdout.str()  # it creates a lead: deselected
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the edge cases without a declared answer are not done


def test_checks_that_need_nothing_run_in_an_environment_that_has_nothing(pytester: pytest.Pytester) -> None:
    """The offline rules check of a routing checklist and the UTM taxonomy need no CRM, no writes, no token."""
    project(pytester, "  bare: {web: {type: live}}\n", "bare", routing=ROUTING, utm=UTM_OFFLINE)
    result = pytester.runpytest("checks", "-v", "-k", "EXPLICIT and not apac or TAXONOMY")
    result.assert_outcomes(passed=2, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(["*routing.gtm.yml::ROUTING-RULES-EXPLICIT PASSED*",
                                 "*utm.gtm.yml::UTM-TAXONOMY-DOCUMENTED PASSED*"])


def test_a_crm_the_checks_need_but_the_environment_lacks(pytester: pytest.Pytester) -> None:
    project(pytester, "  bare:\n    web: {type: live}\n    writes: true\n", "bare", routing=ROUTING)
    result = pytester.runpytest("checks", "-k", "FALLBACK")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: gtmcheck.yml:3:3: environment 'bare' has no `crm:`, and 1 check in checks/routing.gtm.yml "
        "(ROUTING-FALLBACK-OWNER) needs one. Fix: add `crm: {type: hubspot, token: \"${HUBSPOT_TOKEN}\"}` *",
    ])


def test_collect_only_needs_no_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTM_PF_TOKEN", raising=False)
    project(pytester, "  prod: {crm: {type: hubspot, token: \"${GTM_PF_TOKEN}\"}}\n", "prod", routing=ROUTING)
    result = pytester.runpytest("checks", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK


def test_gtmcheck_run_without_writes_runs_read_only_and_replaces_the_stale_verdict(tmp_path: Path) -> None:
    (tmp_path / "gtmcheck.yml").write_text(
        f"version: 1\nenvironments:\n  demo:\n    crm: {{type: sandbox, scenario: \"{HEALTHY}\"}}\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "routing.gtm.yml").write_text(ROUTING)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"summary": {"go_live": True}}))  # an earlier run's
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", "out"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    # no writes: read-only, so the run goes ahead and writes a fresh report (the checks that write: not run)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not allow writes" not in result.stderr and "Traceback" not in result.stderr
    assert json.loads((out / "report.json").read_text())["summary"]["go_live"] is False
    assert "not run (read-only: they write) as skipped" in result.stdout


def test_a_checks_progress_line_is_shown_outside_capture_named_and_escaped(pytester: pytest.Pytester) -> None:
    project(pytester, "  bare: {web: {type: live}}\n", "bare", routing=ROUTING)
    pytester.makeconftest("""
import dataclasses
from gtmcheck.errors import Evidence

def pytest_collection_modifyitems(items):
    for item in [i for i in items if hasattr(i, "check")]:  # a check that says how its wait goes
        def run(ctx):
            ctx.progress("6 leads waiting for an owner, 12.0 s of the 5m SLA passed\\x1b[2J")
            return Evidence("ok")
        item.check = dataclasses.replace(item.check, run=run)
""")
    for verbosity in ("-v", "-q"):
        result = pytester.runpytest("checks", "-k", "EXPLICIT and not apac", verbosity)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([
            "gtmcheck: ROUTING-RULES-EXPLICIT: 6 leads waiting for an owner, 12.0 s of the 5m SLA passed\\x1b[2J",
        ])
        assert "\x1b[2J" not in result.stdout.str()
    silent = pytester.runpytest("checks", "-k", "EXPLICIT and not apac", "-qq")
    assert "leads waiting" not in silent.stdout.str()


def test_a_scenario_both_the_crm_and_the_web_need_is_said_once_and_a_bad_warehouse_url_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gtmcheck.preflight import check_environment
    from gtmcheck.project import load_project

    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  demo:\n    crm: {type: sandbox, scenario: fixtures/nope.yml}\n"
        "    warehouse: {url: \"not a url\"}\n    writes: true\n")
    monkeypatch.chdir(tmp_path)  # locations are shown relative to the working directory
    needs = {"crm": ["checks/r.gtm.yml::A"], "web": ["checks/u.gtm.yml::B"], "warehouse": ["checks/w.gtm.yml::C"],
             "writes": ["checks/r.gtm.yml::A"]}
    env, problems = check_environment(load_project(tmp_path), None, needs)
    assert env is not None and env.name == "demo"
    assert [p.format() for p in problems] == [
        "gtmcheck.yml:4:36: the sandbox scenario fixtures/nope.yml does not exist. Fix: fix the path (relative to "
        "the folder of gtmcheck.yml)",
        "gtmcheck.yml:5:22: the warehouse url is not a SQLAlchemy URL. Fix: write it as "
        "dialect+driver://user:password@host/database, such as postgresql+psycopg://gtm@db.acme.example/gtm or "
        "duckdb:///warehouse.duckdb",
    ]
    _, none_needed = check_environment(load_project(tmp_path), None, {})
    assert none_needed == []  # nothing is asked of what no check needs


def test_a_crm_block_the_connector_would_refuse_is_said_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gtmcheck.preflight import check_environment
    from gtmcheck.project import load_project

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GTM_PF_SF", "00D-token")
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  sf:\n    crm: {type: salesforce, token: \"${GTM_PF_SF}\"}\n"
        "  hs:\n    crm: {type: hubspot, token: \"\"}\n")
    needs = {"crm": ["checks/r.gtm.yml::ROUTING-ALERTS"]}
    _, sf = check_environment(load_project(tmp_path), "sf", needs)
    assert [p.format() for p in sf] == [
        "gtmcheck.yml:4:5: a salesforce CRM needs `instance_url:`. Fix: add `instance_url: "
        "https://acme.my.salesforce.com` (your org's) under environments.sf.crm"]
    _, hs = check_environment(load_project(tmp_path), "hs", needs)
    assert [p.format() for p in hs] == [
        "gtmcheck.yml:6:33: a hubspot CRM needs an API token. Fix: add `token: \"${HUBSPOT_TOKEN}\"` under "
        "environments.hs.crm and export the variable"]


def test_a_sandbox_without_warehouse_has_its_scenarios_and_a_real_crm_still_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconcile checks need a warehouse; a sandbox environment that names none reads its scenario's demo one."""
    from gtmcheck.preflight import check_environment
    from gtmcheck.project import load_project

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GTM_PF_HS", "pat-token")
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  sandbox:\n    crm: {type: sandbox}\n"
        "  hs:\n    crm: {type: hubspot, token: \"${GTM_PF_HS}\"}\n")
    needs = {"warehouse": ["checks/reconcile.gtm.yml::RECONCILE-HANDOFFS[lead-to-sales]"]}
    _, sandbox = check_environment(load_project(tmp_path), "sandbox", needs)
    assert sandbox == []
    _, real = check_environment(load_project(tmp_path), "hs", needs)
    assert [p.message for p in real] == ["environment 'hs' has no warehouse, and 1 check in "
                                         "checks/reconcile.gtm.yml (RECONCILE-HANDOFFS[lead-to-sales]) needs one"]
