"""The Salesforce connector against respx, on the REST shapes documented in DOMAIN.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from gtmcheck import secrets
from gtmcheck.connectors.crm import CrmConnector, Filter
from gtmcheck.connectors.http import RetryPolicy
from gtmcheck.connectors.salesforce import SalesforceConnector, soql_literal
from gtmcheck.errors import ApiError, ConnectorError, DuplicateRecord, NotFound, RateLimited

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
TOKEN = "00D5g000004Sfx1!AQ4AQSECRETSESSIONTOKEN.x9"
LEAD_ID = "00Q5g00000AbCdEEAZ"
OPP_ID = "0065g00000XyZaBAAV"
LIMITS = {"Sforce-Limit-Info": "api-usage=10018/100000"}

LEAD_FIELDS = {"fields": [
    {"name": "Id", "type": "id", "label": "Lead ID"},
    {"name": "OwnerId", "type": "reference", "label": "Owner ID"},
    {"name": "Email", "type": "email", "label": "Email"},
    {"name": "Country", "type": "string", "label": "Country"},
    {"name": "NumberOfEmployees", "type": "int", "label": "Employees"},
    {"name": "AnnualRevenue", "type": "currency", "label": "Annual Revenue"},
    {"name": "IsConverted", "type": "boolean", "label": "Converted"},
    {"name": "CreatedDate", "type": "datetime", "label": "Created Date"},
    {"name": "LeadSource", "type": "picklist", "label": "Lead Source",
     "picklistValues": [{"value": "Web", "active": True}, {"value": "Old", "active": False}]},
    {"name": "gtm_run_id__c", "type": "string", "label": "gtmcheck run", "custom": True},
]}


def lead(n: int, **fields: object) -> dict[str, object]:
    rid = f"00Q5g00000AbC{n:03d}AA"
    return {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{rid}"}, "Id": rid,
            "OwnerId": "0055g00000OwnrAAAA", "Email": f"lead{n}@example.com", "CreatedDate":
            "2026-11-23T10:00:00.000+0000", "LastModifiedDate": "2026-11-23T10:00:01.000+0000", **fields}


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as r:
        yield r


@pytest.fixture
def sf() -> Iterator[SalesforceConnector]:
    conn = SalesforceConnector(TOKEN, instance_url=INSTANCE, retry=RetryPolicy(jitter=False, base_delay=0),
                               sleep=lambda s: None)
    yield conn
    conn.close()


def soql(request: httpx.Request) -> str:
    return parse_qs(urlsplit(str(request.url)).query)["q"][0]


def test_it_is_a_crm_connector(sf: SalesforceConnector) -> None:
    assert isinstance(sf, CrmConnector)
    assert sf.vendor == "salesforce"


def test_create_sends_sforce_auto_assign_and_reads_the_record_back(
        router: respx.MockRouter, sf: SalesforceConnector) -> None:
    post = router.post("/sobjects/Lead/").respond(201, json={"id": LEAD_ID, "success": True, "errors": []},
                                                  headers=LIMITS)
    get = router.get(f"/sobjects/Lead/{LEAD_ID}").respond(200, json={
        "attributes": {"type": "Lead"}, "Id": LEAD_ID, "OwnerId": "00G5g000001QueueAAA", "Email": "a@example.com",
        "NumberOfEmployees": 1200, "AnnualRevenue": 48000.0, "IsConverted": False, "Street": None,
    })
    record = sf.create("leads", {"Email": "a@example.com", "Country": "DE"})
    assert post.calls.last.request.headers["Sforce-Auto-Assign"] == "TRUE"
    assert json.loads(post.calls.last.request.content) == {"Email": "a@example.com", "Country": "DE"}
    assert post.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert get.called
    assert record.id == LEAD_ID
    assert record.properties["owner_id"] == "00G5g000001QueueAAA"
    assert record.properties["NumberOfEmployees"] == "1200"
    assert record.properties["AnnualRevenue"] == "48000"
    assert record.properties["IsConverted"] == "false"
    assert record.properties["Street"] is None
    assert sf.limit_info == {"api-usage": (10018, 100000)}
    assert sf.api_usage == (10018, 100000)

    sf.create("leads", {"Email": "b@example.com"}, auto_assign=False)
    assert post.calls.last.request.headers["Sforce-Auto-Assign"] == "FALSE"


def test_object_types_map_to_sobjects(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    for sobject in ("Contact", "Account", "Opportunity"):
        router.post(f"/sobjects/{sobject}/").respond(201, json={"id": OPP_ID, "success": True, "errors": []})
        router.get(f"/sobjects/{sobject}/{OPP_ID}").respond(200, json={"Id": OPP_ID})
    for kind in ("contacts", "companies", "deals"):
        assert sf.create(kind, {"Name": "x"}).id == OPP_ID  # type: ignore[arg-type]
    with pytest.raises(ConnectorError, match="unknown object type"):
        sf.get("tickets", OPP_ID)  # type: ignore[arg-type]


def test_get_asks_for_the_named_fields(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.get(f"/sobjects/Lead/{LEAD_ID}").respond(200, json={"Id": LEAD_ID, "Email": "a@example.com"})
    sf.get("leads", LEAD_ID, ["Email", "owner_id"])
    fields = parse_qs(urlsplit(str(route.calls.last.request.url)).query)["fields"][0]
    assert fields.split(",") == ["Id", "OwnerId", "CreatedDate", "LastModifiedDate", "Email"]
    with pytest.raises(ConnectorError, match="not a field name"):
        sf.get("leads", LEAD_ID, ["Email) FROM User --"])
    with pytest.raises(ConnectorError, match="not a Salesforce id"):
        sf.get("leads", "../../sobjects/User")


def test_update_patches_then_reads(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    patch = router.patch(f"/sobjects/Lead/{LEAD_ID}").respond(204)
    router.get(f"/sobjects/Lead/{LEAD_ID}").respond(200, json={"Id": LEAD_ID, "Status": "Working"})
    record = sf.update("leads", LEAD_ID, {"Status": "Working", "owner_id": "0055g00000OwnrAAAA"})
    assert json.loads(patch.calls.last.request.content) == {"Status": "Working", "OwnerId": "0055g00000OwnrAAAA"}
    assert record.properties["Status"] == "Working"


def test_soql_paging_follows_next_records_url(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    first = router.get("/query").respond(200, json={
        "totalSize": 5, "done": False, "nextRecordsUrl": "/services/data/v62.0/query/01gD0000002HU6KIAW-2",
        "records": [lead(1), lead(2)]})
    second = router.get("/query/01gD0000002HU6KIAW-2").respond(200, json={
        "totalSize": 5, "done": False, "nextRecordsUrl": "/services/data/v62.0/query/01gD0000002HU6KIAW-4",
        "records": [lead(3), lead(4)]})
    third = router.get("/query/01gD0000002HU6KIAW-4").respond(200, json={
        "totalSize": 5, "done": True, "records": [lead(5)]})
    records = list(sf.scan("leads", ["Email"]))
    assert [r.properties["Email"] for r in records] == [f"lead{n}@example.com" for n in range(1, 6)]
    assert all(r.properties["owner_id"] == "0055g00000OwnrAAAA" for r in records)
    assert records[0].created_at == "2026-11-23T10:00:00.000+0000"
    assert soql(first.calls.last.request) == "SELECT Id, OwnerId, CreatedDate, LastModifiedDate, Email FROM Lead"
    assert second.call_count == 1 and third.call_count == 1
    assert "attributes" not in records[0].properties


def test_search_builds_typed_soql(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    describe = router.get("/sobjects/Lead/describe/").respond(200, json=LEAD_FIELDS)
    query = router.get("/query").respond(200, json={"totalSize": 1, "done": True, "records": [lead(1)]})
    groups = [
        [Filter("Country", "IN", values=("DE", "FR", "O'Brien\\land")), Filter("NumberOfEmployees", "GTE", "1000")],
        [Filter("IsConverted", "EQ", "True"), Filter("CreatedDate", "BETWEEN", "2026-01-01", high_value="2026-02-01"),
         Filter("Email", "CONTAINS_TOKEN", "50%_off"), Filter("OwnerId", "NOT_HAS_PROPERTY")],
    ]
    found = list(sf.search("leads", groups, ["Email"], sort="-CreatedDate"))
    assert len(found) == 1
    assert soql(query.calls.last.request) == (
        "SELECT Id, OwnerId, CreatedDate, LastModifiedDate, Email FROM Lead WHERE "
        "(Country IN ('DE', 'FR', 'O\\'Brien\\\\land') AND NumberOfEmployees >= 1000) OR "
        "(IsConverted = true AND (CreatedDate >= 2026-01-01T00:00:00Z AND CreatedDate <= 2026-02-01T00:00:00Z) "
        "AND Email LIKE '%50\\%\\_off%' AND OwnerId = null) ORDER BY CreatedDate DESC"
    )
    list(sf.search("leads", [[Filter("NumberOfEmployees", "LT", "5")]]))
    assert describe.call_count == 1  # field types are cached


def test_filter_values_cannot_break_out_of_a_literal(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    router.get("/sobjects/Lead/describe/").respond(200, json=LEAD_FIELDS)
    with pytest.raises(ConnectorError, match="not a number"):
        list(sf.search("leads", [[Filter("NumberOfEmployees", "EQ", "1 OR Id != null")]]))
    assert soql_literal("x' OR Name != '") == "'x\\' OR Name != \\''"
    assert soql_literal("line\nbreak") == "'line\\nbreak'"
    assert soql_literal(None) == "null"
    assert soql_literal("1700000000000", "datetime") == "2023-11-14T22:13:20Z"
    assert soql_literal("2026-03-01", "date") == "2026-03-01"
    with pytest.raises(ConnectorError):
        soql_literal("2026-03-01) OR (Id", "date")


def test_aggregate_query(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.get("/query").respond(200, json={"totalSize": 1, "done": True, "records": [
        {"attributes": {"type": "AggregateResult"}, "total": 428000.00, "expr0": 11}]})
    rows = sf.aggregate_soql("SELECT SUM(Amount) total, COUNT(Id) FROM Opportunity WHERE StageName = 'Closed Won'")
    assert rows == [{"total": Decimal("428000.00"), "expr0": 11}]
    assert soql(route.calls.last.request).startswith("SELECT SUM(Amount) total")


def test_delete_and_batch_delete(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    one = router.delete(f"/sobjects/Lead/{LEAD_ID}").respond(204)
    sf.archive("leads", LEAD_ID)
    assert one.called

    ids = [f"00Q5g00000Ab{n:04d}AA" for n in range(450)]
    batch = router.delete("/composite/sobjects").mock(side_effect=lambda request: httpx.Response(200, json=[
        {"id": i, "success": True, "errors": []}
        for i in parse_qs(urlsplit(str(request.url)).query)["ids"][0].split(",")
    ]))
    sf.archive_batch("leads", ids)
    sent = [parse_qs(urlsplit(str(c.request.url)).query) for c in batch.calls]
    assert [len(q["ids"][0].split(",")) for q in sent] == [200, 200, 50]
    assert all(q["allOrNone"] == ["false"] for q in sent)


def test_batch_delete_reports_failures_but_not_already_deleted(
        router: respx.MockRouter, sf: SalesforceConnector) -> None:
    router.delete("/composite/sobjects").respond(200, json=[
        {"id": "00Q5g00000Ab0001AA", "success": True, "errors": []},
        {"id": "00Q5g00000Ab0002AA", "success": False,
         "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]},
        {"id": "00Q5g00000Ab0003AA", "success": False,
         "errors": [{"statusCode": "INSUFFICIENT_ACCESS_OR_READONLY", "message": "no access", "fields": []}]},
    ])
    with pytest.raises(ApiError, match=r"1 of 3 records not deleted: 00Q5g00000Ab0003AA \(INSUFFICIENT_ACCESS"):
        sf.archive_batch("leads", ["00Q5g00000Ab0001AA", "00Q5g00000Ab0002AA", "00Q5g00000Ab0003AA"])


def test_describe_gives_properties(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    router.get("/sobjects/Lead/describe/").respond(200, json=LEAD_FIELDS)
    props = {p.name: p for p in sf.properties("leads")}
    assert props["Email"].label == "Email" and props["Email"].type == "email"
    assert props["LeadSource"].options == ("Web",)
    assert props["gtm_run_id__c"].vendor_defined is False and props["Country"].vendor_defined is True


def test_owners_are_users_and_queues(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        q = soql(request)
        if "FROM User" in q:
            return httpx.Response(200, json={"totalSize": 2, "done": True, "records": [
                {"Id": "0055g00000AnnaAAAA", "Email": "anna@acme.example", "FirstName": "Anna", "LastName": "K",
                 "IsActive": True},
                {"Id": "0055g00000GoneAAAA", "Email": "gone@acme.example", "FirstName": "Old", "LastName": "User",
                 "IsActive": False}]})
        assert q == "SELECT Id, Name, Email FROM Group WHERE Type = 'Queue'"
        return httpx.Response(200, json={"totalSize": 1, "done": True, "records": [
            {"Id": "00G5g000001QueueAAA", "Name": "Inbound queue", "Email": "inbound-queue@acme.example"}]})

    router.get("/query").mock(side_effect=answer)
    owners = sf.owners()
    assert [(o.email, o.type, o.active) for o in owners] == [
        ("anna@acme.example", "PERSON", True), ("gone@acme.example", "PERSON", False),
        ("inbound-queue@acme.example", "QUEUE", True)]


def test_request_limit_exceeded_is_rate_limited_without_retries(
        router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.get("/query").respond(403, json=[
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    with pytest.raises(RateLimited) as info:
        list(sf.scan("deals"))
    assert route.call_count == 1  # the org's daily allowance: hammering cannot help
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert TOKEN not in str(info.value)


def test_duplicates_detected(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.post("/sobjects/Lead/").respond(400, json=[{
        "message": "Use one of these records?", "errorCode": "DUPLICATES_DETECTED", "fields": []}])
    with pytest.raises(DuplicateRecord, match="Use one of these records") as info:
        sf.create("leads", {"Email": "dup@example.com"})
    assert info.value.code == "DUPLICATES_DETECTED"
    assert route.call_count == 1


def test_not_found_and_field_errors(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    router.get(f"/sobjects/Lead/{LEAD_ID}").respond(404, json=[
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    with pytest.raises(NotFound):
        sf.get("leads", LEAD_ID)
    router.patch(f"/sobjects/Lead/{LEAD_ID}").respond(400, json=[
        {"message": "No such column 'Nope__c' on sobject of type Lead", "errorCode": "INVALID_FIELD",
         "fields": ["Nope__c"]}])
    with pytest.raises(ApiError, match="Nope__c") as info:
        sf.update("leads", LEAD_ID, {"Nope__c": "x"})
    assert info.value.code == "INVALID_FIELD"


def test_token_never_in_errors(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    router.get("/query").respond(401, json=[
        {"message": f"Session expired or invalid: Bearer {TOKEN}", "errorCode": "INVALID_SESSION_ID"}])
    with pytest.raises(ApiError) as info:
        list(sf.scan("leads"))
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert TOKEN not in repr(sf)
    assert secrets.redact(f"x {TOKEN} y") == "x *** y"


def test_server_errors_are_retried_for_reads(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.get("/query").mock(side_effect=[
        httpx.Response(503, json=[{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}]),
        httpx.Response(200, json={"totalSize": 1, "done": True, "records": [lead(1)]}),
    ])
    assert len(list(sf.scan("leads"))) == 1
    assert route.call_count == 2


def test_base_url_points_elsewhere() -> None:
    with respx.mock(base_url="http://127.0.0.1:8765/services/data/v60.0", assert_all_called=False) as r:
        r.get("/query").respond(200, json={"totalSize": 2, "done": False, "records": [lead(1)],
                                           "nextRecordsUrl": "/services/data/v60.0/query/01g-1"})
        r.get("/query/01g-1").respond(200, json={"totalSize": 2, "done": True, "records": [lead(2)]})
        with SalesforceConnector(TOKEN, instance_url=INSTANCE, base_url="http://127.0.0.1:8765",
                                 api_version="v60.0") as conn:
            assert len(list(conn.scan("leads"))) == 2
    with pytest.raises(ConnectorError, match="api_version"):
        SalesforceConnector(TOKEN, instance_url=INSTANCE, api_version="62")


def test_create_is_not_retried_after_a_server_error(router: respx.MockRouter, sf: SalesforceConnector) -> None:
    route = router.post("/sobjects/Lead/").respond(500, json=[{"message": "boom", "errorCode": "UNKNOWN_EXCEPTION"}])
    with pytest.raises(ApiError, match="boom"):
        sf.create("leads", {"Email": "once@example.com"})
    assert route.call_count == 1  # a retried create could make a second lead


def test_the_synthetic_tag_is_the_custom_field_and_reads_back_under_its_plain_name(
        router: respx.MockRouter, sf: SalesforceConnector) -> None:
    """A synthetic Lead: ``gtmcheck_run_id`` is ``gtmcheck_run_id__c`` in Salesforce; cleanup can recognise it."""
    from gtmcheck.synthetic import is_synthetic, synthetic_email

    lead_run = "gtm-20261123T101500-000001"
    lead_email = synthetic_email(lead_run, "emea-1")

    post = router.post("/sobjects/Lead/").respond(201, json={"id": LEAD_ID, "success": True, "errors": []})
    router.get(f"/sobjects/Lead/{LEAD_ID}").respond(200, json={
        "attributes": {"type": "Lead"}, "Id": LEAD_ID, "OwnerId": "0055g00000AnnaAAA",
        "Email": lead_email, "gtmcheck_run_id__c": lead_run})
    record = sf.create("leads", {"email": lead_email, "gtmcheck_run_id": lead_run,
                                 "LastName": "emea-1", "Company": "gtmcheck"})
    assert json.loads(post.calls.last.request.content) == {
        "Email": lead_email, "gtmcheck_run_id__c": lead_run, "LastName": "emea-1",
        "Company": "gtmcheck"}
    assert record.properties["gtmcheck_run_id"] == lead_run and record.properties["email"].endswith("example.com")
    assert is_synthetic("leads", record)
