"""``secrets.redact``: every spelling of a registered secret is masked, in linear time, at every boundary."""

from __future__ import annotations

import base64
import copy
import html
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report_schema import GOOD

from gtmcheck import secrets
from gtmcheck.cli import main
from gtmcheck.connectors.http import ApiClient, RetryPolicy
from gtmcheck.errors import ApiError
from gtmcheck.kinds.utm.url_rules import show_value
from gtmcheck.synthetic import RunCleanup

TOKEN = "pat-na1-0b6f3a52-91c4-4d7e-a8f2-6e1d9c3b7a40"

ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "swapcase": str.swapcase,
    "quote": lambda s: quote(s, safe=""),
    "quote-keep-slash": quote,
    "quote_plus": quote_plus,
    "quote-lower-hex": lambda s: quote(s, safe="").lower(),
    "percent-every-byte": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-unpadded": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "base64-urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64-of-upper": lambda s: base64.b64encode(s.upper().encode()).decode(),
    "base64-in-url": lambda s: quote(base64.b64encode(s.encode()).decode(), safe=""),
    "hex": lambda s: s.encode().hex(),
    "hex-upper": lambda s: s.encode().hex().upper(),
    "json": lambda s: json.dumps(s)[1:-1],
    "json-ascii-escapes": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "html-escape": html.escape,
    "html-decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(f"&#x{ord(c):X};" for c in s),
}

# realistic secrets: printable ASCII without spaces; ``*`` is the mask itself
SECRET_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="*")
secret_values = st.text(SECRET_CHARS, min_size=8, max_size=48)


def embedded_base64_cores(value: str, prefix: bytes) -> list[str]:
    """What must not survive of ``value`` inside longer base64 text: every whole 3-byte group of it."""
    raw = value.encode()
    start = -len(prefix) % 3  # the first byte of ``value`` that begins a group
    chunk = raw[start:]
    core = base64.b64encode(chunk[: len(chunk) // 3 * 3]).decode()
    return [core] if len(core) >= secrets.MIN_BASE64_CORE else []


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_spelling_of_a_registered_secret_is_masked(encoding: str) -> None:
    secrets.register(TOKEN)
    form = ENCODINGS[encoding](TOKEN)
    out = secrets.redact(f"the server said <{form}> twice: {form}.")
    assert form not in out and TOKEN[8:20] not in out.lower()
    assert out.count(secrets.MASK) == 2, out


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"use"])
def test_a_secret_inside_longer_base64_text_is_masked_at_every_alignment(prefix: bytes) -> None:
    secrets.register(TOKEN)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(prefix + TOKEN.encode() + b"!tail").decode()
        out = secrets.redact(f"Authorization: Custom {text}")
        for core in embedded_base64_cores(TOKEN, prefix):
            assert core not in out and core.replace("+", "-").replace("/", "_") not in out


def test_basic_credentials_are_masked_without_registration() -> None:
    header = "Basic " + base64.b64encode(b"api-user:correct horse battery").decode()
    assert secrets.redact(f"Authorization: {header}") == "Authorization: Basic ***"
    assert secrets.redact("basic authentication is enabled") == "basic authentication is enabled"
    assert secrets.redact("Basic Settings page") == "Basic Settings page"


def test_ordinary_text_stays_readable() -> None:
    """Short values are masked as written (any case) but not as hex or base64, which could be any number or id."""
    secrets.register("5432")
    assert secrets.redact("port 5432, record 3534333200, id NTQzMg") == "port ***, record 3534333200, id NTQzMg"
    secrets.register_url_passwords("https://crm.internal/api and postgresql://gtm:S3cret-pw-42@db/gtm")
    assert secrets.redact("GET https://crm.internal/api/x") == "GET https://crm.internal/api/x"
    assert secrets.redact("password S3cret-pw-42 (S3CRET-PW-42)") == "password *** (***)"


def test_redact_before_cut_leaves_no_prefix_of_a_cut_secret() -> None:
    secrets.register(TOKEN)
    body = ("x" * 180 + TOKEN + "y" * 100)[:250]
    transport = httpx.MockTransport(lambda request: httpx.Response(400, text=body))
    client = ApiClient("https://api.example", vendor="hubspot", token=TOKEN, transport=transport,
                       retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError) as excinfo:
        client.get_json("/crm/v3/objects/contacts")
    assert TOKEN[:12] not in str(excinfo.value) and "x***" in str(excinfo.value)
    value = "Campaign-" + TOKEN
    assert TOKEN[:12] not in show_value(value) and show_value(value) == "'Campaign-***'"


def test_report_rendered_again_to_a_file_is_redacted(tmp_path: Path) -> None:
    bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"
    report = copy.deepcopy(GOOD)  # a report.json of the published shape, with the bearer in two values
    report["checklists"][0]["name"] = f"x {bearer}"
    report["checklists"][0]["items"][0]["message"] = f"sent {bearer}"
    (tmp_path / "report.json").write_text(json.dumps(report))
    for fmt in ("md", "html"):
        assert main(["report", str(tmp_path / "report.json"), "--format", fmt, "-o", str(tmp_path / "out")]) == 0
        text = (tmp_path / "out").read_text()
        assert "eyJhbGciOiJIUzI1NiJ9" not in text
        assert ("Bearer ***" if fmt == "html" else r"Bearer \*\*\*") in text  # Markdown escapes the mask


def test_api_error_redacts_every_vendor_field() -> None:
    secrets.register(TOKEN)
    error = ApiError(f"denied {TOKEN}", status=401, code=TOKEN.upper(), correlation_id=TOKEN,
                     method="GET", url=f"https://api.example/x?token={TOKEN}")
    assert TOKEN.lower() not in str(error).lower()
    assert error.code == error.correlation_id == secrets.MASK
    assert "HTTP 401" in str(error)


def test_cleanup_summary_redacts_the_vendors_error() -> None:
    secrets.register(TOKEN)
    summary = RunCleanup("gtm-1", error=f"ApiError: POST /x: hubspot: bad token (HTTP 401, {TOKEN})").summary()
    assert TOKEN not in summary and "gtmcheck cleanup --run-id gtm-1" in summary


@pytest.mark.parametrize("logger_name", ["httpcore.http11", "httpcore.connection", "httpx", "some.library"])
def test_log_records_of_every_logger_are_redacted(logger_name: str, caplog: pytest.LogCaptureFixture) -> None:
    secrets.register(TOKEN)
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger(logger_name)
    logger.debug("receive_response_headers.complete return_value=%r", [(b"X-Echo", TOKEN.encode())])
    try:
        raise ValueError(f"bad {TOKEN}")
    except ValueError:
        logger.exception("failed with %s", base64.b64encode(TOKEN.encode()).decode())
    text = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert TOKEN not in text and base64.b64encode(TOKEN.encode()).decode() not in text
    assert "***" in text and "ValueError: bad ***" in text


def test_log_records_keep_their_args_when_nothing_needs_masking(caplog: pytest.LogCaptureFixture) -> None:
    secrets.register(TOKEN)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("gtmcheck.test").debug("GET %s -> %d", "/crm/v3/owners", 200)
    assert caplog.records[-1].args == ("/crm/v3/owners", 200)


def test_redact_does_not_hang_on_long_text() -> None:
    """Was quadratic: 40,000 letters took 9 s, so 400,000 would take about 15 minutes; now well under a second."""
    script = textwrap.dedent(f"""
        from gtmcheck import secrets
        secrets.register({TOKEN!r})
        for text in ("a" * 400_000, "a:" * 200_000, "https://" + "u" * 400_000, "Bearer " * 60_000):
            secrets.redact(text)
        print("done")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "done", result.stderr


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=secret_values, encoding=st.sampled_from(sorted(ENCODINGS)), before=st.text(), after=st.text())
def test_no_spelling_of_a_secret_survives_whatever_surrounds_it(
    value: str, encoding: str, before: str, after: str
) -> None:
    secrets.clear()
    secrets.register(value)
    form = ENCODINGS[encoding](value)
    out = secrets.redact(before + form + after)
    assert form not in out
    assert value not in out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=secret_values, prefix=st.binary(max_size=5), suffix=st.binary(max_size=5), urlsafe=st.booleans())
def test_no_base64_group_of_a_secret_survives_inside_longer_base64(
    value: str, prefix: bytes, suffix: bytes, urlsafe: bool
) -> None:
    secrets.clear()
    secrets.register(value)
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = secrets.redact("data=" + encode(prefix + value.encode() + suffix).decode())
    for core in embedded_base64_cores(value, prefix):
        assert (core.replace("+", "-").replace("/", "_") if urlsafe else core) not in out


secret_free_text = st.text().filter(
    lambda t: "://" not in t and "bearer" not in t.lower() and "basic" not in t.lower()
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=secret_free_text)
def test_text_with_nothing_secret_like_comes_back_unchanged(text: str) -> None:
    secrets.clear()
    secrets.register(TOKEN)
    secrets.register("postgresql://gtm:S3cret-pw-42@db.internal/gtm")
    assert secrets.redact(text) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=secret_values, encoding=st.sampled_from(sorted(ENCODINGS)), before=st.text(), after=st.text(),
       noise=st.sampled_from(["", "Bearer abc.def", "https://u:pw12345@h/x", "Basic dXNlcjpwYXNzd29yZA==", "***"]))
def test_redact_is_idempotent(value: str, encoding: str, before: str, after: str, noise: str) -> None:
    secrets.clear()
    secrets.register(value)
    once = secrets.redact(before + noise + ENCODINGS[encoding](value) + after)
    assert secrets.redact(once) == once


def test_a_json_escape_between_a_link_and_mailto_is_no_url_password() -> None:
    """report.json writes U+001F as ``\\u001f``; redacting that text took ``mailto:x`` for ``user:password``."""
    text = json.dumps("[click](https://evil.example)\x1fmailto:x@evil.example")
    assert secrets.redact(text) == text
    assert secrets.redact("postgresql://gtm:s3cr3t@db.example/gtm") == "postgresql://gtm:***@db.example/gtm"
