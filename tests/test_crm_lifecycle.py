"""CRM-LIFECYCLE-QA as a user meets it: the state machine, its errors at their lines, and the live checks.

The live checks run against the sandbox CRM of the demo scenarios on a fake clock: healthy's lifecycle
workflow moves a lead scoring 50 to marketingqualifiedlead half a second later, drifted's wants 80; drifted's
history has contacts p005 and p033 moving from lead straight to customer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, Location, SpecError
from gtmcheck.kinds.crm.lifecycle import Lifecycle, lifecycle_checks, lifecycle_lint, parse_lifecycle
from gtmcheck.kinds.crm.lifecycle_live import audit
from gtmcheck.project import Environment, Project, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import Checklist, load_checklist
from gtmcheck.synthetic import TAG_PROPERTY

REPO = Path(__file__).resolve().parents[1]
HEALTHY = REPO / "gtmcheck" / "demo" / "healthy.yml"
DRIFTED = REPO / "gtmcheck" / "demo" / "drifted.yml"
HEADER = "kind: crm\nname: CRM build-out\nowner: revops@acme.example\nbuilt_by: jane@acme.example\n"
STAGES = "[subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer]"
LIFECYCLE = HEADER + f"""\
properties:
  contacts:
    - {{name: hs_lead_score, type: number}}
lifecycle:
  property: lifecyclestage
  stages: {STAGES}
  transitions:
    - {{from: lead, to: marketingqualifiedlead, trigger: {{property: hs_lead_score, gte: 50}}, within: 5m}}
  recycle: {{to: lead, from: [marketingqualifiedlead, salesqualifiedlead]}}
  audit: {{window: 30d}}
"""


@dataclasses.dataclass
class SpecView:
    """What the crm kind hands ``lifecycle_checks``: the checklist, its raw data, locations by path."""

    checklist: Checklist

    @property
    def data(self) -> Mapping[str, Any]:
        return self.checklist.data

    def location(self, *path: str | int) -> Location:
        return self.checklist.location(path)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], SpecView]:
    def write(text: str) -> SpecView:
        path = tmp_path / f"c{len(list(tmp_path.iterdir()))}.gtm.yml"
        path.write_text(text)
        return SpecView(load_checklist(path))

    return write


def machine_of(write: Callable[[str], SpecView], text: str = LIFECYCLE) -> Lifecycle:
    machine = parse_lifecycle(write(text))
    assert machine is not None
    return machine


# --- the state machine -------------------------------------------------------------------------------------


def test_the_next_stage_and_the_listed_moves_are_allowed(write: Callable[[str], SpecView]) -> None:
    machine = machine_of(write)
    assert machine.why_not("subscriber", "lead") is None
    assert machine.why_not("lead", "marketingqualifiedlead") is None
    assert machine.why_not("opportunity", "customer") is None
    assert machine.why_not("lead", "lead") is None  # the same stage written again is not a move


def test_a_forward_skip_names_the_stages_it_skips(write: Callable[[str], SpecView]) -> None:
    machine = machine_of(write)
    assert machine.why_not("lead", "customer") == "skips marketingqualifiedlead, salesqualifiedlead, opportunity"
    assert machine.why_not("subscriber", "marketingqualifiedlead") == "skips lead"


def test_backwards_only_as_the_recycle_rule_says(write: Callable[[str], SpecView]) -> None:
    machine = machine_of(write)
    assert machine.why_not("marketingqualifiedlead", "lead") is None
    assert machine.why_not("salesqualifiedlead", "lead") is None
    assert machine.why_not("customer", "lead") == "moves backwards outside the recycle rule"
    assert machine.why_not("salesqualifiedlead", "marketingqualifiedlead") == "moves backwards outside the recycle rule"
    without_recycle = machine_of(write, LIFECYCLE.replace("  recycle: {to: lead, from: [marketingqualifiedlead, "
                                                           "salesqualifiedlead]}\n", ""))
    assert without_recycle.why_not("marketingqualifiedlead", "lead") == "moves backwards outside the recycle rule"


def test_a_listed_skip_is_allowed_and_replaces_the_next_step(write: Callable[[str], SpecView]) -> None:
    text = LIFECYCLE.replace(
        "  recycle:", "    - {from: salesqualifiedlead, to: customer}\n"
                      "    - {from: salesqualifiedlead, to: opportunity}\n  recycle:")
    machine = machine_of(write, text)
    assert machine.why_not("salesqualifiedlead", "customer") is None
    assert machine.why_not("salesqualifiedlead", "opportunity") is None
    only_skip = machine_of(write, LIFECYCLE.replace("to: marketingqualifiedlead, trigger",
                                                    "to: salesqualifiedlead, trigger").replace(
        "  recycle: {to: lead, from: [marketingqualifiedlead, salesqualifiedlead]}\n",
        "    - {from: subscriber, to: lead}\n    - {from: subscriber, to: marketingqualifiedlead}\n"))
    assert only_skip.why_not("lead", "salesqualifiedlead") is None
    assert only_skip.why_not("lead", "marketingqualifiedlead") == \
        "is not one of lead's listed moves (salesqualifiedlead)"


def test_an_undeclared_stage_is_named(write: Callable[[str], SpecView]) -> None:
    assert machine_of(write).why_not("lead", "evangelist") == "evangelist is not a declared stage"


# --- the section's errors, at their lines ------------------------------------------------------------------


def test_an_unknown_stage_in_a_transition_is_an_error_at_its_line(write: Callable[[str], SpecView]) -> None:
    spec = write(LIFECYCLE.replace("to: marketingqualifiedlead, trigger", "to: mql, trigger"))
    with pytest.raises(SpecError) as err:
        lifecycle_checks(spec)
    assert err.value.location is not None and err.value.location.line == 12
    assert "transition 1's `to` names 'mql', which is not one of the lifecycle's stages" in str(err.value)


def test_a_transition_backwards_is_an_error_pointing_at_recycle(write: Callable[[str], SpecView]) -> None:
    spec = write(LIFECYCLE.replace("from: lead, to: marketingqualifiedlead", "from: customer, to: lead"))
    with pytest.raises(SpecError) as err:
        lifecycle_checks(spec)
    assert "transition customer -> lead does not move forward" in str(err.value)
    assert "recycle" in err.value.hint


def test_an_unreachable_stage_is_an_error_at_the_stage(write: Callable[[str], SpecView]) -> None:
    # lead's only listed move skips marketingqualifiedlead, and nothing else leads there
    spec = write(LIFECYCLE.replace("to: marketingqualifiedlead, trigger", "to: salesqualifiedlead, trigger")
                 .replace("from: [marketingqualifiedlead, salesqualifiedlead]", "from: [salesqualifiedlead]"))
    with pytest.raises(SpecError) as err:
        lifecycle_checks(spec)
    text = str(err.value)
    assert "stage marketingqualifiedlead cannot be reached from subscriber" in text
    assert err.value.location is not None and (err.value.location.line, err.value.location.column) == (10, 30)
    assert "{from: lead, to: marketingqualifiedlead}" in err.value.hint


def test_a_trigger_needs_its_sla_and_a_schema_typo_is_an_error(write: Callable[[str], SpecView]) -> None:
    with pytest.raises(SpecError, match="has a trigger without `within`"):
        lifecycle_checks(write(LIFECYCLE.replace(", within: 5m", "")))
    with pytest.raises(SpecError) as err:
        lifecycle_checks(write(LIFECYCLE.replace("gte: 50", "atleast: 50")))
    assert err.value.location is not None and err.value.location.line == 12
    assert "unknown key 'atleast' in lifecycle.transitions[0].trigger" in str(err.value)
    with pytest.raises(SpecError, match="unknown key 'recyle'"):
        lifecycle_checks(write(LIFECYCLE.replace("  recycle:", "  recyle:")))


def test_a_trigger_on_an_undeclared_property_is_a_lint_finding(write: Callable[[str], SpecView]) -> None:
    assert lifecycle_lint(write(LIFECYCLE)) == []
    problems = lifecycle_lint(write(LIFECYCLE.replace("name: hs_lead_score", "name: lead_score")))
    assert [(p.rule, p.location.line) for p in problems] == [("lifecycle.trigger-undeclared", 12)]
    assert "reads hs_lead_score, which is not declared under properties.contacts" in problems[0].message


def test_the_checks_a_lifecycle_configures(write: Callable[[str], SpecView]) -> None:
    checks = lifecycle_checks(write(LIFECYCLE))
    assert [c.name for c in checks] == ["CRM-LIFECYCLE-QA[lead->marketingqualifiedlead]", "CRM-LIFECYCLE-QA[audit]"]
    assert checks[0].needs == {"crm", "writes"} and checks[1].needs == {"crm"}
    assert lifecycle_checks(write(HEADER)) == []


# --- live, against the sandbox ---------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    ctx: RunContext
    app: HubSpotSandbox
    crm: HubSpotConnector
    clock: FakeClock

    def tagged_contacts(self) -> list[dict[str, str | None]]:
        """The contacts holding a run tag (the list endpoint: no search lag)."""
        records = self.crm.scan("contacts", [TAG_PROPERTY, "lifecyclestage"])
        return [r.properties for r in records if r.properties.get(TAG_PROPERTY)]


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(REPO)


@pytest.fixture
def sandbox(project: Project) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(scenario: Path = HEALTHY, *, writes: bool = True, **lifecycle: Any) -> Run:
        clock = FakeClock()
        loaded = Scenario.load(scenario)
        loaded = dataclasses.replace(loaded, lifecycle={**loaded.lifecycle, **lifecycle})
        app = HubSpotSandbox(loaded, clock=clock, sleep=clock.sleep)
        crm = HubSpotConnector("pat-test", transport=httpx.WSGITransport(app=app),
                               limiters=hubspot_limits(clock=clock, sleep=clock.sleep), sleep=clock.sleep)
        env = Environment("sandbox", REPO, {"type": "sandbox", "scenario": str(scenario)}, writes=writes)
        run = Run(RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm),
                  app, crm, clock)
        runs.append(run)
        return run

    yield start
    for run in runs:
        cleanup = run.ctx.finish()
        assert cleanup is None or cleanup.clean, cleanup.summary()
        assert run.tagged_contacts() == []
        run.crm.close()


def test_healthy_the_mql_trigger_moves_the_synthetic_contact(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    run = sandbox(HEALTHY)
    check = lifecycle_checks(write(LIFECYCLE))[0]
    evidence = check.run(run.ctx)
    assert evidence.summary.startswith("contact ")
    assert ("moved lead -> marketingqualifiedlead 0.5 s after hs_lead_score was set to 50 (by the CRM's clock; "
            "within 5m)") in evidence.summary
    record = evidence.details["record"]
    # the workflow wrote it, and the history says so
    stages = run.crm.history("contacts", [record], "lifecyclestage")[record]
    assert [(e.value, e.source_type) for e in stages][:2] == [("marketingqualifiedlead", "AUTOMATION_PLATFORM"),
                                                                ("lead", "API")]
    assert stages[0].source_id == "workflow:lead-score-mql"
    # the contact is synthetic and still there until the run ends
    assert [c["lifecyclestage"] for c in run.tagged_contacts()] == ["marketingqualifiedlead"]
    cleanup = run.ctx.finish()
    assert cleanup is not None and cleanup.archived == 1
    assert run.tagged_contacts() == []


def test_drifted_the_mql_trigger_does_not_fire_and_the_miss_names_the_contact(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    run = sandbox(DRIFTED)
    check = lifecycle_checks(write(LIFECYCLE))[0]
    started = run.clock.now
    with pytest.raises(CheckFailed) as err:
        check.run(run.ctx)
    record = err.value.evidence.details["record"]
    assert str(err.value) == (
        f"transition lead -> marketingqualifiedlead did not fire: contact {record} was given hs_lead_score = 50 "
        "(hs_lead_score gte 50) and still has lifecyclestage 'lead' after 300.0 s (expected marketingqualifiedlead "
        "within 5m)")
    assert err.value.received == f"lifecyclestage lead after 300.0 s (contact {record})"
    assert 300 <= run.clock.now - started < 306  # waited the SLA on the run's clock, and not much longer
    assert max(run.clock.sleeps) <= 5.0  # polled, backing off to 5 s
    assert len(run.tagged_contacts()) == 1  # archived at the end of the run (the fixture checks it)


def test_a_score_below_the_threshold_would_not_have_passed(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    """The contact is given the boundary value: a checklist saying gt 50 sends 51, which healthy moves."""
    run = sandbox(HEALTHY)
    check = lifecycle_checks(write(LIFECYCLE.replace("gte: 50", "gt: 50")))[0]
    assert "set to 51" in check.run(run.ctx).summary


def test_the_synthetic_check_needs_writes(write: Callable[[str], SpecView], sandbox: Callable[..., Run]) -> None:
    run = sandbox(HEALTHY, writes=False)
    with pytest.raises(CheckError, match="does not allow writes, and CRM-LIFECYCLE-QA creates a synthetic"):
        lifecycle_checks(write(LIFECYCLE))[0].run(run.ctx)
    assert run.tagged_contacts() == []


def test_healthy_history_is_clean(write: Callable[[str], SpecView], sandbox: Callable[..., Run]) -> None:
    run = sandbox(HEALTHY, writes=False)
    evidence = lifecycle_checks(write(LIFECYCLE))[1].run(run.ctx)
    # p012 was recycled (marketingqualifiedlead -> cleared -> lead) and p014 walked every stage in the window
    assert evidence.details["moves"] >= 6
    assert evidence.details["disallowed"] == []
    assert "every one allowed" in evidence.summary


def test_drifted_history_names_the_records_that_skipped(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    run = sandbox(DRIFTED, writes=False)
    with pytest.raises(CheckFailed) as err:
        lifecycle_checks(write(LIFECYCLE))[1].run(run.ctx)
    ids = {r.properties["source_id"]: r.id for r in run.crm.scan("contacts", ["source_id"])}
    p005, p033 = ids["p005"], ids["p033"]
    assert ("lead -> customer x2 (skips marketingqualifiedlead, salesqualifiedlead, opportunity): "
            f"contacts {p005}, {p033}") in str(err.value)
    assert str(err.value).startswith("2 of ")
    assert err.value.evidence.details["disallowed"] == [
        {"from": "lead", "to": "customer", "why": "skips marketingqualifiedlead, salesqualifiedlead, opportunity",
         "count": 2, "records": [p005, p033]}]


def test_the_audit_without_a_recycle_rule_flags_the_recycled_contact(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    run = sandbox(HEALTHY, writes=False)
    text = LIFECYCLE.replace("  recycle: {to: lead, from: [marketingqualifiedlead, salesqualifiedlead]}\n", "")
    with pytest.raises(CheckFailed) as err:
        lifecycle_checks(write(text))[1].run(run.ctx)
    p012 = next(r.id for r in run.crm.scan("contacts", ["source_id"]) if r.properties["source_id"] == "p012")
    assert f"marketingqualifiedlead -> lead x1 (moves backwards outside the recycle rule): contacts {p012}" \
        in str(err.value)


def test_the_audit_reads_at_most_max_records(write: Callable[[str], SpecView], sandbox: Callable[..., Run]) -> None:
    run = sandbox(HEALTHY, writes=False)
    evidence = lifecycle_checks(write(LIFECYCLE.replace("{window: 30d}", "{window: 30d, max_records: 1}")))[1] \
        .run(run.ctx)
    assert evidence.details["records_read"] == 1 and evidence.details["truncated"]
    assert "(the first 1 read; audit.max_records raises it, up to 10000)" in evidence.summary


def test_an_interrupt_stops_the_wait_and_the_contact_is_still_archived(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    run = sandbox(DRIFTED)
    started = run.clock.now

    def sleep(seconds: float) -> None:  # Ctrl-C ten seconds into the wait
        run.clock.sleep(seconds)
        if run.clock.now - started > 10:
            run.ctx.cancelled.set()

    run.ctx.sleep = sleep
    with pytest.raises(CheckError, match=r"interrupted while contact \d+ waited for marketingqualifiedlead"):
        lifecycle_checks(write(LIFECYCLE))[0].run(run.ctx)
    assert run.clock.now - started < 20
    assert len(run.tagged_contacts()) == 1
    cleanup = run.ctx.finish()
    assert cleanup is not None and cleanup.clean and cleanup.archived == 1


def test_the_audit_on_salesforce_reads_lead_history_through_soql(write: Callable[[str], SpecView]) -> None:
    """Salesforce Leads by Status: the leads changed in the window, then their LeadHistory rows, judged."""
    machine = machine_of(write, HEADER + """\
lifecycle:
  object: leads
  property: Status
  stages: [Open, Working, Qualified, Converted]
  audit: {window: 30d}
""")
    api = "https://acme.my.salesforce.com/services/data/v62.0"
    lead_a, lead_b = "00Q5g00000AbC001AA", "00Q5g00000AbC002AA"

    def history(lead: str, *values: tuple[str, str]) -> list[dict[str, Any]]:
        return [{"LeadId": lead, "NewValue": v, "CreatedDate": t, "CreatedById": "0055g00000OwnrAAAA"}
                for v, t in values]

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    queries: list[str] = []

    def query(request: httpx.Request) -> httpx.Response:
        soql = parse_qs(urlsplit(str(request.url)).query)["q"][0]
        queries.append(soql)
        if "FROM LeadHistory" in soql:
            rows = (history(lead_a, ("Converted", "2026-11-20T10:00:00.000+0000"),
                            ("Open", "2026-11-10T10:00:00.000+0000"))
                    + history(lead_b, ("Qualified", "2026-11-21T10:00:00.000+0000"),
                              ("Working", "2026-10-01T10:00:00.000+0000"),
                              ("Open", "2026-09-01T10:00:00.000+0000")))
        else:
            rows = [{"Id": lead_a, "Status": "Converted"}, {"Id": lead_b, "Status": "Qualified"}]
        return httpx.Response(200, json={"done": True, "totalSize": len(rows), "records": rows})

    with respx.mock(base_url=api) as router:
        router.get("/sobjects/Lead/describe/").mock(return_value=httpx.Response(200, json={"fields": [
            {"name": "Id", "type": "id"}, {"name": "Status", "type": "picklist"},
            {"name": "LastModifiedDate", "type": "datetime"}]}))
        router.get("/query").mock(side_effect=query)
        sf = SalesforceConnector("00Dtoken!secret", instance_url="https://acme.my.salesforce.com",
                                 retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
        result = audit(machine, sf, now)
        sf.close()
    assert queries[0] == ("SELECT Id, OwnerId, CreatedDate, LastModifiedDate, Status FROM Lead WHERE Status != null "
                          "AND LastModifiedDate >= 2026-10-27T12:00:00Z")
    assert "FROM LeadHistory WHERE Field = 'Status'" in queries[1]
    assert result.records == 2 and result.moves == 2  # lead_b's Open -> Working was before the window
    assert result.bad == {("Open", "Converted"): ("skips Working, Qualified", [lead_a])}


def _slow_reads(run: Run, first_sleep: float) -> None:
    """Our first wait between two reads lasts ``first_sleep`` (a long backoff after 429s, say)."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        run.clock.sleep(first_sleep if len(sleeps) == 1 else seconds)

    run.ctx.sleep = sleep


def test_a_move_later_than_the_sla_fails_by_the_crms_clock_even_when_seen_at_once(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    """The workflow takes 400 s; our reads were held up for 500 s: the stage is there, but it came late."""
    run = sandbox(HEALTHY, delay_ms=400_000)
    _slow_reads(run, 500)
    with pytest.raises(CheckFailed) as err:
        lifecycle_checks(write(LIFECYCLE))[0].run(run.ctx)
    record = err.value.evidence.details["record"]
    assert str(err.value) == (
        f"transition lead -> marketingqualifiedlead fired late: contact {record} moved lead -> "
        "marketingqualifiedlead 400.0 s after hs_lead_score was set to 50 (by the CRM's clock; expected within 5m)")


def test_a_timely_move_seen_late_passes_by_the_crms_clock(
    write: Callable[[str], SpecView], sandbox: Callable[..., Run]
) -> None:
    """The workflow took half a second; our reads were held up for 400 s: not the CRM's fault."""
    run = sandbox(HEALTHY)
    _slow_reads(run, 400)
    evidence = lifecycle_checks(write(LIFECYCLE))[0].run(run.ctx)
    assert "0.5 s after hs_lead_score was set to 50 (by the CRM's clock; within 5m)" in evidence.summary
    assert evidence.details["waited_s"] >= 400
