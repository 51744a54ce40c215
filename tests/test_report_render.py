from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from gtmcheck.report.html import render_html
from gtmcheck.report.markdown import GITHUB_COMMENT_LIMIT, cell, render_markdown

EVIL = "<script>alert('x')</script>"


def _item(
    id: str, dod: str, status: str, message: str = "", evidence: str = "", line: int = 10, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id,
        "dod": dod,
        "text": "",
        "status": status,
        "message": message,
        "evidence": evidence,
        "line": line,
        "attested_by": None,
        "duration_s": 0.01,
        **extra,
    }


def blocked_report() -> dict[str, Any]:
    """A realistic blocked run: a failing UTM URL, an unsigned routing checklist and a broken file."""
    utm_items = [
        _item(
            "UTM-TAXONOMY-DOCUMENTED[taxonomy]",
            "UTM-TAXONOMY-DOCUMENTED",
            "passed",
            evidence="5 sources, 4 mediums, naming rule campaign = {quarter}-{theme}",
            line=6,
        ),
        _item(
            "UTM-URLS-RESOLVE[spring-launch]",
            "UTM-URLS-RESOLVE",
            "passed",
            evidence="200 after 1 redirect; 3 UTM parameters kept",
            line=12,
        ),
        _item(
            "UTM-URLS-RESOLVE[webinar-q4]",
            "UTM-URLS-RESOLVE",
            "failed",
            message=f"utm_campaign dropped by redirect to /webinar | {EVIL}",
            evidence="301 -> https://acme.example/webinar (no query string)",
            line=17,
            expected="utm_campaign=q4-webinar",
            received="no utm_campaign",
        ),
        _item(
            "UTM-CRM-POPULATES[form-demo]",
            "UTM-CRM-POPULATES",
            "passed",
            evidence="source=linkedin, medium=paid-social, campaign=q4-webinar on contact 9001",
            line=22,
        ),
        _item(
            "UTM-CHANNEL-TRACE[manual]",
            "UTM-CHANNEL-TRACE",
            "attested",
            evidence="trace sheet Q4-UTM-trace, row 2-9",
            line=30,
            attested_by="jane@acme.example",
        ),
    ]
    routing_items = [
        _item(
            f"ROUTING-VOLUME-TEST[{branch}]",
            "ROUTING-VOLUME-TEST",
            "passed",
            evidence=f"10 of 10 synthetic leads assigned to {branch} within 40 s",
            line=30 + n,
        )
        for n, branch in enumerate(("enterprise-emea", "existing-customer", "fallback"))
    ] + [
        _item("ROUTING-ALERTS[default-queue]", "ROUTING-ALERTS", "error", message="CRM returned 503 three times"),
    ]
    return {
        "summary": {
            "passed": 7,
            "failed": 1,
            "error": 2,
            "attested": 1,
            "not_configured": 2,
            "completeness": 57.1,
            "go_live": False,
            "run_id": "gtm-20261123T101500-3f9a1c",
            "environment": "sandbox",
            "started_at": "2026-11-23T10:15:00Z",
            "duration_s": 4.2,
            "checklists": 3,
            "blocking": [
                "checks/utm.gtm.yml: UTM-URLS-RESOLVE failed",
                "checks/utm.gtm.yml: UTM-REPORTING-SOURCE not configured",
                "checks/routing.gtm.yml: ROUTING-ALERTS error",
                "checks/routing.gtm.yml: not signed off",
                "checks/broken.gtm.yml: cannot be loaded",
            ],
        },
        "checklists": [
            {
                "file": "checks/broken.gtm.yml",
                "kind": None,
                "name": None,
                "owner": None,
                "built_by": None,
                "work_type": None,
                "signoff": None,
                "completeness": 0.0,
                "go_live": False,
                "blocking": ["checks/broken.gtm.yml: cannot be loaded"],
                "error": "checks/broken.gtm.yml:4:3: unknown key 'ownr'. Fix: did you mean 'owner'?",
                "dod": [],
                "items": [],
            },
            {
                "file": "checks/routing.gtm.yml",
                "kind": "routing",
                "name": "Inbound demo requests",
                "owner": "mops@acme.example",
                "built_by": "jane@acme.example",
                "work_type": "pre_pipeline",
                "signoff": None,
                "completeness": 80.0,
                "go_live": False,
                "error": None,
                "dod": [
                    {
                        "id": "ROUTING-RULES-EXPLICIT",
                        "text": "Every routing condition documented as explicit logic",
                        "status": "passed",
                    },
                    {
                        "id": "ROUTING-EDGE-CASES",
                        "text": "Edge cases defined: unmatched territory, duplicate contact, existing customer domain",
                        "status": "passed",
                    },
                    {"id": "ROUTING-FALLBACK-OWNER", "text": "Fallback owner named and confirmed", "status": "passed"},
                    {
                        "id": "ROUTING-VOLUME-TEST",
                        "text": "Volume test with synthetic leads across each branch",
                        "status": "passed",
                    },
                    {
                        "id": "ROUTING-ALERTS",
                        "text": "Alert on routing failures or default-queue accumulation",
                        "status": "error",
                    },
                ],
                "items": [
                    _item(
                        "ROUTING-RULES-EXPLICIT[rules]",
                        "ROUTING-RULES-EXPLICIT",
                        "passed",
                        evidence="2 rules, first match wins",
                        line=8,
                    ),
                    _item(
                        "ROUTING-EDGE-CASES[edge_cases]",
                        "ROUTING-EDGE-CASES",
                        "passed",
                        evidence="3 of 3 edge cases defined",
                        line=15,
                    ),
                    _item(
                        "ROUTING-FALLBACK-OWNER[fallback]",
                        "ROUTING-FALLBACK-OWNER",
                        "passed",
                        evidence="inbound-queue@acme.example exists and is active",
                        line=14,
                    ),
                    *routing_items,
                ],
            },
            {
                "file": "checks/utm.gtm.yml",
                "kind": "utm",
                "name": "Campaign URLs",
                "owner": "mops@acme.example",
                "built_by": "jane@acme.example",
                "work_type": "pre_pipeline",
                "signoff": {"by": "lee@acme.example", "role": "head_of_marketing_ops", "on": "2026-11-20"},
                "completeness": 60.0,
                "go_live": False,
                "error": None,
                "dod": [
                    {
                        "id": "UTM-TAXONOMY-DOCUMENTED",
                        "text": "Parameter structure documented in one source of truth, and followed",
                        "status": "passed",
                    },
                    {
                        "id": "UTM-URLS-RESOLVE",
                        "text": "All active campaign URLs resolve and keep their UTM parameters through redirects",
                        "status": "failed",
                    },
                    {
                        "id": "UTM-CRM-POPULATES",
                        "text": "Source, medium and campaign populate in the CRM on form submission",
                        "status": "passed",
                    },
                    {
                        "id": "UTM-CHANNEL-TRACE",
                        "text": "One test lead per channel traced end-to-end",
                        "status": "attested",
                    },
                    {
                        "id": "UTM-REPORTING-SOURCE",
                        "text": "Reporting view reads the right source",
                        "status": "not_configured",
                    },
                ],
                "items": utm_items,
            },
        ],
    }


def ready_report() -> dict[str, Any]:
    """Everything done and signed off."""
    return {
        "summary": {
            "passed": 2,
            "failed": 0,
            "error": 0,
            "attested": 0,
            "not_configured": 0,
            "completeness": 100.0,
            "go_live": True,
            "run_id": "gtm-20261123T111500-aa01bb",
            "environment": "production",
            "started_at": "2026-11-23T11:15:00Z",
            "duration_s": 1.5,
            "checklists": 1,
            "blocking": [],
        },
        "checklists": [
            {
                "file": "checks/reconcile.gtm.yml",
                "kind": "reconcile",
                "name": "ARR CRM vs warehouse",
                "owner": "revops@acme.example",
                "built_by": "sam@acme.example",
                "work_type": "in_pipeline",
                "signoff": {"by": "kim@acme.example", "role": "revops", "on": "2026-11-22"},
                "completeness": 100.0,
                "go_live": True,
                "error": None,
                "dod": [
                    {"id": "RECONCILE-TOTALS", "text": "Declared totals agree", "status": "passed"},
                    {"id": "RECONCILE-HANDOFFS", "text": "Every handoff arrived", "status": "passed"},
                ],
                "items": [
                    _item(
                        "RECONCILE-TOTALS[arr]",
                        "RECONCILE-TOTALS",
                        "passed",
                        evidence="expected 428000 ARR, received 428000 ARR",
                    ),
                    _item(
                        "RECONCILE-HANDOFFS[lead.created]",
                        "RECONCILE-HANDOFFS",
                        "passed",
                        evidence="120 fired, 120 received",
                    ),
                ],
            }
        ],
    }


# --- markdown -------------------------------------------------------------------------------------------


def test_markdown_blocked_verdict_and_tables() -> None:
    md = render_markdown(blocked_report())
    assert "**Go-live: blocked**" in md
    assert "**Go-live: ready**" not in md
    assert "57.1% of DoD items done across 3 checklists" in md
    assert "| passed | failed | error | attested | not configured | completeness |" in md
    assert "| 7 | 1 | 2 | 1 | 2 | 57.1% |" in md
    assert "| Campaign URLs | utm | 60.0% | lee@acme.example (head of marketing ops) on 2026-11-20 |" in md
    assert "| Inbound demo requests | routing | 80.0% | not signed off | ❌ blocked |" in md
    assert "| ❌ failed | `UTM-URLS-RESOLVE` All active campaign URLs" in md
    assert "| ❌ not configured | `UTM-REPORTING-SOURCE` Reporting view reads the right source |  |" in md
    assert "| ✅ attested | `UTM-CHANNEL-TRACE`" in md
    assert "1/2 done" in md
    assert "Cannot be loaded:** `checks/broken.gtm.yml:4:3: unknown key 'ownr'." in md
    assert "run `gtm-20261123T101500-3f9a1c`" in md


def test_markdown_failures_in_details_block() -> None:
    md = render_markdown(blocked_report())
    blocks = re.findall(r"<details><summary>1 check not done</summary>.*?</details>", md, flags=re.S)
    assert len(blocks) == 2  # routing's error and utm's failure
    block = blocks[1]
    # User text is Markdown-escaped: it renders as written, never as emphasis, a link or HTML.
    assert "`UTM-URLS-RESOLVE[webinar-q4]` (checks/utm.gtm.yml:17): utm\\_campaign dropped by redirect" in block
    assert "<br>expected utm\\_campaign=q4-webinar, received no utm\\_campaign<br>" in block
    # an http(s) URL in evidence is a link to itself (its text escaped so GitHub does not autolink it again)
    assert "<br>evidence: 301 -&gt; [https\\://acme.example/webinar](https://acme.example/webinar) \\(no query" in block
    assert "What blocks go-live (5)" in md


def test_markdown_escapes_html_and_pipes() -> None:
    md = render_markdown(blocked_report())
    assert "<script>" not in md
    assert "&lt;script&gt;alert\\('x'\\)&lt;/script&gt;" in md
    assert cell("a|b\nc <b>") == "a\\|b<br>c &lt;b&gt;"
    assert cell(None) == ""


def test_markdown_ready() -> None:
    md = render_markdown(ready_report())
    assert "**Go-live: ready** (environment `production`) — 100.0% of DoD items done across 1 checklist." in md
    assert "<details>" not in md  # nothing blocks, nothing failed
    assert "| ARR CRM vs warehouse | reconcile | 100.0% | kim@acme.example (revops) on 2026-11-22 | ✅ ready |" in md


def test_markdown_table_rows_have_consistent_columns() -> None:
    md = render_markdown(blocked_report())
    for table in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        rows = table.strip().splitlines()
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, table


def test_markdown_fits_a_github_comment() -> None:
    report = blocked_report()
    utm = report["checklists"][2]
    template = utm["items"][2]
    utm["items"] = [{**template, "id": f"UTM-URLS-RESOLVE[url-{n}]", "message": "x" * 300} for n in range(2000)]
    md = render_markdown(report)
    assert len(md) <= GITHUB_COMMENT_LIMIT
    assert "**Go-live: blocked**" in md
    assert "more not shown to fit a comment; see report.html" in md
    assert md.count("<details>") == md.count("</details>")


def test_markdown_hard_truncation_as_last_resort() -> None:
    md = render_markdown(blocked_report(), max_chars=400)
    assert len(md) <= 400
    assert md.startswith("## gtmcheck sign-off report")
    assert md.rstrip().endswith("see report.html or report.json for all of it._")


def test_markdown_partial_and_empty() -> None:
    md = render_markdown({"summary": {"partial": True}, "checklists": []})
    assert "**Go-live: blocked** — 0.0% of the selected DoD items done across 0 checklists (partial run" in md


# --- html -----------------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    """Collect tags, to check well-formedness roughly and find references to external resources."""

    VOID = {"meta", "br", "link", "img", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


@pytest.mark.parametrize("make", [blocked_report, ready_report])
def test_html_is_self_contained(make: Any) -> None:
    html = render_html(make())
    parsed = _parse(html)
    tags = [tag for tag, _ in parsed.tags]
    assert tags[0] == "html" and html.startswith("<!DOCTYPE html>")
    assert "script" not in tags
    assert "link" not in tags
    assert "img" not in tags
    assert "<link" not in html and "<script" not in html
    assert "url(" not in html
    assert "@import" not in html
    for _, attrs in parsed.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            # in-page anchors, and evidence URLs (http(s) only) as links to themselves
            assert value is None or value.startswith(("#", "https://")), (name, value)
    # the only URLs are in the report's own text, escaped
    links = [attrs["href"] for tag, attrs in parsed.tags if tag == "a" and not attrs["href"].startswith("#")]
    assert len(re.findall(r"https?://", html)) == len(re.findall(r"https?://", " ".join(parsed.text))) + len(links)
    assert all(link in " ".join(parsed.text) for link in links)  # each link shows where it goes
    assert "@media print" in html


def test_html_blocked() -> None:
    html = render_html(blocked_report())
    assert '<section class="verdict blocked"' in html
    assert "Go-live blocked" in html
    assert "<title>GTM go-live: blocked — sandbox</title>" in html
    assert "57.1%" in html
    assert "Not signed off" in html
    assert "lee@acme.example" in html and "head of marketing ops" in html and "2026-11-20" in html
    assert "Cannot be loaded." in html and "unknown key &#x27;ownr&#x27;" in html
    assert "200 after 1 redirect; 3 UTM parameters kept" in html
    assert "attested by jane@acme.example" in html
    assert "UTM-URLS-RESOLVE[webinar-q4]" in html
    assert "expected utm_campaign=q4-webinar · received no utm_campaign" in html
    assert '<rect width="60.0" height="1"/>' in html and '<rect width="80.0" height="1"/>' in html
    assert "gtm-20261123T101500-3f9a1c" in html and "environment sandbox" in html
    assert "started 2026-11-23T10:15:00Z" in html


def test_html_escapes_everything() -> None:
    report = blocked_report()
    report["checklists"][2]["name"] = EVIL
    report["checklists"][2]["owner"] = '"><img src=x onerror=alert(1)>'
    report["summary"]["run_id"] = "<b>run</b>"
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "&lt;b&gt;run&lt;/b&gt;" in html
    _parse(html)


def test_html_ready() -> None:
    html = render_html(ready_report())
    assert '<section class="verdict ready"' in html
    assert "Ready for go-live" in html
    assert "Go-live blocked" not in html
    assert "What blocks go-live" not in html
    assert "kim@acme.example" in html


def test_html_open_details_only_for_items_not_done() -> None:
    html = render_html(blocked_report())
    opened = html.count("<details open>")
    # routing: ROUTING-ALERTS; utm: UTM-URLS-RESOLVE and UTM-REPORTING-SOURCE
    assert opened == 3
    assert html.count("<details>") == 7


def test_html_tolerates_sparse_report() -> None:
    html = render_html({"summary": {}, "checklists": [{"file": "x.gtm.yml"}]})
    _parse(html)
    assert "Go-live blocked" in html
    assert render_html({}).count("No checklist was found.") == 1


def test_html_and_markdown_do_not_mutate_input() -> None:
    report = blocked_report()
    before = copy.deepcopy(report)
    render_html(report)
    render_markdown(report)
    assert report == before
