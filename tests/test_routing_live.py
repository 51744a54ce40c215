"""The live routing checks as a user meets them: the messages they print, what passes and what fails.

Against the sandbox CRM on a fake clock (its routing workflow, owners and duplicate detection), or against
respx with HubSpot's and Salesforce's REST shapes (DOMAIN.md) where a behaviour needs a CRM the sandbox is not:
one that assigns late by its own clock, creates duplicates, or is Salesforce.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.crm import Filter
from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, NotConfigured
from gtmcheck.kinds.routing import RoutingSpec, spec_of
from gtmcheck.kinds.routing import checks as live
from gtmcheck.kinds.routing.leads import LeadOptions
from gtmcheck.project import Environment, Project, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import load_checklist
from gtmcheck.synthetic import TAG_PROPERTY, synthetic_email, tagged

REPO = Path(__file__).resolve().parents[1]
HEALTHY = REPO / "gtmcheck" / "demo" / "healthy.yml"
DRIFTED = REPO / "gtmcheck" / "demo" / "drifted.yml"
DEMO_CHECKLIST = REPO / "checks" / "routing.gtm.yml"
# owner ids in the demo scenarios, in the order they are declared
ANNA, BEN, CARLA, DEV, ERIN, QUEUE = (str(70000001 + i) for i in range(6))
EARLIER = "gtm-20261122T090000-eeeeee"  # an earlier run's leftovers
HEADER = "kind: routing\nname: Inbound\nowner: mops@acme.example\nbuilt_by: jane@acme.example\n"
SMALL = HEADER + """\
rules:
  - id: apac
    when: {country: {in: [JP]}}
    assign: {owner: ben@acme.example}
  - id: dach
    when: {country: {in: [DE]}}
    assign: {owner: anna@acme.example}
fallback: {queue: inbound-queue@acme.example}
edge_cases: {duplicate_contact: existing_owner}
sla: {assigned_within: 5m}
leads: {boundaries: false, bands: false, outside_lists: 0}   # one lead per listed value: these tests are about
"""                                                          # timing and failures, not which leads to send


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(REPO)


@pytest.fixture(scope="module")
def demo() -> RoutingSpec:
    return spec_of(load_checklist(DEMO_CHECKLIST))


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], RoutingSpec]:
    def write(text: str) -> RoutingSpec:
        path = tmp_path / f"r{len(list(tmp_path.iterdir()))}.gtm.yml"
        path.write_text(text)
        return spec_of(load_checklist(path))

    return write


@dataclasses.dataclass
class Run:
    """One run against a fresh sandbox, every part of it on one fake clock."""

    ctx: RunContext
    app: HubSpotSandbox
    crm: HubSpotConnector
    clock: FakeClock

    def tagged_contacts(self) -> list[dict[str, str | None]]:
        """The contacts the CRM holds with a run tag (the list endpoint: no search lag)."""
        records = self.crm.scan("contacts", [TAG_PROPERTY, "hubspot_owner_id"])
        return [r.properties for r in records if r.properties.get(TAG_PROPERTY)]


@pytest.fixture
def sandbox(project: Project) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(scenario: Path = HEALTHY, *, routing: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
              writes: bool = True, **options: Any) -> Run:
        clock = FakeClock()
        loaded = Scenario.load(scenario)
        if routing is not None:
            loaded = dataclasses.replace(loaded, routing=routing(dict(loaded.routing)))
        app = HubSpotSandbox(loaded, clock=clock, sleep=clock.sleep, **options)
        crm = HubSpotConnector("pat-test", transport=httpx.WSGITransport(app=app),
                               limiters=hubspot_limits(clock=clock, sleep=clock.sleep), sleep=clock.sleep)
        env = Environment("sandbox", REPO, {"type": "sandbox", "scenario": str(scenario)}, writes=writes)
        run = Run(RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm),
                  app, crm, clock)
        runs.append(run)
        return run

    yield start
    for run in runs:  # every run leaves nothing behind, whatever its checks said
        cleanup = run.ctx.finish()
        assert cleanup is None or cleanup.clean, cleanup.summary()
        assert run.tagged_contacts() == []
        run.crm.close()


# --- a misrouted lead, a late owner, no owner -------------------------------------------------------------------


def test_a_misrouted_lead_names_who_was_expected_who_got_it_after_how_long_and_the_lead(
    sandbox: Callable[..., Run], demo: RoutingSpec
) -> None:
    run = sandbox(DRIFTED)
    with pytest.raises(CheckFailed) as failed:
        live.check_branch(run.ctx, demo, i=1)  # enterprise-emea, rebuilt without Spain and Italy
    exc = failed.value
    assert exc.message.startswith("3 of 13 leads of rule enterprise-emea misrouted: ")
    assert "expected anna@acme.example (rule enterprise-emea), received inbound-queue@acme.example (fallback) " \
           "after 0.5 s; lead {country: ES, employees: 1500}" in exc.message
    assert "{country: IT, employees: 1500}" in exc.message
    assert "{country: ES, employees: 1000}" in exc.message  # the boundary lead, on the same missing country
    # every misrouted lead is named, each once, and no "(and 1 more)" promises a lead it then lists again
    for lead in ("{country: ES, employees: 1500}", "{country: IT, employees: 1500}", "{country: ES, employees: 1000}"):
        assert exc.message.count(lead) == 1
    assert "more)" not in exc.message
    assert exc.expected == "anna@acme.example (rule enterprise-emea)"
    assert exc.received == "inbound-queue@acme.example (fallback) after 0.5 s"
    assert exc.evidence.summary == "10 of 13 leads of rule enterprise-emea routed as declared"
    sent = exc.evidence.details["sent"]  # what was tested, for a reviewer: every lead's values and why it was sent
    assert {"lead": "enterprise-emea-8", "why": "boundary", "values": {"country": "ES", "employees": 999},
            "expected": "fallback", "owner": "inbound-queue@acme.example", "ok": True} in sent


def test_many_misrouted_leads_are_each_named_once_and_the_rest_counted() -> None:
    from gtmcheck.kinds.routing.leads import Expectation, LeadPlan
    from gtmcheck.kinds.routing.live import Outcome

    def outcome(n: int, ok: bool) -> Outcome:
        plan = LeadPlan(f"emea-{n}", {"country": "DE"}, Expectation("emea"), "emea")
        return Outcome(plan, problem=None if ok else f"expected anna, received ben; lead #{n}#")

    outcomes = [outcome(n, ok=n % 2 == 0) for n in range(1, 13)]  # 6 of 12 misrouted: 1, 3, 5, 7, 9, 11
    with pytest.raises(CheckFailed) as failed:
        live._fail_on_problems(outcomes, "leads of rule emea", {})
    message = failed.value.message
    assert message.startswith("6 of 12 leads of rule emea misrouted: expected anna, received ben; lead #1#")
    named = re.findall(r"#(\d+)#", message)
    assert named == ["1", "3", "5"]  # the first three, each once
    assert message.endswith("(and 3 more)")  # the three not named, and only those


def test_a_lead_without_an_owner_within_the_sla_says_so(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    run = sandbox(routing=lambda r: {**r, "delay_ms": 10 * 60 * 1000})  # the workflow takes 10 minutes
    with pytest.raises(CheckFailed) as failed:
        live.check_branch(run.ctx, write_spec(SMALL), i=0)
    assert failed.value.message == (
        "1 of 1 leads of rule apac misrouted: expected ben@acme.example (rule apac), received no owner within the "
        "SLA of 5m (waited 300.0 s); lead {country: JP}")
    assert max(run.clock.sleeps) <= 5.0  # it polled the record all along, at most 5 s apart


def test_a_long_wait_for_an_owner_says_how_many_leads_wait_and_how_much_of_the_sla_passed(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    run = sandbox(routing=lambda r: {**r, "delay_ms": 60 * 1000})  # the workflow takes a minute
    spec = write_spec(SMALL)
    # the second time, the first read of the lead waits for the run's typical latency (a minute): still beating
    for _ in range(2):
        said: list[tuple[float, str]] = []
        run.ctx.progress = lambda line, said=said: said.append((run.clock.now, line))  # type: ignore[misc]
        started = run.clock.now
        live.check_branch(run.ctx, spec, i=0)  # the owner comes within the 5m SLA: a pass
        assert said, "no heartbeat during a one-minute wait"
        times = [started] + [t for t, _ in said]
        assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= 10.0  # at least every 10 s
        assert min(b - a for a, b in zip(times[1:], times[2:], strict=False)) >= 4.0  # and not a line per poll
        assert run.clock.now - times[-1] <= 10.0
        first, last = said[0][1], said[-1][1]
        assert re.fullmatch(r"1 lead waiting for an owner, \d+\.\d s of the 5m SLA passed", first), first
        assert float(last.split(", ")[1].split(" s ")[0]) >= 50.0  # the time of the SLA passed grows with the wait


def test_a_short_wait_says_nothing(sandbox: Callable[..., Run], demo: RoutingSpec) -> None:
    run = sandbox()
    said: list[str] = []
    run.ctx.progress = said.append
    listed_only = dataclasses.replace(demo, lead_options=LeadOptions(boundaries=False, bands=False, outside_lists=0))
    live.check_branch(run.ctx, listed_only, i=1)  # six leads, owners within half a second each
    assert said == []


class FakeHubSpot:
    """HubSpot's object, owner and search endpoints on respx, with the assignment a test scripts."""

    CREATED = "2026-11-23T10:00:00.000Z"

    def __init__(self, router: respx.MockRouter) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.owner: dict[str, tuple[str, str]] = {}  # record id -> (owner id, assigned date)
        self.reads: dict[str, int] = {}
        self.polls_before_owner = 0  # GETs of a record that still show no owner
        self.rate_limited_reads: set[int] = set()  # GETs (1-based, per record) answered 429
        self.creates: list[str] = []  # scripted POSTs: "lost" (written, answered 502), "conflict" (409)
        self.archived: list[str] = []
        owners = [{"id": oid, "email": email, "firstName": "", "lastName": "", "userId": 1, "type": kind,
                   "archived": False, "teams": []}
                  for oid, email, kind in ((ANNA, "anna@acme.example", "PERSON"), (BEN, "ben@acme.example", "PERSON"),
                                           (QUEUE, "inbound-queue@acme.example", "QUEUE"))]
        router.get("/crm/v3/owners/").mock(side_effect=lambda request: httpx.Response(
            200, json={"results": owners if request.url.params.get("archived") == "false" else []}))
        router.post("/crm/v3/objects/contacts").mock(side_effect=self.create)
        router.get(path__regex=r"^/crm/v3/objects/contacts/(?P<rid>\d+)$").mock(side_effect=self.get)
        router.post("/crm/v3/objects/contacts/batch/archive").mock(side_effect=self.archive)
        router.post("/crm/v3/objects/contacts/search").respond(200, json={"total": 0, "results": []})

    def create(self, request: httpx.Request) -> httpx.Response:
        step = self.creates.pop(0) if self.creates else "ok"
        props = json.loads(request.content)["properties"]
        if step == "conflict":
            existing = next(rid for rid, p in self.records.items() if p["email"] == props["email"])
            return httpx.Response(409, json={"status": "error", "category": "CONFLICT", "correlationId": "c0ffee",
                                             "message": f"Contact already exists. Existing ID: {existing}"})
        rid = str(501 + len(self.records))
        self.records[rid] = props
        if step == "lost":
            return httpx.Response(502, json={"status": "error", "message": "Bad Gateway"})
        return httpx.Response(201, json=self.json(rid, with_owner=False))

    def get(self, request: httpx.Request, rid: str) -> httpx.Response:
        self.reads[rid] = n = self.reads.get(rid, 0) + 1
        if n in self.rate_limited_reads:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={
                "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "correlationId": "c0ffee", "policyName": "TEN_SECONDLY_ROLLING"})
        return httpx.Response(200, json=self.json(rid, with_owner=n > self.polls_before_owner))

    def archive(self, request: httpx.Request) -> httpx.Response:
        self.archived += [i["id"] for i in json.loads(request.content)["inputs"]]
        return httpx.Response(204)

    def json(self, rid: str, *, with_owner: bool) -> dict[str, Any]:
        props = {**self.records[rid], "createdate": self.CREATED, "hs_object_id": rid,
                 "lastmodifieddate": self.CREATED}
        if with_owner and rid in self.owner:
            props["hubspot_owner_id"], props["hubspot_owner_assigneddate"] = self.owner[rid]
        return {"id": rid, "properties": props, "createdAt": self.CREATED, "updatedAt": self.CREATED,
                "archived": False}


@pytest.fixture
def hubspot(project: Project) -> Iterator[tuple[FakeHubSpot, RunContext, FakeClock]]:
    clock = FakeClock()
    with respx.mock(base_url="https://api.hubapi.com", assert_all_called=False) as router:
        fake = FakeHubSpot(router)
        crm = HubSpotConnector("pat-test", limiters=hubspot_limits(clock=clock, sleep=clock.sleep),
                               sleep=clock.sleep)
        env = Environment("production", REPO, {"type": "hubspot", "token": "pat-test"}, writes=True)
        ctx = RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm)
        yield fake, ctx, clock
        cleanup = ctx.finish()
        assert cleanup is not None and cleanup.clean, cleanup.summary()
        assert sorted(fake.archived) == sorted(fake.records)  # every record the run made, archived
        crm.close()


def test_an_owner_assigned_after_the_sla_fails_with_its_latency(
    hubspot: tuple[FakeHubSpot, RunContext, FakeClock], write_spec: Callable[[str], RoutingSpec]
) -> None:
    fake, ctx, _ = hubspot
    fake.owner["501"] = (BEN, "2026-11-23T10:07:00.000Z")  # by HubSpot's clock, 7 minutes after creation
    with pytest.raises(CheckFailed) as failed:
        live.check_branch(ctx, write_spec(SMALL), i=0)
    assert failed.value.message == (
        "1 of 1 leads of rule apac misrouted: expected ben@acme.example (rule apac) within 5m, received it after "
        "420.0 s; lead {country: JP}")


def test_latency_is_the_crms_assigned_date_minus_creation_not_how_long_we_polled(
    hubspot: tuple[FakeHubSpot, RunContext, FakeClock], write_spec: Callable[[str], RoutingSpec]
) -> None:
    fake, ctx, clock = hubspot
    fake.owner["501"] = (BEN, "2026-11-23T10:00:01.000Z")  # assigned 1 s after creation, by HubSpot's clock
    fake.polls_before_owner = 4  # but the first four reads (to 1.6 s) come too early,
    fake.rate_limited_reads = {5}  # and the fifth, at the 2 s SLA, is a 429 that says: come back in 3 s
    spec = write_spec(SMALL.replace("assigned_within: 5m", "assigned_within: 2s"))
    started = clock()
    evidence = live.check_branch(ctx, spec, i=0)
    assert fake.reads["501"] == 6 and clock() - started >= 5.0  # we saw the owner 5 s in, past the SLA ...
    assert evidence.details["p95_s"] == 1.0  # ... and the lead is judged by HubSpot's clock: no failure of ours
    assert evidence.summary == "1 leads of rule apac reached ben@acme.example (rule apac) within the SLA (p95 1.0 s)"


def test_a_lost_create_answer_retried_into_a_409_for_our_own_lead_still_counts(
    hubspot: tuple[FakeHubSpot, RunContext, FakeClock], write_spec: Callable[[str], RoutingSpec]
) -> None:
    """The first POST was written but answered 502; its retry says 409 with the id of that very lead."""
    fake, ctx, _ = hubspot
    fake.owner["501"] = (BEN, "2026-11-23T10:00:00.500Z")
    fake.creates = ["lost", "conflict"]
    evidence = live.check_branch(ctx, write_spec(SMALL), i=0)
    assert evidence.summary.startswith("1 leads of rule apac reached ben@acme.example (rule apac) within the SLA")
    assert fake.creates == []  # the 502 was retried, and the retry answered 409
    assert list(fake.records) == ["501"] and ctx.ledger.created == 1  # in the ledger: archived at the end


# --- round robin and deactivated owners ---------------------------------------------------------------------------


def test_round_robin_fails_when_a_pool_member_never_gets_a_lead(
    sandbox: Callable[..., Run], demo: RoutingSpec
) -> None:
    run = sandbox(routing=lambda r: {**r, "pools": {**r["pools"], "na": ["carla@acme.example"]}})  # dev left out
    with pytest.raises(CheckFailed) as failed:
        live.check_branch(run.ctx, demo, i=3)  # north-america: round robin [carla, dev]
    assert failed.value.message == ("round robin of rule north-america never assigned dev@acme.example over 4 "
                                    "leads (distribution: carla@acme.example 4, dev@acme.example 0)")
    assert failed.value.expected == "every member of the pool gets leads (carla@acme.example, dev@acme.example)"


def test_a_lead_assigned_to_a_deactivated_owner_fails(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    spec = write_spec(HEADER + """\
rules:
  - id: north-america
    when: {country: {in: [US, CA]}}
    assign: {round_robin: [carla@acme.example, erin@acme.example]}
fallback: {queue: inbound-queue@acme.example}
""")
    run = sandbox(routing=lambda r: {**r, "pools": {**r["pools"], "na": ["carla@acme.example", "erin@acme.example"]}})
    with pytest.raises(CheckFailed) as failed:
        live.check_branch(run.ctx, spec, i=0)
    message = failed.value.message
    assert message.startswith("2 of 6 leads of rule north-america misrouted: assigned to erin@acme.example "
                              "(deactivated; rule north-america), who cannot work the lead; lead {country: ")


# --- edge cases -------------------------------------------------------------------------------------------------


def test_a_duplicate_submission_keeps_the_existing_owner(sandbox: Callable[..., Run], demo: RoutingSpec) -> None:
    run = sandbox()
    evidence = live.check_edge_case(run.ctx, demo, name="duplicate_contact")
    assert "was refused as a duplicate and the record kept anna@acme.example (the existing owner)" in evidence.summary
    (first,) = run.tagged_contacts()  # one record, still with its first owner
    assert first["hubspot_owner_id"] == ANNA


def test_a_crm_that_creates_a_second_record_fails_the_duplicate_case(
    hubspot: tuple[FakeHubSpot, RunContext, FakeClock], write_spec: Callable[[str], RoutingSpec]
) -> None:
    fake, ctx, _ = hubspot
    fake.owner["501"] = (BEN, "2026-11-23T10:00:00.500Z")
    with pytest.raises(CheckFailed) as failed:
        live.check_edge_case(ctx, write_spec(SMALL), name="duplicate_contact")
    email = fake.records["501"]["email"]
    assert fake.records["502"]["email"] == email  # POST answered 201 twice for the same person
    assert failed.value.message == (f"the CRM created a second record (502) for {email}, which already exists as "
                                    "501: duplicate detection is not active")
    assert ctx.ledger.created == 2  # the duplicate is ours too, and is archived with the rest


def test_an_existing_customer_domain_goes_to_the_account_owner(sandbox: Callable[..., Run], demo: RoutingSpec) -> None:
    evidence = live.check_edge_case(sandbox().ctx, demo, name="existing_customer_domain")
    assert evidence.summary == ("{country: DE, email_domain: globex.example, employees: 1500} reached "
                                "ben@acme.example (rule existing-customer, owner of globex.example) after 0.5 s")


def test_a_customer_domain_routed_by_territory_instead_fails(sandbox: Callable[..., Run], demo: RoutingSpec) -> None:
    run = sandbox(routing=lambda r: {**r, "rules": [x for x in r["rules"] if x["id"] != "existing-customer"]})
    with pytest.raises(CheckFailed) as failed:
        live.check_edge_case(run.ctx, demo, name="existing_customer_domain")
    assert failed.value.message == (
        "1 of 1 existing customer domain leads misrouted: expected ben@acme.example (rule existing-customer, owner "
        "of globex.example), received anna@acme.example (rules enterprise-emea, emea) after 0.5 s; lead {country: DE, "
        "email_domain: globex.example, employees: 1500}")


def test_an_edge_case_no_lead_can_exercise_is_not_configured_and_sends_nothing(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    """``existing_customer_domain`` with no rule on customer domains: lint's ROUTE110, not a run-time error."""
    run = sandbox()
    spec = write_spec(SMALL.replace("duplicate_contact:", "existing_customer_domain:"))
    with pytest.raises(NotConfigured, match=r"no rule assigns `owner_of: account`.*ROUTE110"):
        live.check_edge_case(run.ctx, spec, name="existing_customer_domain")
    assert not run.ctx.ledger.used and run.app.writes == 0  # the CRM counts no write


# --- where leads may not be sent ----------------------------------------------------------------------------------


def test_an_environment_without_writes_is_a_check_error_naming_writes_true(
    sandbox: Callable[..., Run], demo: RoutingSpec
) -> None:
    run = sandbox(writes=False)
    for check in (lambda: live.check_branch(run.ctx, demo, i=1), lambda: live.check_fallback(run.ctx, demo),
                  lambda: live.check_volume(run.ctx, demo),
                  lambda: live.check_edge_case(run.ctx, demo, name="unmatched_territory")):
        with pytest.raises(CheckError, match="`writes: true`"):
            check()
    assert not run.ctx.ledger.used and run.app.writes == 0  # the CRM counts no write
    live.check_alerts(run.ctx, demo)  # reading the default queue needs no writes


def test_a_customer_domain_that_is_not_reserved_is_a_check_error_and_nothing_is_created(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    run = sandbox()
    run.crm.create("companies", {"domain": "initrode.com", "name": "Initrode", "owner_id": BEN})
    run.clock.sleep(2)  # the company reaches search
    spec = write_spec(HEADER + """\
lists: {customer_domains: [initrode.com]}
rules:
  - id: existing-customer
    when: {email_domain: {in_list: customer_domains}}
    assign: {owner_of: account}
fallback: {queue: inbound-queue@acme.example}
""")
    with pytest.raises(CheckError) as error:
        live.check_branch(run.ctx, spec, i=0)
    assert "needs an address at initrode.com, which is not a reserved domain" in error.value.message
    assert not run.ctx.ledger.used and run.app.writes == 1  # not one lead was created: the company only


def test_leads_as_a_hubspot_object_is_a_check_error_naming_contacts(
    sandbox: Callable[..., Run], write_spec: Callable[[str], RoutingSpec]
) -> None:
    run = sandbox()
    spec = write_spec(HEADER + "object: leads\nrules:\n  - id: jp\n    when: {country: {in: [JP]}}\n"
                      "    assign: {owner: ben@acme.example}\n")
    with pytest.raises(CheckError, match="set `object: contacts`"):
        live.check_branch(run.ctx, spec, i=0)
    assert not run.ctx.ledger.used


# --- Salesforce -----------------------------------------------------------------------------------------------------

SF = "https://acme.my.salesforce.com"
SF_API = f"{SF}/services/data/v62.0"
LEAD_ID = "00Q5g00000AbCdEEAZ"
SF_USERS = {"0055g00000BenAAAAA": "ben@acme.example", "0055g00000AnnaAAAA": "anna@acme.example"}
SF_QUEUE = "00G5g000001QueueAAA"


def test_salesforce_leads_are_created_with_auto_assign_and_their_owner_read_from_owner_id(
    project: Project, write_spec: Callable[[str], RoutingSpec]
) -> None:
    clock = FakeClock()
    reads: list[dict[str, list[str]]] = []

    def query(request: httpx.Request) -> httpx.Response:
        soql = parse_qs(urlsplit(str(request.url)).query)["q"][0]
        if "FROM User" in soql:
            rows = [{"attributes": {"type": "User"}, "Id": uid, "Email": email, "FirstName": "", "LastName": "",
                     "IsActive": True} for uid, email in SF_USERS.items()]
        elif "FROM Group" in soql:
            rows = [{"attributes": {"type": "Group"}, "Id": SF_QUEUE, "Name": "Inbound", "Email":
                     "inbound-queue@acme.example"}]
        else:  # the final search for the run's tag, after the delete
            assert "FROM Lead WHERE gtmcheck_run_id__c = " in soql
            rows = []
        return httpx.Response(200, json={"totalSize": len(rows), "done": True, "records": rows})

    def lead(request: httpx.Request) -> httpx.Response:
        reads.append(parse_qs(urlsplit(str(request.url)).query))
        owner = None if len(reads) == 1 else "0055g00000BenAAAAA"  # the assignment rule's answer, on the 2nd read
        return httpx.Response(200, json={
            "attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{LEAD_ID}"}, "Id": LEAD_ID,
            "OwnerId": owner, "Email": created["Email"], "CreatedDate": "2026-11-23T10:00:00.000+0000",
            "LastModifiedDate": "2026-11-23T10:00:00.000+0000"})

    def create(request: httpx.Request) -> httpx.Response:
        created.update(json.loads(request.content))
        return httpx.Response(201, json={"id": LEAD_ID, "success": True, "errors": []})

    created: dict[str, Any] = {}
    with respx.mock(base_url=SF_API, assert_all_called=False) as router:
        post = router.post("/sobjects/Lead/").mock(side_effect=create)
        router.get(f"/sobjects/Lead/{LEAD_ID}").mock(side_effect=lead)
        router.get("/query").mock(side_effect=query)
        router.get("/sobjects/Lead/describe/").respond(200, json={"fields": [
            {"name": "gtmcheck_run_id__c", "type": "string", "label": "gtmcheck run", "custom": True}]})
        delete = router.delete("/composite/sobjects").respond(200, json=[{"id": LEAD_ID, "success": True,
                                                                           "errors": []}])
        crm = SalesforceConnector("00Dsession!token", instance_url=SF, sleep=clock.sleep,
                                  retry=RetryPolicy(jitter=False))
        env = Environment("salesforce", REPO, {"type": "salesforce", "token": "x", "instance_url": SF},
                          writes=True)
        ctx = RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm)
        spec = write_spec(SMALL.replace("rules:", "object: leads\nrules:"))
        evidence = live.check_branch(ctx, spec, i=0)
        cleanup = ctx.finish()
        crm.close()
    assert evidence.summary.startswith("1 leads of rule apac reached ben@acme.example (rule apac) within the SLA")
    request = post.calls.last.request
    assert request.headers["Sforce-Auto-Assign"] == "TRUE"
    assert created["country"] == "JP" and created["gtmcheck_run_id__c"] == ctx.run_id
    assert created["Email"].endswith(f".{ctx.run_id.lower()}@gtmcheck.example.com")
    assert "OwnerId" in reads[-1]["fields"][0].split(",")  # the owner was polled from OwnerId
    assert cleanup is not None and cleanup.clean and delete.calls.last.request.url.params["ids"] == LEAD_ID


# --- the default-queue alert -------------------------------------------------------------------------------------


def queue_leads(run: Run, real: int, synthetic: int) -> None:
    for i in range(real):
        run.crm.create("contacts", {"email": f"lead{i}@prospect.example", "owner_id": QUEUE})
    for i in range(synthetic):  # an earlier run's leftovers: tagged, on a reserved address; never counted
        run.crm.create("contacts", tagged({"email": synthetic_email(EARLIER, f"l{i}"), "owner_id": QUEUE},
                                          EARLIER))
    run.clock.sleep(2)  # past the search lag


def test_the_default_queue_alert_names_the_owner_the_count_and_the_age(
    sandbox: Callable[..., Run], demo: RoutingSpec
) -> None:
    three_hours_ago = int(time.time() * 1000) - 3 * 3600 * 1000
    run = sandbox(wall_ms=three_hours_ago)  # the sandbox's records are created three hours ago
    queue_leads(run, real=12, synthetic=5)
    with pytest.raises(CheckFailed) as failed:
        live.check_alerts(run.ctx, demo)
    assert failed.value.message == ("inbound-queue@acme.example holds 12 contacts (max 10); the oldest has waited "
                                    "3.0 h (max 1.0 h)")
    for leftover in run.crm.search("contacts", [[Filter(TAG_PROPERTY, "EQ", EARLIER)]], ["email"]):
        run.crm.archive("contacts", leftover.id)


def test_the_default_queue_alert_passes_within_its_thresholds(sandbox: Callable[..., Run], demo: RoutingSpec) -> None:
    run = sandbox()
    queue_leads(run, real=3, synthetic=12)
    evidence = live.check_alerts(run.ctx, demo)
    assert evidence.summary.startswith("inbound-queue@acme.example holds 3 contacts, the oldest ")
    assert evidence.summary.endswith(" old: within the alert thresholds")
    for leftover in run.crm.search("contacts", [[Filter(TAG_PROPERTY, "EQ", EARLIER)]], ["email"]):
        run.crm.archive("contacts", leftover.id)


# --- the opt-in fuzz ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> RoutingSpec:
    path = tmp_path_factory.mktemp("fuzz") / "routing.gtm.yml"
    path.write_text(DEMO_CHECKLIST.read_text() + "fuzz: {leads: 15, seed: 1}\n")
    return spec_of(load_checklist(path))


def test_the_fuzz_passes_where_the_crm_routes_as_declared(sandbox: Callable[..., Run], fuzzed: RoutingSpec) -> None:
    evidence = live.check_fuzz(sandbox().ctx, fuzzed)
    assert evidence.summary.endswith(" random leads all routed as the rules predict")
    assert 10 <= evidence.details["leads"] <= 15  # the budget holds (a lead drawn twice is sent once)


def test_the_fuzz_finds_where_the_crm_disagrees_and_reports_a_minimal_lead(
    sandbox: Callable[..., Run], fuzzed: RoutingSpec
) -> None:
    run = sandbox(DRIFTED)  # enterprise EMEA without Spain and Italy
    with pytest.raises(CheckFailed) as failed:
        live.check_fuzz(run.ctx, fuzzed)
    exc = failed.value
    minimal = exc.evidence.details["minimal"]
    assert re.fullmatch(r"\{country: (ES|IT), employees: \d+\}", minimal), minimal  # nothing that does not matter
    assert exc.message.startswith(f"the live router disagrees with the declared rules on {minimal} (minimal after ")
    assert exc.expected == "anna@acme.example (rule enterprise-emea)"
    assert exc.received == "inbound-queue@acme.example (fallback) after 0.5 s"
    assert len(exc.evidence.details["leads"]) <= 15
