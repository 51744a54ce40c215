"""An owner's digest as people read it: plain text (dry runs, GitHub issues) and Slack blocks.

Slack caps a section's text at 3000 characters and a message at 50 blocks: long digests are cut with a line
that says how many findings the report holds beyond what is shown.
"""

from __future__ import annotations

from typing import Any

from ..visible import visible
from .findings import Finding
from .plan import Digest
from .state import Record

MAX_LINE = 400  # one finding's line; the report has the rest
MAX_SECTION = 2900  # Slack: 3000 characters per section text
MAX_BLOCKS = 45  # Slack: 50 blocks per message, a few kept for the header and the link


def headline(digest: Digest, environment: str) -> str:
    parts = [f"{len(digest.new)} new", f"{len(digest.changed)} changed"]
    if digest.reminded:
        parts.append(f"{len(digest.reminded)} still failing")
    parts.append(f"{len(digest.resolved)} resolved")
    where = f" ({environment})" if environment else ""
    return f"gtmcheck{where}: {', '.join(parts)} for {digest.owner}"


def _cut(text: str) -> str:
    text = visible(" ".join(text.split()))
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def finding_line(finding: Finding) -> str:
    status = "FAILED" if finding.status == "failed" else "ERROR (could not verify)"
    return _cut(f"{status} {finding.checklist} {finding.item}: {finding.message}")


def resolved_line(record: Record) -> str:
    return _cut(f"RESOLVED {record.checklist} {record.item} (was: {record.message})")


def sections(digest: Digest, suppress_text: str = "") -> list[tuple[str, list[str]]]:
    """The digest's groups in the order people act on them, each with its lines."""
    groups = [
        ("New", [finding_line(f) for f in digest.new]),
        ("Changed", [finding_line(f) for f in digest.changed]),
        (f"Still failing{suppress_text}", [finding_line(f) for f in digest.reminded]),
        ("Resolved", [resolved_line(r) for r in digest.resolved]),
    ]
    return [(title, lines) for title, lines in groups if lines]


def text_digest(digest: Digest, environment: str, report_url: str | None, suppress_text: str = "") -> str:
    """The digest as plain text (Markdown-friendly: a GitHub issue body or comment, a dry run's output)."""
    out = [headline(digest, environment), ""]
    for title, lines in sections(digest, suppress_text):
        out.append(f"{title}:")
        out += [f"- {line}" for line in lines]
        out.append("")
    if digest.open:
        out.append(f"{digest.open} finding(s) open for {digest.owner} tonight.")
    if report_url:
        out.append(f"Report: {report_url}")
    return "\n".join(out).rstrip() + "\n"


def slack_payload(digest: Digest, environment: str, report_url: str | None, suppress_text: str = "") -> dict[str, Any]:
    """Slack incoming webhook JSON: ``text`` (notifications, old clients) and ``blocks`` (the message)."""
    title = headline(digest, environment)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    shown = total = 0
    for group, lines in sections(digest, suppress_text):
        chunk = f"*{group}*"
        for line in lines:
            total += 1
            entry = "\n• " + _slack_escape(line)
            if len(chunk) + len(entry) > MAX_SECTION:
                if len(blocks) >= MAX_BLOCKS:
                    continue
                blocks.append(_section(chunk))
                chunk = f"*{group}* (continued)"
            chunk += entry
            shown += 1
        if len(blocks) < MAX_BLOCKS:
            blocks.append(_section(chunk))
        else:
            shown -= chunk.count("\n• ")
    footer = []
    if shown < total:
        footer.append(f"{total - shown} more not shown here")
    if report_url:
        footer.append(f"<{report_url}|Open the report>")
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(footer)}]})
    fallback = title + (f" — {report_url}" if report_url else "")
    return {"text": fallback, "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack_escape(text: str) -> str:
    """Slack's three control characters: a message from the CRM cannot turn into a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(digest: Digest, night_environment: str, run_id: str, report_url: str | None) -> dict[str, Any]:
    """The generic JSON webhook's body."""
    return {
        "owner": digest.owner,
        "environment": night_environment,
        "run_id": run_id,
        "new": [f.as_dict() for f in digest.new],
        "changed": [f.as_dict() for f in digest.changed],
        "still_failing": [f.as_dict() for f in digest.reminded],
        "resolved": [{"owner": r.owner, "checklist": r.checklist, "item": r.item, "status": r.status,
                      "message": r.message, "first_seen": r.first_seen} for r in digest.resolved],
        "open": digest.open,
        "report_url": report_url,
    }
