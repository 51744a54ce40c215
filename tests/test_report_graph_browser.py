"""The routing graph of report.html in a real headless Chromium, from the demo's own runs on the sandbox.

The drifted sandbox sends the ES and IT enterprise leads to the default queue: their arrows must end at the
fallback's box, drawn, where a reader sees them. On the healthy sandbox every branch is green.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "routing-graph.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
FALLBACK_QUEUE = "inbound-queue@acme.example"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")

# For every lead arrow: where its drawn curve really ends on the screen, and the box it is meant to end at.
ARROWS_JS = """svg => [...svg.querySelectorAll('path.lead')].map(p => {
  const end = p.getPointAtLength(p.getTotalLength()).matrixTransform(p.getScreenCTM());
  const box = svg.querySelector('#' + CSS.escape(svg.id.replace('routing-graph-', 'routing-') + '-box-'
                                                 + p.dataset.box) + ' rect').getBoundingClientRect();
  const r = p.getBoundingClientRect();
  return {cls: p.getAttribute('class'), rule: p.dataset.rule, box: p.dataset.box,
          title: p.querySelector('title').textContent, stroke: getComputedStyle(p).stroke,
          end: [end.x, end.y], rect: [box.left, box.top, box.right, box.bottom], size: [r.width, r.height]};
})"""
NODES_JS = """svg => [...svg.querySelectorAll('g.node')].map(g => ({
  id: g.id, cls: g.getAttribute('class'), stroke: getComputedStyle(g.querySelector('rect')).stroke,
  width: g.getBoundingClientRect().width}))"""


def _demo_report(repo: Path, out: Path, env: str) -> Path:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "--report-dir", str(out)],
                            cwd=repo, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stdout + result.stderr
    return out / "report.html"


def _graph(html: Path, screenshot: Path | None = None) -> dict[str, Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    seen: dict[str, Any] = {"console": [], "requests": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
            page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(html.as_uri(), wait_until="load")
            graph = page.locator("details.routing svg")
            assert graph.count() == 1
            seen["visible"] = graph.is_visible()
            seen["size"] = graph.evaluate("s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height]")
            seen["arrows"] = graph.evaluate(ARROWS_JS)
            seen["nodes"] = graph.evaluate(NODES_JS)
            seen["fallback_text"] = page.locator("details.routing [id$='-box-fallback']").text_content()
            seen["misroutes"] = page.locator("details.routing ul.misroutes li").all_inner_texts()
            if screenshot is not None:
                page.locator("details.routing").screenshot(path=str(screenshot))
        finally:
            browser.close()
    seen["url"] = html.as_uri()
    return seen


def _ends_inside(arrow: dict[str, Any], slack: float = 3.0) -> bool:
    (x, y), (left, top, right, bottom) = arrow["end"], arrow["rect"]
    return left - slack <= x <= right + slack and top - slack <= y <= bottom + slack


def test_drifted_demo_draws_the_es_it_leads_ending_at_the_default_queue(repo: Path, tmp_path: Path) -> None:
    html = _demo_report(repo, tmp_path / "drifted", "sandbox-drifted")
    seen = _graph(html, DOCS_SCREENSHOT)
    assert seen["console"] == [] and seen["requests"] == [seen["url"]]  # no error, nothing loaded, no script
    assert seen["visible"] and seen["size"][0] > 600 and seen["size"][1] > 300
    bad = [a for a in seen["arrows"] if "bad" in a["cls"].split()]
    # exactly the drifted ES/IT leads (the listed values and ES's boundary lead at 1000), each drawn as its own
    # red curve from enterprise-emea to the fallback box
    assert sorted(a["title"].split(" → ")[0] for a in bad) == ["{country: ES, employees: 1000}",
                                                                 "{country: ES, employees: 1500}",
                                                                 "{country: IT, employees: 1500}"]
    for arrow in bad:
        assert arrow["rule"] == "enterprise-emea" and arrow["box"] == "fallback"
        assert arrow["title"].endswith(f"→ {FALLBACK_QUEUE}")
        assert _ends_inside(arrow), arrow  # the curve as Chromium drew it ends on the fallback's box
        assert arrow["size"][1] > 100  # from the second row down to the last: a visible drop, not a dot
        assert arrow["stroke"] == "rgb(180, 35, 24)"  # --bad, from the report's stylesheet under its CSP
    assert all(_ends_inside(a) for a in seen["arrows"])  # every arrow ends at the box it names
    assert FALLBACK_QUEUE in seen["fallback_text"] and "3 misrouted here" in seen["fallback_text"]
    nodes = {n["id"].rsplit("-rule-", 1)[1]: n for n in seen["nodes"]}
    assert "bad" in nodes["enterprise-emea"]["cls"].split()
    assert [k for k, n in nodes.items() if "bad" in n["cls"].split()] == ["enterprise-emea"]
    assert len(seen["misroutes"]) == 3 and all(FALLBACK_QUEUE in m for m in seen["misroutes"])


def test_healthy_demo_graph_is_green_on_every_branch(repo: Path, tmp_path: Path) -> None:
    html = _demo_report(repo, tmp_path / "healthy", "sandbox")
    seen = _graph(html)
    assert seen["console"] == [] and seen["visible"]
    ids = [n["id"].rsplit("-rule-", 1)[1] for n in seen["nodes"]]
    assert ids == ["existing-customer", "enterprise-emea", "emea", "north-america", "apac", "fallback"]
    for node in seen["nodes"]:
        assert node["cls"].split() == ["node", "ok"], node
        assert node["stroke"] == "rgb(21, 115, 71)"  # --ok
    assert seen["arrows"] and all(a["cls"].split() == ["lead", "ok"] for a in seen["arrows"])
    assert all(a["box"] == a["rule"] and _ends_inside(a) for a in seen["arrows"])
    assert seen["misroutes"] == []
