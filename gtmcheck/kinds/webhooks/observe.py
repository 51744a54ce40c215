"""What a webhooks checklist rests on, read-only, for the baseline: the versions each event is seen in.

Section ``events``: per declared event, the declared ``sender`` and ``receiver`` versions (a change to the
checklist itself shows in review as well) and ``versions_seen``, the versions the samples claim (the sandbox's
delivery log, capture files, a warehouse table). A sender that moved to 2.1 shows as version `2.1` added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .checks import judged
from .model import WebhooksSpec

if TYPE_CHECKING:
    from ...context import RunContext


def observe_webhooks(spec: WebhooksSpec, ctx: RunContext) -> Mapping[str, Any]:
    """Declared and seen versions per event; ``{}`` when the checklist declares no event."""
    if not spec.events:
        return {}
    seen: dict[str, set[str]] = {e.name: set() for e in spec.events}
    for source in spec.samples:
        for verdict in judged(spec, source, ctx):
            if verdict.event is not None and verdict.version is not None:
                seen[verdict.event.name].add(verdict.version)
    return {"events": {e.name: {"sender": e.sender, "receiver": e.receiver, "versions_seen": sorted(seen[e.name])}
                       for e in spec.events}}
