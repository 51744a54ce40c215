"""visible(), shorten() and json_text(): hidden characters shown, real letters kept, JSON that round-trips."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtmcheck.visible import is_hidden, json_text, shorten, visible

HIDDEN = [
    "\x00", "\x07", "\x1b", "\r", "\t", "\x7f", "\x85", "\x9b",  # C0, DEL, C1 (CSI)
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",  # bidi isolates and marks
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width, word joiner, BOM, soft hyphen
    "\u2028", "\u2029",  # line and paragraph separators
    "\U000e0001", "\U000e0041",  # tag characters
    "\ud800",  # a lone surrogate
    "\u3164",  # a Hangul filler: a letter that draws nothing
]


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_every_hidden_character_becomes_a_visible_escape(char: str) -> None:
    shown = visible(f"a{char}b")
    assert char not in shown
    assert shown.startswith("a") and shown.endswith("b") and len(shown) > 3
    assert shown.isascii() and shown.isprintable()


def test_escape_forms() -> None:
    assert visible("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert visible("a\r\nb\tc\x00") == "a\\r\\nb\\tc\\x00"
    assert visible("\x9b2J") == "\\x9b2J"
    assert visible("evil\u202eexe.txt") == "evil<U+202E>exe.txt"
    assert visible("x\u200by") == "x<U+200B>y"
    assert visible("\U000e0041") == "<U+E0041>"


def test_keep_leaves_line_breaks_for_renderers_that_handle_them() -> None:
    assert visible("one\ntwo\rthree", keep="\n") == "one\ntwo\\rthree"


@pytest.mark.parametrize(
    "text", ["plain ASCII ~!@#$%^&*()", "é ü ß Ø", "日本語のテキスト", "emoji 👍🏽 🇩🇪", "a\u00a0b", "Zalgo ẑ̷"]
)
def test_real_letters_and_ordinary_spaces_stay(text: str) -> None:
    assert visible(text) == text


@given(st.text())
def test_visible_leaves_nothing_hidden_and_keeps_everything_else(text: str) -> None:
    shown = visible(text)
    assert not any(is_hidden(c) for c in shown)
    # what was not hidden is still there, in order
    kept = iter(shown)
    assert all(any(c == s for s in kept) for c in text if not is_hidden(c))


def test_hidden_means_the_unicode_categories_that_draw_nothing() -> None:
    for code in range(0x3000):
        char = chr(code)
        category = unicodedata.category(char)
        expected = category in ("Cc", "Cf", "Zl", "Zp", "Cs") or char == "\u115f" or char == "\u1160"
        assert is_hidden(char) == expected, (hex(code), category)


def test_shorten_keeps_short_text_and_says_what_it_left_out() -> None:
    assert shorten("abc", 3) == "abc"
    assert shorten("abcdef", 3) == "abc… (3 more characters)"
    assert shorten("x" * 100_000, 200) == "x" * 200 + "… (99800 more characters)"


@given(st.recursive(st.text() | st.integers() | st.none(), lambda i: st.lists(i) | st.dictionaries(st.text(), i)))
def test_json_text_round_trips_with_nothing_hidden_raw(value: object) -> None:
    text = json_text(value)
    assert not any(is_hidden(c) for c in text if c not in "\n")
    assert json.loads(text) == value


def test_json_text_keeps_readable_unicode_and_escapes_bidi() -> None:
    text = json_text({"name": "Café 日本 👍", "evil": "a\u202eb\u2028c\x85\U000e0041"}, indent=None)
    assert text == '{"name": "Café 日本 👍", "evil": "a\\u202eb\\u2028c\\u0085\\udb40\\udc41"}'
    text.encode("utf-8")  # even a lone surrogate could not stop the report from being written
    assert json.loads(json_text("\ud800")) == "\ud800"
