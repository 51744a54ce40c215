"""The crm kind: its checklist format, lint rules, and its DoD items against the sandbox, HubSpot and Salesforce.

The demo tests run the repository's own checks/crm.gtm.yml, check by check, as a run does: against the healthy
sandbox every item passes; against the drifted one each fails for its own seeded fault (the renamed option, the
form that stopped mapping utm_campaign, the MQL threshold raised to 80, contacts p005/p033 skipping from lead to
customer, the company-domain rule that is gone, the test contacts left on test.example, the dropped handoffs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from gtmcheck.connectors.http import RetryPolicy
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, SpecError
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.base import Check
from gtmcheck.kinds.crm.flush import older_run
from gtmcheck.project import Environment, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import load_checklist
from gtmcheck.synthetic import TAG_PROPERTY

REPO = Path(__file__).resolve().parent.parent
HEADER = ("kind: crm\nname: CRM\nowner: revops@acme.example\nbuilt_by: jane@acme.example\n"
          "signoff: {by: sam@acme.example, role: revops, on: 2026-11-20}\n")
RUN_ID = "gtm-20261126T120000-abcdef"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write(tmp_path: Path, body: str, name: str = "crm.gtm.yml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def checks_of(path: Path, *, signoff: bool = False) -> list[Check]:
    """The checklist's checks; CRM-SIGNOFF (every crm checklist has it) only when asked for."""
    return [c for c in get_kind("crm").checks(load_checklist(path)) if signoff or c.dod_id != "CRM-SIGNOFF"]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# --- the demo: healthy passes, drifted fails each item for its own fault ------------------------------------------


def demo_run(env_name: str) -> tuple[dict[str, Any], RunContext]:
    project = load_project(REPO)
    ctx = RunContext(project=project, environment=project.environment(env_name))
    outcomes: dict[str, Any] = {}
    for check in checks_of(REPO / "checks" / "crm.gtm.yml", signoff=True):
        try:
            outcomes[check.name] = check.run(ctx)
        except (CheckFailed, CheckError) as exc:
            outcomes[check.name] = exc
    return outcomes, ctx


def assert_nothing_tagged_left(scenario: str, run_id: str) -> None:
    """The store itself (not search, which lags): every record of the run is archived."""
    from gtmcheck.sandbox import sandbox_app

    app = sandbox_app(REPO / "gtmcheck" / "demo" / scenario)
    with app._lock:
        live = [(t, s.id) for t, records in app._objects.items() for s in records.values()
                if s.properties.get(TAG_PROPERTY) == run_id and not s.archived]
    assert live == []


ALL_CRM_CHECKS = {"CRM-FIELDS-MAPPED[properties.contacts]", "CRM-FIELDS-MAPPED[properties.companies]",
                  "CRM-FIELDS-MAPPED[utm_source]", "CRM-FIELDS-MAPPED[utm_campaign]",
                  "CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]", "CRM-LIFECYCLE-QA[audit]",
                  "CRM-DEDUP-ACTIVE[contacts by email]", "CRM-DEDUP-ACTIVE[companies by domain]",
                  "CRM-TEST-RECORDS-FLUSHED", "CRM-HANDOFF-SLA[sales]", "CRM-SIGNOFF"}


def test_the_healthy_demo_passes_every_crm_item(cache: Path) -> None:
    outcomes, ctx = demo_run("sandbox")
    failed = {k: v for k, v in outcomes.items() if isinstance(v, Exception)}
    assert failed == {}
    assert set(outcomes) == ALL_CRM_CHECKS
    assert "reached the CRM and contacts.utm_campaign" in outcomes["CRM-FIELDS-MAPPED[utm_campaign]"].summary
    assert outcomes["CRM-SIGNOFF"].summary.startswith("signed off by every role it needs: marketing ops: lee@")
    assert "revenue leadership: pat@acme.example (cro, " in outcomes["CRM-SIGNOFF"].summary
    assert "refused as a duplicate of" in outcomes["CRM-DEDUP-ACTIVE[companies by domain]"].summary
    assert outcomes["CRM-HANDOFF-SLA[sales]"].summary.startswith("sales handoff SLA 4h met")
    # one record of each pair (the second was refused), the mappings' submission, the lifecycle's contact
    assert ctx.ledger.created == 4
    ctx.close()
    assert_nothing_tagged_left("healthy.yml", ctx.run_id)


def test_the_drifted_demo_fails_each_crm_item_for_its_own_fault(cache: Path) -> None:
    outcomes, ctx = demo_run("sandbox-drifted")
    fields = outcomes["CRM-FIELDS-MAPPED[properties.contacts]"]
    assert isinstance(fields, CheckFailed)
    assert fields.message == "contacts.lead_source_detail has no option 'webinar' (it has 'webinars': renamed?)"
    assert not isinstance(outcomes["CRM-FIELDS-MAPPED[properties.companies]"], Exception)
    assert not isinstance(outcomes["CRM-FIELDS-MAPPED[utm_source]"], Exception)
    mapped = outcomes["CRM-FIELDS-MAPPED[utm_campaign]"]  # the rebuilt form stopped mapping it
    assert isinstance(mapped, CheckFailed)
    assert "form field utm_campaign: contact " in mapped.message
    assert "CRM: utm_campaign is empty in the CRM (expected 'gtmcheck_" in mapped.message

    mql = outcomes["CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]"]  # the workflow now wants 80
    assert isinstance(mql, CheckFailed)
    assert mql.message.startswith("transition lead -> marketingqualifiedlead did not fire: contact ")
    assert "was given hs_lead_score = 50 (hs_lead_score gte 50) and still has lifecyclestage 'lead'" in mql.message
    history = outcomes["CRM-LIFECYCLE-QA[audit]"]
    assert isinstance(history, CheckFailed)
    assert "lead -> customer x2 (skips marketingqualifiedlead, salesqualifiedlead, opportunity)" in history.message
    assert not isinstance(outcomes["CRM-SIGNOFF"], Exception)

    assert not isinstance(outcomes["CRM-DEDUP-ACTIVE[contacts by email]"], Exception)  # HubSpot's own rule
    dedup = outcomes["CRM-DEDUP-ACTIVE[companies by domain]"]
    assert isinstance(dedup, CheckFailed)
    first, second = dedup.evidence.details["first"], dedup.evidence.details["second"]
    assert first != second
    assert f"created a second companies record {second}" in dedup.message
    assert f"which {first} already has: the companies by domain duplicate rule is not active" in dedup.message

    flushed = outcomes["CRM-TEST-RECORDS-FLUSHED"]
    assert isinstance(flushed, CheckFailed)
    assert flushed.message.startswith("2 test records left in the CRM: contacts ")
    assert "qa.lead@test.example (on test.example, name matches '^test\\\\b')" in flushed.message
    assert "jo.smith@test.example (on test.example, name matches 'do not use')" in flushed.message
    assert len(flushed.evidence.details["ids"]) == 2

    handoff = outcomes["CRM-HANDOFF-SLA[sales]"]
    assert isinstance(handoff, CheckFailed)
    assert "12 leads missing: L0007, L0019" in handoff.message
    assert handoff.message.startswith("sales handoff SLA 4h not met, measured by reconcile handoff 'lead-to-sales'")
    ctx.close()
    assert_nothing_tagged_left("drifted.yml", ctx.run_id)  # the two companies of the pair too


@pytest.mark.parametrize("env", ["sandbox", "sandbox-drifted"])
def test_gtmcheck_run_reports_the_crm_items(repo: Path, tmp_path: Path, env: str) -> None:
    """As a user runs it: no CRM item is attested; healthy passes them all, drifted fails each for its fault."""
    import json
    import os

    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "-m", "crm",
                             "--report-dir", str(tmp_path / "out")], cwd=repo, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "GTMCHECK_CACHE_DIR": str(tmp_path / "cache")})
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (crm,) = [c for c in report["checklists"] if c["kind"] == "crm"]
    statuses = {i["id"]: i["status"] for i in crm["items"]}
    attested = sorted(k for k, v in statuses.items() if v == "attested")
    assert attested == []
    assert set(statuses) == ALL_CRM_CHECKS
    failed = sorted(k for k, v in statuses.items() if v == "failed")
    if env == "sandbox":
        assert result.returncode == 0 and failed == []
    else:
        assert result.returncode == 1
        assert failed == ["CRM-DEDUP-ACTIVE[companies by domain]", "CRM-FIELDS-MAPPED[properties.contacts]",
                          "CRM-FIELDS-MAPPED[utm_campaign]", "CRM-HANDOFF-SLA[sales]", "CRM-LIFECYCLE-QA[audit]",
                          "CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]", "CRM-TEST-RECORDS-FLUSHED"]
    assert "none remain" in result.stdout


# --- the format: closed, errors at their line ----------------------------------------------------------------------


def test_an_unknown_key_is_an_error_at_its_line_with_the_closest_key(tmp_path: Path) -> None:
    path = write(tmp_path, "duplicate:\n  - {object: contacts, match: email}\n")
    with pytest.raises(SpecError) as err:
        load_checklist(path)
    assert err.value.location is not None and err.value.location.line == 6
    assert "duplicates" in err.value.format()


def test_an_unsafe_name_pattern_is_an_error_at_its_line_and_lint_exits_2(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from gtmcheck.cli import main

    path = write(tmp_path, "test_records:\n  names:\n    - ok\n    - '(a)\\1'\n")
    assert main(["lint", str(path)]) == 2
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{path.name}:9:7: " in err and "backreferences" in err and "rewrite it without lookaround" in err
    assert "Traceback" not in err


def test_a_wrong_property_type_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "properties:\n  contacts:\n    - {name: score, type: integer}\n")
    with pytest.raises(SpecError) as err:
        load_checklist(path)
    assert err.value.location is not None and err.value.location.line == 8


def test_lint_rules_name_each_problem_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """properties:
  contacts:
    - {name: source, type: enumeration}
    - {name: region, type: string, options: [emea]}
    - {name: source, type: enumeration, options: [web]}
duplicates:
  - {object: contacts, match: email}
  - {object: contacts, match: email}
mappings:
  - {form_field: utm_source, property: contacts.utm_source}
""")
    findings = sorted((f.code, f.location.line) for f in get_kind("crm").lint(load_checklist(path)))
    assert findings == [("CRM101", 10), ("CRM102", 8), ("CRM103", 9), ("CRM104", 13), ("CRM105", 15)]


def test_a_lifecycle_trigger_on_an_undeclared_property_is_lint_rule_crm106(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from gtmcheck.cli import main

    path = write(tmp_path, """properties:
  contacts:
    - {name: hs_lead_score, type: number}
lifecycle:
  stages: [lead, marketingqualifiedlead]
  transitions:
    - {from: lead, to: marketingqualifiedlead, within: 5m, trigger: {property: lead_score, gte: 50}}
""")
    assert main(["lint", "--format", "json", str(path)]) != 2  # a usable checklist: findings, not exit 2
    (finding,) = [f for f in json.loads(capsys.readouterr().out) if f["rule"].startswith("CRM")]
    assert (finding["rule"], finding["severity"], finding["line"]) == ("CRM106", "warning", 12)
    assert "reads lead_score, which is not declared under properties.contacts" in finding["message"]


def test_one_crm_schema_holds_the_lifecycle_and_mappings_fragments_every_key_documented() -> None:
    from gtmcheck import schemadoc
    from gtmcheck.kinds.crm.lifecycle import LIFECYCLE_SCHEMA
    from gtmcheck.kinds.crm.mappings import MAPPINGS_SCHEMA
    from gtmcheck.kinds.crm.schema import SCHEMA

    assert SCHEMA["lifecycle"] is LIFECYCLE_SCHEMA
    assert all(SCHEMA[key] is MAPPINGS_SCHEMA[key] for key in ("form", "mappings", "sync_lag", "crm_lag"))
    assert schemadoc.gaps({"type": "object", "properties": SCHEMA}) == []


def test_published_schema_and_reference_page_know_the_crm_keys(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gtmcheck.cli import main

    assert main(["schema", "--kind", "crm", "--format", "markdown"]) == 0
    assert (repo / "docs" / "crm-reference.md").read_text() == capsys.readouterr().out, (
        "docs/crm-reference.md is stale: run `gtmcheck schema --kind crm --format markdown > docs/crm-reference.md`")


# --- CRM-SIGNOFF: automatic, offline, from governance's review of the signers -------------------------------------


def signoff_outcome(tmp_path: Path, signoff: str, extra: str = "") -> Any:
    """Run the checklist's one CRM-SIGNOFF check in a project whose sign-offs count for 180 days."""
    from datetime import UTC, datetime, timedelta

    (tmp_path / "gtmcheck.yml").write_text("version: 1\nenvironments:\n  local: {crm: {type: sandbox}}\n"
                                           "governance:\n  max_age: {signoff: 180d}\n")
    today = datetime.now(UTC).date()
    path = tmp_path / "crm.gtm.yml"
    path.write_text(HEADER.split("signoff:")[0] + "signoff:\n" + signoff.format(
        recent=(today - timedelta(days=1)).isoformat(), old=(today - timedelta(days=400)).isoformat(),
        future=(today + timedelta(days=30)).isoformat()) + extra)
    (check,) = [c for c in checks_of(path, signoff=True) if c.dod_id == "CRM-SIGNOFF"]
    assert check.needs == frozenset()  # offline: runs in any environment
    project = load_project(tmp_path)
    ctx = RunContext(project=project, environment=project.environment("local"))
    try:
        return check.run(ctx)
    except CheckFailed as exc:
        return exc
    finally:
        ctx.close()


MOPS = "  - {{by: lee@acme.example, role: head_of_marketing_ops, on: {recent}}}\n"
SOPS = "  - {{by: sam@acme.example, role: revops, on: {recent}}}\n"


def test_crm_signoff_passes_when_marketing_ops_and_sales_ops_both_signed(tmp_path: Path) -> None:
    outcome = signoff_outcome(tmp_path, MOPS + SOPS)
    assert not isinstance(outcome, Exception), outcome
    assert outcome.summary.startswith("signed off by every role it needs: marketing ops: lee@acme.example")
    assert "sales ops: sam@acme.example (revops," in outcome.summary


@pytest.mark.parametrize(("signers", "missing", "why"), [
    (SOPS, "marketing ops (gtm_engineer or head_of_marketing_ops)", None),
    (MOPS.replace("lee@", "jane@") + SOPS, "marketing ops", "signed off by jane@acme.example, who built it"),
    (MOPS.replace("{recent}", "{old}") + SOPS, "marketing ops", "sign-off by lee@acme.example on "),
    (MOPS + SOPS.replace("{recent}", "{future}"), "sales ops (revops or head_of_revops)", "a date in the future"),
], ids=["role-missing", "builder", "stale", "future"])
def test_crm_signoff_fails_naming_the_role_without_a_valid_signer(tmp_path: Path, signers: str, missing: str,
                                                                  why: str | None) -> None:
    outcome = signoff_outcome(tmp_path, signers)
    assert isinstance(outcome, CheckFailed)
    assert outcome.message.startswith(f"no valid sign-off from {missing}")
    if why:
        assert why in outcome.message


def test_crm_signoff_of_a_lifecycle_model_needs_the_cro_or_vp_revenue(tmp_path: Path) -> None:
    lifecycle = "lifecycle: {stages: [lead, marketingqualifiedlead]}\n"
    outcome = signoff_outcome(tmp_path, MOPS + SOPS, lifecycle)
    assert isinstance(outcome, CheckFailed)
    assert outcome.message == "no valid sign-off from revenue leadership (cro or vp_revenue)"
    cro = "  - {{by: pat@acme.example, role: cro, on: {recent}}}\n"
    assert not isinstance(signoff_outcome(tmp_path, MOPS + SOPS + cro, lifecycle), Exception)


# --- CRM-FIELDS-MAPPED against HubSpot's and Salesforce's APIs ---------------------------------------------------


def hubspot_property(name: str, type_: str, options: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"name": name, "label": name, "type": type_, "fieldType": "text",
            "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False} for i, o in enumerate(options)]}


def fields_check(tmp_path: Path) -> Check:
    path = write(tmp_path, """properties:
  contacts:
    - {name: lead_source_detail, type: enumeration, options: [webinar, ebook]}
    - {name: utm_campaign, type: string}
    - {name: employees_band, type: enumeration}
""")
    (check,) = checks_of(path)
    return check


def ctx_with(tmp_path: Path, connector: Any, *, writes: bool = True) -> RunContext:
    project = load_project(tmp_path)
    env = Environment(name="test", root=tmp_path, crm={"type": "hubspot"}, writes=writes)
    return RunContext(project=project, environment=env, crm_connector=connector, run_id=RUN_ID)


def test_fields_name_a_missing_property_a_wrong_type_and_a_renamed_option_from_hubspots_api(tmp_path: Path) -> None:
    check = fields_check(tmp_path)
    with respx.mock(base_url="https://api.hubapi.com") as router:
        route = router.get("/crm/v3/properties/contacts").respond(200, json={"results": [
            hubspot_property("lead_source_detail", "enumeration", ["webinars", "ebook", "event"]),
            hubspot_property("utm_campaign", "number"),
            hubspot_property("employee_band", "enumeration", ["1-10"]),
        ]})
        hub = HubSpotConnector("pat-na1-test", retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        with pytest.raises(CheckFailed) as failed:
            check.run(ctx_with(tmp_path, hub))
        hub.close()
    assert route.call_count == 1  # read-only, one read per object
    assert failed.value.evidence.details["problems"] == [
        "contacts.lead_source_detail has no option 'webinar' (it has 'webinars': renamed?)",
        "contacts.utm_campaign is number, not string",
        "contacts.employees_band does not exist (the CRM has 'employee_band')",
    ]


def test_fields_read_salesforce_describe_types_as_hubspots() -> None:
    from gtmcheck.kinds.crm.fields import problems_of
    from gtmcheck.kinds.crm.model import PropertySpec

    describe = {"fields": [
        {"name": "Lead_Source_Detail__c", "type": "picklist", "label": "Detail", "custom": True,
         "picklistValues": [{"value": "webinar", "active": True}, {"value": "ebook", "active": False}]},
        {"name": "Employees__c", "type": "double", "label": "Employees", "custom": True},
    ]}
    with respx.mock(base_url="https://acme.my.salesforce.com/services/data/v62.0") as router:
        router.get("/sobjects/Contact/describe/").respond(200, json=describe)
        sf = SalesforceConnector("00Dtoken!x", instance_url="https://acme.my.salesforce.com",
                                 retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        actual = sf.properties("contacts")
        sf.close()
    declared = [PropertySpec("contacts", "Lead_Source_Detail__c", "enumeration", ("webinar", "ebook"), 0),
                PropertySpec("contacts", "Employees__c", "number", (), 1)]
    # an inactive picklist value is not offered: the form cannot set it
    assert problems_of("salesforce", "contacts", declared, actual) == [
        "contacts.Lead_Source_Detail__c has no option 'ebook'"]


# --- CRM-DEDUP-ACTIVE ---------------------------------------------------------------------------------------------


def sandbox_connector(data: dict[str, Any]) -> tuple[HubSpotConnector, HubSpotSandbox]:
    app = HubSpotSandbox(Scenario.from_data(data), wall_ms=1_764_000_000_000)
    return HubSpotConnector("t", transport=httpx.WSGITransport(app=app)), app


def dedup_checks(tmp_path: Path, rules: str) -> dict[str, Check]:
    return by_name(checks_of(write(tmp_path, f"duplicates:\n{rules}")))


def test_dedup_needs_writes(tmp_path: Path) -> None:
    (check,) = dedup_checks(tmp_path, "  - {object: contacts, match: email}\n").values()
    hub, app = sandbox_connector({})
    with pytest.raises(CheckError, match="does not allow writes"):
        check.run(ctx_with(tmp_path, hub, writes=False))
    assert all(not records for records in app._objects.values())


def test_a_custom_rule_pair_differs_on_everything_else(tmp_path: Path) -> None:
    """A name rule's pair has two emails: HubSpot's own email rule cannot be what refuses the second."""
    checks = dedup_checks(tmp_path, "  - {object: contacts, match: [firstname, lastname]}\n"
                                    "  - {object: companies, match: name}\n")
    hub, app = sandbox_connector({"duplicates": [{"object": "contacts", "match": ["firstname", "lastname"]}]})
    ctx = ctx_with(tmp_path, hub)
    evidence = checks["CRM-DEDUP-ACTIVE[contacts by firstname+lastname]"].run(ctx)
    assert "refused as a duplicate of" in evidence.summary
    with pytest.raises(CheckFailed, match="companies by name duplicate rule is not active"):
        checks["CRM-DEDUP-ACTIVE[companies by name]"].run(ctx)
    companies = [s for s in app._objects["companies"].values()]
    assert len({s.properties["domain"] for s in companies}) == 2  # two reserved domains, one name
    assert len({s.properties["name"] for s in companies}) == 1
    ctx.close()
    assert all(s.archived for records in app._objects.values() for s in records.values())


def test_salesforce_duplicates_detected_passes(tmp_path: Path) -> None:
    (check,) = dedup_checks(tmp_path, "  - {object: contacts, match: email}\n").values()
    api = "https://acme.my.salesforce.com/services/data/v62.0"
    with respx.mock(base_url=api, assert_all_called=False) as router:
        router.post("/sobjects/Contact/").mock(side_effect=[
            httpx.Response(201, json={"id": "0035g00000AbCdEAAZ", "success": True, "errors": []}),
            httpx.Response(400, json=[{"message": "Use one of these records?", "errorCode": "DUPLICATES_DETECTED",
                                       "fields": []}]),
        ])
        router.get("/sobjects/Contact/0035g00000AbCdEAAZ").respond(200, json={
            "attributes": {"type": "Contact"}, "Id": "0035g00000AbCdEAAZ"})
        sf = SalesforceConnector("00Dtoken!x", instance_url="https://acme.my.salesforce.com",
                                 retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        evidence = check.run(ctx_with(tmp_path, sf))
        sent = [r.request for r in router.calls if r.request.method == "POST"]
        sf.close()
    assert "refused as a duplicate of 0035g00000AbCdEAAZ (DUPLICATES_DETECTED)" in evidence.summary
    bodies = [httpx.Response(200, content=r.content).json() for r in sent]
    assert bodies[0]["Email"] == bodies[1]["Email"]
    assert bodies[0]["Email"].endswith("@gtmcheck.example.com")
    assert bodies[0]["gtmcheck_run_id__c"] == RUN_ID


@pytest.mark.parametrize("tag", [RUN_ID, "gtm-20261001T101500-abcdef"])
def test_a_first_record_refused_as_a_duplicate_counts_only_when_this_run_wrote_it(tmp_path: Path, tag: str) -> None:
    """A create retried after a lost answer is refused as a duplicate of itself: the pair goes on from it."""
    (check,) = dedup_checks(tmp_path, "  - {object: contacts, match: email}\n").values()
    conflict = {"status": "error", "message": "Contact already exists. Existing ID: 77", "category": "CONFLICT"}
    with respx.mock(base_url="https://api.hubapi.com") as router:
        router.post("/crm/v3/objects/contacts").respond(409, json=conflict)
        router.get("/crm/v3/objects/contacts/77").respond(200, json={
            "id": "77", "properties": {TAG_PROPERTY: tag}, "createdAt": "2026-11-26T12:00:00Z"})
        hub = HubSpotConnector("pat-na1-test", retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        if tag == RUN_ID:
            assert "refused as a duplicate of 77" in check.run(ctx_with(tmp_path, hub)).summary
        else:
            with pytest.raises(CheckError, match="which this run did not create"):
                check.run(ctx_with(tmp_path, hub))
        hub.close()


# --- CRM-TEST-RECORDS-FLUSHED -------------------------------------------------------------------------------------


def test_a_synthetic_tag_counts_when_it_is_an_earlier_runs() -> None:
    assert older_run("gtm-20261125T120000-000000", RUN_ID)
    assert not older_run(RUN_ID, RUN_ID)  # this run's records are in use by other checks
    assert not older_run("gtm-20261127T120000-000000", RUN_ID)  # a later, concurrent run's
    assert older_run("imported", RUN_ID)  # the tag property set by something else: a test record too
    assert not older_run(None, RUN_ID)


def flush_check(tmp_path: Path, body: str = "") -> Check:
    (check,) = checks_of(write(tmp_path, "test_records:\n  domains: [test.example]\n" + body))
    return check


def test_flush_finds_subdomains_earlier_runs_tags_and_names_and_skips_this_run(tmp_path: Path) -> None:
    check = flush_check(tmp_path, "  names: ['^qa ']\n")
    hub, app = sandbox_connector({})
    old = "gtm-20261001T101500-abcdef"
    for props in ({"email": "a@eu.test.example"}, {"email": "b@real.example", "firstname": "QA", "lastname": "x"},
                  {"email": f"x.{old.lower()}@gtmcheck.example.com", TAG_PROPERTY: old},
                  {"email": f"y.{RUN_ID.lower()}@gtmcheck.example.com", TAG_PROPERTY: RUN_ID},
                  {"email": "c@nottest.example"}):
        hub.create("contacts", props)
    hub.create("companies", {"domain": "test.example", "name": "Acme QA"})
    with pytest.raises(CheckFailed) as failed:
        check.run(ctx_with(tmp_path, hub))
    assert sorted(failed.value.evidence.details["ids"]) == ["companies/5001", "contacts/1001", "contacts/1002",
                                                            "contacts/1003"]
    assert f"synthetic tag '{old}' of an earlier run" in failed.value.message
    assert "contacts 1002 b@real.example (name matches '^qa ')" in failed.value.message
    assert "1004" not in failed.value.message and "1005" not in failed.value.message


def test_flush_does_not_count_a_record_archived_since_search_indexed_it(tmp_path: Path) -> None:
    check = flush_check(tmp_path)
    hub, app = sandbox_connector({"knobs": {"search_lag_ms": 60_000}})
    record = hub.create("contacts", {"email": "a@test.example"})
    app._objects["contacts"][record.id].index = [(0.0, dict(app._objects["contacts"][record.id].properties))]
    hub.archive("contacts", record.id)  # search still shows it for a minute; the object endpoint does not
    assert "no test records" in check.run(ctx_with(tmp_path, hub)).summary


def test_flush_reads_names_up_to_its_scan_limit_then_errors(tmp_path: Path) -> None:
    check = flush_check(tmp_path, "  names: [zzz]\n  objects: [contacts]\n  scan_limit: 3\n")
    hub, _ = sandbox_connector({})
    for i in range(4):
        hub.create("contacts", {"email": f"p{i}@real.example"})
    with pytest.raises(CheckError, match="contacts has more than 3 records"):
        check.run(ctx_with(tmp_path, hub))


def test_flush_on_salesforce_searches_by_soql_and_checks_each_hit_exactly(tmp_path: Path) -> None:
    check = flush_check(tmp_path, "  names: ['^test\\b']\n  objects: [contacts]\n")
    api = "https://acme.my.salesforce.com/services/data/v62.0"
    ids = {k: f"0035g00000AbC{k}0AAA" for k in "ABCD"}

    def row(key: str, **fields: str) -> dict[str, Any]:
        return {"attributes": {"type": "Contact"}, "Id": ids[key], **fields}

    def query(request: httpx.Request) -> httpx.Response:
        soql = request.url.params["q"]
        if "LIKE" in soql:
            assert "Email LIKE '%test.example%'" in soql
            records = [row("A", Email="qa@test.example"), row("B", Email="x@nottest.example")]
        elif "!= null" in soql:
            assert "gtmcheck_run_id__c != null" in soql
            records = [row("C", Email="old@gtmcheck.example.com", gtmcheck_run_id__c="gtm-20260101T000000-aaaaaa")]
        else:
            assert soql.endswith(", firstname, lastname, Email FROM Contact")  # the list, no WHERE
            records = [row("D", FirstName="Test", LastName="User", Email="t@real.example"),
                       row("B", FirstName="Nottest", LastName="B", Email="x@nottest.example")]
        return httpx.Response(200, json={"totalSize": len(records), "done": True, "records": records})

    with respx.mock(base_url=api, assert_all_called=False) as router:
        router.get("/sobjects/Contact/describe/").respond(200, json={"fields": [
            {"name": "Email", "type": "email"}, {"name": "gtmcheck_run_id__c", "type": "string"}]})
        router.get("/query").mock(side_effect=query)
        router.get(url__regex=r".*/sobjects/Contact/0035.*").respond(200, json=row("A"))
        sf = SalesforceConnector("00Dtoken!x", instance_url="https://acme.my.salesforce.com",
                                 retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        with pytest.raises(CheckFailed) as failed:
            check.run(ctx_with(tmp_path, sf))
        sf.close()
    assert sorted(failed.value.evidence.details["ids"]) == sorted(f"contacts/{ids[k]}" for k in "ACD")


# --- CRM-HANDOFF-SLA ----------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, cache: Path) -> Path:
    """A copy of the repository's project: its gtmcheck.yml and the reconcile checklist."""
    shutil.copy(REPO / "gtmcheck.yml", tmp_path / "gtmcheck.yml")
    (tmp_path / "checks").mkdir()
    shutil.copy(REPO / "checks" / "reconcile.gtm.yml", tmp_path / "checks" / "reconcile.gtm.yml")
    (tmp_path / "gtmcheck").mkdir()
    (tmp_path / "gtmcheck" / "demo").symlink_to(REPO / "gtmcheck" / "demo")
    return tmp_path


def sla_ctx(project: Path, env: str = "sandbox") -> RunContext:
    loaded = load_project(project)
    return RunContext(project=loaded, environment=loaded.environment(env), run_id=RUN_ID)


def test_the_sla_is_measured_with_its_own_within_by_the_named_checklist(project: Path) -> None:
    path = write(project / "checks", "handoff_sla: {team: sales, within: 1m, measured_by: "
                 "{checklist: checks/reconcile.gtm.yml, handoff: lead-to-sales}}\n")
    (check,) = checks_of(path)
    with pytest.raises(CheckFailed) as failed:  # the reconcile entry says 5m; the slowest lead took 1m35s
        check.run(sla_ctx(project))
    assert "sales handoff SLA 1m not met" in failed.value.message
    assert "arrived later than the 1m SLA" in failed.value.message


def test_an_unknown_handoff_id_says_where_it_looked(project: Path) -> None:
    (check,) = checks_of(write(project / "checks", "handoff_sla: {team: sales, within: 4h, measured_by: mql}\n"))
    with pytest.raises(CheckError) as err:
        check.run(sla_ctx(project))
    assert "no reconcile handoff 'mql' in checks/reconcile.gtm.yml" in err.value.message.replace(str(project) + "/", "")
    assert "handoffs there: lead-to-sales" in err.value.message


def test_an_sla_without_measured_by_is_documented_only(tmp_path: Path) -> None:
    assert checks_of(write(tmp_path, "handoff_sla: {team: sales, within: 4h}\n")) == []


# --- the sandbox's new sections -------------------------------------------------------------------------------------


def test_the_sandbox_answers_declared_properties_and_refuses_duplicates_by_its_rules() -> None:
    hub, _ = sandbox_connector({
        "properties": {"contacts": [{"name": "tier", "type": "enumeration", "options": ["a", "b"]},
                                    {"name": "email", "type": "string"}]},
        "duplicates": [{"object": "companies", "match": "domain"}]})
    props = {p.name: p for p in hub.properties("contacts")}
    assert props["tier"].type == "enumeration" and props["tier"].options == ("a", "b")
    assert props["tier"].field_type == "select"
    first = hub.create("companies", {"domain": "www.acme.example", "name": "Acme"})
    from gtmcheck.errors import DuplicateRecord

    with pytest.raises(DuplicateRecord) as dup:
        hub.create("companies", {"domain": "ACME.example", "name": "Acme 2"})
    assert dup.value.status == 409 and dup.value.existing_id == first.id
    assert "Company already exists. Existing ID: " in str(dup.value)
    hub.create("deals", {"dealname": "no rule for deals"})
    hub.create("deals", {"dealname": "no rule for deals"})


def test_a_scenario_may_load_several_csvs_per_object(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,email\np1,a@x.example\n")
    (tmp_path / "b.csv").write_text("id,email\np2,b@x.example\n")
    (tmp_path / "s.yml").write_text("records:\n  contacts: [a.csv, b.csv]\n")
    scenario = Scenario.load(tmp_path / "s.yml")
    assert [r["source_id"] for r in scenario.records["contacts"]] == ["p1", "p2"]
