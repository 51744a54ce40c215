"""The routing graph's structure: what the checks collect, how a checklist's graphs merge, what the SVG holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gtmcheck.kinds.routing.graphdata import routing_graph
from gtmcheck.kinds.routing.kind import spec_of
from gtmcheck.kinds.routing.leads import LeadPlanner
from gtmcheck.kinds.routing.live import Outcome
from gtmcheck.report.graph import LEADS_PER_BRANCH, OPEN_UP_TO_RULES, merge_graphs, render_graph
from gtmcheck.report.html import render_html
from gtmcheck.report.model import ItemResult
from gtmcheck.report.schema import schema_problem
from gtmcheck.spec import load_checklist

QUEUE = "inbound-queue@acme.example"


def _rules(n: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "conditions": f"country in [C{i}]", "assign": f"o{i}@acme.example",
             "owners": [f"o{i}@acme.example"], "line": 10 + i} for i in range(n)]


def _lead(rule: str, received: str | None, ok: bool, values: str = "{country: DE}") -> dict[str, Any]:
    return {"lead": f"{rule}-x", "rule": rule, "values": values, "expected": [f"o{rule[1:]}@acme.example"],
            "received": received, "ok": ok}


def _graph(rules: list[dict[str, Any]], leads: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rules": rules, "fallback": {"assign": QUEUE, "owners": [QUEUE]}, "leads": leads}


def _item(position: int, graph: dict[str, Any] | None) -> ItemResult:
    return ItemResult(id=f"c{position}", dod="ROUTING-RULES-EXPLICIT", text="t", status="passed", line=1,
                      position=position, graph=graph)


def test_the_demo_checklist_becomes_rules_in_first_match_order_with_readable_conditions(repo: Path) -> None:
    spec = spec_of(load_checklist(repo / "checks" / "routing.gtm.yml"))
    plans = LeadPlanner(spec).branch(1)
    outcome = Outcome(plans[0], expected=("anna@acme.example",), owner_email=QUEUE, problem="misrouted")
    graph = routing_graph(spec, [outcome])
    assert [r["id"] for r in graph["rules"]] == ["existing-customer", "enterprise-emea", "emea", "north-america",
                                                 "apac"]
    emea = graph["rules"][1]
    assert emea["conditions"] == "country in [DE, FR, GB, NL, ES, IT] and employees >= 1000"
    assert emea["assign"] == "anna@acme.example" and emea["line"] > 0
    assert graph["rules"][2]["assign"] == "round robin: ben@acme.example, anna@acme.example"
    assert graph["rules"][0]["assign"] == "owner of the account"
    assert graph["fallback"] == {"assign": QUEUE, "owners": [QUEUE]}
    assert graph["leads"] == [{"lead": plans[0].label, "rule": "enterprise-emea", "values": plans[0].describe(),
                               "expected": ["anna@acme.example"], "received": QUEUE, "ok": False}]


def test_merge_keeps_the_rules_once_and_caps_each_branch_keeping_the_misroutes() -> None:
    rules = _rules(2)
    many = [_lead("r0", "o0@acme.example", True) for _ in range(LEADS_PER_BRANCH + 5)]
    late_misroutes = [_lead("r0", QUEUE, False, "{country: ES}"), _lead("r0", QUEUE, False, "{country: IT}")]
    merged = merge_graphs([_item(2, _graph(rules, [_lead("r1", "o1@acme.example", True)])),
                           _item(1, _graph(rules, many + late_misroutes)), _item(3, None)])
    assert merged is not None and merged["rules"] == rules
    r0 = [lead for lead in merged["leads"] if lead["rule"] == "r0"]
    assert len(r0) == LEADS_PER_BRANCH and [lead["values"] for lead in r0[:2]] == ["{country: ES}", "{country: IT}"]
    assert merged["more"] == {"r0": 7}
    assert merged["sent"] == {"r0": {"ok": LEADS_PER_BRANCH + 5, "total": LEADS_PER_BRANCH + 7},
                              "r1": {"ok": 1, "total": 1}}
    assert merge_graphs([_item(1, None)]) is None


def test_svg_draws_a_misroute_to_the_box_of_the_owner_that_got_it() -> None:
    leads = [_lead("r0", "o0@acme.example", True), _lead("r0", QUEUE, False), _lead("r1", "o0@acme.example", False),
             _lead("r1", "nobody@elsewhere.example", False), _lead("r1", None, False)]
    merged = merge_graphs([_item(1, _graph(_rules(2), leads))])
    assert merged is not None
    svg = render_graph(merged, 0)
    arrows = re.findall(r'<path class="lead (ok|bad)" data-rule="([^"]+)" data-box="([^"]+)"', svg)
    assert arrows == [("bad", "r0", "fallback"), ("ok", "r0", "r0"), ("bad", "r1", "r0"),
                      ("bad", "r1", "other:nobody@elsewhere.example"), ("bad", "r1", "other:no owner")]
    nodes = re.findall(r'<g class="node (\w+)" id="routing-0-rule-([^"]+)"', svg)
    assert nodes == [("bad", "r0"), ("bad", "r1"), ("idle", "fallback")]
    assert 'id="routing-0-box-other:nobody@elsewhere.example"' in svg and "<script" not in svg
    assert svg.startswith('<details class="routing" open>')


def test_hostile_text_is_escaped_and_a_big_rule_set_starts_folded() -> None:
    rules = _rules(OPEN_UP_TO_RULES + 1)
    rules[0]["conditions"] = '<script>alert(1)</script> "x" & y'
    merged = merge_graphs([_item(1, _graph(rules, [_lead("r0", '<img src=x onerror="1">', False)]))])
    assert merged is not None
    svg = render_graph(merged, 3)
    assert "<script>" not in svg and "<img" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith('<details class="routing"><summary>')  # folded: 31 rules
    assert 'id="routing-graph-3"' in svg


def test_report_json_holds_one_graph_per_routing_checklist_and_it_fits_the_schema(repo: Path) -> None:
    from gtmcheck.report.model import RunMeta, build_report

    checklist = load_checklist(repo / "checks" / "routing.gtm.yml")
    merged_input = [_item(1, _graph(_rules(1), [_lead("r0", QUEUE, False)]))]
    for item in merged_input:
        item.dod = checklist.dod[0].id
    report = build_report({"checks/routing.gtm.yml": checklist}, {"checks/routing.gtm.yml": merged_input}, {},
                          RunMeta())
    (entry,) = report["checklists"]
    assert entry["routing_graph"]["leads"][0]["received"] == QUEUE
    assert "graph" not in entry["items"][0]  # not repeated per item
    assert schema_problem(report) is None, schema_problem(report)
    assert 'data-box="fallback"' in render_html(report)
