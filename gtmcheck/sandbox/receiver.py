"""The sandbox's webhook receiver: checks signatures as HubSpot documents, then validates every event.

A POST on any path, answered as a careful receiver would:

- 401 when the signature (``signature_version`` of the scenario: v1, v2 or v3) is missing or does not match,
  or when a v3 timestamp is older than 300 s;
- 409 when a v3 signature it has already verified comes again (a replay);
- 400 when the body is not JSON, 413 when it is over 8 MB;
- 422 when an event fails the receiver's schema: ``{"error", "pointer", "keyword", "event", "version",
  "index"}``, the pointer inside the event (``/properties/arr``);
- 204 when every event is valid.

Which schema: the event named by ``receiver_version`` (``account.updated@v2.0`` or ``2.0``) is validated at that
version, whatever the payload claims (a receiver validates against what it was built for); any other event
at the version it claims (``version``), and HubSpot's own events, which carry none, at ``1``. An event is named
by ``event`` (the custom envelope) or ``subscriptionType`` (HubSpot's). Without ``webhooks.schemas`` only
signatures are checked. One receiver per scenario file (``receiver_for``), so the in-process sandbox's
deliveries and probes through ``receiver_transport`` share one replay memory; it and the verdict log are
bounded.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import request_uri

from .. import secrets
from . import signatures
from .payloads import PayloadSchemas
from .scenario import Scenario, parse_version

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

REPLAY_MEMORY = 10_000  # verified v3 signatures remembered (and only while their timestamp is fresh)
LOG_KEPT = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024
HUBSPOT_VERSION = "1"  # HubSpot's events carry no version
STATUS_TEXT = {204: "No Content", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
               409: "Conflict", 413: "Content Too Large", 422: "Unprocessable Entity"}


@dataclass(frozen=True)
class Verdict:
    """The receiver's answer: status, why (empty when accepted) and the JSON body of a refusal."""

    status: int
    reason: str = ""
    body: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def _refused(status: int, reason: str, **extra: Any) -> Verdict:
    reason = secrets.redact(reason)  # a schema message quotes payload values
    return Verdict(status, reason, {"error": reason, **extra})


class Receiver:
    """A WSGI app (and a plain ``receive`` method) that verifies and validates webhook deliveries."""

    def __init__(self, scenario: Scenario, *, now_ms: Callable[[], int] | None = None,
                 replay_memory: int = REPLAY_MEMORY, log_kept: int = LOG_KEPT) -> None:
        hooks = scenario.webhooks
        self.secret = str(hooks.get("secret", ""))
        self.scheme = str(hooks.get("signature_version", "v3"))
        self.pinned = parse_version(hooks.get("receiver_version") or hooks.get("sender_version"))
        self.schemas = PayloadSchemas(Path(hooks["schemas"])) if hooks.get("schemas") else None
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._replay_memory = replay_memory
        self._seen: collections.OrderedDict[str, int] = collections.OrderedDict()  # signature -> timestamp
        self._lock = threading.Lock()
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=log_kept)

    # --- the verdict --------------------------------------------------------------------------------

    def receive(self, method: str, url: str, headers: Mapping[str, str], body: bytes, *,
                now_ms: int | None = None) -> Verdict:
        """Judge one request; ``now_ms`` is the moment it arrives (default: the receiver's clock)."""
        now = self.now_ms() if now_ms is None else now_ms
        lower = {k.lower(): v for k, v in headers.items()}
        verdict = self._authenticate(method, url, lower, body, now) or self._validate(body)
        with self._lock:
            self.log.append({"at_ms": now, "url": url, "status": verdict.status, "reason": verdict.reason})
        return verdict

    def _authenticate(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
                      now: int) -> Verdict | None:
        if self.scheme in ("v1", "v2"):
            given = headers.get(signatures.HEADER_V1_V2.lower(), "")
            if not given:
                return _refused(401, f"missing signature: no {signatures.HEADER_V1_V2} header")
            ok = (signatures.verify_v1(self.secret, body, given) if self.scheme == "v1"
                  else signatures.verify_v2(self.secret, method, url, body, given))
            return None if ok else _refused(401, f"the {self.scheme} signature does not match the request")
        given = headers.get(signatures.HEADER_V3.lower(), "")
        stamp = headers.get(signatures.HEADER_TIMESTAMP.lower(), "")
        if not given or not stamp:
            return _refused(401, f"missing signature: {signatures.HEADER_V3} and {signatures.HEADER_TIMESTAMP} "
                            "are both required")
        if not stamp.strip().isdigit():
            return _refused(401, f"{signatures.HEADER_TIMESTAMP} is not a millisecond timestamp")
        age_s = (now - int(stamp)) / 1000
        if age_s > signatures.MAX_AGE_MS / 1000:
            return _refused(401, f"stale timestamp: signed {age_s:.0f} s ago, more than "
                            f"{signatures.MAX_AGE_MS // 1000} s")
        if not signatures.verify_v3(self.secret, method, url, body, stamp, given, now_ms=now):
            return _refused(401, "the v3 signature does not match the request")
        with self._lock:
            oldest = now - signatures.MAX_AGE_MS  # older signatures are refused as stale before this point
            while self._seen and next(iter(self._seen.values())) < oldest:
                self._seen.popitem(last=False)
            if given in self._seen:
                return _refused(409, "replayed delivery: this signature was already received")
            self._seen[given] = int(stamp)
            while len(self._seen) > self._replay_memory:
                self._seen.popitem(last=False)
        return None

    def _validate(self, body: bytes) -> Verdict:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return _refused(400, "the body is not JSON")
        if self.schemas is None:
            return Verdict(204)
        events = payload if isinstance(payload, list) else [payload]
        for index, event in enumerate(events):
            verdict = self._validate_event(index, event)
            if verdict is not None:
                return verdict
        return Verdict(204)

    def _validate_event(self, index: int, event: Any) -> Verdict | None:
        assert self.schemas is not None
        if not isinstance(event, dict):
            return _refused(422, f"event {index} is not a JSON object", pointer="", keyword="type", index=index)
        name_key = "event" if "event" in event else "subscriptionType"
        name = event.get(name_key)
        if not isinstance(name, str) or name not in self.schemas.events():
            return _refused(422, f"event {index}: no schema for event {name!r}", pointer=f"/{name_key}",
                            keyword="event", index=index)
        claimed = event.get("version", HUBSPOT_VERSION)
        version = self.pinned[1] if self.pinned and self.pinned[0] == name else str(claimed)
        if not self.schemas.has(name, version):
            return _refused(422, f"event {index}: no schema for {name} version {version!r}", pointer="/version",
                            keyword="version", event=name, version=version, index=index)
        invalid = self.schemas.check(name, version, event)
        if invalid is None:
            return None
        return _refused(422, f"{name} {version}: {invalid.pointer}: {invalid.message} ({invalid.keyword})",
                        pointer=invalid.pointer, keyword=invalid.keyword, event=name, version=version, index=index)

    # --- WSGI -----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method != "POST":
            verdict = _refused(405, "the receiver takes POST only")
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                verdict = _refused(413, f"the body is over {MAX_BODY_BYTES // (1024 * 1024)} MB")
            else:
                body = environ["wsgi.input"].read(length) if length > 0 else b""
                headers = {k[5:].replace("_", "-"): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
                verdict = self.receive(method, request_uri(environ, include_query=True), headers, body)
        payload = b"" if verdict.body is None else json.dumps(verdict.body).encode()
        out = [("Content-Length", str(len(payload)))]
        if payload:
            out.insert(0, ("Content-Type", "application/json"))
        start_response(f"{verdict.status} {STATUS_TEXT.get(verdict.status, 'Status')}", out)
        return [payload]


_RECEIVERS: dict[tuple[Path, str], Receiver] = {}
_LOCK = threading.Lock()


def receiver_for(scenario: Scenario) -> Receiver:
    """The one receiver of a scenario file (a scenario built from data, with no file, gets its own).

    Keyed by the file and its ``webhooks`` block, so a scenario changed in memory (a test that drops its
    webhooks) never hands its receiver to the file's other users.
    """
    if scenario.path is None:
        return Receiver(scenario)
    key = (Path(scenario.path).resolve(), json.dumps(scenario.webhooks, sort_keys=True, default=str))
    with _LOCK:
        receiver = _RECEIVERS.get(key)
        if receiver is None:
            receiver = _RECEIVERS[key] = Receiver(scenario)
        return receiver


def receiver_for_path(scenario_path: Path) -> Receiver:
    """The one receiver of the scenario at ``scenario_path``, as the file says."""
    return receiver_for(Scenario.load(Path(scenario_path).resolve()))
