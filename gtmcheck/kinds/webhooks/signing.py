"""How a webhook sender signs a delivery, from a checklist's ``receiver.signing`` mapping.

The signature checks (``signature_checks``) sign their probes the way the real sender does, so that the
receiver's verification is what is tested. Schemes:

- ``hubspot-v1``, ``hubspot-v2``: HubSpot's hex SHA-256 signatures in ``X-HubSpot-Signature``. No timestamp is
  signed, so a receiver cannot tell an old or replayed delivery from a new one.
- ``hubspot-v3``: HubSpot's base64 HMAC-SHA256 of method, URI, body and the millisecond timestamp, in
  ``X-HubSpot-Signature-v3`` and ``X-HubSpot-Request-Timestamp``.
- ``hmac-sha256``: the generic form (Stripe, Svix, GitHub, in-house senders): an HMAC-SHA256 of ``message``
  (``"{timestamp}.{body}"`` by default when a ``timestamp_header`` is named, else ``"{body}"``), ``hex`` or
  ``base64`` (``encoding:``), in the ``header:`` named; the timestamp, in Unix seconds, in ``timestamp_header:``.

The algorithms are ``gtmcheck.signatures`` (shared with the sandbox, which kinds never import). The secret is
registered with ``gtmcheck.secrets`` when the scheme is built, and is never part of a repr.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import secrets
from ... import signatures as hubspot
from ...errors import Location, SpecError

HUBSPOT_SCHEMES = {"hubspot-v1": "v1", "hubspot-v2": "v2", "hubspot-v3": "v3"}
HMAC = "hmac-sha256"
SCHEMES = (*HUBSPOT_SCHEMES, HMAC)
ENCODINGS = ("hex", "base64")
PLACEHOLDERS = ("timestamp", "body", "url", "method")
METHOD = "POST"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token

# The `signing:` mapping, for the kind's closed schema (``receiver: {signing: ...}``).
SIGNING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scheme", "secret"],
    "properties": {
        "scheme": {"enum": list(SCHEMES), "description": "how the sender signs a delivery"},
        "secret": {"type": "string", "minLength": 1, "description": 'the signing secret: "${WEBHOOK_SECRET}"'},
        "header": {"type": "string", "description": "hmac-sha256: the header that carries the signature"},
        "timestamp_header": {"type": "string", "description": "hmac-sha256: the header with the Unix time (s)"},
        "encoding": {"enum": list(ENCODINGS), "description": "hmac-sha256: hex (default) or base64"},
        "message": {"type": "string", "description": 'hmac-sha256: what is signed, default "{timestamp}.{body}"'},
    },
}


@dataclass(frozen=True)
class SigningScheme:
    """One sender's way of signing: which algorithm, which secret, which headers carry what."""

    scheme: str
    secret: str = field(repr=False)
    header: str = hubspot.HEADER_V3
    timestamp_header: str | None = hubspot.HEADER_TIMESTAMP
    encoding: str = "base64"
    message: str = "{method}{url}{body}{timestamp}"

    @classmethod
    def from_mapping(cls, raw: Any, location: Location | None = None) -> SigningScheme:
        """The scheme a ``signing:`` mapping describes; anything unusable is a ``SpecError`` at ``location``."""
        if not isinstance(raw, Mapping):
            raise SpecError("receiver.signing must be a mapping", location,
                            'write `signing: {scheme: hubspot-v3, secret: "${WEBHOOK_SECRET}"}`')
        unknown = sorted(str(k) for k in raw if k not in SIGNING_SCHEMA["properties"])
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(SIGNING_SCHEMA["properties"]), n=1)
            raise SpecError(f"receiver.signing has an unknown key {unknown[0]!r}", location,
                            f"did you mean `{close[0]}`?" if close else
                            f"use only {', '.join(SIGNING_SCHEMA['properties'])}")
        name = raw.get("scheme")
        if name not in SCHEMES:
            close = difflib.get_close_matches(str(name), SCHEMES, n=1)
            raise SpecError(f"receiver.signing.scheme {name!r} is not a signing scheme", location,
                            f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(SCHEMES)}")
        secret = raw.get("secret")
        if not isinstance(secret, str) or not secret:
            raise SpecError("receiver.signing has no secret", location,
                            'add `secret: "${WEBHOOK_SECRET}"` and export the variable')
        secrets.register(secret)
        if name in HUBSPOT_SCHEMES:
            return cls._hubspot(str(name), secret, raw, location)
        return cls._generic(secret, raw, location)

    @classmethod
    def _hubspot(cls, name: str, secret: str, raw: Mapping[str, Any], location: Location | None) -> SigningScheme:
        fixed = sorted(k for k in ("header", "timestamp_header", "encoding", "message") if k in raw)
        if fixed:
            raise SpecError(f"{name} signs with HubSpot's fixed headers and message, so `{fixed[0]}` means nothing",
                            location, f"remove `{fixed[0]}`, or use `scheme: {HMAC}` for a sender of your own")
        if name == "hubspot-v3":
            return cls(name, secret)
        return cls(name, secret, header=hubspot.HEADER_V1_V2, timestamp_header=None, encoding="hex",
                   message="{body}" if name == "hubspot-v1" else "{method}{url}{body}")

    @classmethod
    def _generic(cls, secret: str, raw: Mapping[str, Any], location: Location | None) -> SigningScheme:
        header = raw.get("header")
        if not isinstance(header, str) or not _HEADER_NAME.match(header):
            raise SpecError(f"{HMAC} needs `header:`, the name of the header that carries the signature"
                            + (f" ({header!r} is not a header name)" if header is not None else ""), location,
                            "add `header: X-Signature` (the name your receiver reads)")
        stamp = raw.get("timestamp_header")
        if stamp is not None and (not isinstance(stamp, str) or not _HEADER_NAME.match(stamp)):
            raise SpecError(f"timestamp_header {stamp!r} is not a header name", location,
                            "write a header name such as X-Signature-Timestamp")
        encoding = raw.get("encoding", "hex")
        if encoding not in ENCODINGS:
            raise SpecError(f"encoding {encoding!r} is not hex or base64", location,
                            "write `encoding: hex` or `encoding: base64`")
        message = raw.get("message", "{timestamp}.{body}" if stamp else "{body}")
        if not isinstance(message, str):
            raise SpecError("message must be a string", location, 'write `message: "{timestamp}.{body}"`')
        names = _PLACEHOLDER.findall(message)
        bad = [n for n in names if n not in PLACEHOLDERS]
        if bad:
            raise SpecError(f"message has an unknown placeholder {{{bad[0]}}}", location,
                            f"use only {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        if "body" not in names:
            raise SpecError("message does not sign {body}, so any body would pass", location,
                            'include {body}, as in "{timestamp}.{body}"')
        if "timestamp" in names and not stamp:
            raise SpecError("message signs {timestamp} but no timestamp_header sends it", location,
                            "add `timestamp_header: X-Signature-Timestamp` (the name your receiver reads)")
        return cls(HMAC, secret, header=header, timestamp_header=stamp, encoding=str(encoding), message=message)

    @property
    def timestamped(self) -> bool:
        """Whether a timestamp is signed: only then can a receiver refuse a stale or replayed delivery."""
        return self.timestamp_header is not None and "{timestamp}" in self.message

    @property
    def header_names(self) -> tuple[str, ...]:
        """Every header this scheme adds, so an unsigned probe can leave them all out."""
        extra = (hubspot.HEADER_VERSION,) if self.scheme in HUBSPOT_SCHEMES else ()
        stamp = (self.timestamp_header,) if self.timestamp_header else ()
        return (self.header, *stamp, *extra)

    def stamp(self, now_ms: int) -> str:
        """The timestamp as the scheme sends it: milliseconds for HubSpot v3, Unix seconds otherwise."""
        return str(now_ms if self.scheme == "hubspot-v3" else now_ms // 1000)

    def _hmac_signature(self, body: bytes | str, url: str, now_ms: int) -> str:
        """The generic scheme's signature: HMAC-SHA256 of ``message`` with the placeholders filled in."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        parts = {"timestamp": self.stamp(now_ms).encode(), "body": raw, "url": url.encode("utf-8"),
                 "method": METHOD.encode()}
        message = b"".join(parts[piece] if i % 2 else piece.encode("utf-8")
                           for i, piece in enumerate(_PLACEHOLDER.split(self.message)))
        digest = hmac.new(self.secret.encode("utf-8"), message, hashlib.sha256).digest()
        return digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode("ascii")

    def signed_headers(self, body: bytes | str, url: str, now_ms: int) -> dict[str, str]:
        """The headers the sender adds to a POST of ``body`` to ``url`` at ``now_ms`` (ms since the epoch)."""
        version = HUBSPOT_SCHEMES.get(self.scheme)
        if version is not None:
            return hubspot.sign_headers(self.secret, METHOD, url, body, version=version, now_ms=now_ms)
        headers = {self.header: self._hmac_signature(body, url, now_ms)}
        if self.timestamp_header:
            headers[self.timestamp_header] = self.stamp(now_ms)
        return headers

    def __str__(self) -> str:
        return self.scheme if self.scheme in HUBSPOT_SCHEMES else f"{HMAC} in {self.header}"
