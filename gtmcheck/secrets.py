"""Secrets never reach output.

Every value that came from ``${ENV}`` or sits under a secret-looking key is registered here, and
everything gtmcheck prints or writes goes through ``redact``.
"""

from __future__ import annotations

import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

SECRET_KEYS = re.compile(r"(token|secret|password|passwd|api[_-]?key|authorization|session)", re.I)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words


def register(value: str) -> None:
    """Remember ``value`` as secret, and the password inside it if it is a URL."""
    with _lock:
        if len(value) >= MIN_LENGTH:
            _secrets.add(value)
        for m in _URL_PASSWORD.finditer(value):
            if len(m["pw"]) >= MIN_LENGTH:
                _secrets.add(m["pw"])


def redact(text: str) -> str:
    """Mask registered secrets, URL passwords and bearer tokens in ``text``."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)


def clear() -> None:
    """Forget every registered secret (tests only)."""
    with _lock:
        _secrets.clear()
