"""Reports that cannot be hijacked: names, owners, ids and messages are data in every view, never markup.

Markdown is checked as GitHub renders it (cmark-gfm, with raw HTML allowed as a PR comment does), HTML with
a strict parser, report.json by parsing it back.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hostile import EVERYTHING, HOSTILE, parse_html, raw_hidden, table_column_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmcheck.report.html import CSS, render_html
from gtmcheck.report.markdown import DEFAULT_MAX_CHARS, NAME_LIMIT, render_markdown
from gtmcheck.report.write import redact_tree, write_reports
from gtmcheck.visible import shorten, visible

# What the report's own Markdown and GitHub's rendering of it may contain; anything else was injected.
MARKDOWN_TAGS = {
    "h2", "h3", "p", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "code", "br", "details",
    "summary", "ul", "li", "hr", "sub",
}
HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "section", "div", "span", "ul",
    "li", "table", "thead", "tbody", "tr", "th", "td", "a", "svg", "rect", "details", "summary", "code", "b",
    "small", "footer",
}


def github(markdown: str) -> str:
    """The HTML GitHub makes of a comment (before its own sanitiser, so an injection shows up here)."""
    html: str = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return html


def report_with(values: list[str]) -> dict[str, Any]:
    """A blocked report whose every user-controlled string is taken from ``values`` (cycled)."""
    pool = itertools.cycle(values)

    def v() -> str:
        return next(pool)

    checklists = []
    for n in range(2):
        dod_ids = [v(), v()]
        items = [
            {"id": v(), "dod": dod_ids[0], "text": v(), "status": "failed", "message": v(), "evidence": v(),
             "expected": v(), "received": v(), "line": 3, "location": v(), "duration_s": 0.1},
            {"id": v(), "dod": dod_ids[1], "text": v(), "status": "error", "message": v(), "evidence": v(),
             "line": 9, "location": v(), "duration_s": 0.1},
        ]
        checklists.append({
            "file": v(), "kind": v(), "name": v(), "owner": v(), "built_by": v(), "work_type": v(),
            "signoff": {"by": v(), "role": v(), "on": v()} if n else None,
            "completeness": 50.0, "go_live": False, "blocking": [v()], "error": v() if n else None,
            "dod": [
                {"id": dod_ids[0], "text": v(), "status": "failed"},
                {"id": dod_ids[1], "text": v(), "status": v()},
            ],
            "items": items,
        })
    summary = {
        "passed": 1, "failed": 2, "error": 2, "attested": 0, "not_configured": 0, "completeness": 50.0,
        "go_live": False, "blocking": [v(), v()], "checklists": 2, "run_id": v(), "environment": v(),
        "started_at": v(), "duration_s": 1.5, "partial": False,
    }
    return {"summary": summary, "checklists": checklists}


def code_text(value: str) -> str:
    """What a code span of ``value`` must show: hidden characters visible, whitespace collapsed."""
    return shorten(" ".join(visible(value, keep="\n\t").split()), NAME_LIMIT)


# --- one test per promise, each failing before this change ----------------------------------------------


def test_markdown_values_cannot_leave_their_code_spans() -> None:
    report = report_with(["x"])
    ids = ["a``b <b>bold</b> ``c", "`", "x`|`y", "``` fence", "end\\"]
    for item, value in zip(report["checklists"][1]["items"] + report["checklists"][0]["items"], ids, strict=False):
        item["id"] = value
    report["checklists"][1]["dod"][0]["id"] = "dod``id | <i>x</i>"  # in a table cell
    report["checklists"][1]["items"][0]["dod"] = "dod``id | <i>x</i>"
    html = github(render_markdown(report))
    codes = parse_html(html).code
    for value in ids[:4] + ["dod``id | <i>x</i>"]:
        assert code_text(value) in codes, (value, codes)
    assert "<b>" not in html and "<i>" not in html


def test_markdown_names_and_owners_render_no_links_or_images() -> None:
    report = report_with(["x"])
    first, second = report["checklists"]
    second["name"] = "[click here](https://evil.example/login)"
    second["owner"] = "![pixel](https://evil.example/p.png)"
    second["built_by"] = "https://evil.example/x and www.evil.example"
    second["signoff"]["by"] = "[lee](https://evil.example)"
    first["name"] = "<https://evil.example> [ref] ![alt][ref]"
    first["items"][0]["message"] = "see [docs](javascript:alert(1)) or <a href='https://evil.example'>here</a>"
    md = render_markdown(report)
    html = github(md + "\n[ref]: https://evil.example\n")
    tags = parse_html(html).tags
    assert [t for t, _ in tags if t in ("a", "img")] == []
    assert "click here" in html and "evil.example/login" in html  # shown, as text


def test_markdown_pipes_and_newlines_cannot_break_tables() -> None:
    report = report_with(["x"])
    report["summary"]["passed"] = "1 | 2\n| 3 |"  # a hand-edited report.json given to `gtmcheck report`
    c = report["checklists"][1]
    c["name"], c["kind"] = "a | b\r\n| c", "k\\|"
    c["signoff"] = {"by": "x\\", "role": "r|\u2028s", "on": "2026|\n11"}
    c["dod"][0]["text"] = "line one\nline two | x"
    md = render_markdown(report)
    assert all(len(widths) == 1 for widths in table_column_counts(md)), md
    html = github(md)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    assert [len(re.findall(r"<t[hd][ >]", row)) for row in rows] == [6, 6, 5, 5, 5, 3, 3, 3, 3, 3, 3]
    assert "<td>a | b\\r<br>| c</td>" in html


def test_markdown_shortens_very_long_values_and_stays_whole() -> None:
    report = report_with(["x"])
    report["checklists"][0]["name"] = "N" * 100_000
    report["checklists"][0]["items"][0]["message"] = "M" * 100_000
    report["checklists"][1]["name"] = "second checklist"
    md = render_markdown(report)
    assert len(md) <= DEFAULT_MAX_CHARS
    html = github(md)
    assert "<h3>" + "N" * 200 + "… (99800 more characters)</h3>" in html
    assert "M" * 1000 + "… (99000 more characters)" in html
    assert "<h3>second checklist</h3>" in html  # nothing after the long value was cut off
    assert md.count("<details>") == md.count("</details>")


def test_markdown_cut_to_a_tiny_limit_keeps_blocks_closed() -> None:
    md = render_markdown(report_with(["y" * 900]), max_chars=3_000)
    assert len(md) <= 3_000
    assert md.count("<details>") == md.count("</details>")
    assert all(line.endswith("|") for line in md.splitlines() if line.startswith("|"))  # no half a row
    assert all(len(widths) == 1 for widths in table_column_counts(md))
    assert md.rstrip().endswith("see report.html or report.json for all of it._")


def test_every_view_shows_control_bidi_and_zero_width_characters(tmp_path: Path) -> None:
    report = report_with([f"name{EVERYTHING}end"])
    write_reports(report, tmp_path)
    for name in ("report.md", "report.html", "report.json"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert raw_hidden(text) == [], name
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "evil&lt;U+202E&gt;exe" in render_html(report_with(["evil\u202eexe"]))
    assert "\\x1b[31m" in html and "&lt;U+200B&gt;" in html
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == redact_tree(report)


def test_html_has_a_strict_content_security_policy() -> None:
    html = render_html(report_with(["x"]))
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert policy, "no Content-Security-Policy"
    directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";"))
    assert directives["default-src"] == "'none'"
    css_hash = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{css_hash}'"  # the page's own stylesheet and nothing else
    assert "script-src" not in directives and "unsafe-inline" not in policy.group(1)
    assert html.index("Content-Security-Policy") < html.index("<style>")  # in force before the style loads
    assert f"<style>{CSS}</style>" in html
    assert " style=" not in html  # style attributes would be blocked


# --- every renderer, with anything ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(values=st.lists(HOSTILE, min_size=1, max_size=12))
def test_hostile_values_through_markdown(values: list[str]) -> None:
    report = report_with(values)
    md = render_markdown(report)
    assert len(md) <= DEFAULT_MAX_CHARS
    assert raw_hidden(md) == []
    assert all(len(widths) == 1 for widths in table_column_counts(md))
    html = github(md)
    parsed = parse_html(html)
    tags = {tag for tag, _ in parsed.tags}
    assert tags - {"a"} <= MARKDOWN_TAGS, tags - MARKDOWN_TAGS
    # GitHub links a plain e-mail address to itself (mailto:); evidence links its http(s) URLs; nothing else
    assert all(str(attrs.get("href")).startswith(("mailto:", "http://", "https://"))
               for tag, attrs in parsed.tags if tag == "a")
    # the blocking reasons are two list items, whatever they say
    blocks = html.split("<details><summary>What blocks go-live (2)</summary>", 1)[1].split("</details>", 1)[0]
    assert blocks.count("<li>") == 2 and "<ul>" not in blocks.split("<ul>", 1)[1] and "<ol" not in blocks
    # every table row GitHub sees is one the report wrote: summary, overview, and each checklist's DoD
    assert len(re.findall(r"<tr>", html)) == 2 + 3 + 3 * 2
    for checklist in report["checklists"]:
        for item in checklist["items"]:
            if code_text(item["id"]) and "checks not done" in md and "more not shown" not in md:
                assert code_text(item["id"]) in parsed.code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(values=st.lists(HOSTILE, min_size=1, max_size=12))
def test_hostile_values_through_html(values: list[str]) -> None:
    report = report_with(values)
    html = render_html(report)
    assert raw_hidden(html) == []
    parsed = parse_html(html)
    tags = {tag for tag, _ in parsed.tags}
    assert tags <= HTML_TAGS, tags - HTML_TAGS
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") or name == "style" for name in attrs), (tag, attrs)
        # in-page anchors, and the http(s) URLs of evidence: never javascript:, data: or the like
        assert tag != "a" or str(attrs.get("href")).startswith(("#checklist-", "http://", "https://"))
    assert sum(1 for tag, attrs in parsed.tags if "checklist" in str(attrs.get("class", "")).split()) == 2
    assert [t for t, _ in parsed.tags].count("script") == 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(values=st.lists(HOSTILE, min_size=1, max_size=12))
def test_hostile_values_through_the_written_files(tmp_path: Path, values: list[str]) -> None:
    report = report_with(values)
    written = write_reports(report, tmp_path)
    for path in written:
        text = path.read_bytes().decode("utf-8")
        assert raw_hidden(text) == [], path.name
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data == redact_tree(report)  # \u escapes decode back to every original value


@pytest.mark.parametrize("value", ["\u202e", "a\u2028b", "\x85", "\ud800", "\U000e0041"])
def test_report_json_round_trips_hidden_characters(tmp_path: Path, value: str) -> None:
    report = report_with([value])
    write_reports(report, tmp_path)
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert value not in text
    assert json.loads(text)["checklists"][0]["name"] == value


def test_markdown_mailto_scheme_text_is_no_relative_link() -> None:
    """cmark-gfm linked ``mailto:x@a.exampleowner@b.example`` as a relative link (found by hypothesis)."""
    import cmarkgfm

    markdown = render_markdown(report_with(["`", "owner@acme.example`mailto:x@evil.example" * 60]))
    html = cmarkgfm.github_flavored_markdown_to_html(markdown)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("mailto:", "http://", "https://")) for h in hrefs), hrefs[:3]
