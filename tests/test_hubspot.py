from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors import crm_for
from gtmcheck.connectors.crm import CrmConnector, Filter
from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector, filter_json, to_epoch_ms
from gtmcheck.errors import ApiError, ConfigError, NotFound
from gtmcheck.project import Environment

BASE = "https://api.hubapi.com"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
T0 = 1_763_000_000_000  # epoch ms



@pytest.fixture
def hub(clock: FakeClock) -> Iterator[HubSpotConnector]:
    with HubSpotConnector(TOKEN, limiters=hubspot_limits(None, clock=clock, sleep=clock.sleep),
                          retry=RetryPolicy(jitter=False), sleep=clock.sleep) as connector:
        yield connector


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def body(call: Any) -> Any:
    return json.loads(call.request.content)


def contact(id: str, **props: str | None) -> dict[str, Any]:
    return {"id": id, "properties": {"hs_object_id": id, **props}, "createdAt": "2026-11-20T10:15:00.000Z",
            "updatedAt": "2026-11-20T10:16:00.000Z", "archived": False}


def test_it_is_a_crm_connector(hub: HubSpotConnector) -> None:
    assert isinstance(hub, CrmConnector)
    assert hub.vendor == "hubspot"
    assert TOKEN not in repr(hub)


# -- objects --------------------------------------------------------------------------------------------


def test_create(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    route = router.post("/crm/v3/objects/contacts").mock(return_value=httpx.Response(
        201, json=contact("501", email="a@example.com", hubspot_owner_id="77")))
    record = hub.create("contacts", {"email": "a@example.com", "owner_id": "77"})
    assert body(route.calls.last) == {"properties": {"email": "a@example.com", "hubspot_owner_id": "77"}}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert record.id == "501"
    assert record.properties["owner_id"] == record.properties["hubspot_owner_id"] == "77"
    assert record.created_at == "2026-11-20T10:15:00.000Z"
    assert record.archived is False


def test_get_asks_for_the_properties(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    route = router.get("/crm/v3/objects/deals/9").mock(return_value=httpx.Response(
        200, json={"id": "9", "properties": {"amount": "1200", "dealstage": "closedwon", "closedate": None}}))
    record = hub.get("deals", "9", ["amount", "dealstage", "owner_id"])
    wanted = "amount,dealstage,hubspot_owner_id,hubspot_owner_assigneddate"  # owner asked: when it was assigned too
    assert route.calls.last.request.url.params["properties"] == wanted
    assert record.properties == {"amount": "1200", "dealstage": "closedwon", "closedate": None}
    assert record.owner_assigned_at is None


def test_get_missing_is_not_found(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    router.get("/crm/v3/objects/contacts/404").mock(return_value=httpx.Response(404, json={
        "status": "error", "message": "Object not found.  objectId are usually numeric.",
        "correlationId": "4b1c", "category": "OBJECT_NOT_FOUND"}))
    with pytest.raises(NotFound, match="Object not found"):
        hub.get("contacts", "404")


def test_update_and_archive(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    patch = router.patch("/crm/v3/objects/contacts/5").mock(return_value=httpx.Response(
        200, json=contact("5", lifecyclestage="lead")))
    delete = router.delete("/crm/v3/objects/contacts/5").mock(return_value=httpx.Response(204))
    assert hub.update("contacts", "5", {"lifecyclestage": "lead"}).properties["lifecyclestage"] == "lead"
    assert body(patch.calls.last) == {"properties": {"lifecyclestage": "lead"}}
    hub.archive("contacts", "5")
    assert delete.call_count == 1


def test_archive_batch_in_chunks_of_100(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    route = router.post("/crm/v3/objects/contacts/batch/archive").mock(return_value=httpx.Response(204))
    ids = [str(i) for i in range(250)]
    hub.archive_batch("contacts", ids)
    sizes = [len(body(call)["inputs"]) for call in route.calls]
    assert sizes == [100, 100, 50]
    sent = [item["id"] for call in route.calls for item in body(call)["inputs"]]
    assert sent == ids
    hub.archive_batch("contacts", [])
    assert route.call_count == 3


def test_scan_pages_through_the_list_endpoint(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    pages = {
        None: {"results": [contact(str(i)) for i in range(100)], "paging": {"next": {"after": "100",
                                                                                     "link": "..."}}},
        "100": {"results": [contact(str(i)) for i in range(100, 200)], "paging": {"next": {"after": "200"}}},
        "200": {"results": [contact("200")]},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["limit"] == "100"
        assert request.url.params["properties"] == "email,hubspot_owner_id"
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    route = router.get("/crm/v3/objects/contacts").mock(side_effect=answer)
    ids = [r.id for r in hub.scan("contacts", ["email", "hubspot_owner_id"])]
    assert ids == [str(i) for i in range(201)]
    assert route.call_count == 3


# -- owners and properties ------------------------------------------------------------------------------


def test_owners_pages_and_archived(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    def owner(id: str, email: str, **extra: Any) -> dict[str, Any]:
        return {"id": id, "email": email, "firstName": "A", "lastName": "B", "userId": int(id) + 1000,
                "type": "PERSON", "teams": [], "archived": False, **extra}

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params["archived"] == "true":
            return httpx.Response(200, json={"results": [owner("9", "gone@acme.example", archived=True)]})
        if params.get("after") == "2":
            return httpx.Response(200, json={"results": [
                owner("3", "inbound-queue@acme.example", type="QUEUE", firstName=None, lastName=None)]})
        return httpx.Response(200, json={
            "results": [owner("1", "anna@acme.example", teams=[{"id": "t1", "name": "EMEA", "primary": True}]),
                        owner("2", "ben@acme.example")],
            "paging": {"next": {"after": "2", "link": f"{BASE}/crm/v3/owners/?after=2"}}})

    route = router.get("/crm/v3/owners/").mock(side_effect=answer)
    owners = {o.id: o for o in hub.owners()}
    assert route.call_count == 3
    assert set(owners) == {"1", "2", "3", "9"}
    assert owners["1"].teams == ("EMEA",) and owners["1"].active and owners["1"].type == "PERSON"
    assert owners["3"].type == "QUEUE"
    assert owners["9"].active is False
    assert owners["2"].email == "ben@acme.example"


def test_properties(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    router.get("/crm/v3/properties/contacts").mock(return_value=httpx.Response(200, json={"results": [
        {"name": "lifecyclestage", "label": "Lifecycle Stage", "type": "enumeration", "fieldType": "radio",
         "options": [{"label": "Lead", "value": "lead", "displayOrder": 0, "hidden": False},
                     {"label": "Customer", "value": "customer", "displayOrder": 1, "hidden": False}],
         "hidden": False, "calculated": False, "hubspotDefined": True, "archived": False},
        {"name": "lead_source_detail", "label": "Lead source detail", "type": "string", "fieldType": "text",
         "options": [], "hidden": True},
    ]}))
    stage, custom = hub.properties("contacts")
    assert (stage.name, stage.label, stage.type, stage.field_type) == ("lifecyclestage", "Lifecycle Stage",
                                                                       "enumeration", "radio")
    assert stage.options == ("lead", "customer") and stage.vendor_defined
    assert custom.hidden and not custom.vendor_defined and custom.options == ()


# -- search ---------------------------------------------------------------------------------------------


def test_filters_in_hubspot_shape() -> None:
    assert filter_json(Filter("country", "IN", values=("DE", "FR"))) == {
        "propertyName": "country", "operator": "IN", "values": ["DE", "FR"]}
    assert filter_json(Filter("amount", "BETWEEN", "10", high_value="20")) == {
        "propertyName": "amount", "operator": "BETWEEN", "value": "10", "highValue": "20"}
    assert filter_json(Filter("email", "HAS_PROPERTY")) == {"propertyName": "email", "operator": "HAS_PROPERTY"}
    assert filter_json(Filter("owner_id", "EQ", "7")) == {
        "propertyName": "hubspot_owner_id", "operator": "EQ", "value": "7"}


def test_to_epoch_ms() -> None:
    assert to_epoch_ms("2026-11-20T10:15:00.000Z") == to_epoch_ms("1795169700000") == 1795169700000
    assert to_epoch_ms("2026-11-20") == to_epoch_ms("2026-11-20T00:00:00+00:00") == 1795132800000
    assert to_epoch_ms("") is None and to_epoch_ms(None) is None and to_epoch_ms("soon") is None


class FakeSearch:
    """HubSpot search over in-memory records: filterGroups (EQ, GTE, LT, HAS/NOT_HAS_PROPERTY), paging, cap."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.bodies: list[dict[str, Any]] = []
        self._cache: dict[str, list[dict[str, Any]]] = {}

    @staticmethod
    def _match(props: dict[str, Any], f: dict[str, Any]) -> bool:
        value, op = props.get(f["propertyName"]), f["operator"]
        if op == "HAS_PROPERTY":
            return value is not None
        if op == "NOT_HAS_PROPERTY":
            return value is None
        if value is None:
            return False
        if op == "EQ":
            return bool(value == f["value"])
        number = to_epoch_ms(value)
        assert number is not None
        if op == "GTE":
            return number >= int(f["value"])
        if op == "LT":
            return number < int(f["value"])
        raise AssertionError(op)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        self.bodies.append(query)
        assert query["limit"] <= 200
        groups = [g["filters"] for g in query["filterGroups"]]
        assert len(groups) <= 5 and all(len(g) <= 6 for g in groups)
        key = json.dumps([groups, query.get("sorts")], sort_keys=True)
        found = self._cache.get(key)
        if found is None:  # one filter pass per query, not per page: keeps 26,000-record tests fast
            found = [r for r in self.records
                     if not groups or any(all(self._match(r["properties"], f) for f in g) for g in groups)]
            for sort in reversed(query.get("sorts") or []):
                name = sort["propertyName"]
                found.sort(key=lambda r: r["properties"].get(name) or "",
                           reverse=sort["direction"] == "DESCENDING")
            self._cache[key] = found
        after = int(query.get("after") or 0)
        if after >= 10_000:
            return httpx.Response(400, json={"status": "error", "message": "There was a problem with the request.",
                                             "category": "VALIDATION_ERROR", "correlationId": "x"})
        end = min(after + query["limit"], len(found))
        out: dict[str, Any] = {"total": len(found), "results": [
            {"id": r["id"], "properties": {k: v for k, v in r["properties"].items()
                                           if k in query["properties"] or k == "hs_object_id"}}
            for r in found[after:end]]}
        if end < len(found) and end < 10_000:
            out["paging"] = {"next": {"after": str(end)}}
        return httpx.Response(200, json=out)


def deals(n: int, *, step_ms: int = 60_000, undated: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        created = f"{T0 + i * step_ms}"
        out.append({"id": str(i + 1), "properties": {
            "hs_object_id": str(i + 1), "createdate": _iso(int(created)),
            "dealstage": "closedwon" if i % 4 else "closedlost", "amount": str(100 + i)}})
    for j in range(undated):
        out.append({"id": f"u{j}", "properties": {"hs_object_id": f"u{j}", "createdate": None,
                                                  "dealstage": "closedwon", "amount": "1"}})
    return out


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_search_pages_with_after(hub: HubSpotConnector, router: respx.MockRouter, clock: FakeClock) -> None:
    fake = FakeSearch(deals(450))
    router.post("/crm/v3/objects/deals/search").mock(side_effect=fake)
    found = list(hub.search("deals", [[Filter("amount", "HAS_PROPERTY")]], ["amount"], sort="-createdate"))
    assert len(found) == 450 and len({r.id for r in found}) == 450
    assert [b.get("after") for b in fake.bodies] == [None, "200", "400"]
    assert fake.bodies[0]["sorts"] == [{"propertyName": "createdate", "direction": "DESCENDING"}]
    assert fake.bodies[0]["properties"] == ["amount"] and fake.bodies[0]["limit"] == 200
    assert found[0].properties["amount"] == "549"  # newest first


def test_search_goes_through_the_search_limiter(hub: HubSpotConnector, router: respx.MockRouter,
                                                clock: FakeClock) -> None:
    router.post("/crm/v3/objects/deals/search").mock(side_effect=FakeSearch(deals(2000)))
    assert len(list(hub.search("deals", []))) == 2000
    # ten pages at five a second: the fake clock moved at least one second, nothing really slept
    assert clock.now >= 1.0


def test_search_past_the_cap_returns_every_record_once(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    records = deals(26_000, undated=30)
    fake = FakeSearch(records)
    router.post("/crm/v3/objects/deals/search").mock(side_effect=fake)
    won = [Filter("dealstage", "EQ", "closedwon")]
    found = list(hub.search("deals", [won], ["amount", "dealstage"]))
    expected = {r["id"] for r in records if r["properties"]["dealstage"] == "closedwon"}
    ids = [r.id for r in found]
    assert len(ids) == len(set(ids)) == len(expected) > 10_000
    assert set(ids) == expected
    assert all(int(b.get("after") or 0) < 10_000 for b in fake.bodies)
    assert sum(r.properties["amount"] is not None for r in found) == len(expected)


def test_search_partitions_every_filter_group(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    records = deals(24_000)
    fake = FakeSearch(records)
    router.post("/crm/v3/objects/deals/search").mock(side_effect=fake)
    groups = [[Filter("dealstage", "EQ", "closedwon")], [Filter("dealstage", "EQ", "closedlost")]]
    ids = [r.id for r in hub.search("deals", groups)]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 24_001)]
    windowed = [b for b in fake.bodies if any(f["operator"] == "GTE" for g in b["filterGroups"]
                                              for f in g["filters"])]
    assert windowed and all(len(b["filterGroups"]) == 2 for b in windowed)


def test_search_cannot_split_one_millisecond(hub: HubSpotConnector, router: respx.MockRouter) -> None:
    router.post("/crm/v3/objects/deals/search").mock(side_effect=FakeSearch(deals(10_001, step_ms=0)))
    with pytest.raises(ApiError, match="share one createdate millisecond"):
        list(hub.search("deals", []))


def test_search_retries_a_secondly_429(hub: HubSpotConnector, router: respx.MockRouter, clock: FakeClock) -> None:
    fake = FakeSearch(deals(3))
    limited = httpx.Response(429, json={"status": "error", "message": "You have reached your secondly limit.",
                                        "errorType": "RATE_LIMIT", "correlationId": "c", "policyName": "SECONDLY"})
    route = router.post("/crm/v3/objects/deals/search").mock(side_effect=[limited, fake])
    assert len(list(hub.search("deals", []))) == 3
    assert route.call_count == 2 and clock.sleeps


# -- the factory ----------------------------------------------------------------------------------------


def env(tmp_path: Path, **crm: Any) -> Environment:
    return Environment(name="production", root=tmp_path, crm=crm)


def test_crm_for_hubspot(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"results": []}))
    connector = crm_for(env(tmp_path, type="hubspot", token=TOKEN, plan="starter",
                            base_url="http://127.0.0.1:9"), transport=transport)
    assert isinstance(connector, HubSpotConnector)
    assert connector.http.base_url == "http://127.0.0.1:9"
    assert connector.http.limiters["default"].max_calls == 100
    assert connector.properties("contacts") == []
    connector.close()


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_crm_for_needs_a_token(tmp_path: Path, kind: str) -> None:
    with pytest.raises(ConfigError, match=r"'production'.*`token:"):
        crm_for(env(tmp_path, type=kind, instance_url="https://acme.my.salesforce.com"))


def test_crm_for_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown CRM type"):
        crm_for(env(tmp_path, type="pipedrive"))


def test_crm_for_sandbox_uses_the_given_transport(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": []})

    connector = crm_for(env(tmp_path, type="sandbox", scenario="x.yml"), transport=httpx.MockTransport(answer))
    assert connector.owners() == []
    assert seen[0].headers["Authorization"].startswith("Bearer ")
    connector.close()


def test_crm_for_sandbox_needs_its_scenario(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        crm_for(env(tmp_path, type="sandbox", scenario="missing.yml"))


# -- the same connector against the in-process sandbox ---------------------------------------------------


def test_against_the_sandbox(repo: Path) -> None:
    pytest.importorskip("gtmcheck.sandbox.hubspot")
    environment = Environment(name="sandbox", root=repo,
                              crm={"type": "sandbox", "scenario": "gtmcheck/demo/healthy.yml"})
    connector = crm_for(environment)
    try:
        owners = connector.owners()
        assert owners and {o.type for o in owners} >= {"PERSON"}
        names = {p.name for p in connector.properties("contacts")}
        assert {"email", "createdate"} <= names
        scanned = {r.id: r for r in connector.scan("deals", ["amount", "dealstage"])}
        searched = {r.id: r for r in connector.search("deals", [], ["amount", "dealstage"])}
        assert scanned.keys() == searched.keys() and scanned
        assert all(isinstance(r.properties["amount"], str | None) for r in scanned.values())
        created = connector.create("contacts", {"email": "hubspot-connector-test@example.com",
                                                "firstname": "Synthetic"})
        try:
            got = connector.get("contacts", created.id, ["email", "owner_id"])
            assert got.properties["email"] == "hubspot-connector-test@example.com"
            assert "owner_id" in got.properties
            updated = connector.update("contacts", created.id, {"firstname": "Changed"})
            assert updated.properties["firstname"] == "Changed"
        finally:
            connector.archive("contacts", created.id)
        with pytest.raises(NotFound):
            connector.get("contacts", created.id)
    finally:
        connector.close()
