"""Property history: the connectors against respx with the vendors' shapes, and the sandbox that answers them.

HubSpot: ``propertiesWithHistory`` on GET and batch read (50 records a request), newest first; Salesforce: the
object's field history table through SOQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.crm import HistoryEntry
from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.errors import ConnectorError, SpecError, UnexpectedAnswer
from gtmcheck.sandbox import HubSpotSandbox, Scenario

BASE = "https://api.hubapi.com"
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def hub(clock: FakeClock) -> Iterator[HubSpotConnector]:
    with HubSpotConnector("pat-test", limiters=hubspot_limits(None, clock=clock, sleep=clock.sleep),
                          retry=RetryPolicy(jitter=False), sleep=clock.sleep) as connector:
        yield connector


def with_history(record_id: str, *entries: tuple[str, str, str]) -> dict[str, Any]:
    return {"id": record_id, "properties": {"lifecyclestage": entries[0][0] if entries else None},
            "propertiesWithHistory": {"lifecyclestage": [
                {"value": v, "timestamp": t, "sourceType": s, "sourceId": "userId:42"} for v, t, s in entries]},
            "createdAt": "2026-10-01T09:00:00.000Z", "updatedAt": "2026-11-20T10:00:00.000Z", "archived": False}


def test_hubspot_history_batch_reads_50_at_a_time_newest_first(hub: HubSpotConnector) -> None:
    ids = [str(1000 + i) for i in range(120)]
    with respx.mock(base_url=BASE) as router:
        def answer(request: httpx.Request) -> httpx.Response:
            asked = [i["id"] for i in json.loads(request.content)["inputs"]]
            return httpx.Response(200, json={"status": "COMPLETE", "results": [
                with_history(i, ("customer", "2026-11-20T10:00:00.000Z", "CRM_UI"),
                             ("lead", "2026-10-01T09:00:00.000Z", "IMPORT")) for i in asked]})

        route = router.post("/crm/v3/objects/contacts/batch/read").mock(side_effect=answer)
        found = hub.history("contacts", ids, "lifecyclestage")
    sent = [json.loads(call.request.content) for call in route.calls]
    assert [len(body["inputs"]) for body in sent] == [50, 50, 20]
    assert sent[0]["propertiesWithHistory"] == ["lifecyclestage"] and sent[0]["properties"] == ["lifecyclestage"]
    assert sorted(found) == sorted(ids)
    assert found["1000"] == [HistoryEntry("customer", "2026-11-20T10:00:00.000Z", "CRM_UI", "userId:42"),
                             HistoryEntry("lead", "2026-10-01T09:00:00.000Z", "IMPORT", "userId:42")]


def test_hubspot_history_keeps_what_a_207_answers_and_sorts_newest_first(hub: HubSpotConnector) -> None:
    with respx.mock(base_url=BASE) as router:
        router.post("/crm/v3/objects/contacts/batch/read").mock(return_value=httpx.Response(207, json={
            "status": "COMPLETE", "numErrors": 1,
            "results": [with_history("7", ("lead", "2026-10-01T09:00:00.000Z", "IMPORT"),
                                     ("customer", "2026-11-20T10:00:00.000Z", "CRM_UI"))],
            "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": ["8"]}}]}))
        found = hub.history("contacts", ["7", "8"], "lifecyclestage")
    assert list(found) == ["7"]
    assert [e.value for e in found["7"]] == ["customer", "lead"]


def test_hubspot_history_of_the_wrong_shape_names_the_json_path(hub: HubSpotConnector) -> None:
    with respx.mock(base_url=BASE) as router:
        router.post("/crm/v3/objects/contacts/batch/read").mock(return_value=httpx.Response(200, json={
            "results": [{"id": "7", "properties": {}, "propertiesWithHistory": {"lifecyclestage": {"value": "x"}}}]}))
        with pytest.raises(UnexpectedAnswer, match=r"\$\.results\[0\]\.propertiesWithHistory\.lifecyclestage"):
            hub.history("contacts", ["7"], "lifecyclestage")


@pytest.fixture
def sf() -> Iterator[SalesforceConnector]:
    conn = SalesforceConnector("00Dtoken!secret", instance_url=INSTANCE,
                               retry=RetryPolicy(jitter=False, base_delay=0), sleep=lambda s: None)
    yield conn
    conn.close()


def test_salesforce_history_reads_the_field_history_table(sf: SalesforceConnector) -> None:
    lead_a, lead_b = "00Q5g00000AbC001AA", "00Q5g00000AbC002AA"
    rows = [{"attributes": {"type": "LeadHistory"}, "LeadId": lead_a, "NewValue": "Working - Contacted",
             "CreatedDate": "2026-11-20T10:00:00.000+0000", "CreatedById": "0055g00000OwnrAAAA"},
            {"attributes": {"type": "LeadHistory"}, "LeadId": lead_a, "NewValue": "Open - Not Contacted",
             "CreatedDate": "2026-11-01T10:00:00.000+0000", "CreatedById": "0055g00000OwnrAAAA"}]
    with respx.mock(base_url=API) as router:
        route = router.get("/query").mock(return_value=httpx.Response(
            200, json={"totalSize": 2, "done": True, "records": rows}))
        found = sf.history("leads", [lead_a, lead_b], "Status")
    query = parse_qs(urlsplit(str(route.calls.last.request.url)).query)["q"][0]
    assert query == ("SELECT LeadId, NewValue, CreatedDate, CreatedById FROM LeadHistory WHERE Field = 'Status' "
                     f"AND LeadId IN ('{lead_a}', '{lead_b}') ORDER BY CreatedDate DESC")
    assert found == {lead_a: [
        HistoryEntry("Working - Contacted", "2026-11-20T10:00:00.000+0000", "USER", "0055g00000OwnrAAAA"),
        HistoryEntry("Open - Not Contacted", "2026-11-01T10:00:00.000+0000", "USER", "0055g00000OwnrAAAA")]}


def test_salesforce_history_refuses_an_id_that_is_not_one(sf: SalesforceConnector) -> None:
    with pytest.raises(ConnectorError, match="is not a Salesforce id"):
        sf.history("contacts", ["1 OR Id != null"], "Status")


# --- the sandbox ------------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[tuple[HubSpotSandbox, httpx.Client]]:
    app = HubSpotSandbox(Scenario.load(REPO / "gtmcheck" / "demo" / "healthy.yml"), clock=clock,
                         sleep=clock.sleep)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE,
                      headers={"Authorization": "Bearer t"}) as client:
        yield app, client


def test_the_sandbox_keeps_every_write_of_a_property(sandbox: tuple[HubSpotSandbox, httpx.Client],
                                                     clock: FakeClock) -> None:
    _app, client = sandbox
    created = client.post("/crm/v3/objects/contacts", json={"properties": {
        "email": "h.gtm-20261126T100000-abcdef@gtmcheck.example.com", "lifecyclestage": "subscriber"}}).json()
    clock.sleep(60)
    client.patch(f"/crm/v3/objects/contacts/{created['id']}", json={"properties": {"lifecyclestage": "lead"}})
    clock.sleep(60)
    client.patch(f"/crm/v3/objects/contacts/{created['id']}", json={"properties": {"hs_lead_score": "50"}})
    clock.sleep(1)  # the workflow's half second
    got = client.get(f"/crm/v3/objects/contacts/{created['id']}",
                     params={"properties": "lifecyclestage", "propertiesWithHistory": "lifecyclestage,hs_lead_score"})
    history = got.json()["propertiesWithHistory"]
    assert [(e["value"], e["sourceType"]) for e in history["lifecyclestage"]] == [
        ("marketingqualifiedlead", "AUTOMATION_PLATFORM"), ("lead", "API"), ("subscriber", "API")]
    stamps = [e["timestamp"] for e in history["lifecyclestage"]]
    assert stamps == sorted(stamps, reverse=True)
    assert [e["value"] for e in history["hs_lead_score"]] == ["50"]
    assert got.json()["properties"]["lifecyclestage"] == "marketingqualifiedlead"


def test_the_sandbox_workflow_waits_its_delay_and_respects_from(sandbox: tuple[HubSpotSandbox, httpx.Client],
                                                                clock: FakeClock) -> None:
    _app, client = sandbox
    scored = client.post("/crm/v3/objects/contacts", json={"properties": {
        "email": "s.gtm-20261126T100000-abcdef@gtmcheck.example.com", "lifecyclestage": "lead",
        "hs_lead_score": "70"}}).json()
    customer = client.post("/crm/v3/objects/contacts", json={"properties": {
        "email": "c.gtm-20261126T100000-abcdef@gtmcheck.example.com", "lifecyclestage": "customer",
        "hs_lead_score": "90"}}).json()

    def stage(record: dict[str, Any]) -> str:
        return str(client.get(f"/crm/v3/objects/contacts/{record['id']}",
                              params={"properties": "lifecyclestage"}).json()["properties"]["lifecyclestage"])

    assert stage(scored) == "lead"  # not yet: delay_ms 500
    clock.sleep(0.5)
    assert stage(scored) == "marketingqualifiedlead"
    assert stage(customer) == "customer"  # the rule moves leads only


def test_the_sandbox_batch_read_gives_history_for_at_most_50(sandbox: tuple[HubSpotSandbox, httpx.Client]) -> None:
    _app, client = sandbox
    inputs = [{"id": str(1001 + i)} for i in range(48)] + [{"id": str(990001 + i)} for i in range(3)]
    refused = client.post("/crm/v3/objects/contacts/batch/read",
                          json={"inputs": inputs, "propertiesWithHistory": ["lifecyclestage"]})
    assert refused.status_code == 400
    assert "exceeds the maximum of 50 with propertiesWithHistory" in refused.json()["message"]
    ok = client.post("/crm/v3/objects/contacts/batch/read",
                     json={"inputs": inputs[:50], "propertiesWithHistory": ["lifecyclestage"]})
    assert ok.status_code == 207 and len(ok.json()["results"]) == 48  # two of the 50 ids are no contact
    plain = client.post("/crm/v3/objects/contacts/batch/read", json={"inputs": inputs[:2]}).json()
    assert "propertiesWithHistory" not in plain["results"][0]


def test_csv_contacts_get_a_plausible_history(sandbox: tuple[HubSpotSandbox, httpx.Client]) -> None:
    """p005 (a customer since 2026-06-06) walked lead, MQL, SQL, opportunity, customer, three days apart."""
    _app, client = sandbox
    body = client.post("/crm/v3/objects/contacts/batch/read", json={
        "inputs": [{"id": "1005"}, {"id": "1001"}], "properties": ["source_id"],
        "propertiesWithHistory": ["lifecyclestage"]}).json()
    by_source = {r["properties"]["source_id"]: r["propertiesWithHistory"]["lifecyclestage"] for r in body["results"]}
    assert [(e["value"], e["timestamp"][:10]) for e in by_source["p005"]] == [
        ("customer", "2026-06-18"), ("opportunity", "2026-06-15"), ("salesqualifiedlead", "2026-06-12"),
        ("marketingqualifiedlead", "2026-06-09"), ("lead", "2026-06-06")]
    assert [(e["value"], e["sourceType"]) for e in by_source["p001"]] == [("lead", "IMPORT")]


def test_a_scenario_history_for_an_unknown_contact_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("id,email,lifecyclestage\np1,a@x.example,lead\n")
    path = tmp_path / "s.yml"
    path.write_text("records:\n  contacts: contacts.csv\nlifecycle:\n  history:\n"
                    "    p2: [{value: lead, ago: 2d}]\n")
    with pytest.raises(SpecError) as err:
        Scenario.load(path)
    assert str(err.value).startswith(f"{path}:5:")
    assert "no contacts record with id 'p2' to give a history" in str(err.value)
    path.write_text("lifecycle:\n  rules:\n    - {id: mql, when: {score: {gte: 50}}, sett: mql}\n")
    with pytest.raises(SpecError, match="sett"):
        Scenario.load(path)
