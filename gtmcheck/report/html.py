"""The sign-off report as one self-contained HTML page, for the people who sign GTM work off.

One file with its CSS inline and no scripts, fonts or images from anywhere: it is mailed, attached to
tickets and opened offline, and it must look the same in a year. Every string from the report passes
through :func:`html.escape`, because messages quote CRM data and URLs that anyone could have typed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from ..about import __version__
from ..visible import visible
from .graph import GRAPH_CSS, render_graph
from .model import NOT_SELECTED, place, signers, url_spans
from .trendsvg import TREND_CSS, item_history

if TYPE_CHECKING:
    from ..history.trends import Trends

STATUS_TEXT: dict[str, str] = {
    "passed": "Passed",
    "attested": "Attested",
    "failed": "Failed",
    "error": "Error",
    "not_configured": "Not configured",
    "not_run": "Not run",
    NOT_SELECTED: "Not selected",
}
_DONE = ("passed", "attested")
_COUNTS: tuple[tuple[str, str], ...] = (
    ("passed", "passed"),
    ("attested", "attested"),
    ("failed", "failed"),
    ("error", "could not be verified"),
    ("not_configured", "not configured"),
)
# Items that are done start folded; the ones that block go-live are open, so the eye lands on them.
_MAX_BLOCKING_SHOWN = 12

CSS = """
:root {
  --ink: #1d2433; --muted: #5b6475; --line: #e3e6ec; --paper: #ffffff; --page: #f4f6f9;
  --ok: #157347; --ok-bg: #e3f4ea; --bad: #b42318; --bad-bg: #fdeceb;
  --warn: #b54708; --warn-bg: #fef3e2; --info: #175cd3; --info-bg: #e8f0fd; --off: #667085; --off-bg: #eef0f3;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 980px; margin: 0 auto; padding: 32px 24px 48px; }
h1 { font-size: 15px; font-weight: 600; letter-spacing: .06em; text-transform: uppercase; color: var(--muted);
  margin: 0 0 12px; }
h2 { font-size: 20px; margin: 0; }
h3 { font-size: 13px; letter-spacing: .06em; text-transform: uppercase; color: var(--muted);
  margin: 24px 0 8px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.verdict { border-radius: 14px; padding: 28px 32px; color: #fff; display: flex; gap: 32px;
  align-items: center; justify-content: space-between; flex-wrap: wrap; }
.verdict.ready { background: linear-gradient(135deg, #117a48, #0e9f6e); }
.verdict.blocked { background: linear-gradient(135deg, #a61b1b, #d92d20); }
.verdict .label { font-size: 13px; letter-spacing: .08em; text-transform: uppercase; opacity: .85; }
.verdict .headline { font-size: 38px; font-weight: 750; line-height: 1.1; margin: 4px 0 6px; }
.verdict .sub { font-size: 15px; opacity: .92; }
.verdict .big { text-align: right; }
.verdict .pct { font-size: 56px; font-weight: 750; line-height: 1; }
.verdict .pct-label { font-size: 13px; opacity: .85; }
.counts { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 0; padding: 0; list-style: none; }
.counts li { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 8px 14px;
  font-size: 13px; color: var(--muted); }
.counts b { display: block; font-size: 20px; color: var(--ink); }
.counts li.failed b, .counts li.error b { color: var(--bad); }
.counts li.not_configured b { color: var(--warn); }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 14px; padding: 22px 24px;
  margin-top: 20px; }
.blocking { border-left: 5px solid var(--bad); }
.blocking ul { margin: 8px 0 0; padding-left: 20px; }
.blocking li { margin: 2px 0; }
.overview { width: 100%; border-collapse: collapse; }
.overview th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 6px 8px;
  border-bottom: 1px solid var(--line); }
.overview td { padding: 10px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
.overview tr:last-child td { border-bottom: 0; }
.overview a { color: var(--ink); font-weight: 600; text-decoration: none; }
.bar { height: 10px; border-radius: 5px; background: var(--off-bg); overflow: hidden; min-width: 120px; }
.bar > svg { display: block; width: 100%; height: 100%; }
.bar rect { fill: var(--bad); }
.bar.full rect { fill: var(--ok); }
.bar.mid rect { fill: #f79009; }
.progress { margin-top: 14px; }
.barline { display: flex; align-items: center; gap: 10px; }
.barline .bar { flex: 1; }
.barline .num { font-weight: 700; min-width: 52px; text-align: right; }
.head { display: flex; justify-content: space-between; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.meta { color: var(--muted); font-size: 13px; margin-top: 4px; }
.meta span + span::before { content: "·"; margin: 0 6px; }
.pill { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 650;
  white-space: nowrap; border: 1px solid transparent; }
.s-passed { background: var(--ok-bg); color: var(--ok); }
.s-attested { background: var(--info-bg); color: var(--info); }
.s-failed, .s-error { background: var(--bad-bg); color: var(--bad); }
.s-not_configured { background: var(--warn-bg); color: var(--warn); }
.s-not_run, .s-not_selected { background: var(--off-bg); color: var(--off); }
.go { font-weight: 700; }
.go.ready { color: var(--ok); }
.go.blocked { color: var(--bad); }
.signoff { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; margin-top: 16px;
  background: var(--page); border-radius: 10px; padding: 12px 16px; }
.signoff div small { display: block; color: var(--muted); font-size: 11px; text-transform: uppercase;
  letter-spacing: .06em; }
.signoff.missing { display: block; background: var(--bad-bg); color: var(--bad); font-weight: 650; }
.loaderror { background: var(--bad-bg); color: var(--bad); border-radius: 10px; padding: 12px 16px;
  margin-top: 16px; overflow-wrap: anywhere; }
.dod { margin-top: 8px; }
.dod details { border-top: 1px solid var(--line); }
.dod summary { display: flex; gap: 12px; align-items: baseline; padding: 12px 4px; cursor: pointer;
  list-style: none; }
.dod summary::-webkit-details-marker { display: none; }
.dod summary::before { content: "\\25B8"; color: var(--muted); font-size: 12px; width: 10px; flex: none; }
.dod details[open] summary::before { content: "\\25BE"; }
.dod summary .pill { flex: none; width: 118px; text-align: center; }
.dod summary .what { flex: 1; }
.dod summary .what code { color: var(--muted); display: block; font-size: 11.5px; }
.dod summary .tally { color: var(--muted); font-size: 13px; white-space: nowrap; }
.checks { width: calc(100% - 26px); border-collapse: collapse; margin: 0 0 14px 26px; font-size: 13.5px;
  table-layout: fixed; }
.checks td { padding: 7px 8px; border-top: 1px dashed var(--line); vertical-align: top; }
.checks td.st { width: 130px; padding-left: 0; }
.checks td.line { width: 180px; text-align: right; overflow-wrap: anywhere; }
.checks td.id code { overflow-wrap: anywhere; }
.checks .msg { font-weight: 600; overflow-wrap: anywhere; }
.checks .ev { color: var(--muted); overflow-wrap: anywhere; }
.checks .xr { color: var(--muted); overflow-wrap: anywhere; }
.checks .line { color: var(--muted); font-size: 12px; }
.empty { color: var(--muted); margin: 0; }
.dod .empty { padding: 0 4px 14px 26px; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 28px; text-align: center; }
footer span + span::before { content: "·"; margin: 0 8px; }
@media (max-width: 640px) {
  .verdict .headline { font-size: 28px; } .verdict .big { text-align: left; }
  .signoff { grid-template-columns: 1fr; }
}
@media print {
  @page { margin: 14mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .bar, .bar rect, .pill, .signoff, .loaderror {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .card { border-color: #ccc; break-inside: auto; }
  .card > .head, .dod summary { break-inside: avoid; break-after: avoid; }
  .checks tr { break-inside: avoid; }
  .dod summary::before, .dod details[open] summary::before { display: none; }
  .overview a { color: inherit; }
}
""" + GRAPH_CSS + TREND_CSS
# Nothing may load or run: no script, font, image, frame or form target, from anywhere. The page's own
# <style> is allowed by its hash, so an injected <style> or style="" attribute would not apply either.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'"
)


def render_html(report: Mapping[str, Any], history: Trends | None = None) -> str:
    """Render ``report`` (the ``report.json`` structure) as a complete, self-contained HTML document.

    ``history``, when given, adds each check's last runs and each reconciled total's trend.
    """
    summary: Mapping[str, Any] = report.get("summary") or {}
    checklists: Sequence[Mapping[str, Any]] = report.get("checklists") or []
    ready = bool(summary.get("go_live"))
    title = ("GTM go-live: ready" if ready else "GTM go-live: blocked") + _environment(summary)
    body = [
        "<main>",
        "<h1>gtmcheck · definition-of-done sign-off</h1>",
        _verdict(summary, checklists, ready),
        _counts(summary),
        _blocking(summary),
        _overview(checklists),
        *(_checklist(c, i, history) for i, c in enumerate(checklists)),
        _footer(summary),
        "</main>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    """Escape any value for text or attribute context, hidden characters made visible; ``None`` is nothing."""
    return "" if value is None else escape(visible(str(value), keep="\n"), quote=True)


def _linked(value: object) -> str:
    """Escaped text in which each http(s) URL is a link to itself; no other scheme ever becomes a link."""
    text = visible(str(value), keep="\n")
    out, pos = [], 0
    for start, end in url_spans(text):
        url = escape(text[start:end], quote=True)
        out += [escape(text[pos:start], quote=True), f'<a href="{url}" rel="noopener noreferrer">{url}</a>']
        pos = end
    out.append(escape(text[pos:], quote=True))
    return "".join(out)


def _environment(summary: Mapping[str, Any]) -> str:
    """`` — sandbox`` for the headline and title: a verdict on a sandbox never reads as production's."""
    env = summary.get("environment")
    return f" — {env}" if env else ""


def _not_selected(checklist: Mapping[str, Any]) -> bool:
    """-k/-m left out every DoD item of the checklist: its 0% means nothing ran, not nothing done."""
    dod: Sequence[Mapping[str, Any]] = checklist.get("dod") or []
    return bool(dod) and all(d.get("status") == NOT_SELECTED for d in dod)


def _num(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _pct(value: object) -> str:
    return f"{_num(value):.1f}".removesuffix(".0") + "%"


def _status_pill(status: object) -> str:
    key = str(status)
    css = key if key in STATUS_TEXT else "not_run"
    return f'<span class="pill s-{css}">{_e(STATUS_TEXT.get(key, key))}</span>'


def _bar(completeness: object) -> str:
    pct = max(0.0, min(100.0, _num(completeness)))
    level = "full" if pct >= 100 else "mid" if pct >= 50 else "low"
    return (
        f'<div class="barline"><div class="bar {level}" role="img" aria-label="{_e(_pct(pct))} done">'
        f'<svg viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true"><rect width="{pct:.1f}" height="1"/>'
        f'</svg></div><span class="num">{_e(_pct(pct))}</span></div>'
    )


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _verdict(summary: Mapping[str, Any], checklists: Sequence[Mapping[str, Any]], ready: bool) -> str:
    n = len(checklists)
    signed = sum(bool(signers(c)) for c in checklists)
    if ready:
        headline = "Ready for go-live" + _environment(summary)
        signed_text = "the checklist is signed off" if n == 1 else f"all {n} checklists are signed off"
        sub = f"Every definition-of-done item is done and {signed_text}."
    else:
        headline = "Go-live blocked" + _environment(summary)
        statuses = [str(d.get("status")) for c in checklists for d in c.get("dod") or []]
        not_done = sum(s not in (*_DONE, NOT_SELECTED) for s in statuses)
        sub = f"{_plural(not_done, 'DoD item')} not done · {signed} of {_plural(n, 'checklist')} signed off"
        if summary.get("partial"):
            sub += f" · partial run: {_plural(statuses.count(NOT_SELECTED), 'DoD item')} not selected"
    return (
        f'<section class="verdict {"ready" if ready else "blocked"}" id="verdict">'
        f'<div><div class="label">Go-live verdict</div><div class="headline">{_e(headline)}</div>'
        f'<div class="sub">{_e(sub)}</div></div>'
        f'<div class="big"><div class="pct">{_e(_pct(summary.get("completeness")))}</div>'
        f'<div class="pct-label">of {"the selected " if summary.get("partial") else ""}DoD items done</div>'
        "</div></section>"
    )


def _counts(summary: Mapping[str, Any]) -> str:
    counts = _COUNTS + (((NOT_SELECTED, "not selected (-k/-m)"),) if _num(summary.get(NOT_SELECTED)) else ())
    items = "".join(
        f'<li class="{key if _num(summary.get(key)) else "zero"}">'
        f"<b>{_e(int(_num(summary.get(key))))}</b>checks {_e(label)}</li>"
        for key, label in counts
    )
    return f'<ul class="counts">{items}</ul>'


def _blocking(summary: Mapping[str, Any]) -> str:
    reasons: Sequence[object] = summary.get("blocking") or []
    if not reasons:
        return ""
    shown = "".join(f"<li>{_e(r)}</li>" for r in reasons[:_MAX_BLOCKING_SHOWN])
    more = len(reasons) - _MAX_BLOCKING_SHOWN
    if more > 0:
        shown += f"<li>… and {more} more, listed with each checklist below</li>"
    return f'<section class="card blocking"><h2>What blocks go-live</h2><ul>{shown}</ul></section>'


def _overview(checklists: Sequence[Mapping[str, Any]]) -> str:
    if not checklists:
        return '<section class="card"><p class="empty">No checklist was found.</p></section>'
    rows = []
    for i, c in enumerate(checklists):
        ready = bool(c.get("go_live"))
        names = ", ".join(_e(signoff.get("by")) for signoff in signers(c))
        signed = names or '<span class="go blocked">not signed off</span>'
        rows.append(
            f'<tr><td><a href="#checklist-{i}">{_e(c.get("name") or c.get("file"))}</a>'
            f'<div class="meta"><span>{_e(c.get("kind") or "unknown kind")}</span></div></td>'
            f"<td>{_done(c)}</td><td>{signed}</td>"
            f'<td class="go {"ready" if ready else "blocked"}">{"Ready" if ready else "Blocked"}</td></tr>'
        )
    return (
        '<section class="card"><h2>Checklists</h2><table class="overview">'
        "<thead><tr><th>Checklist</th><th>Done</th><th>Signed off by</th><th>Go-live</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _done(checklist: Mapping[str, Any]) -> str:
    """The completeness bar, or "Not selected" when -k/-m left the whole checklist out of the run."""
    if _not_selected(checklist):
        return _status_pill(NOT_SELECTED)
    return _bar(checklist.get("completeness"))


def _signoff(checklist: Mapping[str, Any]) -> str:
    rows = []
    for signoff in signers(checklist):
        role = str(signoff.get("role") or "").replace("_", " ")
        rows.append(
            '<div class="signoff">'
            f"<div><small>Signed off by</small>{_e(signoff.get('by'))}</div>"
            f"<div><small>Role</small>{_e(role)}</div>"
            f"<div><small>Date</small>{_e(signoff.get('on'))}</div></div>"
        )
    missing: Sequence[object] = checklist.get("signoff_missing") or []
    if not rows:
        return '<div class="signoff missing">Not signed off</div>'
    rows += [f'<div class="signoff missing">Missing a sign-off: {_e(m)}</div>' for m in missing]
    return "".join(rows)


def _checklist(checklist: Mapping[str, Any], index: int, history: Trends | None = None) -> str:
    ready = bool(checklist.get("go_live"))
    meta = [f'<span class="mono">{_e(checklist.get("file"))}</span>']
    if checklist.get("kind"):
        meta.append(f"<span>{_e(checklist['kind'])}</span>")
    if checklist.get("owner"):
        meta.append(f"<span>owner {_e(checklist['owner'])}</span>")
    if checklist.get("built_by"):
        meta.append(f"<span>built by {_e(checklist['built_by'])}</span>")
    if checklist.get("work_type"):
        meta.append(f"<span>{_e(str(checklist['work_type']).replace('_', '-'))} work</span>")
    verdict = "Ready for go-live" if ready else "Blocked"
    parts = [
        f'<section class="card checklist" id="checklist-{index}">',
        '<div class="head"><div>',
        f"<h2>{_e(checklist.get('name') or checklist.get('file'))}</h2>",
        f'<div class="meta">{"".join(meta)}</div></div>',
        f'<div class="go {"ready" if ready else "blocked"}">{verdict}</div>',
        "</div>",
        f'<div class="progress">{_done(checklist)}</div>',
        _signoff(checklist),
    ]
    if checklist.get("error"):
        parts.append(
            f'<div class="loaderror"><b>Cannot be loaded.</b> <span class="mono">{_e(checklist["error"])}</span></div>'
        )
    if checklist.get("status") == "not_configured" and checklist.get("message"):
        parts.append(f'<div class="loaderror"><b>Missing.</b> {_e(checklist["message"])}</div>')
    if checklist.get("routing_graph"):
        parts.append("<h3>Routing</h3>" + render_graph(checklist["routing_graph"], index))
    dod: Sequence[Mapping[str, Any]] = checklist.get("dod") or []
    items: Sequence[Mapping[str, Any]] = checklist.get("items") or []
    if dod:
        parts.append('<h3>Definition of done</h3><div class="dod">')
        file = checklist.get("file")
        parts += [_dod_item(d, [i for i in items if i.get("dod") == d.get("id")], file, history) for d in dod]
        parts.append("</div>")
    beside = [i for i in items if i.get("outside_dod")]
    if beside:  # BASELINE-DRIFT: shown with its message, counted in no DoD item
        rows = "".join(_check_row(i, checklist.get("file")) for i in beside)
        parts.append(f'<h3>Beside the definition of done</h3><table class="checks"><tbody>{rows}</tbody></table>')
    parts.append("</section>")
    return "\n".join(parts)


def _dod_item(dod: Mapping[str, Any], checks: Sequence[Mapping[str, Any]], checklist_file: object,
              history: Trends | None = None) -> str:
    status = str(dod.get("status"))
    done = sum(str(c.get("status")) in _DONE for c in checks)
    tally = f"{done} of {_plural(len(checks), 'check')} done" if checks else "no checks"
    is_open = " open" if status not in (*_DONE, NOT_SELECTED) else ""
    summary = (
        f"<summary>{_status_pill(status)}"
        f'<span class="what">{_e(dod.get("text"))}<code>{_e(dod.get("id"))}</code></span>'
        f'<span class="tally">{_e(tally)}</span></summary>'
    )
    if not checks:
        why = {
            "not_configured": "Not verified by this checklist and not attested.",
            NOT_SELECTED: "Left out of this run by -k/-m.",
        }.get(status, "No checks ran.")
        return f'<details{is_open}>{summary}<div class="empty">{_e(why)}</div></details>'
    # What blocks go-live first; the order of the checklist otherwise (sorted() is stable).
    ordered = sorted(checks, key=lambda c: str(c.get("status")) in _DONE)
    rows = "".join(_check_row(c, checklist_file, history) for c in ordered)
    return f'<details{is_open}>{summary}<table class="checks"><tbody>{rows}</tbody></table></details>'


def _check_row(check: Mapping[str, Any], checklist_file: object, history: Trends | None = None) -> str:
    lines = []
    if check.get("message"):
        lines.append(f'<div class="msg">{_e(check["message"])}</div>')
    if check.get("recheck"):  # --recheck ran it twice: "failed twice" or "passed on recheck (flaky)"
        lines.append(f'<div class="xr">{_e(check["recheck"])}</div>')
    if check.get("expected") or check.get("received"):
        lines.append(
            f'<div class="xr">expected {_e(check.get("expected"))} · received {_e(check.get("received"))}</div>'
        )
    if check.get("evidence"):
        lines.append(f'<div class="ev">{_linked(check["evidence"])}</div>')
    if check.get("attested_by"):
        lines.append(f'<div class="ev">attested by {_e(check["attested_by"])}</div>')
    lines.append(item_history(history, checklist_file, check.get("id")))
    where = _e(place(check, checklist_file))
    return (
        f'<tr><td class="st">{_status_pill(check.get("status"))}</td>'
        f'<td class="id"><code>{_e(check.get("id"))}</code>{"".join(lines)}</td>'
        f'<td class="line">{where}</td></tr>'
    )


def _footer(summary: Mapping[str, Any]) -> str:
    facts = []
    if summary.get("run_id"):
        facts.append(f'run <span class="mono">{_e(summary["run_id"])}</span>')
    if summary.get("environment"):
        facts.append(f"environment {_e(summary['environment'])}")
    if summary.get("started_at"):
        facts.append(f"started {_e(summary['started_at'])}")
    if summary.get("duration_s") is not None:
        facts.append(f"took {_e(summary['duration_s'])} s")
    facts.append(f"gtmcheck {_e(__version__)}")
    return "<footer>" + "".join(f"<span>{fact}</span>" for fact in facts) + "</footer>"
