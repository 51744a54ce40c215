"""Lint that misses nothing it could know: every schema error, no silent empty lint, suppression, ``lint:``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from gtmcheck import project
from gtmcheck.cli import main
from gtmcheck.errors import SpecError, SpecErrors
from gtmcheck.findings import RULES
from gtmcheck.kinds import get_kind
from gtmcheck.project import load_project
from gtmcheck.spec import load_checklist

# four mistakes, one per line 3, 5, 6 and 7 (the unknown key `rol` and its missing `role` are one mistake)
BROKEN = """\
kind: routing
name: Inbound
owner: not-an-email
built_by: jane@acme.example
signoff: {by: lee@acme.example, rol: head_of_marketing_ops, on: 2026-11-20}
rulez: []
sla: {assigned_within: 5m, within: 1h}
"""
BROKEN_AT = [(3, 8), (5, 33), (6, 1), (7, 28)]

# two shadowed rules (ROUTE101 at lines 10 and 16, errors) and an untestable edge case (ROUTE110 at line 20)
ROUTING = """\
kind: routing
name: Inbound
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
rules:
  - id: everyone-de
    when: {country: {equals: DE}}
    assign: {owner: anna@acme.example}
  - id: big-de
    when: {country: {equals: DE}, employees: {gte: 1000}}
    assign: {owner: ben@acme.example}
  - id: uk
    when: {country: {equals: GB}}
    assign: {owner: ben@acme.example}
  - id: uk-big
    when: {country: {equals: GB}, employees: {gte: 1000}}
    assign: {owner: anna@acme.example}
fallback: {owner: inbound-queue@acme.example}
edge_cases: {unmatched_territory: fallback, duplicate_contact: existing_owner, existing_customer_domain: fallback}
"""
PROJECT = """\
version: 1
environments:
  sandbox: {crm: {type: sandbox}}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    project._load_project_file.cache_clear()  # one process loads gtmcheck.yml once; these tests rewrite it
    return path


def lint_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["lint", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def positions(findings: list[dict[str, object]], rule: str) -> list[tuple[object, object]]:
    return [(f["line"], f["column"]) for f in findings if f["rule"] == rule]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no gtmcheck.yml unless a test writes one


# --- every schema error ---------------------------------------------------------------------------------


def test_lint_reports_every_schema_error_of_a_file_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "bad.gtm.yml", BROKEN)
    code, findings = lint_json(capsys, "bad.gtm.yml")
    assert code == 2
    assert positions(findings, "GTM001") == BROKEN_AT
    by_line = {f["line"]: f for f in findings}
    assert by_line[5]["message"] == "unknown key 'rol' in signoff" and by_line[5]["fix"] == "did you mean `role`?"
    assert by_line[6]["fix"] == "did you mean `rules`?"
    assert by_line[7]["message"] == "unknown key 'within' in sla"


def test_the_loader_raises_every_error_and_reads_as_its_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "bad.gtm.yml", BROKEN)
    with pytest.raises(SpecErrors) as raised:
        load_checklist(path)
    error = raised.value
    assert isinstance(error, SpecError)  # every caller of the loader keeps working
    assert [(e.location.line, e.location.column) for e in error.errors if e.location] == BROKEN_AT
    assert (error.location, error.message) == (error.errors[0].location, error.errors[0].message)
    lines = str(error).splitlines()
    assert len(lines) == 4 and all(line.startswith("bad.gtm.yml:") and ". Fix: " in line for line in lines)


def test_every_unknown_manual_item_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "m.gtm.yml", """\
kind: reconcile
name: Totals
owner: revops@acme.example
built_by: jane@acme.example
manual:
  - {id: RECONCILE-TOTAL, evidence: x}
  - {id: RECONCILE-HANDOFFS, evidence: x}
  - {id: RECONCILE-HANDOFFS, evidence: y}
""")
    with pytest.raises(SpecErrors) as raised:
        load_checklist(path)
    assert [(e.location.line if e.location else 0, e.message) for e in raised.value.errors] == [
        (6, "manual item 'RECONCILE-TOTAL' is not in the reconcile definition of done"),
        (8, "manual item 'RECONCILE-HANDOFFS' is attested twice"),
    ]


def test_pytest_collection_lists_every_error_at_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    write(pytester.path / "checks" / "bad.gtm.yml", BROKEN)
    result = pytester.runpytest("checks")
    out = result.stdout.str()
    for line, column in BROKEN_AT:
        assert f"checks/bad.gtm.yml:{line}:{column}: " in out
    assert "Traceback" not in out


def test_run_prints_each_error_of_a_project_file_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT + "default_environment: sandbox\nchecks: checks\nextra: 1\n")
    assert main(["lint"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "gtmcheck: error: gtmcheck.yml:5:9: checks must be a list, not a string. Fix: write a list",
        "gtmcheck: error: gtmcheck.yml:6:1: unknown key 'extra' in the document. Fix: remove it; allowed keys "
        "here: checks, default_environment, environments, governance, history, lint, notify, version",
    ]


# --- nothing to lint is not a clean lint -------------------------------------------------------------------


def test_a_folder_without_checklists_is_exit_2_with_a_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "checks" / "notes.yml", "kind: crm\n")  # ordinary YAML is no checklist
    code, findings = lint_json(capsys, "checks")
    assert code == 2
    assert [(f["rule"], f["file"], f["message"]) for f in findings] == [
        ("GTM001", "checks", "no checklist in this folder (looked for *.gtm.yml / *.gtm.yaml)")]
    write(tmp_path / "ok" / "t.gtm.yml", ROUTING)
    assert main(["lint", "ok", "checks"]) == 2  # one empty folder among good ones still says so
    assert "checks:1:1: GTM001 [error] no checklist in this folder" in capsys.readouterr().out


def test_no_checklist_at_all_is_exit_2_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT + "checks: []\n")
    for fmt in ("text", "json", "sarif", "github"):
        assert main(["lint", "--format", fmt]) == 2
        err = capsys.readouterr().err
        assert "gtmcheck: error: no checklists found (looked for *.gtm.yml / *.gtm.yaml" in err, fmt


# --- suppression ----------------------------------------------------------------------------------------------


def edit(text: str, line: int, comment: str) -> str:
    lines = text.splitlines()
    lines[line - 1] += "  " + comment
    return "\n".join(lines) + "\n"


def test_an_ignore_comment_silences_its_codes_on_its_line_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "r.gtm.yml", ROUTING)
    code, findings = lint_json(capsys, "r.gtm.yml")
    assert code == 1 and positions(findings, "ROUTE101") == [(10, 9), (16, 9)]
    write(tmp_path / "r.gtm.yml", edit(ROUTING, 10, "# gtmcheck: ignore[ROUTE101]"))
    code, findings = lint_json(capsys, "r.gtm.yml")
    assert code == 1 and positions(findings, "ROUTE101") == [(16, 9)]
    both = edit(edit(ROUTING, 10, "# gtmcheck: ignore[ROUTE103, ROUTE101]"), 16, "#gtmcheck: ignore")
    write(tmp_path / "r.gtm.yml", both)
    code, findings = lint_json(capsys, "r.gtm.yml")
    assert code == 0 and positions(findings, "ROUTE101") == []
    assert positions(findings, "ROUTE110") == [(20, 106)]  # a comment elsewhere silences nothing here
    assert main(["lint", "r.gtm.yml"]) == 0
    assert "2 finding(s) silenced by `# gtmcheck: ignore` comments." in capsys.readouterr().err


def test_an_ignore_comment_with_an_unknown_code_is_a_finding_with_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "r.gtm.yml", edit(ROUTING, 10, "# gtmcheck: ignore[ROUTE11, ROUTE101]"))
    code, findings = lint_json(capsys, "r.gtm.yml")
    (typo,) = [f for f in findings if f["rule"] == "GTM002"]
    assert (typo["line"], typo["column"], typo["severity"]) == (10, 36, "warning")
    assert typo["message"] == "'ROUTE11' is no lint rule; did you mean ROUTE110?"
    assert positions(findings, "ROUTE101") == [(16, 9)]  # the valid code in the same comment still works


def test_unusable_input_cannot_be_suppressed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "bad.gtm.yml", edit(BROKEN, 3, "# gtmcheck: ignore"))
    code, findings = lint_json(capsys, "bad.gtm.yml")
    assert code == 2 and (3, 8) in positions(findings, "GTM001")
    write(tmp_path / "r.gtm.yml", edit(ROUTING, 10, "# gtmcheck: ignore[GTM001]"))
    code, findings = lint_json(capsys, "r.gtm.yml")
    assert [f["message"] for f in findings if f["rule"] == "GTM002"] == ["GTM001 (unusable input) cannot be suppressed"]


def test_a_suppressed_finding_does_not_fail_the_routing_rules_check(tmp_path: Path) -> None:
    """The run's ROUTING-RULES-EXPLICIT counts findings as `gtmcheck lint` does."""
    from gtmcheck.errors import CheckFailed
    from gtmcheck.kinds.routing.kind import RoutingKind

    kind = get_kind("routing")
    assert isinstance(kind, RoutingKind)
    with pytest.raises(CheckFailed, match="2 error findings"):
        kind._rules_check(load_checklist(write(tmp_path / "a.gtm.yml", ROUTING)))
    silenced = edit(edit(ROUTING, 10, "# gtmcheck: ignore[ROUTE101]"), 16, "# gtmcheck: ignore[ROUTE101]")
    evidence = kind._rules_check(load_checklist(write(tmp_path / "b.gtm.yml", silenced)))
    assert evidence.details["errors"] == 0


UTM = """\
kind: utm
name: Campaigns
owner: mops@acme.example
built_by: jane@acme.example
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  parameters:
    utm_source: {allowed: [google]}
    utm_medium: {allowed: [cpc]}
    utm_campaign: {pattern: "^[a-z_]+$"}
urls:
  - {id: http, url: "http://www.acme.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring"}
"""


def run_context(tmp_path: Path, lint: str = "") -> Any:
    """What the kinds' lint-backed checks read of a run: the project (and its `lint:` section)."""
    write(tmp_path / "gtmcheck.yml", PROJECT + lint)
    return SimpleNamespace(project=load_project(tmp_path), environment=SimpleNamespace(crm={}))  # no CRM: offline


def test_the_runs_lint_backed_checks_count_findings_as_lint_does(tmp_path: Path) -> None:
    """ROUTING-RULES-EXPLICIT and UTM-TAXONOMY-DOCUMENTED honour `lint:` and ignore comments, as `gtmcheck lint`."""
    from gtmcheck.errors import CheckFailed
    from gtmcheck.kinds.routing.kind import RoutingKind
    from gtmcheck.kinds.utm.kind import UtmKind

    routing, utm = get_kind("routing"), get_kind("utm")
    assert isinstance(routing, RoutingKind) and isinstance(utm, UtmKind)
    route = load_checklist(write(tmp_path / "r.gtm.yml", ROUTING))
    with pytest.raises(CheckFailed, match="2 error findings"):
        routing._rules_check(route, run_context(tmp_path))
    evidence = routing._rules_check(route, run_context(tmp_path, "lint: {rules: {ROUTE101: warning}}\n"))
    assert evidence.details["errors"] == 0
    campaigns = load_checklist(write(tmp_path / "u.gtm.yml", UTM))
    with pytest.raises(CheckFailed, match="UTM102"):
        utm._taxonomy_check(campaigns, run_context(tmp_path))
    assert utm._taxonomy_check(campaigns, run_context(tmp_path, "lint: {rules: {UTM102: off}}\n"))
    silenced = load_checklist(write(tmp_path / "v.gtm.yml", edit(UTM, 12, "# gtmcheck: ignore[UTM102]")))
    assert utm._taxonomy_check(silenced, run_context(tmp_path)).details["errors"] == 0


# --- the lint: section of gtmcheck.yml ------------------------------------------------------------------------


def test_the_lint_section_turns_rules_off_and_changes_severities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "r.gtm.yml", ROUTING)
    write(tmp_path / "gtmcheck.yml", PROJECT + "lint:\n  rules: {ROUTE101: off, ROUTE110: error}\n")
    code, findings = lint_json(capsys, "r.gtm.yml")  # applied with explicit paths too
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in findings] == [("ROUTE110", "error")]
    write(tmp_path / "gtmcheck.yml", PROJECT + "lint:\n  rules: {ROUTE101: warning, ROUTE110: off}\n")
    code, findings = lint_json(capsys, "r.gtm.yml")
    assert code == 0 and [(f["rule"], f["severity"]) for f in findings] == [("ROUTE101", "warning")] * 2
    assert main(["lint", "r.gtm.yml", "--fail-on", "warning"]) == 1


def test_an_unknown_rule_code_in_the_lint_section_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "r.gtm.yml", ROUTING)
    write(tmp_path / "gtmcheck.yml", PROJECT + "lint:\n  rules:\n    ROUTE101: off\n    ROUTE13: eror\n")
    with pytest.raises(SpecError) as raised:
        load_project(tmp_path)
    assert str(raised.value) == "gtmcheck.yml:7:5: unknown key 'ROUTE13' in lint.rules. Fix: did you mean `ROUTE103`?"
    assert main(["lint", "r.gtm.yml"]) == 2
    assert "unknown key 'ROUTE13' in lint.rules" in capsys.readouterr().err
    write(tmp_path / "gtmcheck.yml", PROJECT + "lint:\n  rules: {route103: off, NOPE1: off}\n")
    with pytest.raises(SpecErrors) as several:
        load_project(tmp_path)
    assert [e.hint for e in several.value.errors] == [
        "did you mean `ROUTE103`?",  # the code in another case
        f"remove it; allowed keys here: {', '.join(sorted(RULES)[:20])} "  # the first 20 codes, sorted
        f"and {len(RULES) - 20} more (`gtmcheck schema`)",
    ]
    write(tmp_path / "gtmcheck.yml", PROJECT + "lint:\n  rules: {ROUTE101: eror, GTM001: off}\n  rule: {}\n")
    assert main(["lint", "r.gtm.yml"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "gtmcheck: error: gtmcheck.yml:5:21: lint.rules.ROUTE101 'eror' is not allowed; expected one of: error, "
        "warning, info, off. Fix: did you mean `error`?",
        "gtmcheck: error: gtmcheck.yml:5:35: lint.rules.GTM001 'off' is not allowed; expected one of: error. Fix: "
        "remove it: GTM001 (a file gtmcheck cannot read) is always an error",
        "gtmcheck: error: gtmcheck.yml:6:3: unknown key 'rule' in lint. Fix: did you mean `rules`?",
    ]


def test_the_published_project_schema_has_the_lint_section_closed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--project"]) == 0
    schema = json.loads(capsys.readouterr().out)
    lint = schema["properties"]["lint"]
    assert lint["additionalProperties"] is False and lint["properties"]["rules"]["additionalProperties"] is False
    rules = lint["properties"]["rules"]["properties"]
    assert rules["ROUTE103"]["enum"] == ["error", "warning", "info", "off"]
    assert {"ROUTE110", "GTM002", "UTM105", "GOV001"} <= set(rules)
    validator = jsonschema.Draft202012Validator(schema)
    minimal = {"version": 1, "environments": {"a": {}}}
    assert not list(validator.iter_errors({**minimal, "lint": {"rules": {"ROUTE103": "off"}}}))
    assert list(validator.iter_errors({**minimal, "lint": {"rules": {"ROUTE13": "off"}}}))
