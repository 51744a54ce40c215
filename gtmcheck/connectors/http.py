"""One HTTP layer for every vendor API: connection reuse, rate limits, retries, redacted errors.

``ApiClient`` wraps one ``httpx.Client`` per connector. Every request first takes a slot from a
``RateLimiter`` (the vendor's published limit, so gtmcheck does not cause the 429s it then has to wait
out), then retries on 429, 5xx and transport errors with exponential backoff that honours ``Retry-After``
and HubSpot's ``policyName``: ``TEN_SECONDLY_ROLLING`` waits for the rolling window, ``DAILY`` gives up at
once because no backoff fits in a run. Error answers become ``ApiError``/``NotFound``/``DuplicateRecord``/
``RateLimited`` built from the vendor's error body; no answer at all becomes ``TransportError``. A 3xx is
``UnexpectedAnswer`` naming the ``Location`` (an API does not redirect; a proxy or login page is in the way).

A dead host fails fast. A connection that cannot be made is retried twice (``connect_attempts=3``, after
0.25-0.5 s and 0.5-1 s), and each client has a ``CircuitBreaker`` (``breaker.py``): after ``trip_after=3``
attempts in a row with no answer, across requests and threads (the last a retry), every further request
raises ``TransportError`` at once, saying why, without dialling. A refusing CRM thus costs about 1.5 s per run,
not 8 attempts per request; one that drops connection attempts costs three connect timeouts of
``CONNECT_TIMEOUT_S`` (10 s).

The token lives only in the ``Authorization`` header of the inner client. It is registered with
``gtmcheck.secrets`` and every exception message and log line goes through ``redact``, so it never shows.

Paths are joined onto ``base_url`` the way httpx joins them (``/crm/v3/x`` under ``https://h/api`` gives
``https://h/api/crm/v3/x``); a full ``http(s)://`` URL is used as it is (Salesforce's
``nextRecordsUrl`` is a path from the host root: pass ``instance_url + nextRecordsUrl``).
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .. import secrets
from ..about import HOMEPAGE, __version__
from ..errors import ApiError, ConfigError, DuplicateRecord, NotFound, RateLimited, TransportError
from .answers import read_json, redirect_error
from .breaker import CircuitBreaker

USER_AGENT = f"gtmcheck/{__version__} (+{HOMEPAGE})"
log = logging.getLogger("gtmcheck.http")


Clock = Callable[[], float]
Sleep = Callable[[float], None]

_RNG = random.Random()
RETRY_STATUSES = frozenset({408, 423, 425, 429})  # plus every 5xx; 423: HubSpot's "record locked, retry"


MIN_WAIT = 1e-3  # seconds; the smallest sleep the limiter asks for
CONNECT_TIMEOUT_S = 10.0  # a host that drops connection attempts costs 3 x 10 s, then is given up


class RateLimiter:
    """At most ``max_calls`` calls in any rolling ``period_s`` seconds; thread safe.

    ``acquire()`` sleeps just long enough for the oldest call in the window to leave it. ``hold(s)`` makes
    every caller wait ``s`` seconds (after the server said 429, all threads back off, not just one).
    ``margin_s`` keeps a call in the window that much longer: we count a call when it leaves, the server when
    it arrives, so without a margin a call sent right at the window's edge can land inside the server's window
    and cost a 429 and a ``Retry-After`` for every thread.
    """

    def __init__(self, max_calls: int, period_s: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep, name: str = "", margin_s: float = 0.0) -> None:
        if max_calls < 1 or period_s <= 0:
            raise ValueError("a rate limit needs max_calls >= 1 and period_s > 0")
        self.max_calls = max_calls
        self.period_s = period_s
        self.margin_s = margin_s
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._held_until = 0.0
        self.waited_s = 0.0  # total time callers spent waiting here

    def __repr__(self) -> str:
        label = f"{self.name} " if self.name else ""
        return f"RateLimiter({label}{self.max_calls}/{self.period_s:g}s)"

    def _delay(self, now: float) -> float | None:
        """``None`` when a call may go now (and records it), else the seconds to wait. Caller holds the lock."""
        span = self.period_s + self.margin_s
        while self._calls and self._calls[0] <= now - span:
            self._calls.popleft()
        if now < self._held_until:
            return max(self._held_until - now, MIN_WAIT)
        if len(self._calls) < self.max_calls:
            self._calls.append(now)
            return None
        return max(self._calls[0] + span - now, MIN_WAIT)  # never 0: rounding must not spin

    def acquire(self) -> float:
        """Take a slot, sleeping until one is free; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._delay(self._clock())
                if delay is None:
                    self.waited_s += waited
                    return waited
            self._sleep(delay)
            waited += delay

    def hold(self, seconds: float) -> None:
        """Make every caller wait at least ``seconds`` from now."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

    def window_wait(self) -> float:
        """Seconds until the oldest call of the current window leaves it (0 when the window is empty)."""
        with self._lock:
            now = self._clock()
            span = self.period_s + self.margin_s
            while self._calls and self._calls[0] <= now - span:
                self._calls.popleft()
            return self._calls[0] + span - now if self._calls else 0.0


HUBSPOT_PLANS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
WINDOW_MARGIN_S = 0.1  # send-to-arrival time a call may take; see ``RateLimiter``


def hubspot_limits(plan: str | None = None, *, clock: Clock = time.monotonic,
                   sleep: Sleep = time.sleep) -> dict[str, RateLimiter]:
    """HubSpot's limits for a private app: 190 per 10 s (100 on free/starter), search 5 per second."""
    key = (plan or "professional").lower()
    if key not in HUBSPOT_PLANS:
        raise ConfigError(f"unknown HubSpot plan {plan!r}; use one of: {', '.join(HUBSPOT_PLANS)}")
    return {
        "default": RateLimiter(HUBSPOT_PLANS[key], 10.0, clock=clock, sleep=sleep, name="hubspot",
                               margin_s=WINDOW_MARGIN_S),
        "search": RateLimiter(5, 1.0, clock=clock, sleep=sleep, name="hubspot search", margin_s=WINDOW_MARGIN_S / 10),
    }


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Delays double from ``base_delay`` up to ``max_delay``.

    A ``Retry-After`` longer than ``max_retry_after`` is not waited out: the error is raised at once.
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retry_after: float = 300.0
    connect_attempts: int = 3  # attempts of a request whose connection cannot be made (at most max_attempts)
    trip_after: int = 3  # attempts in a row without an answer, across requests, before the host is given up

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        if self.jitter:
            delay = (rng or _RNG).uniform(delay / 2, delay)
        return delay


@dataclass
class HttpStats:
    """Counters for benchmarks and reports (thread safe through ``add``)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    refused_locally: int = 0  # requests not sent because the circuit breaker had tripped
    backoff_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class ErrorInfo:
    """What a vendor's error body says."""

    message: str
    code: str | None = None
    correlation_id: str | None = None
    policy: str | None = None  # HubSpot 429: TEN_SECONDLY_ROLLING, SECONDLY, DAILY


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def parse_hubspot_error(response: httpx.Response) -> ErrorInfo:
    """``{"status":"error","message","correlationId","category","errors":[{"message","code"}]}``."""
    body = _json(response)
    if not isinstance(body, dict):
        return ErrorInfo(_plain(response))
    details = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    message = _first(body.get("message")) or "; ".join(str(e.get("message")) for e in details if e.get("message"))
    code = _first(*(e.get("code") for e in details), body.get("category"), body.get("errorType"))
    return ErrorInfo(message or _reason(response), code, _first(body.get("correlationId")),
                     _first(body.get("policyName")))


def parse_salesforce_error(response: httpx.Response) -> ErrorInfo:
    """``[{"message","errorCode","fields"}]`` (OAuth errors: ``{"error","error_description"}``)."""
    body = _json(response)
    if isinstance(body, list) and body and all(isinstance(e, dict) for e in body):
        messages = []
        for e in body:
            fields = e.get("fields") or []
            where = f" [{', '.join(map(str, fields))}]" if fields else ""
            messages.append(f"{e.get('message') or e.get('errorCode') or 'error'}{where}")
        return ErrorInfo("; ".join(messages), _first(body[0].get("errorCode")))
    if isinstance(body, dict):
        return ErrorInfo(_first(body.get("error_description"), body.get("message")) or _reason(response),
                         _first(body.get("error"), body.get("errorCode")))
    return ErrorInfo(_plain(response))


def parse_generic_error(response: httpx.Response) -> ErrorInfo:
    """Any JSON ``message``/``error``, else the start of the body."""
    body = _json(response)
    if isinstance(body, dict):
        message = _first(body.get("message"), body.get("error_description"), body.get("error"))
        if message:
            return ErrorInfo(message, _first(body.get("code"), body.get("errorCode")))
    return ErrorInfo(_plain(response))


def _plain(response: httpx.Response) -> str:
    """The start of a body that is not JSON, redacted before it is cut (a cut token would survive as a prefix)."""
    text = secrets.redact(" ".join(response.text.split()))[:200] if response.content else ""
    return text or _reason(response)


def _reason(response: httpx.Response) -> str:
    return response.reason_phrase or f"HTTP {response.status_code}"


ERROR_PARSERS: dict[str, Callable[[httpx.Response], ErrorInfo]] = {
    "hubspot": parse_hubspot_error,
    "salesforce": parse_salesforce_error,
}

DAILY_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})  # Salesforce: the org's 24 h API allowance is used up
DUPLICATE_CODES = frozenset({"DUPLICATES_DETECTED", "DUPLICATE_VALUE", "CONFLICT"})
EXISTING_ID = re.compile(r"Existing ID:\s*([0-9A-Za-z]+)")


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds from a ``Retry-After`` header: delta seconds or an HTTP date; ``None`` when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


class ApiClient:
    """A vendor API over one reused ``httpx.Client``, with rate limits, retries and redacted errors."""

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        token: str | None,
        transport: httpx.BaseTransport | None = None,
        limiters: Mapping[str, RateLimiter] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Sleep = time.sleep,
        parse_error: Callable[[httpx.Response], ErrorInfo] | None = None,
        headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url
        self.limiters: dict[str, RateLimiter] = dict(limiters or {})
        self.retry = retry or RetryPolicy()
        self.stats = HttpStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._parse_error = parse_error or ERROR_PARSERS.get(vendor, parse_generic_error)
        self.breaker = CircuitBreaker(vendor, self.retry.trip_after)
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if token:
            secrets.register(token)
            all_headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {}
        if transport is not None:
            kwargs["transport"] = transport
        self._client = httpx.Client(base_url=base_url, headers=all_headers,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
                                    follow_redirects=False, **kwargs)

    def __repr__(self) -> str:
        return f"ApiClient({self.vendor}, {secrets.redact(self.base_url)!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _limiter(self, name: str | None) -> RateLimiter | None:
        if name is None:
            return None
        return self.limiters.get(name) or self.limiters.get("default")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        limiter: str | None = "default",
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send a request; return a 2xx answer or raise a ``ConnectorError``.

        Retries 429 (always: the server did nothing) and connect errors (nothing was sent); 5xx, 408 and
        read errors only when ``idempotent`` (a retried create could make a second record). Once the
        circuit breaker has tripped, raises ``TransportError`` without dialling.
        """
        method = method.upper()
        gate = self._limiter(limiter)
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                self.breaker.check(method, path_or_url)
            except TransportError:
                self.stats.add(refused_locally=1)
                raise
            if gate is not None:
                gate.acquire()
            request = self._client.build_request(method, path_or_url, params=params, json=json, headers=headers)
            url = secrets.redact(str(request.url))
            started = time.monotonic()
            self.stats.add(requests=1)
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                self.stats.add(transport_errors=1)
                sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                reason = secrets.redact(str(exc)) or type(exc).__name__
                log.debug("%s %s -> %s (attempt %d)", method, url, type(exc).__name__, attempt)
                given_up = self.breaker.no_answer(request.url.netloc.decode("ascii", "replace"), reason,
                                                  retry=attempt > 1)
                limit = policy.max_attempts if sent else min(policy.max_attempts, policy.connect_attempts)
                if given_up or attempt >= limit or (sent and not idempotent):
                    raise TransportError(
                        f"{method} {url}: no answer from {self.vendor} after {attempt} attempt(s): {reason}"
                        + (f"; {given_up}" if given_up else "")
                    ) from None
                self._wait(policy.backoff(attempt, self._rng), gate=None)
                continue
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %d (%.0f ms, attempt %d)", method, url, response.status_code, elapsed_ms, attempt)
            status = response.status_code
            self.breaker.answered()
            if status < 300:
                return response
            if status < 400:  # an API does not redirect: a proxy, a login page or a wrong base_url answered
                raise redirect_error(self.vendor, response, method, url)
            info = self._parse_error(response)
            retryable = status in RETRY_STATUSES or status >= 500
            if status == 429:
                self.stats.add(rate_limited=1)
            elif status >= 500:
                self.stats.add(server_errors=1)
            if info.code in DAILY_CODES or (info.policy or "").upper() == "DAILY":
                raise self._error(RateLimited, info, response, method, url,
                                  note="daily API limit reached; retrying cannot help within this run")
            if not retryable or (status != 429 and not idempotent):
                raise self._error(None, info, response, method, url)
            if attempt >= policy.max_attempts:
                cls = RateLimited if status == 429 else ApiError
                raise self._error(cls, info, response, method, url, note=f"still failing after {attempt} attempts")
            delay = policy.backoff(attempt, self._rng)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    cls = RateLimited if status == 429 else ApiError
                    raise self._error(cls, info, response, method, url,
                                      note=f"server asks to retry after {retry_after:.0f} s")
                delay = retry_after
            elif status == 429 and gate is not None:
                # TEN_SECONDLY_ROLLING (or SECONDLY for search): wait for the rolling window to free up.
                delay = max(delay, gate.window_wait())
            log.debug("%s %s: HTTP %d, retry %d in %.2f s%s", method, url, status, attempt, delay,
                      f" ({info.policy})" if info.policy else "")
            self._wait(delay, gate=gate if status == 429 else None)

    @property
    def given_up(self) -> str | None:
        """Why this client no longer dials its host (``None`` while it does)."""
        return self.breaker.given_up

    def _wait(self, delay: float, *, gate: RateLimiter | None) -> None:
        self.stats.add(retries=1, backoff_s=delay)
        if gate is not None:
            gate.hold(delay)  # other threads sharing the limit back off too
        if delay > 0:
            self._sleep(delay)

    def _error(self, cls: type[ApiError] | None, info: ErrorInfo, response: httpx.Response, method: str,
               url: str, note: str = "") -> ApiError:
        status = response.status_code
        if cls is None:
            if status == 404:
                cls = NotFound
            elif status == 409 or info.code in DUPLICATE_CODES:
                cls = DuplicateRecord
            elif status == 429:
                cls = RateLimited
            else:
                cls = ApiError
        message = f"{self.vendor}: {info.message}" + (f"; {note}" if note else "")
        error = cls(secrets.redact(message), status=status, code=info.code, correlation_id=info.correlation_id,
                    method=method, url=url)
        if isinstance(error, DuplicateRecord):
            existing = EXISTING_ID.search(info.message)  # HubSpot: "Contact already exists. Existing ID: 123"
            error.existing_id = existing.group(1) if existing else None
        return error

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        """``request("GET", ...)`` and its JSON body."""
        return self._json_of(self.request("GET", path_or_url, **kwargs))

    def post_json(self, path_or_url: str, **kwargs: Any) -> Any:
        """``request("POST", ...)`` and its JSON body (``None`` for an empty answer)."""
        return self._json_of(self.request("POST", path_or_url, **kwargs))

    def _json_of(self, response: httpx.Response) -> Any:
        return read_json(self.vendor, response)[0]
