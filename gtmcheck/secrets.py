r"""Secrets never reach output.

Every value that came from ``${ENV}`` or sits under a secret-looking key is registered here, and
everything gtmcheck prints or writes goes through ``redact``; log records of every logger are redacted when
they are made (``install_log_redaction``).

A vendor may echo a token back in another spelling, so each registered secret is masked in the forms it
can take: any letter case; percent-encoded (``quote``/``quote_plus``, either hex case); JSON ``\uXXXX`` and
short escapes; HTML character references; and for values of ``MIN_ENCODED_LENGTH`` or more, hex and base64
(standard or URL-safe, padded or not, of the secret and of its upper/lower-case spelling, and inside a longer
base64 text at each of the three byte alignments, e.g. ``Basic`` credentials). Independently of what is
registered, URL passwords, ``Bearer`` values and ``Basic`` credentials (base64 of ``user:password``) are masked.

``redact`` is linear in the length of the text: all known forms are one compiled alternation of fixed-length
pieces (rebuilt on ``register``), and the other patterns have no nested or overlapping quantifiers.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_secrets: set[str] = set()
_known: re.Pattern[str] | None = None  # every form of every secret; None when nothing is registered
_stale = False

SECRET_KEYS = re.compile(r"(token|secret|password|passwd|api[_-]?key|authorization|session)", re.I)
_SCHEME_CHARS = r"a-z0-9+.\-"
# Found by its literal ``://`` (no scheme run to backtrack over); user and password stop at fixed characters.
# RFC 3986 userinfo characters only: text that merely contains ``://`` and later ``:x@`` (a JSON ``\u001f``
# escape, a ``mailto:`` after a link) is no URL password
_USERINFO = r"A-Za-z0-9\-._~%!$&'()*+,;="
_URL_PASSWORD = re.compile(rf"(?<=[{_SCHEME_CHARS}])://(?P<user>[{_USERINFO}]*):(?P<pw>[{_USERINFO}:]+)@", re.I)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
_BASIC = re.compile(r"(?i)\b(basic)\s+(?P<cred>[A-Za-z0-9+/_\-]{8,}={0,2})")
MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words
MIN_BASE64_CORE = 8  # base64 pieces shorter than this would mask ordinary words; 8 chars encode 6 bytes
MIN_ENCODED_LENGTH = 8  # hex and base64 of a shorter value (a port, a flag) could be any number or id
_ENTITIES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = {'"', "\\", "/"}


def register(value: str) -> None:
    """Remember ``value`` as secret, and the password inside it if it is a URL."""
    _add([value, *_passwords(value)])


def register_url_passwords(text: str) -> None:
    """Remember only the passwords of the URLs in ``text`` (a URL written in a file is not itself secret)."""
    _add(_passwords(text))


def _passwords(text: str) -> list[str]:
    return [m["pw"] for m in _URL_PASSWORD.finditer(text)] if "://" in text else []


def _add(values: Iterable[str]) -> None:
    global _stale
    with _lock:
        before = len(_secrets)
        _secrets.update(v for v in values if len(v) >= MIN_LENGTH)
        _stale = _stale or len(_secrets) != before


def redact(text: str) -> str:
    """Mask registered secrets (in every spelling above), URL passwords, bearer and basic credentials."""
    if not text:
        return text
    text = _mask_generic(text)  # first, so that ``Basic`` credentials go whole, not around a masked secret
    known = _known_pattern()
    if known is not None:
        text, count = known.subn(MASK, text)
        if count:  # a masked secret can open a word boundary before ``Bearer`` or ``Basic``: look again
            text = _mask_generic(text)
    return text


def _mask_generic(text: str) -> str:
    """URL passwords, bearer tokens and basic credentials, registered or not."""
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"://{m['user']}:{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    return _BASIC.sub(_mask_basic, text)


def clear() -> None:
    """Forget every registered secret (tests only)."""
    global _known, _stale
    with _lock:
        _secrets.clear()
        _known, _stale = None, False


def _known_pattern() -> re.Pattern[str] | None:
    global _known, _stale
    with _lock:
        if _stale:
            _known = _compile(_secrets)
            _stale = False
        return _known


def _compile(values: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of every form of every secret: the longest secret first, then its longest form."""
    pieces: list[tuple[int, int, str]] = []
    for value in values:
        for form in forms(value):
            pieces.append((len(value), len(form), form))
    if not pieces:
        return None
    pieces.sort(key=lambda p: (-p[0], -p[1], p[2]))
    unique = list(dict.fromkeys(p[2] for p in pieces))
    return re.compile("|".join(unique))


def forms(value: str) -> list[str]:
    """Regex sources for every spelling of ``value`` that is masked (letter case matters in base64 only)."""
    out = ["(?i:" + "".join(_char_forms(ch) for ch in value) + ")"]
    if len(value) < MIN_ENCODED_LENGTH:
        return out
    variants = dict.fromkeys((value, value.upper(), value.lower()))
    for variant in variants:
        raw = variant.encode("utf-8", "surrogatepass")
        out.append(f"(?i:{raw.hex()})")
        out.extend(_base64_forms(raw))
    return out


def _char_forms(ch: str) -> str:
    """One character as itself or percent-, JSON- or HTML-escaped (hex digits in either case)."""
    code = ord(ch)
    alternatives = [re.escape(ch), "".join(f"%{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))]
    if ch == " ":
        alternatives.append(r"\+")
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        alternatives.append(rf"\\u{high:04x}\\u{low:04x}")
    else:
        alternatives.append(rf"\\u{code:04x}")
    if ch in _JSON_SHORT:
        alternatives.append(re.escape("\\" + ch))
    alternatives.append(f"&#0*{code};")
    alternatives.append(f"&#x0*{code:x};")
    if ch in _ENTITIES:
        alternatives.append(f"&{_ENTITIES[ch]};")
    return "(?:" + "|".join(alternatives) + ")"


def _base64_forms(raw: bytes) -> list[str]:
    """The whole base64 text (with its padding), and the part that stays the same whatever bytes precede ``raw``."""
    whole = base64.b64encode(raw).decode().rstrip("=")
    out = [_b64_source(whole) + "(?:=|%3[dD]){0,2}"] if len(whole) >= MIN_LENGTH else []
    for start in range(3):
        chunk = raw[start:]
        core = base64.b64encode(chunk[: len(chunk) // 3 * 3]).decode()
        if len(core) >= MIN_BASE64_CORE and core != whole:
            out.append(_b64_source(core))
    return out


def _b64_source(text: str) -> str:
    return "".join(_b64_char(c) for c in text)


def _b64_char(c: str) -> str:
    """A base64 character in the standard or URL-safe alphabet, or percent-encoded."""
    if c == "+":
        return r"(?:[+\-]|%2[bB])"
    if c == "/":
        return r"(?:[/_]|%2[fF])"
    return c


def _mask_basic(m: re.Match[str]) -> str:
    """``Basic <base64>`` is masked when it decodes to printable ``user:password``."""
    cred = m["cred"].replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(cred + "=" * (-len(cred) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return m[0]
    if ":" in decoded and decoded.isprintable():
        return f"{m[1]} {MASK}"
    return m[0]


# --- log records ------------------------------------------------------------------------------------------

_previous_factory: Callable[..., logging.LogRecord] | None = None


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    if _known is not None or _stale or _has_generic_secret(record):
        redact_record(record)
    return record


def _has_generic_secret(record: logging.LogRecord) -> bool:
    """Without registered secrets only URL passwords and bearer/basic values can need masking."""
    text = str(record.msg) + ("" if record.args is None else repr(record.args))
    lowered = text.lower()
    return "://" in text or "bearer" in lowered or "basic" in lowered or record.exc_info is not None


def redact_record(record: logging.LogRecord) -> None:
    """Mask secrets in a record's message, its arguments, its exception and stack text, in place."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - logging would print msg and args raw when it fails to format them
        message = f"{record.msg!s} {record.args!r}"
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> None:
    """Make every log record of every logger redacted when it is created (once per process)."""
    global _previous_factory
    current = logging.getLogRecordFactory()
    if current is _redacting_factory:
        return
    _previous_factory = current
    logging.setLogRecordFactory(_redacting_factory)
