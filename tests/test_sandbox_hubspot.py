"""The sandbox CRM answers as HubSpot's CRM v3 API documents, through plain httpx (no connector)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gtmcheck.errors import SpecError
from gtmcheck.sandbox import HubSpotSandbox, Scenario, hubspot_transport
from gtmcheck.sandbox import signatures as sig
from gtmcheck.sandbox.site import load_site

DEMO = Path(__file__).resolve().parent.parent / "gtmcheck" / "demo"
AUTH = {"Authorization": "Bearer test-token"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(app: HubSpotSandbox) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hubapi.com", headers=AUTH)


def make(name: str = "healthy", clock: Clock | None = None, **knobs: Any) -> tuple[HubSpotSandbox, httpx.Client,
                                                                                   Clock]:
    clock = clock or Clock()
    knobs.setdefault("rate_limit", False)
    knobs.setdefault("search_lag_ms", 0)
    app = HubSpotSandbox(Scenario.load(DEMO / f"{name}.yml"), clock=clock, **knobs)
    return app, client(app), clock


def inline(data: dict[str, Any], clock: Clock | None = None, **kw: Any) -> tuple[HubSpotSandbox, httpx.Client,
                                                                               Clock]:
    clock = clock or Clock()
    app = HubSpotSandbox(Scenario.from_data(data), clock=clock, **kw)
    return app, client(app), clock


def search(c: httpx.Client, object_type: str, groups: list[list[dict[str, Any]]], **body: Any) -> httpx.Response:
    payload = {"filterGroups": [{"filters": g} for g in groups], **body}
    return c.post(f"/crm/v3/objects/{object_type}/search", json=payload)


def closed_won_total(c: httpx.Client) -> float:
    r = search(c, "deals", [[{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]],
               properties=["amount"], limit=200)
    assert r.status_code == 200
    return sum(float(d["properties"]["amount"]) for d in r.json()["results"])


def owner_id(c: httpx.Client, email: str) -> str:
    results = c.get("/crm/v3/owners/", params={"email": email}).json()["results"]
    assert len(results) == 1
    return str(results[0]["id"])


# --- objects ---------------------------------------------------------------------------------------------------


def test_create_get_patch_delete_have_the_documented_shapes() -> None:
    _, c, _ = make()
    r = c.post("/crm/v3/objects/companies", json={"properties": {"name": "Acme", "domain": "acme-new.example"}})
    assert r.status_code == 201
    record = r.json()
    assert set(record) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert record["id"].isdigit() and record["archived"] is False
    assert all(v is None or isinstance(v, str) for v in record["properties"].values())
    rid = record["id"]
    got = c.get(f"/crm/v3/objects/companies/{rid}", params={"properties": "name,domain,industry"}).json()
    assert got["properties"]["domain"] == "acme-new.example"
    assert "industry" in got["properties"] and got["properties"]["industry"] is None
    patched = c.patch(f"/crm/v3/objects/companies/{rid}", json={"properties": {"name": "Acme Corp"}})
    assert patched.status_code == 200 and patched.json()["properties"]["name"] == "Acme Corp"
    assert c.delete(f"/crm/v3/objects/companies/{rid}").status_code == 204
    assert c.get(f"/crm/v3/objects/companies/{rid}").status_code == 404
    archived = c.get(f"/crm/v3/objects/companies/{rid}", params={"archived": "true"}).json()
    assert archived["archived"] is True


def test_numbers_in_properties_come_back_as_strings() -> None:
    _, c, _ = make()
    r = c.post("/crm/v3/objects/deals", json={"properties": {"dealname": "x", "amount": 1200}})
    assert r.json()["properties"]["amount"] == "1200"


def test_list_pages_with_limit_and_after() -> None:
    _, c, _ = make()
    seen: list[str] = []
    after: str | None = None
    while True:
        params = {"limit": 10, "properties": "amount"}
        if after:
            params["after"] = after
        page = c.get("/crm/v3/objects/deals", params=params).json()
        seen += [d["id"] for d in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert len(seen) == len(set(seen)) == 23
    assert c.get("/crm/v3/objects/deals", params={"limit": 101}).status_code == 400


def test_batch_read_and_archive() -> None:
    _, c, _ = make()
    ids = [d["id"] for d in c.get("/crm/v3/objects/deals", params={"limit": 3}).json()["results"]]
    r = c.post("/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": i} for i in ids], "properties": ["amount"]})
    assert r.status_code == 200 and r.json()["status"] == "COMPLETE" and len(r.json()["results"]) == 3
    partial = c.post("/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": ids[0]}, {"id": "999999"}]})
    assert partial.status_code == 207 and partial.json()["errors"][0]["context"]["ids"] == ["999999"]
    assert c.post("/crm/v3/objects/deals/batch/archive", json={"inputs": [{"id": i} for i in ids]}).status_code == 204
    assert all(c.get(f"/crm/v3/objects/deals/{i}").status_code == 404 for i in ids)
    too_many = c.post("/crm/v3/objects/deals/batch/archive", json={"inputs": [{"id": str(i)} for i in range(101)]})
    assert too_many.status_code == 400


def test_missing_token_is_a_401_with_hubspots_error_body() -> None:
    app, _, _ = make()
    bare = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hubapi.com")
    r = bare.get("/crm/v3/owners/")
    assert r.status_code == 401
    body = r.json()
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]


def test_a_scenario_token_is_the_only_one_accepted() -> None:
    _, c, _ = inline({"token": "right"})
    assert c.get("/crm/v3/owners/").status_code == 401
    assert c.get("/crm/v3/owners/", headers={"Authorization": "Bearer right"}).status_code == 200


def test_properties_endpoint() -> None:
    _, c, _ = make()
    results = c.get("/crm/v3/properties/deals").json()["results"]
    by_name = {p["name"]: p for p in results}
    assert {"amount", "dealstage", "hubspot_owner_id", "closedate"} <= set(by_name)
    assert set(by_name["amount"]) >= {"name", "label", "type", "fieldType", "options", "hidden", "calculated",
                                      "hubspotDefined", "archived"}
    assert "closedwon" in [o["value"] for o in by_name["dealstage"]["options"]]


# --- search ----------------------------------------------------------------------------------------------------


def test_filters_and_inside_a_group_groups_or() -> None:
    _, c, _ = make()
    won = {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}
    big = {"propertyName": "amount", "operator": "GTE", "value": "48000"}
    lost = {"propertyName": "dealstage", "operator": "EQ", "value": "closedlost"}
    assert search(c, "deals", [[won, big]]).json()["total"] == 4  # 48000, 52000, 61000, 48000
    assert search(c, "deals", [[won, big], [lost]]).json()["total"] == 7
    assert search(c, "deals", []).json()["total"] == 23


def test_operators() -> None:
    _, c, _ = make()

    def total(*filters: dict[str, Any]) -> int:
        r = search(c, "deals", [list(filters)])
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert total({"propertyName": "dealstage", "operator": "IN", "values": ["closedlost", "qualifiedtobuy"]}) == 5
    assert total({"propertyName": "dealstage", "operator": "NOT_IN", "values": ["closedwon"]}) == 12
    assert total({"propertyName": "amount", "operator": "BETWEEN", "value": "30000", "highValue": "48000"}) == 9
    assert total({"propertyName": "amount", "operator": "LT", "value": "20000"}) == 8
    assert total({"propertyName": "amount", "operator": "GT", "value": "52000"}) == 1
    assert total({"propertyName": "amount", "operator": "LTE", "value": "12000"}) == 7
    assert total({"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"}) == 12
    assert total({"propertyName": "amount", "operator": "HAS_PROPERTY"}) == 23
    assert total({"propertyName": "hs_no_such", "operator": "NOT_HAS_PROPERTY"}) == 23
    assert total({"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "expansion"}) == 12
    assert total({"propertyName": "dealname", "operator": "NOT_CONTAINS_TOKEN", "value": "expansion"}) == 11
    # dates compare as instants, whether written as ISO or epoch milliseconds
    assert total({"propertyName": "closedate", "operator": "BETWEEN", "value": "2026-02-01",
                  "highValue": "2026-02-28T23:59:59Z"}) == 4
    assert total({"propertyName": "closedate", "operator": "GTE", "value": "1790812800000"}) == 2  # 2026-10-01
    bad = search(c, "deals", [[{"propertyName": "amount", "operator": "ROUGHLY", "value": "1"}]])
    assert bad.status_code == 400 and bad.json()["status"] == "error"


def test_sorts_properties_and_paging() -> None:
    _, c, _ = make()
    amounts: list[float] = []
    after: str | None = None
    pages = 0
    while True:
        body: dict[str, Any] = {"sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
                                "properties": ["amount"], "limit": 5}
        if after:
            body["after"] = after
        r = search(c, "deals", [], **body).json()
        assert r["total"] == 23
        amounts += [float(d["properties"]["amount"]) for d in r["results"]]
        pages += 1
        after = r.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert pages == 5 and len(amounts) == 23 and amounts == sorted(amounts, reverse=True)
    assert search(c, "deals", [], limit=201).status_code == 400


def test_search_stops_at_ten_thousand_results() -> None:
    _, c, _ = inline({"generate": {"deals": 10_050, "seed": 1}})
    r = search(c, "deals", [], limit=200, after="9800").json()
    assert r["total"] == 10_050 and len(r["results"]) == 200
    assert r["paging"]["next"]["after"] == "10000"
    past = search(c, "deals", [], limit=200, after="10000")
    assert past.status_code == 400
    assert past.json()["status"] == "error" and past.json()["category"] == "VALIDATION_ERROR"
    # the list endpoint has no such cap
    listed = c.get("/crm/v3/objects/deals", params={"limit": 100, "after": "19000"}).json()
    assert len(listed["results"]) == 50  # ids 19001..19050


def test_new_and_changed_records_reach_search_after_the_lag() -> None:
    _, c, clock = make(search_lag_ms=2000)
    eq = [[{"propertyName": "email", "operator": "EQ", "value": "new.lead@lag.example"}]]
    rid = c.post("/crm/v3/objects/contacts", json={"properties": {"email": "new.lead@lag.example"}}).json()["id"]
    assert c.get(f"/crm/v3/objects/contacts/{rid}").status_code == 200  # GET sees it at once
    assert search(c, "contacts", eq).json()["total"] == 0
    clock.advance(2.5)
    assert search(c, "contacts", eq).json()["total"] == 1
    c.patch(f"/crm/v3/objects/contacts/{rid}", json={"properties": {"email": "renamed@lag.example"}})
    assert search(c, "contacts", eq).json()["total"] == 1  # the old version until the change lands
    clock.advance(2.5)
    assert search(c, "contacts", eq).json()["total"] == 0


# --- owners ----------------------------------------------------------------------------------------------------


def test_owners_persons_queues_archived_and_paging() -> None:
    _, c, _ = make()
    active = c.get("/crm/v3/owners/").json()["results"]
    assert {o["type"] for o in active} == {"PERSON", "QUEUE"}
    assert set(active[0]) >= {"id", "email", "firstName", "lastName", "userId", "type", "teams", "archived"}
    assert "erin@acme.example" not in [o["email"] for o in active]
    gone = c.get("/crm/v3/owners/", params={"archived": "true"}).json()["results"]
    assert [o["email"] for o in gone] == ["erin@acme.example"]
    one = c.get("/crm/v3/owners/", params={"email": "carla@acme.example"}).json()["results"]
    assert len(one) == 1 and one[0]["firstName"] == "Carla"
    page = c.get("/crm/v3/owners/", params={"limit": 2}).json()
    assert len(page["results"]) == 2
    rest = c.get("/crm/v3/owners/", params={"limit": 100, "after": page["paging"]["next"]["after"]}).json()
    assert len(page["results"]) + len(rest["results"]) == len(active)
    assert c.get(f"/crm/v3/owners/{active[0]['id']}").json()["email"] == active[0]["email"]


# --- knobs -----------------------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_policy_name_and_retry_after() -> None:
    app, c, clock = make(rate_limit={"per_10s": 5, "search_per_s": 2})
    codes = [c.get("/crm/v3/owners/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = c.get("/crm/v3/owners/")
    body = r.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit." and body["correlationId"]
    assert int(r.headers["Retry-After"]) >= 1
    clock.advance(10.1)
    assert c.get("/crm/v3/owners/").status_code == 200
    searches = [search(c, "deals", []).status_code for _ in range(3)]
    assert searches == [200, 200, 429]
    clock.advance(1.1)
    assert search(c, "deals", []).status_code == 200


def test_burst_429_every_nth_request() -> None:
    _, c, _ = make(burst_429=3)
    codes = [c.get("/crm/v3/owners/").status_code for _ in range(9)]
    assert codes == [200, 200, 429] * 3


def test_fault_rate_is_deterministic_by_seed_and_never_half_writes() -> None:
    def run(seed: int) -> list[int]:
        app, c, _ = make(fault_rate=0.3, seed=seed)
        codes = []
        for i in range(40):
            r = c.post("/crm/v3/objects/companies", json={"properties": {"name": f"F{i}", "domain": f"f{i}.example"}})
            codes.append(r.status_code)
        created = sum(1 for s in codes if s == 201)
        stored = [s for s in app._objects["companies"].values() if s.properties.get("name", "").startswith("F")]
        assert len(stored) == created  # a faulted request wrote nothing
        return codes

    first = run(7)
    assert first == run(7)
    assert set(first) <= {201, 502, 503, 504} and 201 in first and len(set(first)) > 1
    assert first != run(8)


def test_fault_body_is_hubspots_error_shape() -> None:
    _, c, _ = make(fault_rate=1.0)
    r = c.get("/crm/v3/owners/")
    assert r.status_code in (502, 503, 504)
    assert r.json()["status"] == "error" and r.json()["message"]


# --- demo scenarios --------------------------------------------------------------------------------------------


def test_closed_won_is_428000_healthy_and_391000_drifted() -> None:
    assert closed_won_total(make("healthy")[1]) == 428000
    assert closed_won_total(make("drifted")[1]) == 391000


def test_records_keep_their_source_id_and_owner() -> None:
    _, c, _ = make()
    r = search(c, "deals", [[{"propertyName": "source_id", "operator": "EQ", "value": "d001"}]],
               properties=["hubspot_owner_id", "source_id", "amount"]).json()
    deal = r["results"][0]["properties"]
    assert deal["amount"] == "48000" and deal["hubspot_owner_id"] == owner_id(c, "ben@acme.example")


def test_the_site_still_reads_its_section_of_both_scenarios() -> None:
    for name in ("healthy", "drifted"):
        site = load_site(DEMO / f"{name}.yml")
        web = httpx.Client(transport=httpx.WSGITransport(app=site), base_url="https://www.acme.example")
        assert web.get("/spring").status_code == 200


def test_hubspot_transport_is_cached_per_path() -> None:
    path = DEMO / "healthy.yml"
    c1 = httpx.Client(transport=hubspot_transport(path), base_url="https://api.hubapi.com", headers=AUTH)
    c2 = httpx.Client(transport=hubspot_transport(path), base_url="https://api.hubapi.com", headers=AUTH)
    rid = c1.post("/crm/v3/objects/companies", json={"properties": {"name": "Shared"}}).json()["id"]
    assert c2.get(f"/crm/v3/objects/companies/{rid}").status_code == 200
    c2.delete(f"/crm/v3/objects/companies/{rid}")


def test_bad_scenarios_fail_at_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("owners:\n  - {email: a@x.example}\nknobs:\n  fault_rate: 2\n")
    with pytest.raises(SpecError) as err:
        Scenario.load(bad)
    assert err.value.location is not None and err.value.location.line == 4
    unknown = tmp_path / "unknown.yml"
    unknown.write_text("owners:\n  - {email: a@x.example}\nrouting:\n  default: {owner: b@x.example}\n")
    with pytest.raises(SpecError, match="unknown owner") as err:
        Scenario.load(unknown)
    assert err.value.location is not None and err.value.location.line == 4
    missing = tmp_path / "missing.yml"
    missing.write_text("records:\n  deals: nowhere.csv\n")
    with pytest.raises(SpecError, match="no such file") as err:
        Scenario.load(missing)
    assert err.value.location is not None and err.value.location.line == 2


# --- routing ---------------------------------------------------------------------------------------------------

ROUTING = {
    "owners": [{"email": e} for e in ("a@acme.example", "b@acme.example", "c@acme.example", "d@acme.example",
                                      "ent@acme.example")]
    + [{"email": "queue@acme.example", "type": "QUEUE"}],
    "routing": {
        "delay_ms": 1000,
        "pools": {"na": ["a@acme.example", "b@acme.example", "c@acme.example"]},
        "rules": [
            {"id": "account", "assign": {"owner_of": "account"}},
            {"id": "vip", "when": {"tier": "vip"}, "assign": {"owner": "d@acme.example"}},
            {"id": "enterprise", "when": {"employees": {"gte": 1000}, "country": {"not_in": ["US"]}},
             "assign": {"owner": "ent@acme.example"}},
            {"id": "small", "when": {"employees": {"lt": 10}, "phone": {"exists": False}},
             "assign": {"queue": "queue@acme.example"}},
            {"id": "tiny-gt", "when": {"employees": {"gt": 5000, "lte": 6000}},
             "assign": {"owner": "c@acme.example"}},
            {"id": "edu", "when": {"email_domain": {"in": ["uni.example"]}}, "assign": {"owner": "b@acme.example"}},
            {"id": "na", "when": {"country": {"in": ["US", "CA"]}}, "assign": {"round_robin": "na"}},
            {"id": "named", "when": {"country": {"equals": "MX"}}, "assign": {"round_robin": ["d@acme.example"]}},
        ],
        "default": {"queue": "queue@acme.example"},
    },
}


def routed(c: httpx.Client, clock: Clock, props: dict[str, str]) -> str | None:
    r = c.post("/crm/v3/objects/contacts", json={"properties": props})
    assert r.status_code == 201, r.text
    clock.advance(1.5)
    got = c.get(f"/crm/v3/objects/contacts/{r.json()['id']}", params={"properties": "hubspot_owner_id"}).json()
    value = got["properties"]["hubspot_owner_id"]
    return None if value is None else str(value)


def test_each_routing_rule() -> None:
    app, c, clock = inline(ROUTING)
    c.post("/crm/v3/objects/companies", json={"properties": {"domain": "known.example",
                                                                 "hubspot_owner_id": owner_id(c, "c@acme.example")}})
    oid = {e: owner_id(c, e) for e in ("a@acme.example", "b@acme.example", "c@acme.example", "d@acme.example",
                                       "ent@acme.example", "queue@acme.example")}
    assert routed(c, clock, {"email": "x@known.example", "country": "US"}) == oid["c@acme.example"]
    assert routed(c, clock, {"email": "v@v.example", "tier": "VIP"}) == oid["d@acme.example"]
    assert routed(c, clock, {"email": "e@e.example", "employees": "2000", "country": "DE"}) == oid["ent@acme.example"]
    assert routed(c, clock, {"email": "s@s.example", "employees": "3"}) == oid["queue@acme.example"]
    assert routed(c, clock, {"email": "s2@s.example", "employees": "3", "phone": "1"}) == oid["queue@acme.example"]
    assert routed(c, clock, {"email": "t@t.example", "employees": "5500", "country": "US"}) == oid["c@acme.example"]
    assert routed(c, clock, {"email": "p@uni.example"}) == oid["b@acme.example"]
    assert routed(c, clock, {"email": "m@m.example", "country": "MX"}) == oid["d@acme.example"]
    assert routed(c, clock, {"email": "n@n.example", "country": "BR"}) == oid["queue@acme.example"]
    assert [e["rule"] for e in app.routing_log] == ["account", "vip", "enterprise", "small", "default", "tiny-gt",
                                                    "edu", "named", "default"]


def test_round_robin_spreads_evenly() -> None:
    _, c, clock = inline(ROUTING)
    owners = [routed(c, clock, {"email": f"lead{i}@rr.example", "country": "US"}) for i in range(30)]
    counts = Counter(owners)
    assert len(counts) == 3 and set(counts.values()) == {10}


def test_owner_appears_only_after_the_delay() -> None:
    _, c, clock = inline(ROUTING)
    props = {"email": "late@d.example", "tier": "vip"}
    rid = c.post("/crm/v3/objects/contacts", json={"properties": props}).json()["id"]
    url = f"/crm/v3/objects/contacts/{rid}"
    assert c.get(url, params={"properties": "hubspot_owner_id"}).json()["properties"]["hubspot_owner_id"] is None
    clock.advance(0.5)
    assert c.get(url, params={"properties": "hubspot_owner_id"}).json()["properties"]["hubspot_owner_id"] is None
    clock.advance(0.6)
    assert c.get(url, params={"properties": "hubspot_owner_id"}).json()["properties"]["hubspot_owner_id"]


def test_a_contact_created_with_an_owner_is_not_routed() -> None:
    _, c, clock = inline(ROUTING)
    assert routed(c, clock, {"email": "mine@x.example", "tier": "vip",
                             "hubspot_owner_id": owner_id(c, "a@acme.example")}) == owner_id(c, "a@acme.example")


def test_duplicate_email_is_a_409_and_the_contact_keeps_its_owner() -> None:
    _, c, clock = inline(ROUTING)
    first = routed(c, clock, {"email": "dup@d.example", "country": "US"})
    r = c.post("/crm/v3/objects/contacts", json={"properties": {"email": "DUP@d.example", "tier": "vip"}})
    assert r.status_code == 409 and "Existing ID" in r.json()["message"]
    existing = r.json()["message"].rsplit(" ", 1)[1]
    clock.advance(2)
    got = c.get(f"/crm/v3/objects/contacts/{existing}", params={"properties": "hubspot_owner_id"}).json()
    assert got["properties"]["hubspot_owner_id"] == first


@pytest.mark.parametrize(("name", "country", "queue"), [("healthy", "ES", False), ("drifted", "ES", True),
                                                         ("drifted", "IT", True), ("drifted", "DE", False)])
def test_drifted_territory_falls_into_the_default_queue(name: str, country: str, queue: bool) -> None:
    """The drifted enterprise EMEA rule lost Spain and Italy: their enterprise leads go to the queue."""
    _, c, clock = make(name)
    owner = routed(c, clock, {"email": f"lead@{country.lower()}-prospect.example", "country": country,
                              "employees": "5000"})
    assert (owner == owner_id(c, "inbound-queue@acme.example")) is queue
    if not queue:
        assert owner == owner_id(c, "anna@acme.example")


def test_owner_assignment_records_when_it_happened() -> None:
    """Like HubSpot, routing sets ``hubspot_owner_assigneddate``: latency by the CRM's own clock.

    The workflow assigns 0.5 s after creation (``delay_ms: 500``); the first read comes later, at 0.75 s, and the
    assigned date still says 0.5 s: a client that reads late (backing off a 429) never makes routing look late.
    """
    _, c, clock = make("healthy")
    created = c.post("/crm/v3/objects/contacts", json={"properties": {"email": "when@x.example", "country": "JP"}})
    clock.advance(0.75)
    got = c.get(f"/crm/v3/objects/contacts/{created.json()['id']}",
                params={"properties": "hubspot_owner_id,hubspot_owner_assigneddate"}).json()
    assigned = datetime.fromisoformat(got["properties"]["hubspot_owner_assigneddate"].replace("Z", "+00:00"))
    born = datetime.fromisoformat(got["createdAt"].replace("Z", "+00:00"))
    assert (assigned - born).total_seconds() == pytest.approx(0.5, abs=0.002)


def test_demo_account_match_assigns_the_company_owner() -> None:
    _, c, clock = make("healthy")
    assert routed(c, clock, {"email": "new.person@globex.example", "country": "US"}) == owner_id(c, "ben@acme.example")


# --- webhooks --------------------------------------------------------------------------------------------------


def test_sign_and_verify_against_hand_computed_vectors() -> None:
    secret, uri, body, stamp = "s3cret", "https://hooks.acme.example/hubspot?x=1", '[{"eventId":1}]', 1700000000000
    v1 = hashlib.sha256((secret + body).encode()).hexdigest()
    v2 = hashlib.sha256((secret + "POST" + uri + body).encode()).hexdigest()
    v3 = base64.b64encode(hmac.new(secret.encode(), f"POST{uri}{body}{stamp}".encode(), hashlib.sha256).digest())
    assert sig.sign_v1(secret, body) == v1 == "e08da988e1f18642a5b983468378a5e1c56d18d71757fa44bc89bd52dd1da8c0"
    assert sig.sign_v2(secret, "POST", uri, body) == v2
    assert sig.sign_v3(secret, "POST", uri, body, stamp) == v3.decode()
    # printf 'POSThttps://a.example/h[]0' | openssl dgst -sha256 -hmac k -binary | base64
    assert sig.sign_v3("k", "POST", "https://a.example/h", "[]", 0) == "2WESQT+CfnBojxO2adLpkDvUEXbGiyzqz7LYBxt34SE="
    assert sig.verify_v1(secret, body.encode(), v1) and not sig.verify_v1(secret, body + " ", v1)
    assert sig.verify_v2(secret, "POST", uri, body, v2) and not sig.verify_v2("other", "POST", uri, body, v2)
    now = stamp + 299_000
    assert sig.verify_v3(secret, "POST", uri, body, stamp, v3.decode(), now_ms=now)
    assert not sig.verify_v3(secret, "POST", uri, body, stamp, v3.decode(), now_ms=stamp + 301_000)  # too old
    assert not sig.verify_v3(secret, "POST", uri, body + "x", stamp, v3.decode(), now_ms=now)
    assert not sig.verify_v3(secret, "POST", uri, body, "not-a-number", v3.decode(), now_ms=now)


def test_webhooks_are_delivered_signed_on_creation_and_property_change() -> None:
    sent: list[tuple[str, dict[str, str], bytes]] = []
    data = {**ROUTING, "portal_id": 77, "webhooks": {"url": "https://hooks.acme.example/in", "secret": "whsec",
                                                     "events": ["contact.creation", "contact.propertyChange"],
                                                     "properties": ["hubspot_owner_id", "lifecyclestage"]}}
    app, c, clock = inline(data, deliver=lambda url, headers, body: sent.append((url, headers, body)) or 204)
    props = {"email": "hook@h.example", "tier": "vip"}
    rid = c.post("/crm/v3/objects/contacts", json={"properties": props}).json()["id"]
    clock.advance(1.5)
    c.get(f"/crm/v3/objects/contacts/{rid}")  # the routing assignment lands: a propertyChange
    c.patch(f"/crm/v3/objects/contacts/{rid}", json={"properties": {"firstname": "ignored", "lifecyclestage": "lead"}})
    assert len(sent) == 3
    events = [json.loads(body)[0] for _, _, body in sent]
    assert [e["subscriptionType"] for e in events] == ["contact.creation", "contact.propertyChange",
                                                       "contact.propertyChange"]
    assert events[1]["propertyName"] == "hubspot_owner_id" and events[1]["changeSource"] == "AUTOMATION_PLATFORM"
    assert events[2]["propertyName"] == "lifecyclestage" and events[2]["propertyValue"] == "lead"
    for e in events:
        assert set(e) >= {"eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType",
                          "attemptNumber", "objectId", "changeSource"}
        assert e["portalId"] == 77 and e["objectId"] == int(rid)
    for url, headers, body in sent:
        assert url == "https://hooks.acme.example/in" and headers["X-HubSpot-Signature-Version"] == "v3"
        stamp = headers["X-HubSpot-Request-Timestamp"]
        assert sig.verify_v3("whsec", "POST", url, body, stamp, headers["X-HubSpot-Signature-v3"], now_ms=int(stamp))
        assert not sig.verify_v3("wrong", "POST", url, body, stamp, headers["X-HubSpot-Signature-v3"],
                                 now_ms=int(stamp))
    assert len(app.deliveries) == 3 and app.deliveries[0]["status"] == 204


def test_drifted_webhooks_carry_the_version_mismatch() -> None:
    healthy, drifted = Scenario.load(DEMO / "healthy.yml"), Scenario.load(DEMO / "drifted.yml")
    assert healthy.webhooks["sender_version"] == healthy.webhooks["receiver_version"] == "account.updated@v2.0"
    assert drifted.webhooks["sender_version"] == "account.updated@v2.1"
    assert drifted.webhooks["receiver_version"] == "account.updated@v2.0"


def scan_sum(app: HubSpotSandbox) -> tuple[int, float, Counter[int]]:
    """A minimal retrying scan through the list endpoint (the connector's job, done by hand here)."""
    c = client(app)
    statuses: Counter[int] = Counter()
    count, total, after = 0, 0.0, ""
    while True:
        params = {"limit": "100", "properties": "amount", **({"after": after} if after else {})}
        r = c.get("/crm/v3/objects/deals", params=params)
        statuses[r.status_code] += 1
        if r.status_code != 200:
            assert r.status_code in (429, 502, 503, 504) and r.json()["status"] == "error"
            continue
        page = r.json()
        count += len(page["results"])
        total += sum(float(d["properties"]["amount"] or 0) for d in page["results"])
        after = page.get("paging", {}).get("next", {}).get("after", "")
        if not after:
            return count, total, statuses


def test_faults_and_429_bursts_never_change_what_a_retrying_scan_reads() -> None:
    scenario = Scenario.from_data({"generate": {"deals": 3000, "seed": 5}})
    clean = scan_sum(HubSpotSandbox(scenario, rate_limit=False))
    assert clean[0] == 3000 and set(clean[2]) == {200}
    for seed in range(3):
        noisy = scan_sum(HubSpotSandbox(scenario, rate_limit=False, fault_rate=0.1, burst_429=7, retry_after_s=0,
                                        seed=seed))
        assert noisy[:2] == clean[:2]
        assert noisy[2][429] > 0 and sum(noisy[2][s] for s in (502, 503, 504)) > 0
