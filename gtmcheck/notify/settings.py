"""The ``notify:`` section of gtmcheck.yml: destinations, suppression, alert threshold, report link, state file.

``${ENV}`` is expanded in it (a webhook URL comes from a CI secret, never from the file); each value's
mistakes are reported at its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import envvars
from ..durations import PATTERN, parse_duration
from ..errors import Location

if TYPE_CHECKING:
    from ..project import Project

MAX_SUPPRESS = "365d"
SUPPRESS_HINT = "write a duration such as 1d or 7d"

NOTIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "`gtmcheck notify` (and `gtmcheck run --notify`): one digest per checklist owner of what is "
                   "new, changed or resolved since the last alert. Docs: docs/notify.md.",
    "properties": {
        "to": {
            "type": "array",
            "items": {"type": "string", "pattern": "^(slack|webhook|github):.+",
                      "x-hint": "write slack:${SLACK_WEBHOOK_URL}, webhook:${ALERT_WEBHOOK_URL} or github:OWNER/REPO"},
            "description": "Destinations: slack:URL (an incoming webhook), webhook:URL (generic JSON), "
                           "github:OWNER/REPO (an issue per owner; token from $GITHUB_TOKEN). Write webhook URLs as "
                           "${ENV_VAR}: they are secrets.",
        },
        "suppress": {"type": "string", "pattern": PATTERN, "x-hint": SUPPRESS_HINT,
                     "description": "Re-alert an unchanged open finding at most once per this interval (at most "
                                    "365d). Default: never while it stays open."},
        "alert_after": {"type": "integer", "minimum": 1, "maximum": 30,
                        "description": "Failing runs in a row before the first alert (default 1). A check that "
                                       "could not be verified (error) needs at least 2."},
        "report_url": {"type": "string", "description": "Link in every digest, e.g. the CI run's page."},
        "state": {"type": "string", "description": "The state file, relative to the project root "
                                                   "(default .gtmcheck/notify-state.json)."},
    },
}


@dataclass
class NotifySettings:
    """The project's notify settings; the command line overrides each one it gives."""

    to: list[str] = field(default_factory=list)
    to_locations: list[Location | None] = field(default_factory=list)
    suppress: float | None = None
    alert_after: int = 1
    report_url: str | None = None
    state: Path | None = None


def suppress_seconds(text: str, where: Location | None) -> float:
    return parse_duration(text, where or Location("--suppress"), MAX_SUPPRESS)


def project_settings(project: Project) -> NotifySettings:
    """The ``notify:`` section, ``${ENV}`` expanded (a missing variable is an error at its line)."""
    doc = project.doc
    if doc is None or not isinstance(doc.data.get("notify"), dict):
        return NotifySettings()
    raw = envvars.expanded(doc, ("notify",))
    settings = NotifySettings()
    settings.to = [str(t) for t in raw.get("to", [])]
    settings.to_locations = [doc.location(("notify", "to", i)) for i in range(len(settings.to))]
    if raw.get("suppress") is not None:
        settings.suppress = suppress_seconds(str(raw["suppress"]), doc.location(("notify", "suppress")))
    settings.alert_after = int(raw.get("alert_after", 1))
    settings.report_url = raw.get("report_url") or None
    if raw.get("state"):
        settings.state = project.root / str(raw["state"])
    return settings
