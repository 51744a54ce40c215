"""Hostile strings for the renderer tests, and the checks every output must pass with them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import strategies as st

from gtmcheck.visible import is_hidden

MARKUP = [
    "`", "``", "```", "|", "\\", "\\|", "[click](https://evil.example)", "![pixel](https://evil.example/p.png)",
    "[ref]: https://evil.example", "<https://evil.example>", "https://evil.example/x", "www.evil.example",
    "mailto:x@evil.example", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</details>",
    "<details>", "</td></tr></table>", '"><b>', "**Go-live: ready**", "_x_", "~~x~~", "# h", "- item",
    "&amp;", "&lt;b&gt;", "<!--", "-->", "<br>", "| --- |", ":", "(", ")", "!",
]
CONTROLS = [
    "\x00", "\x07", "\x08", "\x1b", "\x1b[31m", "\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;https://evil.example\x1b\\",
    "\r", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x7f", "\x85", "\x9b",
]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029", "\u00ad", "\u3164"]
LETTERS = ["é", "日本", "👍🏽", "a", "owner@acme.example", " "]
PARTS = MARKUP + CONTROLS + BIDI + INVISIBLE + LETTERS

_piece = st.one_of(st.sampled_from(PARTS), st.text(max_size=4))
_short = st.lists(_piece, min_size=1, max_size=8).map("".join)
# Some values are very long, to push the Markdown past a GitHub comment.
HOSTILE = st.one_of(_short, _short, _short, st.tuples(_short, st.integers(60, 400)).map(lambda p: p[0] * p[1]))
EVERYTHING = "".join(PARTS)


def raw_hidden(text: str, allowed: str = "\n") -> list[str]:
    """The hidden characters in ``text`` (other than ``allowed``), as code points, for a readable failure."""
    return sorted({f"U+{ord(c):04X}" for c in text if is_hidden(c) and c not in allowed})


class StrictHTML(HTMLParser):
    """Parse HTML and insist that every element closes in order: an injected tag would unbalance it."""

    VOID = {"meta", "br", "hr", "img", "link", "input", "rect"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.code: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "code":
            self._in_code += 1
            self.code.append("")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_code:
            self.code[-1] += data

    def handle_comment(self, data: str) -> None:
        # report.md splits ``mailto:`` with an empty comment (GitHub would otherwise autolink what follows)
        assert data == " ", f"an HTML comment: {data!r}"


def parse_html(html: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def table_column_counts(markdown: str) -> list[set[int]]:
    """For each Markdown table, the set of cell counts of its rows (one element when the table is whole).

    A pipe separates cells unless a backslash stands right before it: GitHub's (cmark-gfm's) rule.
    """
    tables = re.findall(r"(?:^\|.*\|\n)+", markdown, flags=re.M)
    return [{len(re.split(r"(?<!\\)\|", row)) for row in table.strip().splitlines()} for table in tables]
