"""The sign-off report as GitHub-flavoured Markdown, for a PR comment and the Actions job summary.

GitHub rejects a comment over 65,536 characters, so the long parts (the failing checks) are cut down
step by step until the whole fits, with a note saying what was left out and where the full list is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..visible import shorten, visible
from .model import NOT_SELECTED, place, signers, url_spans

GITHUB_COMMENT_LIMIT = 65_536
# Leave room for a bot's own header or footer around the report.
DEFAULT_MAX_CHARS = 60_000
Cap = int | None
# How many failing checks to list per checklist (None: all), tried in turn until the report fits.
_FAILURE_CAPS: tuple[Cap, ...] = (None, 100, 25, 5, 0)
# How much of one value the report shows (names and ids, then messages); report.json keeps all of it.
NAME_LIMIT = 200
TEXT_LIMIT = 1_000
# Markdown's inline syntax, escaped; HTML's three as entities, since GitHub renders raw HTML.
_MARKUP = str.maketrans({**{c: "\\" + c for c in "\\`*_[]()!#~|"}, "&": "&amp;", "<": "&lt;", ">": "&gt;"})
# What GitHub turns into links without any markup: ``https://...`` and ``www.`` (a backslash breaks them).
_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)
# GitHub's extended autolinks read ``mailto:``/``xmpp:`` in the text itself, escaped or not, and then link the
# address after it as a relative URL (``mailto:x@a.examplex@b.example``): an empty comment splits the word.
_SCHEME_WORD = re.compile(r"(?<=mailto)(?=:)|(?<=xmpp)(?=:)", re.IGNORECASE)
# What would open a nested list or a rule at the start of a list item: ``- x``, ``+ x``, ``1. x``.
_LIST_MARKER = re.compile(r"^(?:[-+]|\d{1,9}[.)])")
# What may stay as it is in a link destination; everything else is percent-encoded.
_URL_SAFE = ":/?#@!$&*+,;=%-._~"

STATUS_LABEL: dict[str, str] = {
    "passed": "✅ passed",
    "attested": "✅ attested",
    "failed": "❌ failed",
    "error": "❌ error",
    "not_configured": "❌ not configured",
    "not_run": "– not run",
    NOT_SELECTED: "– not selected",
}
_NOT_DONE = ("failed", "error", "not_configured")
_COUNT_KEYS: tuple[tuple[str, str], ...] = (
    ("passed", "passed"),
    ("failed", "failed"),
    ("error", "error"),
    ("attested", "attested"),
    ("not_configured", "not configured"),
)


def render_markdown(report: Mapping[str, Any], *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Render ``report`` (the ``report.json`` structure) as Markdown of at most ``max_chars`` characters."""
    text = ""
    for cap in _FAILURE_CAPS:
        text = _render(report, failure_cap=cap)
        if len(text) <= max_chars:
            return text
    return _cut(text, max_chars)


def _cut(text: str, max_chars: int) -> str:
    """The last resort: whole lines only, open ``<details>`` closed, so what is left still renders right."""
    note = "\n\n_Report truncated to fit a GitHub comment; see report.html or report.json for all of it._\n"
    lines = text.splitlines()
    while True:
        head = "\n".join(lines).rstrip()
        closing = "\n\n</details>" * max(0, head.count("<details>") - head.count("</details>"))
        out = head + closing + note
        if len(out) <= max_chars or not lines:
            return out if len(out) <= max_chars else note[: max(0, max_chars)]
        lines.pop()


def _escape(value: object, limit: int) -> str:
    """User text as Markdown that renders as itself: no markup, HTML, link, image or autolink.

    Hidden characters are made visible (:func:`visible`), and a value over ``limit`` characters is
    shortened, so that one pasted CSV cannot push the rest of the report out of a GitHub comment.
    """
    return _literal(shorten(visible(str(value), keep="\n"), limit))


def _literal(text: str) -> str:
    return _SCHEME_WORD.sub("<!-- -->", _AUTOLINK.sub(r"\\\g<0>", text.translate(_MARKUP)))


def cell(value: object, limit: int = TEXT_LIMIT) -> str:
    """Make any value safe inside a table cell: no pipes, no line breaks, no raw HTML, no links."""
    if value is None:
        return ""
    text = "<br>".join(line.strip() for line in _escape(value, limit).strip().splitlines())
    return _LIST_MARKER.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], text)  # as a list item: no sublist


def _inline(value: object, limit: int = TEXT_LIMIT) -> str:
    """Escape text shown outside a table (headings, list items) so that it cannot open HTML or links."""
    return cell(value, limit)


def _code(value: object, *, table: bool = False, limit: int = NAME_LIMIT) -> str:
    """Inline code that no value can close early.

    A value with backticks goes in ``<code>`` with its text escaped: a fence longer than the backtick runs
    inside would do too, but GitHub reads no fence over 80 backticks (cmark-gfm's MAXBACKTICKS).
    """
    text = shorten(" ".join(visible(str(value), keep="\n\t").split()), limit)
    if not text:
        return ""
    if "`" in text:
        return f"<code>{_literal(text)}</code>"
    if table:
        text = text.replace("|", "\\|")
    return f"`{text}`"


def _evidence(value: object, limit: int = TEXT_LIMIT) -> str:
    """Evidence as escaped text in which each http(s) URL is a link to itself (never ``javascript:`` & co)."""
    text = shorten(" ".join(visible(str(value)).split()), limit)
    out, pos = [], 0
    for start, end in url_spans(text):
        url = text[start:end]
        out += [_literal(text[pos:start]), f"[{_literal(url)}]({quote(url, safe=_URL_SAFE)})"]
        pos = end
    out.append(_literal(text[pos:]))
    return _LIST_MARKER.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], "".join(out))


def _environment(summary: Mapping[str, Any]) -> str:
    """`` (environment `sandbox`)`` for the headline, so no verdict reads as if it were production's."""
    env = summary.get("environment")
    return f" (environment {_code(env)})" if env else ""


def _done(checklist: Mapping[str, Any]) -> str:
    """A checklist's completeness, or "not selected" when -k/-m left out every one of its DoD items."""
    dod: Sequence[Mapping[str, Any]] = checklist.get("dod") or []
    if dod and all(d.get("status") == NOT_SELECTED for d in dod):
        return "not selected"
    return _pct(checklist.get("completeness"))


def _pct(value: object) -> str:
    """A missing or odd completeness shows as 0%: nothing counts as done that was not shown to be."""
    try:
        return f"{float(value or 0):.1f}%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "0.0%"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _render(report: Mapping[str, Any], *, failure_cap: int | None) -> str:
    summary: Mapping[str, Any] = report.get("summary") or {}
    checklists: Sequence[Mapping[str, Any]] = report.get("checklists") or []
    out: list[str] = ["## gtmcheck sign-off report", ""]
    out += _headline(summary, checklists)
    out += _summary_table(summary, checklists)
    out += _blocking(summary)
    for checklist in checklists:
        out += _checklist(checklist, failure_cap)
    out += _footer(summary)
    return "\n".join(out).rstrip() + "\n"


def _headline(summary: Mapping[str, Any], checklists: Sequence[Mapping[str, Any]]) -> list[str]:
    verdict = "**Go-live: ready**" if summary.get("go_live") else "**Go-live: blocked**"
    n = len(checklists)
    done = _pct(summary.get("completeness"))
    if summary.get("partial"):
        left_out = sum(d.get("status") == NOT_SELECTED for c in checklists for d in c.get("dod") or [])
        line = (f"{verdict}{_environment(summary)} — {done} of the selected DoD items done across "
                f"{_plural(n, 'checklist')} (partial run: {_plural(left_out, 'DoD item')} not selected)")
    else:
        line = f"{verdict}{_environment(summary)} — {done} of DoD items done across {_plural(n, 'checklist')}"
    return [line + ".", ""]


def _summary_table(summary: Mapping[str, Any], checklists: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = _COUNT_KEYS + (((NOT_SELECTED, "not selected"),) if summary.get(NOT_SELECTED) else ())
    out = [
        "| " + " | ".join(label for _, label in keys) + " | completeness |",
        "|" + "---:|" * (len(keys) + 1),
        "| "
        + " | ".join(cell(summary.get(key, 0), NAME_LIMIT) for key, _ in keys)
        + f" | {_pct(summary.get('completeness'))} |",
        "",
    ]
    if checklists:
        out += ["| checklist | kind | done | signed off | go-live |", "|---|---|---:|---|---|"]
        for c in checklists:
            name = c.get("name") or c.get("file")
            go = "✅ ready" if c.get("go_live") else "❌ blocked"
            out.append(
                f"| {cell(name, NAME_LIMIT)} | {cell(c.get('kind') or '', NAME_LIMIT)} | {_done(c)} "
                f"| {_signoff_text(c)} | {go} |"
            )
        out.append("")
    return out


def _blocking(summary: Mapping[str, Any]) -> list[str]:
    reasons: Sequence[str] = summary.get("blocking") or []
    if not reasons:
        return []
    shown = list(reasons[:20])
    out = [f"<details><summary>What blocks go-live ({len(reasons)})</summary>", ""]
    out += [f"- {_inline(reason)}" for reason in shown]
    if len(reasons) > len(shown):
        out.append(f"- … and {len(reasons) - len(shown)} more")
    out += ["", "</details>", ""]
    return out


def _signoff_text(checklist: Mapping[str, Any]) -> str:
    """Who signed off, in what role, when, and which roles are missing: safe in a table cell."""
    texts = []
    for signoff in signers(checklist):
        role = str(signoff.get("role") or "").replace("_", " ")
        parts = [cell(signoff.get("by") or "?", NAME_LIMIT)]
        if role:
            parts.append(f"({cell(role, NAME_LIMIT)})")
        if signoff.get("on"):
            parts.append(f"on {cell(signoff['on'], NAME_LIMIT)}")
        texts.append(" ".join(parts))
    missing = checklist.get("signoff_missing") or []
    if texts and missing:
        texts.append("missing " + ", ".join(cell(m, NAME_LIMIT) for m in missing))
    return "; ".join(texts) or "not signed off"


def _checklist(checklist: Mapping[str, Any], failure_cap: Cap) -> list[str]:
    name = checklist.get("name") or checklist.get("file") or "checklist"
    out = [f"### {_inline(name, NAME_LIMIT)}", ""]
    facts = [f"file {_code(checklist.get('file', ''))}"]
    if checklist.get("kind"):
        facts.append(f"kind {_code(checklist['kind'])}")
    if checklist.get("owner"):
        facts.append(f"owner {_inline(checklist['owner'], NAME_LIMIT)}")
    if checklist.get("built_by"):
        facts.append(f"built by {_inline(checklist['built_by'], NAME_LIMIT)}")
    facts.append(f"sign-off: {_signoff_text(checklist)}")
    facts.append(f"done {_done(checklist)}")
    out += [" · ".join(facts), ""]
    if checklist.get("error"):
        out += [f"❌ **Cannot be loaded:** {_code(checklist['error'], limit=TEXT_LIMIT)}", ""]
    if checklist.get("status") == "not_configured" and checklist.get("message"):
        out += [f"❌ **Missing:** {_inline(checklist['message'], TEXT_LIMIT)}", ""]

    items: Sequence[Mapping[str, Any]] = checklist.get("items") or []
    dod: Sequence[Mapping[str, Any]] = checklist.get("dod") or []
    if dod:
        out += ["| status | DoD item | checks |", "|---|---|---|"]
        for d in dod:
            own = [i for i in items if i.get("dod") == d.get("id")]
            done = sum(i.get("status") in ("passed", "attested") for i in own)
            checks = f"{done}/{len(own)} done" if own else ""
            status = STATUS_LABEL.get(str(d.get("status")), cell(d.get("status")))
            what = f"{_code(d.get('id', ''), table=True)} {cell(d.get('text', ''))}"
            out.append(f"| {status} | {what} | {checks} |")
        out.append("")
    for item in items:  # beside the DoD (BASELINE-DRIFT): shown, never counted as a DoD item
        if item.get("outside_dod"):
            status = STATUS_LABEL.get(str(item.get("status")), cell(item.get("status")))
            out += [f"{status} {_code(item.get('id', ''))} {_inline(item.get('text') or '')} (beside the DoD): "
                    f"{_inline(item.get('evidence') or item.get('message') or '')}", ""]

    failing = [i for i in items if i.get("status") in _NOT_DONE]
    if failing:
        out += _failures(failing, checklist, failure_cap)
    return out


def _failures(failing: Sequence[Mapping[str, Any]], checklist: Mapping[str, Any], cap: Cap) -> list[str]:
    shown = list(failing if cap is None else failing[:cap])
    out = [f"<details><summary>{_plural(len(failing), 'check')} not done</summary>", ""]
    for item in shown:
        status = STATUS_LABEL.get(str(item.get("status")), cell(item.get("status")))
        at = place(item, checklist.get("file", ""))
        where = f" ({cell(at, NAME_LIMIT)})" if at else ""
        line = f"- {status} {_code(item.get('id', ''))}{where}: {_inline(item.get('message') or '')}"
        if item.get("recheck"):  # --recheck ran it twice
            line += f" ({cell(item['recheck'])})"
        # One list item per check; <br> keeps the details on their own lines without breaking the list.
        if item.get("expected") or item.get("received"):
            expected, received = _inline(item.get("expected", "")), _inline(item.get("received", ""))
            line += f"<br>expected {expected}, received {received}"
        if item.get("evidence"):
            line += f"<br>evidence: {_evidence(item['evidence'])}"
        out.append(line)
    if len(failing) > len(shown):
        out.append(f"- … {len(failing) - len(shown)} more not shown to fit a comment; see report.html")
    out += ["", "</details>", ""]
    return out


def _footer(summary: Mapping[str, Any]) -> list[str]:
    facts = []
    if summary.get("run_id"):
        facts.append(f"run {_code(summary['run_id'])}")
    if summary.get("environment"):
        facts.append(f"environment {_code(summary['environment'])}")
    if summary.get("started_at"):
        facts.append(f"started {_inline(summary['started_at'])}")
    if summary.get("duration_s") is not None:
        facts.append(f"took {_inline(summary['duration_s'])} s")
    return ["---", "<sub>" + " · ".join(facts) + "</sub>", ""] if facts else []
