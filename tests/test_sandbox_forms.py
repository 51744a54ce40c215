"""The sandbox's Forms API (HubSpot's shapes), the connector's ``submit_form`` and the sync into the warehouse."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from fakes import FakeClock

from gtmcheck.connectors import crm_for
from gtmcheck.connectors.demo_warehouse import sandbox_warehouse
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.errors import ApiError, NotFound
from gtmcheck.project import Environment
from gtmcheck.sandbox import HubSpotSandbox, Scenario

GUID = "6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"
PAGE = "https://www.acme.example/spring?utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_launch"
FORM: dict[str, Any] = {"guid": GUID, "fields": [
    {"name": "email", "required": True}, {"name": "firstname"},
    {"name": "utm_source", "hidden": True}, {"name": "utm_medium", "hidden": True},
    {"name": "utm_campaign", "hidden": True}]}


def sandbox(form: dict[str, Any] = FORM, clock: FakeClock | None = None) -> tuple[HubSpotSandbox, HubSpotConnector]:
    app = HubSpotSandbox(Scenario.from_data({"forms": [form]}), **({"clock": clock} if clock else {}))
    return app, HubSpotConnector("t", transport=httpx.WSGITransport(app=app))


def contact(app: HubSpotSandbox, email: str) -> dict[str, str]:
    found = [s.properties for s in app._objects["contacts"].values() if s.properties.get("email") == email]
    assert len(found) == 1
    return found[0]


def test_a_submission_lands_on_a_new_contact_with_the_page_urls_utm_parameters() -> None:
    app, crm = sandbox()
    message = crm.submit_form("4242", GUID, {"email": "ada@example.com", "firstname": "Ada"},
                              {"pageUri": PAGE, "pageName": "Spring"})
    assert message == "Thanks for submitting the form."
    props = contact(app, "ada@example.com")
    assert (props["firstname"], props["utm_source"], props["utm_medium"], props["utm_campaign"]) == (
        "Ada", "google", "cpc", "fy26q1_emea_launch")
    assert props["hs_analytics_source"] == "PAID_SEARCH"  # the original source, from the page URL
    assert props["hs_analytics_source_data_1"] == "google"


def test_a_submission_updates_the_contact_of_its_email_and_keeps_its_original_source() -> None:
    app, crm = sandbox()
    created = crm.create("contacts", {"email": "bob@example.com", "hs_analytics_source": "OFFLINE"})
    crm.submit_form("4242", GUID, {"email": "BOB@example.com"}, {"pageUri": PAGE})
    assert len(app._objects["contacts"]) == 1
    props = crm.get("contacts", created.id, ["utm_campaign", "hs_analytics_source"]).properties
    assert props["utm_campaign"] == "fy26q1_emea_launch" and props["hs_analytics_source"] == "OFFLINE"


def test_a_field_that_stopped_mapping_is_accepted_and_dropped() -> None:
    broken = {**FORM, "fields": [*FORM["fields"][:-1], {"name": "utm_campaign", "hidden": True, "property": None}]}
    app, crm = sandbox(broken)
    crm.submit_form("4242", GUID, {"email": "cy@example.com", "utm_campaign": "typed"}, {"pageUri": PAGE})
    props = contact(app, "cy@example.com")
    assert props["utm_source"] == "google" and "utm_campaign" not in props


def test_submissions_are_processed_after_the_forms_delay() -> None:
    clock = FakeClock()
    app, crm = sandbox({**FORM, "delay_ms": 2000}, clock)
    crm.submit_form("4242", GUID, {"email": "dee@example.com"}, {"pageUri": PAGE})
    assert app._objects["contacts"] == {}
    clock.now += 2.0
    list(crm.scan("contacts"))  # any request applies what is due
    assert contact(app, "dee@example.com")["utm_medium"] == "cpc"


def raw_submit(app: HubSpotSandbox, path: str, body: Any) -> httpx.Response:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hsforms.com") as client:
        return client.post(path, json=body, headers={"Authorization": "Bearer t"})


def test_unknown_forms_and_portals_are_404_and_bad_fields_400_in_hubspots_error_shape() -> None:
    app, _ = sandbox()
    ok = {"fields": [{"name": "email", "value": "e@example.com"}]}
    for path in (f"/submissions/v3/integration/submit/4242/{GUID.replace('6', '7')}",
                 f"/submissions/v3/integration/submit/999/{GUID}"):
        answer = raw_submit(app, path, ok)
        assert answer.status_code == 404 and answer.json()["status"] == "error"
    answer = raw_submit(app, f"/submissions/v3/integration/submit/4242/{GUID}",
                        {"fields": [{"name": "email", "value": "e@example.com"}, {"name": "phone", "value": "1"}]})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["errorType"] == "FIELD_NOT_IN_FORM"
    answer = raw_submit(app, f"/submissions/v3/integration/submit/4242/{GUID}", {"fields": []})
    assert answer.status_code == 400 and answer.json()["errors"][0]["errorType"] == "REQUIRED_FIELD"
    assert app._objects["contacts"] == {}


def test_the_connector_posts_to_hsforms_by_default_and_to_the_configured_forms_host() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"inlineMessage": "Thanks!"})

    transport = httpx.MockTransport(answer)
    assert HubSpotConnector("t", transport=transport).submit_form("42", GUID, {"email": "x@example.com"},
                                                                   {"pageUri": PAGE}) == "Thanks!"
    env = Environment("p", Path("."), crm={"type": "hubspot", "token": "t", "forms_base_url": "https://forms.test"})
    crm = crm_for(env, transport=transport)
    crm.submit_form("42", GUID, {"email": "x@example.com"}, {"pageUri": PAGE})  # type: ignore[attr-defined]
    assert [str(r.url) for r in seen] == [f"https://api.hsforms.com/submissions/v3/integration/submit/42/{GUID}",
                                          f"https://forms.test/submissions/v3/integration/submit/42/{GUID}"]
    body = json.loads(seen[0].content)
    assert body == {"fields": [{"objectTypeId": "0-1", "name": "email", "value": "x@example.com"}],
                    "context": {"pageUri": PAGE}}


def test_a_refused_submission_is_a_connector_error_not_a_traceback() -> None:
    _, crm = sandbox()
    with pytest.raises(NotFound):
        crm.submit_form("4242", "0000-unknown-form", {"email": "x@example.com"}, {})
    with pytest.raises(ApiError, match="not valid"):
        crm.submit_form("4242", GUID, {"nope": "1"}, {})


# --- the sync into the environment's demo warehouse ----------------------------------------------------------


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path) -> Path:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    data = yaml.safe_load((repo / "gtmcheck" / "demo" / "healthy.yml").read_text())
    demo = repo / "gtmcheck" / "demo"
    scenario = {"owners": data["owners"], "records": {"contacts": str(demo / "data" / "contacts.csv")},
                "warehouse": {"data": str(demo / "data")}, "sync": {"lag_ms": 400},
                "forms": [{**f, "delay_ms": 0} for f in data["forms"]]}
    path = tmp_path / "scenario.yml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def rows(scenario: Path, email: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(sandbox_warehouse(scenario)), read_only=True) as con:
        return con.execute("SELECT id, utm_source, utm_campaign FROM contacts WHERE email = ?", [email]).fetchall()


def test_a_contact_reaches_the_warehouse_after_the_sync_lag_and_leaves_when_archived(synced: Path) -> None:
    app = HubSpotSandbox(Scenario.load(synced))
    crm = HubSpotConnector("t", transport=httpx.WSGITransport(app=app))
    before = rows(synced, "grace.1@initech.example")
    crm.submit_form("4242", "6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01", {"email": "eve@example.com"}, {"pageUri": PAGE})
    (record,) = [r for r in crm.scan("contacts", ["email"]) if r.properties["email"] == "eve@example.com"]
    assert rows(synced, "eve@example.com") == []  # not yet: the sync lags
    time.sleep(0.6)
    assert rows(synced, "eve@example.com") == [(record.id, "google", "fy26q1_emea_launch")]
    assert rows(synced, "grace.1@initech.example") == before  # the loaded rows are still there
    crm.archive("contacts", record.id)
    assert rows(synced, "eve@example.com") == []  # synthetic rows never outlive their record
    app.sync.close()


def test_a_changed_loaded_contact_replaces_its_row_and_the_old_version_shows_until_the_lag(synced: Path) -> None:
    app = HubSpotSandbox(Scenario.load(synced))
    crm = HubSpotConnector("t", transport=httpx.WSGITransport(app=app))
    (grace,) = [r for r in crm.scan("contacts", ["email"]) if r.properties["email"] == "grace.1@initech.example"]
    crm.update("contacts", grace.id, {"utm_campaign": "changed"})
    assert rows(synced, "grace.1@initech.example") == [("p001", "google", "fy26q1_emea_launch")]
    time.sleep(0.6)
    assert rows(synced, "grace.1@initech.example") == [("p001", "google", "changed")]
    app.sync.close()
    assert rows(synced, "grace.1@initech.example") == [("p001", "google", "fy26q1_emea_launch")]
