"""The routing checklist as a picture: its rules as a first-match decision chain, and where each lead went.

Every routing check leaves the rules and the leads it sent (``routing_graph`` in its evidence); the report merges
them into one graph per checklist (:func:`merge_graphs`) and draws it as inline SVG (:func:`render_graph`): a
vertical chain of rules (match? yes → the owner box on its right; no → the next rule ... → the fallback), and one
arrow per lead from the rule it was meant for to the box of the owner the CRM gave it. A misroute is a red arrow
ending at the wrong box. No script: styles are classes of the report's stylesheet, every text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from ..visible import visible

if TYPE_CHECKING:
    from .model import ItemResult

LEADS_PER_BRANCH = 20  # arrows drawn per rule: the misroutes first; the rest is counted as "+N more"
OPEN_UP_TO_RULES = 30  # a bigger graph starts folded
FALLBACK = "fallback"
WIDTH, NODE_W, BOX_X, BOX_W = 960, 420, 640, 312
ROW, NODE_H, TOP = 66, 50, 12
CONDITION_CHARS, BOX_CHARS = 60, 36

GRAPH_CSS = """
.routing { margin-top: 8px; }
.routing summary { cursor: pointer; color: var(--muted); font-size: 13px; padding: 4px 0; }
.routing svg { display: block; width: 100%; height: auto; margin-top: 6px; }
.routing .node rect { fill: var(--paper); stroke: var(--line); stroke-width: 1.5; }
.routing .node.ok rect { fill: var(--ok-bg); stroke: var(--ok); }
.routing .node.bad rect { fill: var(--bad-bg); stroke: var(--bad); }
.routing .node.idle rect { fill: var(--off-bg); stroke: var(--off); }
.routing .box rect { fill: var(--paper); stroke: var(--ink); stroke-width: 1.2; }
.routing .box.fallback rect { stroke-dasharray: 5 3; }
.routing .box.other rect { fill: var(--warn-bg); stroke: var(--warn); }
.routing text { font-size: 12px; fill: var(--ink); }
.routing text.title { font-weight: 700; font-size: 13px; }
.routing text.sub { fill: var(--muted); font-size: 11.5px; }
.routing text.tally { fill: var(--muted); font-size: 11px; text-anchor: end; }
.routing text.no { fill: var(--muted); font-size: 11px; }
.routing .chain { stroke: var(--muted); stroke-width: 1.2; fill: none; }
.routing .yes { stroke: var(--line); stroke-width: 6; fill: none; }
.routing .lead { fill: none; stroke-width: 1.6; opacity: .85; }
.routing .lead.ok { stroke: var(--ok); }
.routing .lead.bad { stroke: var(--bad); stroke-width: 2.4; opacity: 1; }
.routing marker path { stroke: none; }
.routing marker.ok path { fill: var(--ok); }
.routing marker.bad path { fill: var(--bad); }
.routing text.count { fill: var(--ok); font-size: 11px; }
.routing ul.misroutes { margin: 6px 0 0; padding-left: 20px; font-size: 13px; color: var(--bad); }
"""


def merge_graphs(items: Iterable[ItemResult]) -> dict[str, Any] | None:
    """One graph per checklist from its checks' graphs: the rules once, every lead, capped per rule."""
    graphs = [i.graph for i in sorted(items, key=lambda i: i.position) if isinstance(i.graph, Mapping)]
    if not graphs:
        return None
    leads = [lead for g in graphs for lead in g.get("leads") or [] if isinstance(lead, Mapping)]
    tally: dict[str, list[int]] = {}
    for lead in leads:
        counts = tally.setdefault(str(lead.get("rule")), [0, 0])
        counts[0] += bool(lead.get("ok"))
        counts[1] += 1
    kept: list[Mapping[str, Any]] = []
    more: dict[str, int] = {}
    for rule in tally:
        mine = [lead for lead in leads if str(lead.get("rule")) == rule]
        mine.sort(key=lambda lead: bool(lead.get("ok")))  # misroutes first (sorted() is stable)
        kept += mine[:LEADS_PER_BRANCH]
        if len(mine) > LEADS_PER_BRANCH:
            more[rule] = len(mine) - LEADS_PER_BRANCH
    return {"rules": graphs[0].get("rules") or [], "fallback": graphs[0].get("fallback"),
            "leads": [dict(lead) for lead in kept], "sent": {r: {"ok": c[0], "total": c[1]} for r, c in tally.items()},
            "more": more}


def _e(value: object) -> str:
    return "" if value is None else escape(visible(str(value)), quote=True)


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _box_of(lead: Mapping[str, Any], rules: Sequence[Mapping[str, Any]], fallback: Mapping[str, Any] | None,
            others: list[str]) -> str:
    """The box that received the lead: its own rule's when right, else the first that names the owner."""
    received = str(lead.get("received") or "no owner").lower()
    if lead.get("ok") or received in [str(e) for e in lead.get("expected") or []]:
        return str(lead.get("rule"))
    if fallback and received in (fallback.get("owners") or []):
        return FALLBACK
    for rule in rules:
        if received in (rule.get("owners") or []):
            return str(rule.get("id"))
    if received not in others:
        others.append(received)
    return "other:" + received


def render_graph(graph: Mapping[str, Any], index: int) -> str:
    """The graph as a ``<details>`` with an inline SVG, and the misrouted leads in words under it."""
    rules: Sequence[Mapping[str, Any]] = graph.get("rules") or []
    fallback: Mapping[str, Any] | None = graph.get("fallback")
    leads: Sequence[Mapping[str, Any]] = graph.get("leads") or []
    sent: Mapping[str, Mapping[str, int]] = graph.get("sent") or {}
    more: Mapping[str, int] = graph.get("more") or {}
    others: list[str] = []
    targets = [(lead, _box_of(lead, rules, fallback, others)) for lead in leads]
    # rows: one per rule, the fallback, then any owner that no branch names
    rows = [str(r.get("id")) for r in rules] + [FALLBACK] + ["other:" + o for o in others]
    y_of = {key: TOP + n * ROW for n, key in enumerate(rows)}
    height = TOP + len(rows) * ROW
    out = [f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
           f'aria-label="routing decision graph" id="routing-graph-{index}">',
           f'<defs>{_marker(index, "ok")}{_marker(index, "bad")}</defs>']
    chain_nodes: list[tuple[str, str, str, str]] = [
        (str(r.get("id")), f"{n + 1}. {r.get('id')}", str(r.get("conditions") or ""), str(r.get("assign") or ""))
        for n, r in enumerate(rules)]
    chain_nodes.append((FALLBACK, "fallback", "no rule matched",
                        str(fallback.get("assign")) if fallback else "(no fallback declared)"))
    for n, (key, title, conditions, assign) in enumerate(chain_nodes):
        y = y_of[key]
        tally = sent.get(key) or {}
        total, ok = int(tally.get("total", 0)), int(tally.get("ok", 0))
        verdict = "idle" if not total else "ok" if ok == total else "bad"
        extra = f" · +{more[key]} more not drawn" if more.get(key) else ""
        leads_text = f"{ok} of {total} routed as declared{extra}" if total else "no lead sent"
        out.append(
            f'<g class="node {verdict}" id="routing-{index}-rule-{_e(key)}"><title>{_e(title)}: {_e(conditions)}'
            f"</title><rect x=\"4\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"8\"/>"
            f'<text class="title" x="14" y="{y + 19}">{_e(_cut(title, 30))}</text>'
            f'<text class="tally" x="{NODE_W - 6}" y="{y + 19}">{_e(leads_text)}</text>'
            f'<text class="sub" x="14" y="{y + 38}">{_e(_cut(conditions, CONDITION_CHARS))}</text></g>'
        )
        if n + 1 < len(chain_nodes):  # no → the next rule
            out.append(f'<path class="chain" d="M 40 {y + NODE_H} V {y + ROW}"/>'
                       f'<text class="no" x="46" y="{y + NODE_H + 12}">no</text>')
        out.append(f'<path class="yes" d="M {NODE_W + 4} {y + NODE_H / 2} H {BOX_X}"/>')
        out.append(_box(index, key, assign, _received(key, targets), y, "fallback" if key == FALLBACK else ""))
    for other in others:
        out.append(_box(index, "other:" + other, other, "no branch names it · " + _received("other:" + other, targets),
                        y_of["other:" + other], "other"))
    out += _arrows(index, targets, y_of)
    out.append("</svg>")
    bad = [lead for lead in leads if not lead.get("ok")]
    words = "".join(
        f"<li>{_e(lead.get('values'))}: meant for {_e(lead.get('rule'))} "
        f"({_e(', '.join(map(str, lead.get('expected') or [])) or 'no owner')}), "
        f"received {_e(lead.get('received') or 'no owner')}</li>" for lead in bad[:LEADS_PER_BRANCH])
    opened = " open" if len(rules) <= OPEN_UP_TO_RULES else ""
    summary = (f"Routing graph: {len(rules)} rules and the fallback, {len(leads)} leads drawn"
               + (f", {len(bad)} misrouted" if bad else ", all routed as declared"))
    return (f'<details class="routing"{opened}><summary>{_e(summary)}</summary>{"".join(out)}'
            + (f'<ul class="misroutes">{words}</ul>' if words else "") + "</details>")


def _received(box: str, targets: Sequence[tuple[Mapping[str, Any], str]]) -> str:
    """``got 12 leads, 2 of them misrouted``: what the drawn arrows into a box say."""
    got = [lead for lead, to in targets if to == box]
    wrong = sum(not lead.get("ok") for lead in got)
    text = f"got {len(got)} lead{'' if len(got) == 1 else 's'}"
    return text + (f", {wrong} misrouted here" if wrong else "")


def _marker(index: int, verdict: str) -> str:
    return (f'<marker id="routing-{index}-arrow-{verdict}" class="{verdict}" viewBox="0 0 10 10" refX="10" '
            'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z"/></marker>')


def _box(index: int, key: str, assign: str, sub: str, y: int, css: str) -> str:
    return (f'<g class="box {css}" id="routing-{index}-box-{_e(key)}"><title>{_e(assign)}</title>'
            f'<rect x="{BOX_X}" y="{y}" width="{BOX_W}" height="{NODE_H}" rx="8"/>'
            f'<text class="title" x="{BOX_X + 10}" y="{y + 19}">{_e(_cut(assign, BOX_CHARS))}</text>'
            f'<text class="sub" x="{BOX_X + 10}" y="{y + 38}">{_e(_cut(sub, BOX_CHARS + 6))}</text></g>')


def _arrows(index: int, targets: Sequence[tuple[Mapping[str, Any], str]], y_of: Mapping[str, int]) -> list[str]:
    """One curve per lead from the right edge of its rule to the left edge of the box that got it."""
    out = []
    by_pair: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for lead, box in targets:
        by_pair.setdefault((str(lead.get("rule")), box), []).append(lead)
    for (rule, box), group in by_pair.items():
        if rule not in y_of or box not in y_of:
            continue
        ok = [lead for lead in group if lead.get("ok")]
        bad = [lead for lead in group if not lead.get("ok")]
        # the leads routed as declared share one arrow (its count on it); each misroute has its own
        strands = ([("ok", ok)] if ok else []) + [("bad", [lead]) for lead in bad]
        for k, (verdict, leads) in enumerate(strands):
            spread = (k + 1) / (len(strands) + 1)  # fan the arrows of one pair over the node's height
            y1 = y_of[rule] + 8 + spread * (NODE_H - 16)
            y2 = y_of[box] + 8 + spread * (NODE_H - 16)
            x1, x2 = NODE_W + 4, BOX_X - 2
            tip = "; ".join(f"{lead.get('values')} → {lead.get('received') or 'no owner'}" for lead in leads)
            out.append(
                f'<path class="lead {verdict}" data-rule="{_e(rule)}" data-box="{_e(box)}" '
                f'data-leads="{len(leads)}" marker-end="url(#routing-{index}-arrow-{verdict})" '
                f'd="M {x1} {y1:.1f} C {x1 + 90} {y1:.1f}, {x2 - 90} {y2:.1f}, {x2} {y2:.1f}">'
                f"<title>{_e(_cut(tip, 600))}</title></path>")
            if verdict == "ok" and len(leads) > 1:
                out.append(f'<text class="count" x="{x1 + 12}" y="{y1 - 4:.1f}">{len(leads)} leads</text>')
    return out
