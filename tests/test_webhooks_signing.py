"""SigningScheme: the checklist's `receiver.signing` mapping, signed as each vendor documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from gtmcheck import secrets, signatures
from gtmcheck.errors import Location, SpecError
from gtmcheck.kinds.webhooks.signing import SigningScheme

SECRET = "whsec-signing-7a6b5c4d"
URL = "https://hooks.acme.example/in?portal=42"
BODY = b'{"event":"account.updated","note":"{timestamp} stays literal"}'
NOW_MS = 1_790_000_000_123
WHERE = Location("checks/webhooks.gtm.yml", 20, 5)


def scheme(**raw: Any) -> SigningScheme:
    return SigningScheme.from_mapping({"secret": SECRET, **raw}, WHERE)


def test_hmac_sha256_signs_timestamp_dot_body_in_hex_with_unix_seconds() -> None:
    signing = scheme(scheme="hmac-sha256", header="X-Acme-Signature", timestamp_header="X-Acme-Timestamp")
    headers = signing.signed_headers(BODY, URL, NOW_MS)
    expected = hmac.new(SECRET.encode(), b"1790000000." + BODY, hashlib.sha256).hexdigest()
    assert headers == {"X-Acme-Signature": expected, "X-Acme-Timestamp": "1790000000"}
    assert signing.timestamped


def test_hmac_sha256_with_base64_and_a_message_of_its_own() -> None:
    signing = scheme(scheme="hmac-sha256", header="X-Sig", timestamp_header="X-Ts", encoding="base64",
                     message="{method} {url}\n{timestamp}\n{body}")
    message = f"POST {URL}\n1790000000\n".encode() + BODY
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert signing.signed_headers(BODY, URL, NOW_MS)["X-Sig"] == expected


def test_hmac_sha256_without_a_timestamp_header_signs_the_body_and_cannot_prove_age() -> None:
    signing = scheme(scheme="hmac-sha256", header="X-Hub-Signature-256")
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signing.signed_headers(BODY, URL, NOW_MS) == {"X-Hub-Signature-256": expected}
    assert not signing.timestamped


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_hubspot_schemes_sign_as_the_sandbox_does(version: str) -> None:
    signing = scheme(scheme=f"hubspot-{version}")
    assert signing.signed_headers(BODY, URL, NOW_MS) == signatures.sign_headers(
        SECRET, "POST", URL, BODY, version=version, now_ms=NOW_MS)
    assert signing.timestamped == (version == "v3")


def test_hubspot_v3_is_the_documented_hmac() -> None:
    headers = scheme(scheme="hubspot-v3").signed_headers(BODY, URL, NOW_MS)
    message = f"POST{URL}".encode() + BODY + str(NOW_MS).encode()
    assert headers["X-HubSpot-Signature-v3"] == base64.b64encode(
        hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert headers["X-HubSpot-Request-Timestamp"] == str(NOW_MS)


def test_the_secret_is_registered_and_never_in_a_repr() -> None:
    signing = scheme(scheme="hubspot-v3")
    assert SECRET not in repr(signing) and SECRET not in str(signing)
    assert secrets.redact(f"secret={SECRET}") == "secret=***"


@pytest.mark.parametrize(("raw", "message", "fix"), [
    ({"scheme": "hubspot-v3", "timestamp_headr": "X"}, "unknown key 'timestamp_headr'", "`timestamp_header`"),
    ({"scheme": "hmac_sha256"}, "'hmac_sha256' is not a signing scheme", "`hmac-sha256`"),
    ({"scheme": "hubspot-v3", "header": "X-Sig"}, "fixed headers", "scheme: hmac-sha256"),
    ({"scheme": "hmac-sha256"}, "needs `header:`", "header: X-Signature"),
    ({"scheme": "hmac-sha256", "header": "X Sig"}, "'X Sig' is not a header name", "header: X-Signature"),
    ({"scheme": "hmac-sha256", "header": "X-Sig", "message": "{timestamp}.{body}"},
     "signs {timestamp} but no timestamp_header", "timestamp_header:"),
    ({"scheme": "hmac-sha256", "header": "X-Sig", "message": "static"}, "does not sign {body}", "{body}"),
    ({"scheme": "hmac-sha256", "header": "X-Sig", "message": "{id}.{body}"}, "unknown placeholder {id}",
     "{timestamp}"),
    ({"scheme": "hmac-sha256", "header": "X-Sig", "encoding": "b64"}, "'b64' is not hex or base64",
     "encoding: base64"),
])
def test_unusable_signing_is_an_error_at_the_receiver_line_with_a_fix(raw: dict[str, Any], message: str,
                                                                      fix: str) -> None:
    with pytest.raises(SpecError) as caught:
        scheme(**raw)
    text = str(caught.value)
    assert text.startswith("checks/webhooks.gtm.yml:20:5: ") and message in text
    assert fix in text.split(". Fix: ")[1]
    assert SECRET not in text


def test_signing_must_be_a_mapping() -> None:
    with pytest.raises(SpecError, match="receiver.signing must be a mapping"):
        SigningScheme.from_mapping("hubspot-v3", WHERE)
