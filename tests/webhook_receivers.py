"""Webhook receivers for the signature-check tests (strict, accept-everything, age-blind), and the model shape.

Verification is written here from the vendors' descriptions, independently of ``gtmcheck.signatures``, so a
signing bug in gtmcheck cannot hide behind the same bug in the receiver. ``Model`` is the shape the webhooks
kind's model has for the signature checks (``receiver``, ``events``, a location).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, Evidence, Location
from gtmcheck.kinds.base import Check
from gtmcheck.project import Environment, Project


@dataclass
class Received:
    url: str
    headers: httpx.Headers  # case-insensitive, as HTTP headers are
    body: bytes
    status: int


@dataclass
class Receiver:
    """A receiver of one signing scheme; ``verify``/``check_age``/``check_replay`` turn its defences on."""

    scheme: str
    secret: str
    verify: bool = True
    check_age: bool = True
    check_replay: bool = True
    header: str = "X-Signature"
    timestamp_header: str = "X-Signature-Timestamp"
    answer_text: Callable[[int], str] = lambda status: ""
    log: list[Received] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def handle(self, url: str, headers: dict[str, str], body: bytes) -> int:
        status = self._status(url, {k.lower(): v for k, v in headers.items()}, body)
        self.log.append(Received(url, httpx.Headers(headers), body, status))
        return status

    def _status(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if not self.verify:
            return 204
        text = body.decode("utf-8")
        secret = self.secret.encode()
        if self.scheme == "hubspot-v1":
            signature, expected = headers.get("x-hubspot-signature"), hashlib.sha256(secret + body).hexdigest()
            stamp_ms = None
        elif self.scheme == "hubspot-v2":
            signature = headers.get("x-hubspot-signature")
            expected = hashlib.sha256(secret + f"POST{url}{text}".encode()).hexdigest()
            stamp_ms = None
        elif self.scheme == "hubspot-v3":
            signature, stamp = headers.get("x-hubspot-signature-v3"), headers.get("x-hubspot-request-timestamp")
            if signature is None or stamp is None:
                return 401
            digest = hmac.new(secret, f"POST{url}{text}{stamp}".encode(), hashlib.sha256).digest()
            expected, stamp_ms = base64.b64encode(digest).decode(), int(stamp)
        else:
            signature, stamp = headers.get(self.header.lower()), headers.get(self.timestamp_header.lower())
            if signature is None or stamp is None:
                return 401
            expected = hmac.new(secret, f"{stamp}.{text}".encode(), hashlib.sha256).hexdigest()
            stamp_ms = int(stamp) * 1000
        if signature is None or not hmac.compare_digest(signature, expected):
            return 401
        if self.check_age and stamp_ms is not None and time.time() * 1000 - stamp_ms > 300_000:
            return 401
        if self.check_replay:  # by signature: for v1/v2 the same body signs the same, so a replay is seen too
            if signature in self.seen:
                return 409
            self.seen.add(signature)
        return 204

    # --- adapters ---------------------------------------------------------------------------------------

    def respx(self, request: httpx.Request) -> httpx.Response:
        status = self.handle(str(request.url), dict(request.headers), request.content)
        return httpx.Response(status, text=self.answer_text(status))

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = quote(environ.get("PATH_INFO", ""), safe="/;=,~!$&'()*+:@")  # WSGI decodes it; as Werkzeug, re-quote
        url = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{path}"
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        status = self.handle(url, headers, body)
        text = self.answer_text(status).encode()
        start_response(f"{status} {'OK' if status < 300 else 'Refused'}",
                       [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
        return [text]

    def payloads(self) -> list[Any]:
        return [json.loads(r.body) for r in self.log]


URL = "https://hooks.acme.example/webhooks/hubspot"
SECRET = "whsec-test-9f8e7d6c5b4a"
WHERE = Location("checks/webhooks.gtm.yml", 12, 1)

ACCOUNT_2_0: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["event", "version", "event_id", "occurred_at", "account_id", "properties"],
    "additionalProperties": False,
    "properties": {
        "event": {"const": "account.updated"},
        "version": {"type": "string", "pattern": r"^2\.\d+$"},
        "event_id": {"$ref": "#/$defs/id"},
        "occurred_at": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"},
        "account_id": {"$ref": "#/$defs/id"},
        "properties": {
            "type": "object",
            "required": ["name", "domain", "arr"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "domain": {"type": "string", "pattern": r"^[a-z0-9.-]+\.[a-z]{2,}$"},
                "arr": {"type": "number", "minimum": 0},
                "country": {"type": ["string", "null"]},
            },
        },
    },
    "$defs": {"id": {"type": "string", "minLength": 1, "maxLength": 64}},
}


@dataclass
class Event:
    event: str
    receiver: str


@dataclass
class Model:
    """The shape the kind's model has for these checks (agreed: receiver, events, a location)."""

    receiver: dict[str, Any] | None
    events: list[Event] = field(default_factory=lambda: [Event("account.updated", "2.0")])
    receiver_location: Location = WHERE

    def schema_for(self, event: str, version: str) -> Any:
        return ACCOUNT_2_0 if (event, version) == ("account.updated", "2.0") else None


SIGNING = {
    "hubspot-v1": {"scheme": "hubspot-v1", "secret": SECRET},
    "hubspot-v2": {"scheme": "hubspot-v2", "secret": SECRET},
    "hubspot-v3": {"scheme": "hubspot-v3", "secret": SECRET},
    "hmac-sha256": {"scheme": "hmac-sha256", "secret": SECRET, "header": "X-Signature",
                    "timestamp_header": "X-Signature-Timestamp"},
}


def context(tmp_path: Path, *, writes: bool = True, crm: dict[str, Any] | None = None) -> RunContext:
    env = Environment("staging", tmp_path, crm=crm or {}, writes=writes)
    return RunContext(Project(tmp_path, None, "staging", ["checks"]), env)


Outcome = Evidence | CheckFailed | CheckError


def run_all(checks: list[Check], ctx: RunContext) -> dict[str, Outcome]:
    """Each probe's check as the plugin runs it: the evidence of a pass, or the failure or error raised."""
    out: dict[str, Outcome] = {}
    for check in checks:
        assert check.param is not None
        try:
            out[check.param] = check.run(ctx)
        except (CheckFailed, CheckError) as exc:
            out[check.param] = exc
    return out
