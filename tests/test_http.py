from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.http import (
    ApiClient,
    RateLimiter,
    RetryPolicy,
    hubspot_limits,
    parse_retry_after,
)
from gtmcheck.errors import ApiError, ConfigError, DuplicateRecord, NotFound, RateLimited, TransportError

BASE = "https://api.hubapi.com"
TOKEN = "pat-na1-0f3c9e2a-7b1d-4c55-9e0e-SECRET"



@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def client(clock: FakeClock, *, vendor: str = "hubspot", limiters: dict[str, RateLimiter] | None = None,
           retry: RetryPolicy | None = None) -> ApiClient:
    return ApiClient(BASE, vendor=vendor, token=TOKEN, limiters=limiters,
                     retry=retry or RetryPolicy(jitter=False), sleep=clock.sleep)


def hubspot_error(status: int, message: str, **extra: object) -> httpx.Response:
    body = {"status": "error", "message": message, "correlationId": "c0ffee-1", "category": "VALIDATION_ERROR",
            **extra}
    return httpx.Response(status, json=body)


def rate_limit(policy: str = "TEN_SECONDLY_ROLLING", **headers: str) -> httpx.Response:
    body = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT", "correlationId": "c0ffee-2", "policyName": policy,
            "groupName": "api-calls-10s"}
    return httpx.Response(429, json=body, headers=headers)


# -- rate limiter ---------------------------------------------------------------------------------------


def test_limiter_spaces_calls_to_the_rolling_window(clock: FakeClock) -> None:
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(7):
        limiter.acquire()
        times.append(clock.now - 1000.0)
    assert times == [0, 0, 0, 10, 10, 10, 20]


def test_limiter_lets_calls_through_as_the_window_rolls(clock: FakeClock) -> None:
    limiter = RateLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 0.6
    limiter.acquire()
    limiter.acquire()  # waits until the first call is 1 s old
    assert clock.now == pytest.approx(1001.0)
    limiter.acquire()  # and then until the second one is
    assert clock.now == pytest.approx(1001.6)


def test_hold_makes_every_caller_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.hold(3.0)
    assert limiter.acquire() == pytest.approx(3.0)


def test_hubspot_presets() -> None:
    limits = hubspot_limits(None)
    assert (limits["default"].max_calls, limits["default"].period_s) == (190, 10.0)
    assert (limits["search"].max_calls, limits["search"].period_s) == (5, 1.0)
    assert hubspot_limits("starter")["default"].max_calls == 100
    assert hubspot_limits("Enterprise")["default"].max_calls == 190
    with pytest.raises(ConfigError, match="unknown HubSpot plan"):
        hubspot_limits("platinum")


def test_client_takes_a_slot_per_request(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/x").mock(return_value=httpx.Response(200, json={}))
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    api = client(clock, limiters={"default": limiter})
    for _ in range(5):
        api.request("GET", "/x")
    assert clock.now - 1000.0 == 20.0
    api.request("GET", "/x", limiter=None)  # unlimited
    assert clock.now - 1000.0 == 20.0


# -- retries --------------------------------------------------------------------------------------------


def test_429_honours_retry_after_seconds(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.get("/crm/v3/owners/").mock(
        side_effect=[rate_limit(**{"Retry-After": "7"}), httpx.Response(200, json={"results": []})]
    )
    api = client(clock)
    assert api.request("GET", "/crm/v3/owners/").json() == {"results": []}
    assert route.call_count == 2
    assert clock.sleeps == [7.0]
    assert (api.stats.requests, api.stats.retries, api.stats.rate_limited) == (2, 1, 1)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=12), usegmt=True)
    assert parse_retry_after(header, now=lambda: now) == pytest.approx(12.0)
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_ten_secondly_rolling_waits_for_the_window(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/x").mock(side_effect=[httpx.Response(200, json={}), rate_limit(), httpx.Response(200, json={})])
    limiter = RateLimiter(190, 10.0, clock=clock, sleep=clock.sleep)
    api = client(clock, limiters={"default": limiter})
    api.request("GET", "/x")
    clock.now += 2.0
    api.request("GET", "/x")
    # the first call of the window leaves it 8 s later; the retry goes no earlier than that
    assert clock.now - 1000.0 >= 10.0


def test_daily_limit_is_not_retried(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.get("/x").mock(return_value=rate_limit("DAILY"))
    with pytest.raises(RateLimited, match="daily") as info:
        client(clock).request("GET", "/x")
    assert route.call_count == 1
    assert clock.sleeps == []
    assert info.value.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(clock: FakeClock, router: respx.MockRouter, status: int) -> None:
    route = router.get("/x").mock(side_effect=[httpx.Response(status), httpx.Response(status, text="<html>bad"),
                                               httpx.Response(200, json={"ok": 1})])
    api = client(clock)
    assert api.request("GET", "/x").json() == {"ok": 1}
    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]  # exponential, no jitter in this policy
    assert api.stats.server_errors == 2


def test_transport_errors_are_retried(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.get("/x").mock(side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                               httpx.Response(200, json={})])
    api = client(clock)
    api.request("GET", "/x")
    assert route.call_count == 3
    assert api.stats.transport_errors == 2


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, jitter=False)
    assert [policy.backoff(n) for n in (1, 2, 3, 7, 8, 20)] == [0.5, 1.0, 2.0, 30.0, 30.0, 30.0]
    jittered = RetryPolicy()
    for n in range(1, 12):
        assert 0 < jittered.backoff(n) <= 30.0


def test_exhausted_429_raises_rate_limited(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.get("/x").mock(return_value=rate_limit())
    with pytest.raises(RateLimited, match="after 4 attempts"):
        client(clock, retry=RetryPolicy(max_attempts=4, jitter=False)).request("GET", "/x")
    assert route.call_count == 4


def test_exhausted_5xx_raises_api_error(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/x").mock(return_value=hubspot_error(503, "Service unavailable"))
    with pytest.raises(ApiError) as info:
        client(clock, retry=RetryPolicy(max_attempts=3, jitter=False)).request("GET", "/x")
    assert type(info.value) is ApiError
    assert info.value.status == 503


def test_exhausted_transport_errors_raise_transport_error(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/x").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransportError, match="no answer from hubspot after 3 attempt"):
        client(clock, retry=RetryPolicy(max_attempts=3, jitter=False)).request("GET", "/x")


def test_a_long_retry_after_is_not_waited_out(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/x").mock(return_value=rate_limit(**{"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="3600"):
        client(clock).request("GET", "/x")
    assert clock.sleeps == []


def test_unsafe_posts_are_not_retried_on_5xx_but_are_on_429(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.post("/create").mock(return_value=httpx.Response(502))
    with pytest.raises(ApiError):
        client(clock).request("POST", "/create", json={}, idempotent=False)
    assert route.call_count == 1
    router.post("/create2").mock(side_effect=[rate_limit(), httpx.Response(201, json={"id": "1"})])
    assert client(clock).request("POST", "/create2", json={}, idempotent=False).status_code == 201


# -- errors ---------------------------------------------------------------------------------------------


def test_hubspot_error_body(clock: FakeClock, router: respx.MockRouter) -> None:
    router.post("/crm/v3/objects/contacts").mock(return_value=httpx.Response(400, json={
        "status": "error", "message": "Property values were not valid", "correlationId": "abc-123",
        "category": "VALIDATION_ERROR",
        "errors": [{"message": "Property \"lifecyclestage\" does not exist", "code": "PROPERTY_DOESNT_EXIST",
                    "context": {"propertyName": ["lifecyclestage"]}}],
    }))
    with pytest.raises(ApiError) as info:
        client(clock).request("POST", "/crm/v3/objects/contacts", json={"properties": {}})
    error = info.value
    assert (error.status, error.code, error.correlation_id) == (400, "PROPERTY_DOESNT_EXIST", "abc-123")
    assert "Property values were not valid" in str(error)
    assert "POST https://api.hubapi.com/crm/v3/objects/contacts" in str(error)


def test_hubspot_error_fields_are_optional(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/a").mock(return_value=httpx.Response(400, json={}))
    router.get("/b").mock(return_value=httpx.Response(401, text="Unauthorized"))
    router.get("/c").mock(return_value=httpx.Response(403, json={"errors": [{"message": "missing scope"}]}))
    api = client(clock)
    for path, text in [("/a", "Bad Request"), ("/b", "Unauthorized"), ("/c", "missing scope")]:
        with pytest.raises(ApiError, match=text):
            api.request("GET", path)


def test_404_is_not_found(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/crm/v3/objects/contacts/9").mock(return_value=hubspot_error(
        404, "Object not found.  objectId are usually numeric.", category="OBJECT_NOT_FOUND"))
    with pytest.raises(NotFound) as info:
        client(clock).request("GET", "/crm/v3/objects/contacts/9")
    assert info.value.code == "OBJECT_NOT_FOUND"


def test_409_is_a_duplicate(clock: FakeClock, router: respx.MockRouter) -> None:
    router.post("/crm/v3/objects/contacts").mock(return_value=hubspot_error(
        409, "Contact already exists. Existing ID: 501", category="CONFLICT"))
    with pytest.raises(DuplicateRecord, match="Existing ID: 501"):
        client(clock).request("POST", "/crm/v3/objects/contacts", json={})


def test_salesforce_error_list(clock: FakeClock, router: respx.MockRouter) -> None:
    router.post("/sobjects/Lead/").mock(return_value=httpx.Response(400, json=[
        {"message": "Use one of these records?", "errorCode": "DUPLICATES_DETECTED", "fields": []}]))
    router.get("/query").mock(return_value=httpx.Response(403, json=[
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]))
    router.get("/bad").mock(return_value=httpx.Response(400, json=[
        {"message": "Invalid field", "errorCode": "INVALID_FIELD", "fields": ["Foo__c"]}]))
    api = client(clock, vendor="salesforce")
    with pytest.raises(DuplicateRecord, match="Use one of these records"):
        api.request("POST", "/sobjects/Lead/", json={})
    with pytest.raises(RateLimited, match="TotalRequests") as info:
        api.request("GET", "/query")
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"
    with pytest.raises(ApiError, match=r"Invalid field \[Foo__c\]"):
        api.request("GET", "/bad")
    assert clock.sleeps == []


# -- secrets --------------------------------------------------------------------------------------------


def test_the_token_is_sent_and_never_shown(clock: FakeClock, router: respx.MockRouter,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []

    def echo(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"status": "error", "message": f"token {TOKEN} is expired",
                                         "correlationId": "x"})

    router.get("/auth").mock(side_effect=echo)
    router.get("/limited").mock(return_value=rate_limit())
    router.get("/down").mock(side_effect=httpx.ConnectError(f"cannot reach host for Bearer {TOKEN}"))
    router.get(f"/echo/{TOKEN}").mock(return_value=httpx.Response(500))
    api = client(clock, retry=RetryPolicy(max_attempts=2, jitter=False))
    errors: list[Exception] = []
    for path in ["/auth", "/limited", "/down", f"/echo/{TOKEN}"]:
        with pytest.raises((ApiError, TransportError)) as info:
            api.request("GET", path)
        errors.append(info.value)
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["User-Agent"].startswith("gtmcheck/")
    shown = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(api), repr(api.stats), caplog.text]
    shown += [str(getattr(e, "url", "")) for e in errors] + [str(e.__cause__ or "") for e in errors]
    assert caplog.text  # something was logged
    for text in shown:
        assert TOKEN not in text
    assert "expired" in str(errors[0])


def test_no_token_means_no_authorization_header(clock: FakeClock, router: respx.MockRouter) -> None:
    route = router.get("/x").mock(return_value=httpx.Response(200, json={}))
    ApiClient(BASE, vendor="hubspot", token=None, sleep=clock.sleep).request("GET", "/x")
    assert "Authorization" not in route.calls.last.request.headers


def test_json_helpers(clock: FakeClock, router: respx.MockRouter) -> None:
    router.get("/j").mock(return_value=httpx.Response(200, json={"a": 1}))
    router.post("/empty").mock(return_value=httpx.Response(204))
    router.get("/html").mock(return_value=httpx.Response(200, text="<html>"))
    with client(clock) as api:
        assert api.get_json("/j") == {"a": 1}
        assert api.post_json("/empty", json={}) is None
        with pytest.raises(ApiError, match="not JSON"):
            api.get_json("/html")


def test_limiter_holds_across_threads() -> None:
    import threading

    lock = threading.Lock()
    now = [0.0]

    def clock() -> float:
        with lock:
            return now[0]

    def sleep(seconds: float) -> None:
        with lock:
            now[0] += seconds

    granted: list[float] = []

    class Recording(RateLimiter):
        def _delay(self, at: float) -> float | None:
            delay = super()._delay(at)
            if delay is None:
                granted.append(at)
            return delay

    limiter = Recording(10, 1.0, clock=clock, sleep=sleep)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 200
    assert granted == sorted(granted)
    assert all(granted[i + 10] - granted[i] >= 1.0 for i in range(len(granted) - 10))


def test_the_margin_keeps_a_call_in_the_window_a_little_longer() -> None:
    """Counted when sent, counted by the server when it arrives: the margin covers the trip."""
    clock = FakeClock()
    limiter = RateLimiter(2, 1.0, clock=clock, sleep=clock.sleep, margin_s=0.1)
    assert limiter.acquire() == 0 and limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(1.1)
    assert hubspot_limits()["default"].margin_s > 0
