"""HubSpot webhook request signatures, v1, v2 and v3, as HubSpot's own SDK computes them.

- v1: hex SHA-256 of ``secret + body``                      (header ``X-HubSpot-Signature``)
- v2: hex SHA-256 of ``secret + method + uri + body``       (header ``X-HubSpot-Signature``)
- v3: base64 HMAC-SHA256, key ``secret``, message ``method + uri + body + timestamp``
  (header ``X-HubSpot-Signature-v3``, timestamp in ms in ``X-HubSpot-Request-Timestamp``); a receiver rejects
  a timestamp older than 300 seconds.

Every ``verify_*`` compares in constant time. The sandbox signs its deliveries with these; the webhooks kind
uses the same functions to check that a receiver refuses a bad signature. Pure functions, so both layers may
import them (the sandbox knows nothing of kinds, kinds never import the sandbox).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

MAX_AGE_MS = 300_000
HEADER_V1_V2 = "X-HubSpot-Signature"
HEADER_V3 = "X-HubSpot-Signature-v3"
HEADER_TIMESTAMP = "X-HubSpot-Request-Timestamp"
HEADER_VERSION = "X-HubSpot-Signature-Version"


def _text(body: bytes | str) -> str:
    return body.decode("utf-8") if isinstance(body, bytes) else body


def sign_v1(secret: str, body: bytes | str) -> str:
    """Hex SHA-256 of the secret followed by the body."""
    return hashlib.sha256((secret + _text(body)).encode("utf-8")).hexdigest()


def sign_v2(secret: str, method: str, uri: str, body: bytes | str) -> str:
    """Hex SHA-256 of secret, method, full URI and body, concatenated."""
    return hashlib.sha256((secret + method.upper() + uri + _text(body)).encode("utf-8")).hexdigest()


def sign_v3(secret: str, method: str, uri: str, body: bytes | str, timestamp: int | str) -> str:
    """Base64 HMAC-SHA256 (key: secret) of method, full URI, body and the millisecond timestamp."""
    message = f"{method.upper()}{uri}{_text(body)}{timestamp}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_v1(secret: str, body: bytes | str, signature: str) -> bool:
    """True when ``signature`` is the v1 signature of the body."""
    return hmac.compare_digest(sign_v1(secret, body), signature or "")


def verify_v2(secret: str, method: str, uri: str, body: bytes | str, signature: str) -> bool:
    """True when ``signature`` is the v2 signature of the request."""
    return hmac.compare_digest(sign_v2(secret, method, uri, body), signature or "")


def verify_v3(secret: str, method: str, uri: str, body: bytes | str, timestamp: int | str, signature: str,
              *, now_ms: int | None = None, max_age_ms: int = MAX_AGE_MS) -> bool:
    """True when the v3 signature matches and the timestamp is no older than ``max_age_ms`` (300 s)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if now - stamp > max_age_ms:
        return False
    return hmac.compare_digest(sign_v3(secret, method, uri, body, stamp).encode(), (signature or "").encode())


def sign_headers(secret: str, method: str, uri: str, body: bytes | str, *, version: str = "v3",
                 now_ms: int | None = None) -> dict[str, str]:
    """The headers HubSpot sends with a delivery signed with ``version`` (v1, v2 or v3)."""
    if version == "v1":
        return {HEADER_V1_V2: sign_v1(secret, body), HEADER_VERSION: "v1"}
    if version == "v2":
        return {HEADER_V1_V2: sign_v2(secret, method, uri, body), HEADER_VERSION: "v2"}
    if version != "v3":
        raise ValueError(f"unknown signature version {version!r}; use v1, v2 or v3")
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    return {
        HEADER_V3: sign_v3(secret, method, uri, body, stamp),
        HEADER_TIMESTAMP: str(stamp),
        HEADER_VERSION: "v3",
    }
