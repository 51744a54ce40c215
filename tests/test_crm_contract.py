"""One connector suite, two backends: the in-process sandbox, and respx replaying HubSpot payloads.

Each scenario runs the real ``HubSpotConnector``. Against the sandbox, every exchange is recorded; against
respx, the recorded payloads (``fixtures/hubspot/contract.json``) are replayed in order and every request
the connector sends must match the recorded one (method, path, query, JSON body). A connector change that
alters what goes over the wire fails the replay; refresh the recording with
``GTMCHECK_RECORD=1 pytest tests/test_crm_contract.py -k sandbox`` after checking the new requests are right.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from gtmcheck.connectors.crm import Filter
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.sandbox import HubSpotSandbox, Scenario

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "fixtures" / "hubspot" / "contract.json"
BASE = "https://api.hubapi.com"
Scenario_ = Callable[[HubSpotConnector], None]


def lifecycle(crm: HubSpotConnector) -> None:
    created = crm.create("contacts", {"email": "contract.test@gtmcheck.example.com", "country": "DE"})
    assert created.id and created.properties["email"] == "contract.test@gtmcheck.example.com"
    got = crm.get("contacts", created.id, ["email", "country"])
    assert got.properties["country"] == "DE"
    assert crm.update("contacts", created.id, {"country": "FR"}).properties["country"] == "FR"
    crm.archive("contacts", created.id)


def owners(crm: HubSpotConnector) -> None:
    everyone = crm.owners()
    assert {o.type for o in everyone} == {"PERSON", "QUEUE"}
    assert any(not o.active for o in everyone)
    assert all(o.email for o in everyone)


def properties(crm: HubSpotConnector) -> None:
    names = {p.name for p in crm.properties("deals")}
    assert {"amount", "dealstage", "closedate"} <= names


def scan_closed_won(crm: HubSpotConnector) -> None:
    deals = list(crm.scan("deals", ["amount", "dealstage"]))
    assert len(deals) == 23
    won = sum(Decimal(d.properties["amount"] or 0) for d in deals if d.properties["dealstage"] == "closedwon")
    assert won == 428000


def search_groups(crm: HubSpotConnector) -> None:
    groups = [[Filter("dealstage", "EQ", "closedwon"), Filter("amount", "GTE", "40000")],
              [Filter("dealstage", "EQ", "closedlost")]]
    found = list(crm.search("deals", groups, ["amount", "dealstage"]))
    assert found
    for deal in found:
        stage, amount = deal.properties["dealstage"], Decimal(deal.properties["amount"] or 0)
        assert (stage == "closedwon" and amount >= 40000) or stage == "closedlost"


def batch_archive(crm: HubSpotConnector) -> None:
    ids = [crm.create("deals", {"dealname": f"contract {i}", "amount": "1"}).id for i in range(3)]
    crm.archive_batch("deals", ids)


SCENARIOS: dict[str, Scenario_] = {f.__name__: f for f in
                                   (lifecycle, owners, properties, scan_closed_won, search_groups, batch_archive)}


class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and keeps each exchange."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append({**describe(request), "status": response.status_code,
                               "response": response.json() if response.content else None})
        return response


def describe(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content) if request.content else None
    return {"method": request.method, "path": request.url.path,
            "query": sorted(request.url.params.multi_items()), "json": body}


def sandbox_connector(transport: httpx.BaseTransport) -> HubSpotConnector:
    return HubSpotConnector("pat-contract", base_url=BASE, transport=transport)


@pytest.fixture(scope="module")
def recordings() -> Iterator[dict[str, list[dict[str, Any]]]]:
    recorded: dict[str, list[dict[str, Any]]] = {}
    yield recorded
    if os.environ.get("GTMCHECK_RECORD") and len(recorded) == len(SCENARIOS):
        RECORDING.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", SCENARIOS)
def test_against_the_sandbox(name: str, recordings: dict[str, list[dict[str, Any]]]) -> None:
    app = HubSpotSandbox(Scenario.load(ROOT / "gtmcheck" / "demo" / "healthy.yml"), seed=1,
                         search_lag_ms=0, rate_limit=False)
    recorder = Recorder(httpx.WSGITransport(app=app))
    crm = sandbox_connector(recorder)
    try:
        SCENARIOS[name](crm)
    finally:
        crm.close()
    recordings[name] = recorder.exchanges


@pytest.mark.parametrize("name", SCENARIOS)
def test_against_respx_replaying_hubspot(name: str) -> None:
    exchanges = json.loads(RECORDING.read_text())[name]
    queue = list(exchanges)

    def replay(request: httpx.Request) -> httpx.Response:
        assert queue, f"the connector sent an unrecorded request: {describe(request)}"
        expected = queue.pop(0)
        sent = describe(request)
        wanted = {k: expected[k] for k in sent}
        wanted["query"] = [tuple(q) for q in wanted["query"]]
        assert sent == wanted, "the connector's request differs from the recorded HubSpot exchange"
        assert request.headers["authorization"] == "Bearer pat-contract"
        if expected["response"] is None:
            return httpx.Response(expected["status"])
        return httpx.Response(expected["status"], json=expected["response"])

    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.route().mock(side_effect=replay)
        crm = HubSpotConnector("pat-contract", base_url=BASE)
        try:
            SCENARIOS[name](crm)
        finally:
            crm.close()
    assert not queue, f"{len(queue)} recorded request(s) were never sent"
