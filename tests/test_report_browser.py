"""Open the HTML report in a real headless Chromium: no errors, no network, the verdict is visible."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gtmcheck.report.html import render_html

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "report.png"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def _samples() -> ModuleType:
    """The hand-built reports of test_report_render, loaded by path so this works in any import mode."""
    path = Path(__file__).with_name("test_report_render.py")
    spec = importlib.util.spec_from_file_location("_report_samples", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _open(report: dict[str, Any], tmp_path: Path, screenshot: list[Path]) -> dict[str, Any]:
    """Render, load and screenshot the report; return what the page did."""
    sync_api = pytest.importorskip("playwright.sync_api")
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(report), encoding="utf-8")
    url = html_file.as_uri()
    seen: dict[str, Any] = {"console": [], "page_errors": [], "requests": [], "failed": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
            page.on(
                "console",
                lambda m: seen["console"].append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("requestfailed", lambda r: seen["failed"].append(r.url))
            page.goto(url, wait_until="load")
            verdict = page.locator("#verdict .headline")
            seen["verdict_visible"] = verdict.is_visible()
            seen["verdict_text"] = verdict.inner_text()
            seen["title"] = page.title()
            seen["url"] = url
            for path in screenshot:
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
            seen["pdf"] = len(page.pdf(format="A4"))  # the @media print styles render
        finally:
            browser.close()
    return seen


def test_blocked_report_in_chromium(tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    seen = _open(_samples().blocked_report(), tmp_path, [shot, DOCS_SCREENSHOT])
    assert seen["console"] == []
    assert seen["page_errors"] == []
    assert seen["requests"] == [seen["url"]]
    assert seen["failed"] == []
    assert seen["verdict_visible"]
    assert seen["verdict_text"] == "Go-live blocked — sandbox"
    assert seen["title"] == "GTM go-live: blocked — sandbox"
    assert shot.stat().st_size > 10_000
    assert seen["pdf"] > 10_000


def test_ready_report_in_chromium(tmp_path: Path) -> None:
    shot = tmp_path / "ready.png"
    seen = _open(_samples().ready_report(), tmp_path, [shot])
    assert seen["console"] == [] and seen["page_errors"] == []
    assert seen["requests"] == [seen["url"]]
    assert seen["verdict_visible"]
    assert seen["verdict_text"] == "Ready for go-live — production"


def test_content_security_policy_applies_the_own_style_and_refuses_injected_content(tmp_path: Path) -> None:
    """The page's stylesheet works under its CSP; markup that got in anyway could not style, load or run."""
    sync_api = pytest.importorskip("playwright.sync_api")
    html = render_html(_samples().blocked_report()).replace(
        "</head>",
        "<style>#verdict { display: none; }</style><script>document.title = 'pwned'</script></head>",
    ).replace("<main>", '<main><img src="https://evil.example/p.png" alt="">', 1)
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    responses: list[str] = []
    blocked: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on("response", lambda r: responses.append(r.url))
            page.on("requestfailed", lambda r: blocked.append(f"{r.url} {r.failure}"))
            page.goto(path.as_uri(), wait_until="load")
            verdict = page.locator("#verdict")
            background = verdict.evaluate("e => getComputedStyle(e).backgroundImage")
            visible, title = verdict.is_visible(), page.title()
        finally:
            browser.close()
    assert "linear-gradient" in background  # the report's own CSS, allowed by its hash
    assert visible  # the injected <style> was refused
    assert title == "GTM go-live: blocked — sandbox"  # the injected <script> did not run
    assert responses == [path.as_uri()]  # and the image was never fetched
    assert blocked == ["https://evil.example/p.png csp"]  # refused by the Content-Security-Policy
