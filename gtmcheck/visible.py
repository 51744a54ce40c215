r"""Make user text safe to show: invisible and control characters become visible escapes.

Names, owners, messages and CSV values reach terminals, reports and CI logs. A raw ESC can recolour or
rewrite a terminal, a CR can overwrite the line a reviewer reads, U+202E can make ``exe.txt`` read as
``txt.exe``, and a zero-width space makes two different owners look the same. So every renderer shows such
characters as ``\x1b`` or ``<U+202E>`` instead of passing them on, while real letters (é, 日本, emoji) stay.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Categories that never draw a glyph of their own: controls, format characters (bidi, zero-width, BOM),
# line and paragraph separators, and lone surrogates (which cannot even be written as UTF-8).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Letters that render as blank space and are used to fake empty or look-alike names.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Only characters outside printable ASCII can be hidden; plain ASCII text is matched by nothing.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")
# ``json.dumps`` already escapes C0 controls inside strings; outside strings it writes only ASCII layout.
_JSON_CANDIDATE = re.compile(r"[^\x00-\x7e]")


def is_hidden(char: str) -> bool:
    """Whether one character would reach the reader as nothing, or as a terminal or layout command."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS


def escape_char(char: str) -> str:
    r"""The visible stand-in: ``\n``, ``\x1b`` for controls (C0, DEL, C1), ``<U+202E>`` for the rest."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def visible(text: str, *, keep: str = "") -> str:
    r"""``text`` with every hidden character (see :func:`is_hidden`) but those in ``keep`` made visible.

    ``keep`` is for a renderer that deals with line breaks itself (``"\n"``). Linear in ``len(text)``.
    """
    if text.isprintable() and not _BLANK_LETTERS.intersection(text):
        return text

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return escape_char(char) if char not in keep and is_hidden(char) else char

    return _CANDIDATE.sub(replace, text)


def shorten(text: str, limit: int) -> str:
    """At most about ``limit`` characters of ``text``, saying how many were left out.

    Cutting a value, rather than the document it sits in, keeps tables, code spans and blocks whole.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def json_text(value: Any, *, indent: int | None = 2) -> str:
    r"""JSON that keeps readable Unicode but writes hidden characters as ``\u`` escapes.

    ``json.dumps(ensure_ascii=False)`` passes U+202E, U+2028 or C1 controls through raw; here they become
    ``\u202e`` (surrogate pairs above U+FFFF), which any JSON parser decodes back to the original value.
    """
    text = json.dumps(value, indent=indent, ensure_ascii=False)

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return _json_escape(char) if is_hidden(char) else char

    return _JSON_CANDIDATE.sub(replace, text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
