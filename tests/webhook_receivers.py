"""Webhook receivers for the signature-check tests: strict, accept-everything, and age-blind.

Verification is written here from the vendors' descriptions, independently of ``gtmcheck.signatures``, so a
signing bug in gtmcheck cannot hide behind the same bug in the receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx


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
        if self.check_replay and stamp_ms is not None:
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
        url = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{environ.get('PATH_INFO', '')}"
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
