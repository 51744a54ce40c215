"""Governance that cannot be gamed (issue 13): several signers and roles per kind, cross-functional signers
from the kind, dates that go stale or lie in the future, required components, and the gate in plain pytest.

Dates are written relative to today (UTC), so no test turns red on its own as the calendar moves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gtmcheck import governance
from gtmcheck.cli import main
from gtmcheck.dod import CROSS_FUNCTIONAL_SIGNER, RoleRequirement
from gtmcheck.kinds import PendingKind
from gtmcheck.kinds import _registry as kind_registry
from gtmcheck.report.schema import report_schema
from gtmcheck.spec import Checklist, load_checklist

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    """Today plus ``offset`` days, as a checklist writes dates."""
    return (TODAY + timedelta(days=offset)).isoformat()


PROJECT = """\
version: 1
environments:
  local: {crm: {type: sandbox}, web: {type: live}}
default_environment: local
"""

CRM_TWO_SIGNERS = f"""\
kind: crm
name: CRM build-out
owner: revops@acme.example
built_by: jane@acme.example
signoff:
  - {{by: lee@acme.example, role: head_of_marketing_ops, on: {day(-3)}}}
  - {{by: sam@acme.example, role: revops, on: {day(-2)}}}
"""


def totals(signoff: str = f"{{by: lee@acme.example, role: revops, on: {day(-1)}}}",
           totals_on: str = day(-1), handoffs_on: str = day(-1), extra: str = "") -> str:
    """A reconcile checklist whose two DoD items are attested (no CRM needed to run it)."""
    return f"""\
kind: reconcile
name: Totals
owner: revops@acme.example
built_by: jane@acme.example
signoff: {signoff}
{extra}manual:
  - {{id: RECONCILE-TOTALS, evidence: "https://bi.acme.example/q/1", attested_by: lee@acme.example, on: {totals_on}}}
  - {{id: RECONCILE-HANDOFFS, evidence: "https://bi.acme.example/q2", attested_by: lee@acme.example, on: {handoffs_on}}}
"""


@pytest.fixture(autouse=True)
def _in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in messages and reports are shown relative to here


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str, name: str = "c.gtm.yml") -> Checklist:
    return load_checklist(write(tmp_path / name, text))


def codes(findings: Iterable[governance.Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def run_report(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``gtmcheck run`` on a project folder; its exit code and report.json (checked against the published schema)."""
    out = root / "out"
    code = main(["run", "--project", str(root / "gtmcheck.yml"), "--report-dir", str(out), *extra])
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, report_schema())
    return code, report


def items_by_dod(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["dod"]: i for c in report["checklists"] for i in c["items"]}


# --- 1. several signers; the crm kind needs marketing ops AND sales ops; never the builder, never one person twice


def test_a_crm_checklist_signed_by_sales_ops_alone_is_blocked_for_want_of_marketing_ops(tmp_path: Path) -> None:
    checklist = load(tmp_path, CRM_TWO_SIGNERS.replace(
        f"  - {{by: lee@acme.example, role: head_of_marketing_ops, on: {day(-3)}}}\n", ""))
    findings = list(governance.lint(checklist))
    assert codes(findings) == ["GOV009"]
    assert findings[0].message == ("needs a marketing ops signer (gtm_engineer or head_of_marketing_ops) who did "
                                   "not build it")
    assert (findings[0].location.line, findings[0].location.column) == (6, 3)  # the `signoff:` list
    assert governance.blocking_reasons(checklist) == [f"{checklist.display}: {findings[0].message}"]


def test_a_list_of_signers_fills_both_roles_and_the_single_mapping_keeps_working(tmp_path: Path) -> None:
    crm = load(tmp_path, CRM_TWO_SIGNERS, "crm.gtm.yml")
    assert [(s.by, s.role, s.index) for s in crm.signoffs] == [
        ("lee@acme.example", "head_of_marketing_ops", 0), ("sam@acme.example", "revops", 1)]
    assert list(governance.lint(crm)) == [] and governance.blocking_reasons(crm) == []
    single = load(tmp_path, totals(), "t.gtm.yml")
    assert single.signoff is not None and single.signoff.index is None
    assert list(governance.lint(single)) == []


def test_one_person_cannot_sign_for_two_roles(tmp_path: Path) -> None:
    checklist = load(tmp_path, CRM_TWO_SIGNERS.replace("by: sam@acme.example", "by: LEE@acme.example"))
    findings = {f.code: f for f in governance.lint(checklist)}
    assert set(findings) == {"GOV010", "GOV009"}
    assert findings["GOV010"].message == "LEE@acme.example signs twice; each role needs its own person"
    assert findings["GOV010"].location.line == 7  # the second signer's `by:`
    assert "needs a sales ops signer (revops or head_of_revops)" in findings["GOV009"].message
    assert len(governance.blocking_reasons(checklist)) == 2


def test_the_builder_never_counts_as_a_signer_even_in_a_list(tmp_path: Path) -> None:
    checklist = load(tmp_path, CRM_TWO_SIGNERS.replace("by: sam@acme.example", "by: jane@acme.example"))
    findings = {f.code: f for f in governance.lint(checklist)}
    assert set(findings) == {"GOV002", "GOV009"}
    assert findings["GOV002"].location.line == 7
    assert "sales ops" in findings["GOV009"].message


def test_a_signoff_list_is_validated_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "c.gtm.yml", CRM_TWO_SIGNERS.replace("role: revops", "rol: revops"))
    assert main(["lint", str(tmp_path / "c.gtm.yml")]) == 2
    assert "c.gtm.yml:7:28: GTM001 [error] unknown key 'rol' in signoff[1] (fix: did you mean `role`?)" in \
        capsys.readouterr().out
    write(tmp_path / "c.gtm.yml", CRM_TWO_SIGNERS.split("signoff:")[0] + "signoff: []\n")
    assert main(["lint", str(tmp_path / "c.gtm.yml")]) == 2
    assert "c.gtm.yml:5:10: GTM001 [error] signoff must not be empty (fix: list each signer as `- {by: <email>, " \
        "role: <role>, on: YYYY-MM-DD}`, or remove `signoff:` until the work is accepted)" in capsys.readouterr().out


# --- 2. cross-functional parts: the kind tells governance through ``extra_signoff_roles``


class LifecycleCrm(PendingKind):
    """A stand-in crm kind that reports its lifecycle model as cross-functional work, as the real one will."""

    def extra_signoff_roles(self, checklist: Checklist) -> Iterable[RoleRequirement]:
        return [CROSS_FUNCTIONAL_SIGNER] if "lifecycle" in checklist.data else []


@pytest.fixture
def lifecycle_crm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kind_registry(), "crm", LifecycleCrm("crm"))


@pytest.mark.usefixtures("lifecycle_crm")
def test_a_cross_functional_part_needs_the_cro_or_vp_revenue_too(tmp_path: Path) -> None:
    lifecycle = "lifecycle: {property: lifecyclestage}\n"
    checklist = load(tmp_path, CRM_TWO_SIGNERS + lifecycle)
    findings = list(governance.lint(checklist))
    assert [(f.code, f.message) for f in findings] == [
        ("GOV009", "needs a revenue leadership signer (cro or vp_revenue) who did not build it")]
    signed = CRM_TWO_SIGNERS + f"  - {{by: pat@acme.example, role: vp_revenue, on: {day(-1)}}}\n" + lifecycle
    assert list(governance.lint(load(tmp_path, signed))) == []
    assert list(governance.lint(load(tmp_path, CRM_TWO_SIGNERS))) == []  # no lifecycle model: no CRO needed


def test_the_real_crm_kind_blocks_a_lifecycle_model_without_the_cro_or_vp_revenue(tmp_path: Path) -> None:
    """No stand-in: ``CrmKind.extra_signoff_roles`` asks for revenue leadership when there is ``lifecycle:``."""
    from gtmcheck.kinds.crm import CrmKind

    lifecycle = "lifecycle: {stages: [lead, marketingqualifiedlead]}\n"
    checklist = load(tmp_path, CRM_TWO_SIGNERS + lifecycle)
    assert isinstance(kind_registry()["crm"], CrmKind)
    assert list(CrmKind().extra_signoff_roles(checklist)) == [CROSS_FUNCTIONAL_SIGNER]
    assert [(f.code, f.message) for f in governance.lint(checklist)] == [
        ("GOV009", "needs a revenue leadership signer (cro or vp_revenue) who did not build it")]
    assert governance.blocking_reasons(checklist) != []
    signed = CRM_TWO_SIGNERS + f"  - {{by: pat@acme.example, role: cro, on: {day(-1)}}}\n" + lifecycle
    assert list(governance.lint(load(tmp_path, signed))) == []
    assert governance.blocking_reasons(load(tmp_path, signed)) == []
    assert list(CrmKind().extra_signoff_roles(load(tmp_path, CRM_TWO_SIGNERS))) == []


def test_the_default_hook_adds_no_signer(tmp_path: Path) -> None:
    checklist = load(tmp_path, totals())
    assert list(PendingKind("reconcile").extra_signoff_roles(checklist)) == []
    assert [r.roles for r in governance.signoff_requirements(checklist)] == [("revops", "head_of_revops")]


def test_a_crm_checklist_cannot_drop_sales_ops_by_declaring_another_work_type(tmp_path: Path) -> None:
    text = CRM_TWO_SIGNERS.replace("signoff:", "work_type: pre_pipeline\nsignoff:").replace(
        f"  - {{by: sam@acme.example, role: revops, on: {day(-2)}}}\n", "")
    assert codes(governance.lint(load(tmp_path, text))) == ["GOV009"]


# --- 3. dates: stale after max_age, an error in the future


def max_age_project(root: Path, ages: str = "{attestation: 90d, signoff: 180d}", require: str = "") -> None:
    write(root / "gtmcheck.yml", PROJECT + f"governance:\n  max_age: {ages}\n{require}")


def test_a_stale_attestation_is_not_done_and_says_since_when(tmp_path: Path) -> None:
    max_age_project(tmp_path)
    write(tmp_path / "checks" / "t.gtm.yml", totals(totals_on=day(-100), handoffs_on=day(-89)))
    code, report = run_report(tmp_path)
    assert code == 1
    items = items_by_dod(report)
    assert items["RECONCILE-TOTALS"]["status"] == "failed"
    assert f"RECONCILE-TOTALS attested on {day(-100)} is stale since {day(-10)} (max_age 90d)" in \
        items["RECONCILE-TOTALS"]["message"]
    assert items["RECONCILE-TOTALS"]["expected"] == "attested within 90d"
    assert items["RECONCILE-HANDOFFS"]["status"] == "attested"  # 89 days old: still counts
    assert report["summary"]["go_live"] is False


def test_lint_reads_the_project_max_age_and_points_at_the_stale_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    max_age_project(tmp_path)
    write(tmp_path / "checks" / "t.gtm.yml", totals(signoff=f"{{by: lee@acme.example, role: revops, on: {day(-181)}}}",
                                                    totals_on=day(-91)))
    assert main(["lint", "--format", "json"]) == 0  # staleness is a warning in lint; the run decides
    found = {f["rule"]: f for f in json.loads(capsys.readouterr().out)}
    assert set(found) == {"GOV011", "GOV012"}
    assert (found["GOV011"]["line"], found["GOV011"]["column"]) == (5, 51)
    assert found["GOV012"]["line"] == 7 and found["GOV012"]["message"].startswith(
        f"RECONCILE-TOTALS attested on {day(-91)} is stale since {day(-1)}")


def test_a_checklist_may_shorten_the_max_age_but_never_lengthen_it(tmp_path: Path) -> None:
    max_age_project(tmp_path)
    longer = "max_age: {attestation: 3000d}\n"
    write(tmp_path / "checks" / "t.gtm.yml", totals(totals_on=day(-100), handoffs_on=day(-40), extra=longer))
    items = items_by_dod(run_report(tmp_path)[1])
    assert items["RECONCILE-TOTALS"]["status"] == "failed"  # 3000d does not extend the project's 90d
    write(tmp_path / "checks" / "t.gtm.yml", totals(totals_on=day(-5), handoffs_on=day(-40), extra="max_age: "
                                                    "{attestation: 30d}\n"))
    items = items_by_dod(run_report(tmp_path)[1])
    assert items["RECONCILE-TOTALS"]["status"] == "attested"
    assert items["RECONCILE-HANDOFFS"]["status"] == "failed" and "(max_age 30d)" in items["RECONCILE-HANDOFFS"][
        "message"]


def test_a_stale_signoff_blocks_go_live(tmp_path: Path) -> None:
    max_age_project(tmp_path)
    write(tmp_path / "checks" / "t.gtm.yml", totals(signoff=f"{{by: lee@acme.example, role: revops, on: {day(-200)}}}"))
    code, report = run_report(tmp_path, "--require-go-live")
    assert code == 1
    assert report["summary"]["passed"] + report["summary"]["attested"] == 2  # every item is done...
    assert report["summary"]["go_live"] is False  # ...but the acceptance expired
    assert (f"checks/t.gtm.yml: sign-off by lee@acme.example on {day(-200)} is stale since {day(-20)} "
            "(max_age 180d)") in report["summary"]["blocking"]


def test_without_a_declared_max_age_old_dates_still_count(tmp_path: Path) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT)
    write(tmp_path / "checks" / "t.gtm.yml", totals(signoff=f"{{by: lee@acme.example, role: revops, on: "
                                                            f"{day(-900)}}}", totals_on=day(-900)))
    code, report = run_report(tmp_path)
    assert code == 0 and report["summary"]["go_live"] is True


def test_an_undated_attestation_is_not_done_where_attestations_expire(tmp_path: Path) -> None:
    max_age_project(tmp_path)
    write(tmp_path / "checks" / "t.gtm.yml", totals().replace(f", on: {day(-1)}}}\n  - {{id: RECONCILE-HANDOFFS",
                                                              "}\n  - {id: RECONCILE-HANDOFFS"))
    items = items_by_dod(run_report(tmp_path)[1])
    assert items["RECONCILE-TOTALS"]["status"] == "not_configured"
    assert "has no `on:` date" in items["RECONCILE-TOTALS"]["message"]


def test_a_future_date_is_an_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT)
    checklist = write(tmp_path / "checks" / "t.gtm.yml", totals(totals_on=day(30)))
    code, report = run_report(tmp_path)
    assert code == 1
    item = items_by_dod(report)["RECONCILE-TOTALS"]
    assert item["status"] == "error"
    assert item["message"].startswith(f"checks/t.gtm.yml:7:104: RECONCILE-TOTALS attested on {day(30)}, a date in "
                                      "the future. Fix: use the date it actually happened")
    capsys.readouterr()
    assert main(["lint", str(checklist)]) == 1
    assert f"t.gtm.yml:7:104: GOV004 [error] RECONCILE-TOTALS attested on {day(30)}" in capsys.readouterr().out
    write(checklist, totals(signoff=f"{{by: lee@acme.example, role: revops, on: {day(1)}}}"))
    blocking = run_report(tmp_path)[1]["summary"]["blocking"]
    assert f"checks/t.gtm.yml: signed off on {day(1)}, a date in the future" in blocking


# --- 4. required components


def test_a_required_component_without_a_checklist_is_a_not_done_entry(tmp_path: Path) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT + "governance:\n  require: [reconcile, attribution]\n")
    write(tmp_path / "checks" / "t.gtm.yml", totals())
    code, report = run_report(tmp_path, "--require-go-live")
    assert code == 1
    missing = [c for c in report["checklists"] if c["file"] == "checks/attribution.gtm.yml"]
    assert len(missing) == 1
    entry = missing[0]
    assert entry["kind"] == "attribution" and entry["status"] == "not_configured" and entry["go_live"] is False
    assert "write checks/attribution.gtm.yml" in entry["message"]
    assert {d["status"] for d in entry["dod"]} == {"not_configured"}
    summary = report["summary"]
    assert summary["go_live"] is False and summary["not_configured"] == 1
    assert summary["completeness"] == round(100 * 2 / (2 + 5), 1)  # attribution's 5 DoD items count as not done
    assert entry["message"] in summary["blocking"]
    md = (tmp_path / "out" / "report.md").read_text()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "❌ **Missing:** attribution is required by gtmcheck.yml \\(governance.require\\)" in md
    assert "<b>Missing.</b>" in html and "write checks/attribution.gtm.yml" in html


def test_require_is_validated_and_published(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT + "governance:\n  require: [crm, atribution]\n")
    write(tmp_path / "checks" / "t.gtm.yml", totals())
    assert main(["run", "--project", str(tmp_path / "gtmcheck.yml"), "--report-dir", str(tmp_path / "o")]) in (2, 4)
    err = capsys.readouterr()
    assert "gtmcheck.yml:6:18: governance.require[1] 'atribution' is not allowed" in err.out + err.err
    assert "did you mean `attribution`?" in err.out + err.err
    assert main(["schema", "--project"]) == 0
    published = json.loads(capsys.readouterr().out)["properties"]["governance"]["properties"]
    assert published["require"]["items"]["enum"] == ["crm", "utm", "routing", "attribution", "webhooks",
                                                     "reconcile"]
    assert set(published["max_age"]["properties"]) == {"attestation", "signoff"}


# --- 5. plain pytest fails on the same governance, behind --gtm-require-go-live or the ini option


@pytest.fixture
def unsigned(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    checks = pytester.mkdir("checks")
    (checks / "t.gtm.yml").write_text(totals().replace(f"signoff: {{by: lee@acme.example, role: revops, on: "
                                                       f"{day(-1)}}}\n", ""))
    return pytester


def test_plain_pytest_fails_an_unsigned_checklist_only_when_go_live_is_required(unsigned: pytest.Pytester) -> None:
    assert unsigned.runpytest("checks").ret == 0  # every item attested: pytest alone is green
    gated = unsigned.runpytest("checks", "--gtm-require-go-live")
    assert gated.ret == 1
    gated.stdout.fnmatch_lines([
        "*gtmcheck: go-live required (--gtm-require-go-live) but BLOCKED*",
        "  blocking: checks/t.gtm.yml: 'Totals' is not signed off; go-live is blocked",
    ])
    gated.assert_outcomes(passed=2)  # the checks themselves passed; the gate failed the run
    assert unsigned.runpytest("checks", "--gtm-require-go-live", "--collect-only").ret == 0  # nothing checked


def test_the_ini_option_turns_the_gate_on(unsigned: pytest.Pytester) -> None:
    unsigned.makeini("[pytest]\ngtm_require_go_live = true\n")
    assert unsigned.runpytest("checks").ret == 1
    (unsigned.path / "checks" / "t.gtm.yml").write_text(totals())
    assert unsigned.runpytest("checks").ret == 0  # signed and done: the gate opens


def test_plain_pytest_gate_sees_required_components(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", gtmcheck=PROJECT + "governance: {require: [reconcile, webhooks]}\n")
    pytester.mkdir("checks")
    (pytester.path / "checks" / "t.gtm.yml").write_text(totals())
    result = pytester.runpytest("checks", "--gtm-require-go-live")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["  blocking: webhooks is required by gtmcheck.yml (governance.require)*"])


def test_the_go_live_workflow_template_turns_the_gate_on_for_pytest(repo: Path) -> None:
    import yaml

    doc = yaml.safe_load((repo / "gtmcheck" / "templates" / "workflows" / "gtm-golive.yml").read_text())
    assert doc["jobs"]["gate"]["env"]["PYTEST_ADDOPTS"] == "--gtm-require-go-live"


# --- 6. the report: several signers, and the roles still missing


def test_the_report_lists_every_signer_and_the_missing_roles(tmp_path: Path) -> None:
    write(tmp_path / "gtmcheck.yml", PROJECT)
    write(tmp_path / "checks" / "crm.gtm.yml", CRM_TWO_SIGNERS.replace(
        f"  - {{by: sam@acme.example, role: revops, on: {day(-2)}}}\n", f"  - {{by: kim@acme.example, role: "
                                                                       f"gtm_engineer, on: {day(-2)}}}\n"))
    _, report = run_report(tmp_path, "-m", "not crm or crm")
    crm = report["checklists"][0]
    assert crm["signoff"] == [{"by": "lee@acme.example", "role": "head_of_marketing_ops", "on": day(-3)},
                              {"by": "kim@acme.example", "role": "gtm_engineer", "on": day(-2)}]
    assert crm["signoff_missing"] == ["sales ops (revops or head_of_revops)"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert (f"| lee@acme.example (head of marketing ops) on {day(-3)}; kim@acme.example (gtm engineer) on {day(-2)}; "
            "missing sales ops \\(revops or head\\_of\\_revops\\) | ❌ blocked |") in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert "lee@acme.example, kim@acme.example" in html
    assert "Missing a sign-off: sales ops (revops or head_of_revops)" in html
