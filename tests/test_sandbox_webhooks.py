"""The sandbox closes the webhooks loop: it sends signed deliveries, its receiver judges them, the log tells.

Every scenario here is a copy of a demo scenario in ``tmp_path``, so each test has a receiver (and a replay
memory) of its own; ``demo_copy`` points it back at the demo's CSVs and payload schemas.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_sandbox_serve import free_port, stop

from gtmcheck.connectors.deliveries import Delivery, read_deliveries
from gtmcheck.errors import ConfigError, SpecError
from gtmcheck.project import Environment
from gtmcheck.sandbox import HubSpotSandbox, Receiver, Scenario, receiver_transport, sandbox_app
from gtmcheck.sandbox import signatures as sig
from gtmcheck.sandbox.receiver import receiver_for_path

DEMO = Path(__file__).resolve().parent.parent / "gtmcheck" / "demo"
AUTH = {"Authorization": "Bearer test-token"}
SECRET = "demo-webhook-secret"
HOOK_URL = "http://receiver.test/webhooks/hubspot"
ACCOUNT_V20 = {"event": "account.updated", "version": "2.0", "event_id": "e-1",
               "occurred_at": "2026-11-26T10:00:00.000Z", "account_id": "c001",
               "properties": {"name": "Globex", "domain": "globex.example", "arr": 48000,
                              "owner_email": "ben@acme.example", "country": "DE"}}


def demo_copy(tmp_path: Path, name: str = "healthy", **webhooks: Any) -> Path:
    """The demo scenario ``name`` as a file of its own (its own receiver), ``webhooks`` keys changed."""
    data = yaml.safe_load((DEMO / f"{name}.yml").read_text())
    data["records"] = {t: str(DEMO / rel) if isinstance(rel, str) else [str(DEMO / r) for r in rel]
                       for t, rel in data["records"].items()}  # a CSV, or several (drifted's contacts)
    data["inbound"] = {"file": str(DEMO / data["inbound"]["file"])}  # the recent leads, as for records
    data["webhooks"]["schemas"] = str(DEMO / "schemas")
    data["webhooks"].update(webhooks)
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def crm(app: HubSpotSandbox) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hubapi.com", headers=AUTH)


def log(app: HubSpotSandbox, limit: int = 1000) -> list[dict[str, Any]]:
    r = crm(app).get("/gtmcheck/sandbox/v1/webhooks/deliveries", params={"limit": limit})
    assert r.status_code == 200
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def kind(entry: dict[str, Any]) -> str:
    first = json.loads(entry["body"])[0]
    return str(first.get("subscriptionType") or first.get("event"))


def signed(body: bytes, *, url: str = HOOK_URL, secret: str = SECRET, now_ms: int | None = None,
           version: str = "v3") -> dict[str, str]:
    return {"Content-Type": "application/json",
            **sig.sign_headers(secret, "POST", url, body, version=version, now_ms=now_ms)}


def body_of(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()


# --- the demo story -------------------------------------------------------------------------------------------


def test_healthy_every_delivery_is_accepted_by_the_receiver(tmp_path: Path) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path, "healthy")))
    entries = log(app)
    kinds = {kind(e) for e in entries}
    assert kinds == {"contact.creation", "company.creation", "deal.creation", "account.updated"}
    assert [e["status"] for e in entries] == [204] * len(entries)
    assert all(e["receiver"] == {"status": 204, "accepted": True, "reason": ""} for e in entries)
    accounts = [json.loads(e["body"])[0] for e in entries if kind(e) == "account.updated"]
    assert len(accounts) == 12  # one delivery per company, each judged on its own
    globex = next(a for a in accounts if a["account_id"] == "c001")
    assert globex["version"] == "2.0" and globex["properties"]["arr"] == 48000  # its closed-won deal
    assert globex["properties"]["owner_email"] == "ben@acme.example"
    contacts = [e for e in entries if kind(e) == "contact.creation"]
    assert sum(len(json.loads(e["body"])) for e in contacts) == 48  # every contact of the CSV, announced


def test_drifted_account_updated_is_rejected_at_properties_arr_and_the_rest_accepted(tmp_path: Path) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path, "drifted")))
    entries = log(app)
    accounts = [e for e in entries if kind(e) == "account.updated"]
    others = [e for e in entries if kind(e) != "account.updated"]
    assert len(accounts) == 12 and others
    for entry in accounts:
        payload = json.loads(entry["body"])[0]
        assert payload["version"] == "2.1" and "annual_recurring_revenue" in payload["properties"]
        assert entry["status"] == 422 and entry["receiver"]["accepted"] is False
        assert "/properties/arr" in entry["receiver"]["reason"] and "required" in entry["receiver"]["reason"]
    assert {e["status"] for e in others} == {204}


def test_changes_send_property_changes_and_a_fresh_account_updated(tmp_path: Path) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path, "healthy")))
    c = crm(app)
    before = len(log(app))
    globex = next(r for r in c.get("/crm/v3/objects/companies", params={"limit": 100, "properties": "source_id"})
                  .json()["results"] if r["properties"]["source_id"] == "c001")
    c.patch(f"/crm/v3/objects/companies/{globex['id']}", json={"properties": {"name": "Globex AG"}})
    c.post("/crm/v3/objects/deals", json={"properties": {"dealname": "Globex upsell", "amount": "12000",
                                                         "dealstage": "closedwon", "company_domain": "globex.example"}})
    c.post("/crm/v3/objects/contacts", json={"properties": {"email": "new.lead@hooks.example", "country": "JP"}})
    new = log(app)[before:]
    assert [kind(e) for e in new] == ["company.propertyChange", "account.updated", "deal.creation", "account.updated",
                                      "contact.creation"]
    change = json.loads(new[0]["body"])[0]
    assert change["propertyName"] == "name" and change["propertyValue"] == "Globex AG"
    renamed, upsold = json.loads(new[1]["body"])[0], json.loads(new[3]["body"])[0]
    assert renamed["properties"]["name"] == "Globex AG" and renamed["properties"]["arr"] == 48000
    assert upsold["properties"]["arr"] == 60000
    assert {e["status"] for e in new} == {204}


@pytest.mark.parametrize(("sender", "expected"), [("account.updated@v1.0", "1.0"), ("2.1", "2.1")])
def test_sender_version_takes_either_spelling(tmp_path: Path, sender: str, expected: str) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path, sender_version=sender, receiver_version=expected)))
    accounts = [json.loads(e["body"])[0] for e in log(app) if kind(e) == "account.updated"]
    assert {a["version"] for a in accounts} == {expected}
    assert all(e["status"] == 204 for e in log(app))  # each version's shape matches its own schema


# --- the receiver -----------------------------------------------------------------------------------------------


def test_receiver_accepts_a_signed_valid_delivery_and_refuses_forged_unsigned_and_replayed(tmp_path: Path) -> None:
    client = httpx.Client(transport=receiver_transport(demo_copy(tmp_path)))
    body = body_of(ACCOUNT_V20)
    headers = signed(body)
    assert client.post(HOOK_URL, content=body, headers=headers).status_code == 204
    replay = client.post(HOOK_URL, content=body, headers=headers)
    assert replay.status_code == 409 and "replayed" in replay.json()["error"]
    forged = signed(body, secret="not-the-secret")
    r = client.post(HOOK_URL, content=body, headers=forged)
    assert r.status_code == 401 and "does not match" in r.json()["error"]
    r = client.post(HOOK_URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and "missing signature" in r.json()["error"]
    tampered = body_of({**ACCOUNT_V20, "account_id": "c002"})
    assert client.post(HOOK_URL, content=tampered, headers=headers).status_code == 401
    elsewhere = client.post("http://receiver.test/other/path", content=body, headers=headers)
    assert elsewhere.status_code == 401  # v3 signs the URI: the same signature is no good on another path


def test_a_timestamp_older_than_300_s_is_refused_by_the_clock(tmp_path: Path) -> None:
    now = [1_795_000_000_000]
    receiver = Receiver(Scenario.load(demo_copy(tmp_path)), now_ms=lambda: now[0])
    client = httpx.Client(transport=httpx.WSGITransport(app=receiver))
    fresh, stale = body_of(ACCOUNT_V20), body_of({**ACCOUNT_V20, "event_id": "e-2"})
    fresh_headers, stale_headers = signed(fresh, now_ms=now[0]), signed(stale, now_ms=now[0])
    now[0] += 299_000
    assert client.post(HOOK_URL, content=fresh, headers=fresh_headers).status_code == 204
    now[0] += 2_000  # 301 s after signing
    r = client.post(HOOK_URL, content=stale, headers=stale_headers)
    assert r.status_code == 401 and "stale timestamp" in r.json()["error"] and "301 s" in r.json()["error"]


def test_schema_invalid_is_422_with_pointer_and_keyword(tmp_path: Path) -> None:
    client = httpx.Client(transport=receiver_transport(demo_copy(tmp_path, "drifted")))
    drifted = {**ACCOUNT_V20, "version": "2.1",
               "properties": {"name": "Globex", "domain": "globex.example", "annual_recurring_revenue": 48000}}
    body = body_of(drifted)
    r = client.post(HOOK_URL, content=body, headers=signed(body))
    assert r.status_code == 422
    assert r.json() | {"error": ""} == {"error": "", "pointer": "/properties/arr", "keyword": "required",
                                        "event": "account.updated", "version": "2.0", "index": 0}
    wrong_type = body_of({**ACCOUNT_V20, "properties": {**ACCOUNT_V20["properties"], "arr": "48000"}})
    r = client.post(HOOK_URL, content=wrong_type, headers=signed(wrong_type))
    assert (r.status_code, r.json()["pointer"], r.json()["keyword"]) == (422, "/properties/arr", "type")
    hubspot = body_of({"subscriptionType": "contact.creation", "eventId": 1, "subscriptionId": 1, "portalId": 4242,
                       "appId": 1, "occurredAt": 1, "attemptNumber": 0, "objectId": 1001, "changeSource": "API"},
                      {"subscriptionType": "contact.creation", "eventId": 2})
    r = client.post(HOOK_URL, content=hubspot, headers=signed(hubspot))
    assert (r.status_code, r.json()["index"], r.json()["pointer"]) == (422, 1, "/subscriptionId")
    unknown = body_of({"event": "invoice.paid", "version": "1.0"})
    r = client.post(HOOK_URL, content=unknown, headers=signed(unknown))
    assert (r.status_code, r.json()["keyword"]) == (422, "event")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_v1_and_v2_scenarios_are_checked_with_their_own_scheme(tmp_path: Path, version: str) -> None:
    client = httpx.Client(transport=receiver_transport(demo_copy(tmp_path, signature_version=version)))
    body = body_of(ACCOUNT_V20)
    assert client.post(HOOK_URL, content=body, headers=signed(body, version=version)).status_code == 204
    r = client.post(HOOK_URL, content=body, headers=signed(body, version=version, secret="forged"))
    assert r.status_code == 401
    assert client.post(HOOK_URL, content=body, headers=signed(body, version="v3")).status_code == 401


def test_the_in_process_sandbox_and_receiver_transport_share_one_replay_memory(tmp_path: Path) -> None:
    path = demo_copy(tmp_path)
    quiet = Scenario.load(path)
    quiet.webhooks = {}  # changed in memory: gets a receiver of its own, not the file's
    HubSpotSandbox(quiet)
    app = sandbox_app(path)
    sent = app.deliveries[-1]
    client = httpx.Client(transport=receiver_transport(path))
    replay = client.post(sent["url"], content=sent["body"], headers=sent["headers"])
    assert replay.status_code == 409
    assert receiver_for_path(path) is receiver_for_path(tmp_path / "." / path.name)


def test_hostile_bodies_get_an_answer_not_a_crash(tmp_path: Path) -> None:
    client = httpx.Client(transport=receiver_transport(demo_copy(tmp_path)))
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post(HOOK_URL, content=deep, headers=signed(deep))
    assert r.status_code == 400 and r.json() == {"error": "the body is not JSON"}
    huge = client.post(HOOK_URL, content=b"x", headers={"Content-Length": str(64 * 1024 * 1024)})
    assert huge.status_code == 413
    assert client.get(HOOK_URL).status_code == 405


def test_receiver_memory_is_bounded(tmp_path: Path) -> None:
    receiver = Receiver(Scenario.load(demo_copy(tmp_path)), replay_memory=3, log_kept=2)
    for i in range(6):
        body = body_of({**ACCOUNT_V20, "event_id": f"e-{i}"})
        assert receiver.receive("POST", HOOK_URL, signed(body), body).status == 204
    assert len(receiver._seen) == 3 and len(receiver.log) == 2


def test_in_process_deliveries_arrive_at_the_sandboxs_now(tmp_path: Path) -> None:
    three_hours_ago = 1_795_000_000_000 - 3 * 3600 * 1000
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path)), wall_ms=three_hours_ago)
    assert {e["status"] for e in log(app)} == {204}  # not "stale": the sandbox's clock is the receiver's


# --- the delivery log -------------------------------------------------------------------------------------------


def test_delivery_log_endpoint_shape_auth_limit_and_no_secret(tmp_path: Path) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path, "drifted")), rate_limit={"per_10s": 2})
    c = crm(app)
    r = c.get("/gtmcheck/sandbox/v1/webhooks/deliveries", params={"limit": 2})
    page = r.json()
    assert r.status_code == 200 and page["total"] == 15 and [e["id"] for e in page["results"]] == ["14", "15"]
    entry = page["results"][-1]
    assert set(entry) == {"id", "sent_at", "url", "body", "status", "receiver"}
    assert entry["sent_at"].endswith("Z") and isinstance(entry["body"], str)
    anonymous = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hubapi.com")
    assert anonymous.get("/gtmcheck/sandbox/v1/webhooks/deliveries").status_code == 401
    assert c.get("/gtmcheck/sandbox/v1/webhooks/deliveries", params={"limit": 1001}).status_code == 400
    everything = c.get("/gtmcheck/sandbox/v1/webhooks/deliveries", params={"limit": 1000}).text
    signatures_sent = [d["headers"]["X-HubSpot-Signature-v3"] for d in app.deliveries]
    assert SECRET not in everything and not any(s in everything for s in signatures_sent)
    # reading the log is not an API call: the rate limit (2 per 10 s here) still lets two through
    assert c.get("/crm/v3/owners/").status_code == 200 and c.get("/crm/v3/owners/").status_code == 200
    assert c.get("/crm/v3/owners/").status_code == 429


def test_deliveries_do_not_count_against_the_rate_limit(tmp_path: Path) -> None:
    app = HubSpotSandbox(Scenario.load(demo_copy(tmp_path)), rate_limit={"per_10s": 3})
    c = crm(app)
    for i in range(3):
        assert c.post("/crm/v3/objects/companies", json={"properties": {"name": f"N{i}", "domain": f"n{i}.example"}}
                      ).status_code == 201  # each sends two deliveries (company.creation, account.updated)
    assert c.get("/crm/v3/owners/").status_code == 429
    assert len(app.deliveries) == 3 + 12 + 3 * 2  # at start: three creation batches and 12 accounts


# --- read_deliveries --------------------------------------------------------------------------------------------


def test_read_deliveries_in_process(tmp_path: Path) -> None:
    path = demo_copy(tmp_path, "drifted")
    env = Environment(name="sandbox-drifted", root=tmp_path, crm={"type": "sandbox", "scenario": str(path)})
    deliveries = read_deliveries(env, limit=13)
    assert len(deliveries) == 13 and all(isinstance(d, Delivery) for d in deliveries)
    assert [d.id for d in deliveries] == [str(i) for i in range(3, 16)]
    account = deliveries[-1]
    assert json.loads(account.body)[0]["event"] == "account.updated"
    assert (account.status, account.receiver_status) == (422, 422) and "/properties/arr" in account.receiver_reason
    contacts = deliveries[0]
    assert json.loads(contacts.body)[0]["subscriptionType"] == "deal.creation" and contacts.receiver_status == 204


@pytest.mark.parametrize("crm_block", [{"type": "hubspot", "token": "t"},
                                       {"type": "hubspot", "token": "t", "base_url": "https://api.hubapi.com"},
                                       {"type": "salesforce", "token": "t", "instance_url": "https://x.example"}])
def test_read_deliveries_outside_the_sandbox_is_a_config_error(tmp_path: Path, crm_block: dict[str, Any]) -> None:
    env = Environment(name="production", root=tmp_path, crm=crm_block)
    with pytest.raises(ConfigError, match="delivery log exists only in the gtmcheck sandbox.*Fix: .*files:"):
        read_deliveries(env)


def test_read_deliveries_from_a_base_url_that_is_not_a_sandbox(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": "error", "message": "not found"})

    env = Environment(name="prod", root=tmp_path,
                      crm={"type": "hubspot", "token": "t", "base_url": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match="answers 404 .* not a gtmcheck sandbox"):
        read_deliveries(env, transport=httpx.MockTransport(answer))


# --- scenario keys ----------------------------------------------------------------------------------------------


def test_a_missing_schemas_folder_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = demo_copy(tmp_path, schemas="no/such/folder")
    with pytest.raises(SpecError) as caught:
        Scenario.load(path)
    assert "no such folder" in str(caught.value) and f"{path}:" in str(caught.value)


def test_a_receiver_version_without_a_schema_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = demo_copy(tmp_path, receiver_version="account.updated@v3.0")
    with pytest.raises(SpecError) as caught:
        Scenario.load(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "receiver_version" in text)
    assert str(caught.value).startswith(f"{path}:{line}:") and "account.updated/3.0.json" in str(caught.value)


def test_a_schema_file_that_is_not_json_is_an_error_at_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "schemas" / "account.updated"
    folder.mkdir(parents=True)
    (folder / "2.0.json").write_text('{"type": "object",\n  "required": [}\n')
    path = demo_copy(tmp_path, schemas=str(tmp_path / "schemas"))
    with pytest.raises(SpecError) as caught:
        HubSpotSandbox(Scenario.load(path))  # the in-process sandbox builds its receiver at once
    assert f"{folder / '2.0.json'}:2:" in str(caught.value) and "not JSON" in str(caught.value)
    served = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--port", "0",
                             "--scenario", str(path)], capture_output=True, text=True, timeout=60)
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert f"{folder / '2.0.json'}:2:" in served.stderr and "Fix: save the schema as JSON" in served.stderr


# --- gtmcheck sandbox serve -------------------------------------------------------------------------------------


def test_served_sandbox_delivers_to_its_own_receiver_and_serves_the_log(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--port", str(port),
                             "--scenario", str(demo_copy(tmp_path, "drifted")), "--no-rate-limit"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    env = Environment(name="served", root=tmp_path, crm={"type": "hubspot", "token": "any", "base_url": base})
    try:
        deadline = time.monotonic() + 20
        deliveries: list[Delivery] = []
        while len(deliveries) < 15:  # the start-up deliveries go out once the server listens
            try:
                deliveries = read_deliveries(env)
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(deliveries)} deliveries logged")
            time.sleep(0.1)
        assert all(d.url == f"{base}/webhooks/hubspot" for d in deliveries)  # over HTTP, to the served receiver
        accounts = [d for d in deliveries if json.loads(d.body)[0].get("event") == "account.updated"]
        assert len(accounts) == 12
        assert all(d.status == d.receiver_status == 422 and "/properties/arr" in d.receiver_reason for d in accounts)
        assert {d.status for d in deliveries if d not in accounts} == {204}
        client = httpx.Client(base_url=base, headers=AUTH, timeout=5)
        contact = client.post("/crm/v3/objects/contacts", json={"properties": {"email": "served@hooks.example"}})
        assert contact.status_code == 201
        latest = read_deliveries(env, limit=1)[0]
        assert json.loads(latest.body)[0]["subscriptionType"] == "contact.creation" and latest.status == 204
        url = f"{base}/webhooks/hubspot"
        body = body_of(ACCOUNT_V20)
        headers = signed(body, url=url)
        assert client.post(url, content=body, headers=headers).status_code == 204
        assert client.post(url, content=body, headers=headers).status_code == 409
        forged = client.post(url, content=body, headers=signed(body, url=url, secret="forged"))
        assert forged.status_code == 401 and forged.json()["error"]
    finally:
        stop(proc)
    assert proc.returncode == 0
