"""The read-only routing audit of real leads (ROUTING-ALERTS[audit]) and read-only runs, as a nightly job meets them.

HubSpot through respx on DOMAIN.md's search shapes (a window whose ``total`` reaches 10,000 is split by date),
Salesforce through respx on SOQL (``CreatedDate``, paged by ``nextRecordsUrl``), and the demo sandbox served over
real HTTP to ``gtmcheck run``: the drifted stack's ES/IT enterprise leads are named by record id, and the sandbox
counts no write.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import make_server

import httpx
import pytest
import respx

from gtmcheck.connectors.http import RetryPolicy
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckFailed, Evidence
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.base import Check
from gtmcheck.project import Environment, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.sandbox.serve import ThreadingWSGIServer, _QuietHandler
from gtmcheck.spec import load_checklist

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "gtmcheck" / "demo"
HUBSPOT = "https://api.hubapi.com"
SF_INSTANCE = "https://acme.my.salesforce.com"
SF_API = f"{SF_INSTANCE}/services/data/v62.0"
HEADER = """\
kind: routing
name: Inbound
owner: mops@acme.example
built_by: jane@acme.example
"""
OWNERS = [("501", "carla@acme.example", "PERSON"), ("502", "dev@acme.example", "PERSON"),
          ("503", "ben@acme.example", "PERSON"), ("509", "inbound-queue@acme.example", "QUEUE")]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def audit_check(tmp_path: Path, body: str) -> Check:
    path = tmp_path / "routing.gtm.yml"
    path.write_text(HEADER + body)
    checks = [c for c in get_kind("routing").checks(load_checklist(path)) if c.param == "audit"]
    assert len(checks) == 1
    return checks[0]


def context(tmp_path: Path, connector: Any, crm_type: str = "hubspot") -> RunContext:
    env = Environment(name="production", root=tmp_path, crm={"type": crm_type})  # no writes: read-only
    return RunContext(project=load_project(tmp_path), environment=env, crm_connector=connector)


# --- HubSpot: the window is split by date when its total reaches 10,000 -------------------------------------------


class HubSpotSearch:
    """POST /crm/v3/objects/contacts/search as HubSpot answers it: filters, sorts, limit <= 200, 10,000 cap."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.bodies: list[dict[str, Any]] = []

    @staticmethod
    def _holds(props: dict[str, Any], f: dict[str, Any]) -> bool:
        value = props.get(f["propertyName"])
        if f["operator"] in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return (value is not None) == (f["operator"] == "HAS_PROPERTY")
        if f["propertyName"] == "createdate":
            created = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
            bound = int(f["value"])
            return created >= bound if f["operator"] == "GTE" else created < bound
        raise AssertionError(f"unexpected filter {f}")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        assert body["limit"] <= 200
        groups = [g["filters"] for g in body["filterGroups"]]
        found = [r for r in self.records if any(all(self._holds(r["properties"], f) for f in g) for g in groups)]
        for sort in body.get("sorts") or []:
            found.sort(key=lambda r: r["properties"][sort["propertyName"]],
                       reverse=sort["direction"] == "DESCENDING")
        after = int(body.get("after") or 0)
        if after >= 10_000:
            return httpx.Response(400, json={"status": "error", "category": "VALIDATION_ERROR",
                                             "message": "There was a problem with the request.",
                                             "correlationId": "c-1"})
        page = found[after:after + body["limit"]]
        out: dict[str, Any] = {"total": len(found), "results": [
            {"id": r["id"], "properties": {k: v for k, v in r["properties"].items() if k in body["properties"]},
             "createdAt": r["properties"]["createdate"], "updatedAt": r["properties"]["createdate"],
             "archived": False} for r in page]}
        if after + len(page) < len(found):
            out["paging"] = {"next": {"after": str(after + len(page)), "link": "?after="}}
        return httpx.Response(200, json=out)


def owners_answer(request: httpx.Request) -> httpx.Response:
    archived = request.url.params.get("archived") == "true"
    results = [] if archived else [
        {"id": oid, "email": email, "firstName": email.split("@")[0], "lastName": "", "userId": None, "type": kind,
         "teams": [], "archived": False} for oid, email, kind in OWNERS]
    return httpx.Response(200, json={"results": results})


def test_a_hubspot_window_of_10000_leads_is_split_by_date_and_the_misrouted_lead_named(tmp_path: Path) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    start = now - 85_000_000
    records = []
    for i in range(10_000):
        created = start + i * 8_000
        records.append({"id": str(200_000 + i), "properties": {
            "createdate": iso(created), "country": "US", "email": f"lead{i}@buyer-{i}.example",
            "hubspot_owner_id": "501" if i % 2 else "502", "hubspot_owner_assigneddate": iso(created + 2_000)}})
    records[4_321]["properties"]["hubspot_owner_id"] = "503"  # a US lead that ben got
    records[77]["properties"]["gtmcheck_run_id"] = "gtm-20261126T010000-abcdef"  # ours: left out
    records[77]["properties"]["email"] = "lead-1.gtm-20261126T010000-abcdef@gtmcheck.example.com"
    records[77]["properties"]["hubspot_owner_id"] = "503"
    search = HubSpotSearch(records)
    check = audit_check(tmp_path, """\
rules:
  - id: north-america
    when: {country: {in: [US, CA]}}
    assign: {round_robin: [carla@acme.example, dev@acme.example]}
fallback: {queue: inbound-queue@acme.example}
audit: {window: 24h}
""")
    with respx.mock(base_url=HUBSPOT, assert_all_called=True) as router:
        router.post("/crm/v3/objects/contacts/search").mock(side_effect=search)
        router.get("/crm/v3/owners/").mock(side_effect=owners_answer)
        crm = HubSpotConnector("pat-na1-audit", limiters={}, sleep=lambda s: None,
                               retry=RetryPolicy(jitter=False, base_delay=0))
        with pytest.raises(CheckFailed) as failed:
            check.run(context(tmp_path, crm))
    message = failed.value.message
    assert message.startswith("1 of 9999 real contacts created in the last 24h misrouted: record 204321 "
                              "{country: US, email_domain: buyer-4321.example}: rule north-america, round robin "
                              "should have matched; expected carla@acme.example or dev@acme.example, got "
                              "ben@acme.example at "), message
    assert failed.value.expected == "one of carla@acme.example, dev@acme.example (rule north-america, round robin)"
    details = failed.value.evidence.details
    assert details["leads"] == 9_999 and details["capped"] is False
    # the whole window answered total 10,000: it was split, each search within the cap and in HubSpot's shape
    first = search.bodies[0]
    window = first["filterGroups"][0]["filters"]
    assert [f["operator"] for f in window] == ["GTE", "LT"] and all(f["propertyName"] == "createdate" for f in window)
    assert all(set(f) == {"propertyName", "operator", "value"} for f in window)
    assert "hubspot_owner_assigneddate" in first["properties"]  # when the owner was set, as HubSpot records it
    bounds = {tuple(f["value"] for f in b["filterGroups"][0]["filters"] if f["operator"] in ("GTE", "LT"))
              for b in search.bodies if "after" not in b and b["limit"] == 200}
    assert len(bounds) >= 3  # the whole window, then its halves
    assert all(int(b.get("after", 0)) < 10_000 for b in search.bodies)


def test_a_window_under_the_cap_is_searched_once_and_passes(tmp_path: Path) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    records = [{"id": str(i), "properties": {"createdate": iso(now - 3_600_000 + i), "country": "CA",
                                             "email": f"x{i}@buyer.example", "hubspot_owner_id": "501"}}
               for i in range(30)]
    search = HubSpotSearch(records)
    check = audit_check(tmp_path, """\
rules:
  - id: north-america
    when: {country: {in: [US, CA]}}
    assign: {round_robin: [carla@acme.example, dev@acme.example]}
fallback: {queue: inbound-queue@acme.example}
alerts: {default_queue: {max_count: 10, max_age: 1h}}
""")
    with respx.mock(base_url=HUBSPOT) as router:
        router.post("/crm/v3/objects/contacts/search").mock(side_effect=search)
        router.get("/crm/v3/owners/").mock(side_effect=owners_answer)
        crm = HubSpotConnector("pat-na1-audit", limiters={}, sleep=lambda s: None)
        evidence: Evidence = check.run(context(tmp_path, crm))
    assert evidence.summary == ("30 real contacts created in the last 24h, all routed as the declared rules say "
                                "(north-america 30)")
    assert len(search.bodies) == 1


# --- Salesforce: SOQL on CreatedDate, paged --------------------------------------------------------------------


def sf_lead(n: int, owner: str, country: str, employees: int) -> dict[str, Any]:
    rid = f"00Q5g00000AuD{n:03d}AA"
    return {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{rid}"}, "Id": rid,
            "OwnerId": owner, "Email": f"buyer{n}@firm{n}.example", "Country": country, "NumberOfEmployees": employees,
            "CreatedDate": "2026-11-26T10:00:00.000+0000", "LastModifiedDate": "2026-11-26T10:00:01.000+0000",
            "gtmcheck_run_id__c": None}


def test_a_salesforce_audit_reads_leads_by_created_date_through_every_soql_page(tmp_path: Path) -> None:
    describe = {"fields": [{"name": n, "type": t, "label": n} for n, t in (
        ("Id", "id"), ("OwnerId", "reference"), ("Email", "email"), ("Country", "string"),
        ("NumberOfEmployees", "int"), ("CreatedDate", "datetime"), ("gtmcheck_run_id__c", "string"))]}
    anna, queue = "0055g00000AnnaAAAA", "00G5g00000QueuAAAA"
    queries: list[str] = []

    def query(request: httpx.Request) -> httpx.Response:
        soql = parse_qs(urlsplit(str(request.url)).query)["q"][0]
        queries.append(soql)
        if soql.startswith("SELECT Id, Email, FirstName, LastName, IsActive FROM User"):
            return httpx.Response(200, json={"totalSize": 1, "done": True, "records": [
                {"Id": anna, "Email": "anna@acme.example", "FirstName": "Anna", "LastName": "A", "IsActive": True}]})
        if "FROM Group" in soql:
            return httpx.Response(200, json={"totalSize": 1, "done": True, "records": [
                {"Id": queue, "Name": "Inbound", "Email": "inbound-queue@acme.example"}]})
        return httpx.Response(200, json={"totalSize": 3, "done": False, "nextRecordsUrl":
                                         "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
                                         "records": [sf_lead(1, anna, "ES", 4200), sf_lead(2, queue, "BR", 50)]})

    check = audit_check(tmp_path, """\
object: leads
rules:
  - id: enterprise-south
    when: {Country: {in: [ES, IT]}, NumberOfEmployees: {gte: 1000}}
    assign: {owner: anna@acme.example}
fallback: {queue: inbound-queue@acme.example}
audit: {window: 12h}
""")
    with respx.mock(base_url=SF_API, assert_all_called=True) as router:
        router.get("/sobjects/Lead/describe/").respond(200, json=describe)
        router.get("/query").mock(side_effect=query)
        router.get("/query/01gD0000002HU6KIAW-2000").respond(200, json={
            "totalSize": 3, "done": True, "records": [sf_lead(3, queue, "IT", 1500)]})
        crm = SalesforceConnector("00D-session", instance_url=SF_INSTANCE, sleep=lambda s: None)
        with pytest.raises(CheckFailed) as failed:
            check.run(context(tmp_path, crm, "salesforce"))
    (leads,) = [q for q in queries if "FROM Lead" in q]
    assert leads.startswith("SELECT Id, OwnerId, CreatedDate, LastModifiedDate, Country, NumberOfEmployees, Email, "
                            "gtmcheck_run_id__c FROM Lead WHERE CreatedDate >= 20")
    assert "Z AND CreatedDate < 20" in leads and leads.endswith("Z ORDER BY CreatedDate ASC")
    assert failed.value.message.startswith(
        "1 of 3 real leads created in the last 12h misrouted: record 00Q5g00000AuD003AA {Country: IT, "
        "NumberOfEmployees: 1500, email_domain: firm3.example}: rule enterprise-south should have matched; expected "
        "anna@acme.example, got inbound-queue@acme.example (fallback)"), failed.value.message


# --- the sandbox over HTTP: `gtmcheck run` read-only, the drifted stack's misrouted leads, no write -------------


@pytest.fixture
def served() -> Iterator[Any]:
    """Serve a demo scenario on a loopback port; yields ``serve(name) -> (base URL, app)``."""
    servers: list[Any] = []

    def serve(name: str) -> tuple[str, HubSpotSandbox]:
        app = HubSpotSandbox(Scenario.load(DEMO / f"{name}.yml"))
        server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", app

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def gtmcheck(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "GTMCHECK_CACHE_DIR": str(cwd / ".cache"), **env}
    environ.pop("GTMCHECK_ENV", None)
    return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=environ, timeout=300)


def nightly_project(tmp_path: Path, base: str, writes: bool) -> None:
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  nightly:\n"
        f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{GTM_AUDIT_TOKEN}}\"}}\n"
        f"    writes: {'true' if writes else 'false'}\n"
        "default_environment: nightly\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "routing.gtm.yml").write_text((REPO / "checks" / "routing.gtm.yml").read_text())


def es_it_enterprise_ids(base: str) -> list[str]:
    with (DEMO / "inbound.csv").open() as f:
        emails = [r["email"] for r in csv.DictReader(f) if r["country"] in ("ES", "IT") and int(r["employees"]) >= 1000]
    with HubSpotConnector("pat-na1-audit", base_url=base) as crm:
        from gtmcheck.connectors.crm import Filter

        found = list(crm.search("contacts", [[Filter("email", "IN", values=tuple(emails))]], ["email"]))
    assert len(found) == len(emails) >= 5
    return sorted(r.id for r in found)


def items_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for c in report["checklists"] for i in c["items"]}


def test_read_only_on_the_drifted_sandbox_names_each_misrouted_es_it_lead_and_writes_nothing(
    tmp_path: Path, served: Any
) -> None:
    base, app = served("drifted")
    nightly_project(tmp_path, base, writes=True)  # --read-only turns the environment's writes off
    result = gtmcheck("run", "--read-only", "--report-dir", "out", cwd=tmp_path, GTM_AUDIT_TOKEN="pat-na1-audit")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    items = items_of(json.loads((tmp_path / "out" / "report.json").read_text()))
    audit = items["ROUTING-ALERTS[audit]"]
    assert audit["status"] == "failed"
    ids = es_it_enterprise_ids(base)
    assert audit["message"].startswith(f"{len(ids)} of 20 real contacts created in the last 24h misrouted: ")
    misrouted = audit["details"]["misrouted_leads"]
    assert sorted(m["record"] for m in misrouted) == ids
    assert {(m["rule"], m["expected"], m["owner"]) for m in misrouted} == {
        ("enterprise-emea", "anna@acme.example (rule enterprise-emea)", "inbound-queue@acme.example")}
    assert "the oldest 19.0 h (max 1.0 h)" in audit["message"]  # and they pile up in the queue
    skipped = items["ROUTING-RULES-EXPLICIT[enterprise-emea]"]
    assert skipped["status"] == "not_configured"
    assert skipped["message"] == ("read-only environment `nightly`: this check creates synthetic records; the nightly "
                                  "run checks the routing of the real leads created in the audit window instead "
                                  "(ROUTING-ALERTS[audit])")
    assert "10 not run (read-only: they write) as skipped" in result.stdout
    assert app.writes == 0
    stats = httpx.get(f"{base}/gtmcheck/sandbox/v1/stats", headers={"Authorization": "Bearer x"}).json()
    assert stats["writes"] == 0 and stats["requests"] > 0


def test_an_environment_without_writes_audits_the_healthy_sandbox_and_exits_0(tmp_path: Path, served: Any) -> None:
    base, app = served("healthy")
    nightly_project(tmp_path, base, writes=False)  # read-only by implication: no --read-only, no -m
    result = gtmcheck("run", "--report-dir", "out", cwd=tmp_path, GTM_AUDIT_TOKEN="pat-na1-audit")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    items = items_of(report)
    assert items["ROUTING-ALERTS[audit]"]["status"] == "passed"
    assert items["ROUTING-ALERTS[audit]"]["evidence"].startswith(
        "20 real contacts created in the last 24h, all routed as the declared rules say (")
    assert items["ROUTING-ALERTS[audit]"]["details"]["p95_assignment_s"] == 0.5  # the workflow's delay_ms
    assert report["summary"]["failed"] == report["summary"]["error"] == 0
    assert app.writes == 0


def test_the_sandbox_counts_writes_and_not_reads(served: Any) -> None:
    base, app = served("healthy")
    headers = {"Authorization": "Bearer x"}
    with httpx.Client(base_url=base, headers=headers) as http:
        http.post("/crm/v3/objects/contacts/search", json={"filterGroups": [], "limit": 1})
        http.post("/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": "1001"}]})
        http.get("/crm/v3/objects/contacts/1001")
        assert http.get("/gtmcheck/sandbox/v1/stats").json()["writes"] == 0
        created = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "w@writes.example"}}).json()
        http.patch(f"/crm/v3/objects/contacts/{created['id']}", json={"properties": {"firstname": "W"}})
        http.post("/crm/v3/objects/contacts/batch/archive", json={"inputs": [{"id": created["id"]}]})
        assert http.get("/gtmcheck/sandbox/v1/stats").json()["writes"] == 3
    assert app.writes == 3


def test_the_init_production_environment_runs_read_only_as_a_nightly_job(
    tmp_path: Path, served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gtmcheck init`'s production environment, its endpoints pointed at the healthy sandbox: exit 0, no error."""
    base, app = served("healthy")
    assert gtmcheck("init", cwd=tmp_path).returncode == 0
    from gtmcheck.connectors.demo_warehouse import sandbox_warehouse

    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / ".cache"))  # where the run builds it too
    warehouse = sandbox_warehouse(DEMO / "healthy.yml")
    project = (tmp_path / "gtmcheck.yml").read_text()
    production = project.split("  production:\n")[1]
    assert "writes: false" in production
    edited = production.replace('crm: {type: hubspot, token: "${HUBSPOT_TOKEN}"}',
                                f'crm: {{type: hubspot, token: "${{HUBSPOT_TOKEN}}", base_url: "{base}"}}')
    edited = edited.replace("web: {type: live, timeout: 15}",
                            f"web: {{type: sandbox, site: \"{DEMO / 'healthy.yml'}\"}}")
    assert edited != production
    (tmp_path / "gtmcheck.yml").write_text(project.replace(production, edited))
    result = gtmcheck("run", "--env", "production", "--report-dir", "out", cwd=tmp_path,
                      HUBSPOT_TOKEN="pat-na1-nightly", WAREHOUSE_URL=f"duckdb:///{warehouse}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "report.json").read_text())["summary"]
    assert summary["error"] == summary["failed"] == 0 and summary["passed"] > 0
    assert summary["not_configured"] > 0  # the checks that write, said so, and not a failure of the job
    assert app.writes == 0


# --- the baseline's routing section, and the scenario's inbound leads ----------------------------------------------


def test_observe_gives_the_named_owners_and_who_real_leads_got_per_rule(tmp_path: Path) -> None:
    checklist = load_checklist(REPO / "checks" / "routing.gtm.yml")
    observed = {}
    for name in ("healthy", "drifted"):
        env = Environment(name=name, root=REPO, crm={"type": "sandbox", "scenario": str(DEMO / f"{name}.yml")})
        ctx = RunContext(project=load_project(REPO), environment=env)
        try:
            observed[name] = get_kind("routing").observe(checklist, ctx)
        finally:
            ctx.close()
    healthy, drifted = observed["healthy"], observed["drifted"]
    assert healthy["owners"]["anna@acme.example"] == {"active": True, "teams": ["EMEA Enterprise"]}
    assert sorted(healthy["owners"]) == ["anna@acme.example", "ben@acme.example", "carla@acme.example",
                                         "dev@acme.example", "inbound-queue@acme.example"]
    assert healthy["outcomes"]["enterprise-emea"] == ["anna@acme.example"]
    assert healthy["outcomes"]["north-america"] == ["carla@acme.example", "dev@acme.example"]
    assert drifted["outcomes"]["enterprise-emea"] == ["anna@acme.example", "inbound-queue@acme.example"]
    assert json.loads(json.dumps(drifted)) == drifted  # JSON-able, for the baseline file


def test_generated_inbound_leads_are_recent_routed_and_owned_with_the_time(tmp_path: Path) -> None:
    scenario = Scenario.from_data({
        "owners": [{"email": "anna@acme.example"}, {"email": "q@acme.example", "type": "QUEUE"}],
        "inbound": {"leads": 12, "seed": 3, "within": "2h"},
        "routing": {"delay_ms": 1500, "rules": [{"id": "es", "when": {"country": "ES"},
                                                 "assign": {"owner": "anna@acme.example"}}],
                    "default": {"queue": "q@acme.example"}},
    })
    wall = 1_790_000_000_000
    app = HubSpotSandbox(scenario, wall_ms=wall)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=HUBSPOT,
                      headers={"Authorization": "Bearer x"}) as http:
        leads = http.get("/crm/v3/objects/contacts", params={
            "limit": 100, "properties": "country,hubspot_owner_id,hubspot_owner_assigneddate"}).json()["results"]
    assert len(leads) == 12 and app.writes == 0
    for lead in leads:
        created = int(datetime.fromisoformat(lead["properties"]["createdate"].replace("Z", "+00:00")).timestamp()
                      * 1000)
        assert wall - 7_200_000 <= created < wall
        owner = "70000001" if lead["properties"]["country"] == "ES" else "70000002"
        assert lead["properties"]["hubspot_owner_id"] == owner
        assert lead["properties"]["hubspot_owner_assigneddate"] == iso(created + 1500)


def test_an_inbound_file_that_is_not_there_is_an_error_at_its_line(tmp_path: Path) -> None:
    from gtmcheck.errors import SpecError

    path = tmp_path / "scenario.yml"
    path.write_text("owners: []\ninbound: {file: data/nope.csv}\n")
    with pytest.raises(SpecError) as error:
        Scenario.load(path)
    assert error.value.location is not None and error.value.location.line == 2
    assert "inbound.file 'data/nope.csv' does not exist" in str(error.value)


def test_the_audit_reads_at_most_its_cap_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmcheck.kinds.routing import audit

    now = int(datetime.now(UTC).timestamp() * 1000)
    records = [{"id": str(i), "properties": {"createdate": iso(now - 3_600_000 + i), "country": "US",
                                             "email": f"x{i}@buyer.example", "hubspot_owner_id": "501"}}
               for i in range(30)]
    check = audit_check(tmp_path, """\
rules:
  - id: north-america
    when: {country: {in: [US, CA]}}
    assign: {round_robin: [carla@acme.example, dev@acme.example]}
audit: {window: 2h}
""")
    monkeypatch.setattr(audit, "MAX_LEADS", 10)
    monkeypatch.setattr(audit.real_leads, "__defaults__", (10,))
    with respx.mock(base_url=HUBSPOT) as router:
        router.post("/crm/v3/objects/contacts/search").mock(side_effect=HubSpotSearch(records))
        router.get("/crm/v3/owners/").mock(side_effect=owners_answer)
        crm = HubSpotConnector("pat-na1-audit", limiters={}, sleep=lambda s: None)
        evidence = check.run(context(tmp_path, crm))
    assert evidence.summary.startswith("10 real contacts created in the last 2h (capped at the first 10 leads of the "
                                       "window), all routed")
    assert evidence.details["capped"] is True and evidence.details["leads"] == 10
