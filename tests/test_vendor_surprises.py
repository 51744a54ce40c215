"""Vendor answers the connectors cannot read are ``UnexpectedAnswer``s that say what came, never a KeyError.

Every connector call a kind makes (owners, search, create, get, update; Salesforce's describe and query too),
against respx answering what real deployments answer now and then: a 3xx to a login page, HTML with a 200,
a list where an object belongs, a page without ``results``, an ``id`` that is an object, ``properties`` that
are not an object. Each must raise ``UnexpectedAnswer`` naming the status, the endpoint, the JSON path or a
redacted, shortened snippet of what was received.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.crm import Filter
from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.connectors.salesforce import SalesforceConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, UnexpectedAnswer
from gtmcheck.kinds.routing import checks as routing_checks
from gtmcheck.kinds.routing import spec_of
from gtmcheck.project import Environment, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import load_checklist
from gtmcheck.synthetic import TAG_PROPERTY

REPO = Path(__file__).resolve().parent.parent

HUBSPOT = "https://api.hubapi.com"
HS_TOKEN = "pat-na1-77777777-2222-3333-4444-SURPRISE"
INSTANCE = "https://acme.my.salesforce.com"
SF_API = f"{INSTANCE}/services/data/v62.0"
SF_TOKEN = "00D5g000004Sfx1!AQ4AQSURPRISETOKEN.x9"
LEAD_ID = "00Q5g00000AbCdEEAZ"
LOGIN_PAGE = ("<!DOCTYPE html><html><head><title>Sign in to Acme SSO</title></head><body>"
              + "<form action='/login'>" + "x" * 500 + "</form></body></html>")

Call = Callable[[Any], object]


def drain(result: object) -> object:
    """Iterate a lazy search or scan so that its first page is read."""
    return list(result) if isinstance(result, Iterator) else result  # type: ignore[arg-type]


# -- HubSpot -----------------------------------------------------------------------------------------------

HS_CALLS: dict[str, tuple[str, str, Call, bool]] = {  # method, path, call, answers a page
    "owners": ("GET", "/crm/v3/owners/", lambda c: c.owners(), True),
    "search": ("POST", "/crm/v3/objects/companies/search",
               lambda c: c.search("companies", [[Filter("domain", "EQ", "globex.example")]], ["domain"]), True),
    "scan": ("GET", "/crm/v3/objects/contacts", lambda c: c.scan("contacts", ["email"]), True),
    "create": ("POST", "/crm/v3/objects/contacts", lambda c: c.create("contacts", {"email": "a@example.com"}), False),
    "get": ("GET", "/crm/v3/objects/contacts/101", lambda c: c.get("contacts", "101", ["owner_id"]), False),
    "update": ("PATCH", "/crm/v3/objects/contacts/101", lambda c: c.update("contacts", "101", {"country": "DE"}),
               False),
}


def hs_bad_bodies(call: str) -> dict[str, tuple[httpx.Response, list[str]]]:
    """Name -> (answer, what the message must say), for a call answering a page or one record."""
    page = HS_CALLS[call][3]
    at = "$.results[0]" if page else "$"

    def shaped(record: dict[str, Any]) -> dict[str, Any]:
        return {"results": [record]} if page else record

    return {
        "302 to a login page": (
            httpx.Response(302, headers={"Location": f"https://sso.acme.example/login?next=/api&t={HS_TOKEN}"}),
            ["HTTP 302", "redirect to 'https://sso.acme.example/login?next=/api&t=***'"]),
        "301 without Location": (httpx.Response(301), ["HTTP 301", "redirect without a Location header"]),
        "HTML login page with 200": (
            httpx.Response(200, text=LOGIN_PAGE, headers={"Content-Type": "text/html; charset=utf-8"}),
            ["HTTP 200", "not JSON (text/html)", "<title>Sign in to Acme SSO</title>"]),
        "plain text with 200": (httpx.Response(200, text="OK"), ["not JSON (text/plain)", "'OK'"]),
        "a list where an object belongs": (httpx.Response(200, json=[{"id": "1"}]), ["a list at $ where an object"]),
        "an id of the wrong type": (httpx.Response(200, json=shaped({"id": {"value": 7}, "properties": {}})),
                                    [f"an object at {at}.id where an id (a string) belongs", '{"value": 7}']),
        **({"properties not an object": (httpx.Response(200, json=shaped({"id": "101", "properties": ["email"]})),
                                         [f"a list at {at}.properties where an object belongs"])}
           if call != "owners" else {}),
        **({"no results": (httpx.Response(200, json={"total": 0}), ["nothing at $.results where a list"]),
            "results not a list": (httpx.Response(200, json={"results": {"id": "1"}}),
                                   ["an object at $.results where a list belongs"])} if page else {}),
    }


HS_CASES = [(call, shape) for call in HS_CALLS for shape in hs_bad_bodies(call)]


@pytest.fixture
def hubspot() -> Iterator[HubSpotConnector]:
    with HubSpotConnector(HS_TOKEN, retry=RetryPolicy(jitter=False), sleep=lambda s: None) as connector:
        yield connector


@pytest.mark.parametrize(("call", "shape"), HS_CASES, ids=[f"{c}-{s}" for c, s in HS_CASES])
def test_hubspot_answers_of_the_wrong_shape_are_unexpected_answers(hubspot: HubSpotConnector, call: str,
                                                                     shape: str) -> None:
    method, path, invoke, _page = HS_CALLS[call]
    response, said = hs_bad_bodies(call)[shape]
    with respx.mock(base_url=HUBSPOT, assert_all_called=True) as router:
        route = router.route(method=method, path=path).mock(return_value=response)
        with pytest.raises(UnexpectedAnswer) as info:
            drain(invoke(hubspot))
    message = str(info.value)
    assert f"{method} {HUBSPOT}{path}" in message  # the endpoint
    for text in said:
        assert text in message
    assert HS_TOKEN not in message
    assert len(message) < 600  # a snippet, not the page
    assert route.call_count == 1  # a redirect or a bad shape is not retried


def test_the_json_path_is_kept_on_the_error(hubspot: HubSpotConnector) -> None:
    with respx.mock(base_url=HUBSPOT) as router:
        router.get("/crm/v3/owners/").respond(200, json={"results": [{"id": "1", "email": "a@acme.example"},
                                                                     {"id": None}]})
        with pytest.raises(UnexpectedAnswer) as info:
            hubspot.owners()
    assert info.value.path == "$.results[1].id"
    assert info.value.status == 200
    assert "null at $.results[1].id" in str(info.value)


# -- Salesforce --------------------------------------------------------------------------------------------

SF_CALLS: dict[str, tuple[str, str, Call]] = {
    "owners": ("GET", "/services/data/v62.0/query", lambda c: c.owners()),
    "search": ("GET", "/services/data/v62.0/query",
               lambda c: c.search("leads", [], ["Email"])),
    "create": ("POST", "/services/data/v62.0/sobjects/Lead/",
               lambda c: c.create("leads", {"Email": "a@example.com", "LastName": "x", "Company": "y"})),
    "get": ("GET", f"/services/data/v62.0/sobjects/Lead/{LEAD_ID}", lambda c: c.get("leads", LEAD_ID)),
    "describe": ("GET", "/services/data/v62.0/sobjects/Lead/describe/", lambda c: c.properties("leads")),
}


def sf_bad_bodies(call: str) -> dict[str, tuple[httpx.Response, list[str]]]:
    rows = call in ("owners", "search")
    key = "records" if rows else "fields" if call == "describe" else ""
    out = {
        "302 to the login page": (
            httpx.Response(302, headers={"Location": "https://login.salesforce.com/?ec=302&startURL=%2Fservices"}),
            ["HTTP 302", "redirect to 'https://login.salesforce.com/?ec=302"]),
        "HTML login page with 200": (
            httpx.Response(200, text=LOGIN_PAGE, headers={"Content-Type": "text/html"}),
            ["HTTP 200", "not JSON (text/html)", "Sign in to Acme SSO"]),
        "a list where an object belongs": (httpx.Response(200, json=[]), ["a list at $ where an object belongs"]),
    }
    if key:
        out[f"no {key}"] = (httpx.Response(200, json={"done": True, "totalSize": 0}),
                            [f"nothing at $.{key} where a list belongs"])
    if rows:
        out["an Id of the wrong type"] = (httpx.Response(200, json={"done": True, "records": [{"Id": ["x"]}]}),
                                          ["a list at $.records[0].Id where an id (a string) belongs"])
        out["done not a boolean"] = (httpx.Response(200, json={"done": "no", "records": []}),
                                     ["a string at $.done where true or false belongs"])
    if call in ("create", "get"):
        out["an id of the wrong type"] = (httpx.Response(200, json={"id": {"x": 1}, "Id": {"x": 1}}),
                                          ["an object at $.", "where an id (a string) belongs"])
    return out


SF_CASES = [(call, shape) for call in SF_CALLS for shape in sf_bad_bodies(call)]


@pytest.fixture
def salesforce() -> Iterator[SalesforceConnector]:
    conn = SalesforceConnector(SF_TOKEN, instance_url=INSTANCE, retry=RetryPolicy(jitter=False),
                               sleep=lambda s: None)
    yield conn
    conn.close()


@pytest.mark.parametrize(("call", "shape"), SF_CASES, ids=[f"{c}-{s}" for c, s in SF_CASES])
def test_salesforce_answers_of_the_wrong_shape_are_unexpected_answers(salesforce: SalesforceConnector, call: str,
                                                                       shape: str) -> None:
    method, path, invoke = SF_CALLS[call]
    response, said = sf_bad_bodies(call)[shape]
    with respx.mock(base_url=INSTANCE, assert_all_called=True) as router:
        router.route(method=method, path=path).mock(return_value=response)
        with pytest.raises(UnexpectedAnswer) as info:
            drain(invoke(salesforce))
    message = str(info.value)
    assert f"{method} {INSTANCE}{path}" in message
    for text in said:
        assert text in message
    assert SF_TOKEN not in message


def test_a_describe_answer_of_the_wrong_shape_stops_a_filtered_search(salesforce: SalesforceConnector) -> None:
    """Search types its filter values from describe: a describe without fields is an error, not 'no fields'."""
    with respx.mock(base_url=INSTANCE) as router:
        router.get("/services/data/v62.0/sobjects/Lead/describe/").respond(200, json={"name": "Lead"})
        with pytest.raises(UnexpectedAnswer, match=r"nothing at \$\.fields"):
            list(salesforce.search("leads", [[Filter("Country", "EQ", "DE")]]))



def test_a_batch_delete_answer_of_the_wrong_shape_is_not_taken_for_success(salesforce: SalesforceConnector) -> None:
    """Cleanup deletes through composite/sobjects: an object instead of the list of results is not 'all deleted'."""
    with respx.mock(base_url=INSTANCE) as router:
        router.delete("/services/data/v62.0/composite/sobjects").respond(200, json={"hasErrors": False})
        with pytest.raises(UnexpectedAnswer, match=r"an object at \$ where a list of results belongs"):
            salesforce.archive_batch("leads", [LEAD_ID])

# -- a lead the CRM refuses ------------------------------------------------------------------------------


class RefusingCreates(httpx.BaseTransport):
    """The sandbox, except that every contact create after the first ``allowed`` answers HubSpot's 400."""

    def __init__(self, inner: httpx.BaseTransport, allowed: int) -> None:
        self.inner = inner
        self.allowed = allowed
        self.creates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/crm/v3/objects/contacts":
            self.creates += 1
            if self.creates > self.allowed:
                return httpx.Response(400, json={
                    "status": "error", "category": "VALIDATION_ERROR", "correlationId": "aaaa-bbbb",
                    "message": 'Property values were not valid: Property "employees" does not exist',
                    "errors": [{"message": 'Property "employees" does not exist', "code": "PROPERTY_DOESNT_EXIST"}],
                })
        return self.inner.handle_request(request)


def test_a_lead_the_crm_refuses_is_a_check_error_naming_the_lead_and_the_sent_one_is_cleaned_up() -> None:
    clock = FakeClock()
    app = HubSpotSandbox(Scenario.load(REPO / "gtmcheck" / "demo" / "healthy.yml"), clock=clock, sleep=clock.sleep)
    transport = RefusingCreates(httpx.WSGITransport(app=app), allowed=1)
    crm = HubSpotConnector("pat-test", transport=transport, limiters=hubspot_limits(clock=clock, sleep=clock.sleep),
                           sleep=clock.sleep)
    project = load_project(REPO)
    env = Environment("sandbox", REPO, {"type": "sandbox", "scenario": "gtmcheck/demo/healthy.yml"}, writes=True)
    ctx = RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm, search_lag_s=0.0)
    spec = spec_of(load_checklist(REPO / "checks" / "routing.gtm.yml"))
    apac = next(i for i, rule in enumerate(spec.rules) if rule.id == "apac")
    with pytest.raises(CheckError) as info:
        routing_checks.check_branch(ctx, spec, apac)
    message = info.value.message
    assert re.match(r"the CRM did not take the lead apac-\d+ \(\{country: (JP|AU|SG)\}\): "
                    rf"POST {HUBSPOT}/crm/v3/objects/contacts: hubspot: ", message), message
    assert 'Property "employees" does not exist' in message
    assert "HTTP 400" in message and "PROPERTY_DOESNT_EXIST" in message
    assert transport.creates == 2  # the third lead was never sent

    cleanup = ctx.finish()
    assert cleanup is not None and cleanup.clean and cleanup.archived == 1, cleanup
    tagged = [r for r in crm.scan("contacts", [TAG_PROPERTY]) if r.properties.get(TAG_PROPERTY)]
    assert tagged == []
    crm.close()


# -- as a user sees it: `gtmcheck run` against a CRM that answers something else ---------------------------


class OneAnswer(BaseHTTPRequestHandler):
    """Answers every request with the server's ``answer``: (status, headers, body)."""

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _reply

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


RUN_ANSWERS = {
    "302 to a login page": ((302, {"Location": "https://sso.acme.example/login?next=%2Fcrm"}, b""),
                            ("redirect to 'https://sso.acme.example/login?next=%2Fcrm'",)),
    "HTML login page": ((200, {"Content-Type": "text/html"}, LOGIN_PAGE.encode()),
                        ("not JSON (text/html): ", "<title>Sign in to Acme SSO</title>")),
    "a JSON list": ((200, {"Content-Type": "application/json"}, b'[{"id": 1}]'),
                    ("the answer has a list at $ where an object belongs", '[{"id": 1}]')),
}


@pytest.mark.parametrize("answer", list(RUN_ANSWERS))
def test_a_run_against_a_crm_answering_something_else_errors_each_item_saying_what_came(
        tmp_path: Path, answer: str) -> None:
    served, said = RUN_ANSWERS[answer]
    server = ThreadingHTTPServer(("127.0.0.1", 0), OneAnswer)
    server.answer = served  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "checks").mkdir()
        (tmp_path / "checks" / "routing.gtm.yml").write_text((REPO / "checks" / "routing.gtm.yml").read_text())
        (tmp_path / "gtmcheck.yml").write_text(
            "version: 1\nenvironments:\n  odd:\n"
            f"    crm: {{type: hubspot, base_url: \"http://127.0.0.1:{server.server_port}\", "
            "token: \"${ODD_TOKEN}\", search_lag: 1s}\n"
            "    writes: true\ndefault_environment: odd\n")
        result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", "out"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, env={**os.environ, "ODD_TOKEN": HS_TOKEN})
    finally:
        server.shutdown()
        server.server_close()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "internal error" not in output and "a bug in gtmcheck" not in output and "Traceback" not in output
    assert HS_TOKEN not in output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    items = [i for c in report["checklists"] for i in c["items"]]
    assert len(items) >= 10
    assert {i["status"] for i in items} == {"error"}
    status = f"HTTP {served[0]}"
    for item in items:
        assert status in item["message"] and all(text in item["message"] for text in said), item
    assert output.count("could not be verified: ") == len(items)
