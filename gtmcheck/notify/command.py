"""``gtmcheck notify``: read a run's report.json, send each owner one digest, remember what was said.

The order matters for "no lost alerts": state is saved after delivery, and only for the owners whose digests
every destination took; an owner whose delivery failed keeps last night's state and is told again next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..durations import format_duration
from ..errors import Location, SpecError, UnreadableFile
from ..report.schema import load_report
from .destinations import DeliveryFailed, Destination, DestinationError, GitHubIssues, parse_destination, post_json
from .findings import read_night
from .plan import Digest, Policy, plan
from .render import slack_payload, text_digest, webhook_payload
from .state import FIX, load_state, save_state

REPORT_NAME = "report.json"


@dataclass
class NotifyRequest:
    """Everything one notify needs, from the command line and gtmcheck.yml merged."""

    report: Path
    state: Path
    to: list[str] = field(default_factory=list)
    to_locations: list[Location | None] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    report_url: str | None = None
    dry_run: bool = False
    github_api_url: str | None = None


Say = Callable[[str], None]


def report_file(path: Path) -> Path:
    """A report folder means its report.json."""
    return path / REPORT_NAME if path.is_dir() else path


def parse_destinations(request: NotifyRequest) -> list[Destination]:
    """Every destination, or a ``SpecError`` at the gtmcheck.yml line (or naming ``--to``) of the bad one."""
    out = []
    for i, text in enumerate(request.to):
        try:
            out.append(parse_destination(text))
        except DestinationError as exc:
            where = request.to_locations[i] if i < len(request.to_locations) else None
            raise SpecError(exc.message, where or Location("--to"), exc.hint) from None
    return out


def run_notify(request: NotifyRequest, say: Say, warn: Say, transport: httpx.BaseTransport | None = None) -> int:
    """0: sent (or nothing new); 1: a destination failed (its owners are retried next run); 2: unusable input."""
    destinations = parse_destinations(request)
    if not destinations and not request.dry_run:
        raise SpecError("no destination to send digests to", Location("--to"),
                        "give --to slack:URL, webhook:URL or github:OWNER/REPO, or `notify: {to: [...]}` in "
                        "gtmcheck.yml; --dry-run prints the digests instead")
    path = report_file(request.report)
    try:
        report = load_report(path)
    except UnreadableFile as exc:
        if exc.problem == "does not exist":
            exc.problem, exc.hint = "file not found", "run `gtmcheck run` first, or give --report DIR|FILE"
        raise SpecError(exc.problem, Location(str(path)), exc.hint) from None
    try:
        state = load_state(request.state)
    except UnreadableFile as exc:
        raise SpecError(exc.problem, Location(str(request.state)), exc.hint or FIX) from None
    night = read_night(report)
    tonight = plan(state, night, request.policy)
    github = [] if request.dry_run else [GitHubIssues(d, state, request.github_api_url)
                                        for d in destinations if d.kind == "github"]
    if not tonight.digests:
        say("nothing new")
        if not request.dry_run:
            save_state(tonight.state_after(set()), request.state)
        return 0
    reminder = f" (re-alerted every {format_duration(request.policy.suppress)})" if request.policy.suppress else ""
    failed: set[str] = set()
    with httpx.Client(transport=transport, follow_redirects=False) as client:
        for owner, digest in tonight.digests.items():
            text = text_digest(digest, night.environment, request.report_url, reminder)
            if request.dry_run:
                say(f"--- digest for {owner} (dry run: not sent to "
                    f"{', '.join(d.display for d in destinations) or 'any destination'}) ---")
                say(text.rstrip("\n"))
                continue
            try:
                for dest in destinations:
                    _send(client, dest, digest, text, night.environment, night.run_id, request.report_url, reminder,
                          github)
            except DeliveryFailed as exc:
                failed.add(owner)
                warn(f"gtmcheck notify: digest for {owner} not delivered: {exc}; it is sent again next run")
                continue
            say(f"sent the digest for {owner} ({_counts(digest)}) to {', '.join(d.display for d in destinations)}")
    if not request.dry_run:
        save_state(tonight.state_after(failed), request.state)
    return 1 if failed else 0


def _counts(digest: Digest) -> str:
    parts = [f"{len(digest.new)} new", f"{len(digest.changed)} changed"]
    if digest.reminded:
        parts.append(f"{len(digest.reminded)} still failing")
    return ", ".join([*parts, f"{len(digest.resolved)} resolved"])


def _send(client: httpx.Client, dest: Destination, digest: Digest, text: str, environment: str, run_id: str,
          report_url: str | None, reminder: str, github: list[GitHubIssues]) -> None:
    if dest.kind == "slack":
        post_json(client, dest, dest.target, slack_payload(digest, environment, report_url, reminder))
    elif dest.kind == "webhook":
        post_json(client, dest, dest.target, webhook_payload(digest, environment, run_id, report_url))
    else:
        (issues,) = [g for g in github if g.dest == dest]
        issues.send(client, digest.owner, text, close=digest.open == 0)
