"""What a utm checklist rests on in the live stack, read-only, for the baseline.

The taxonomy and channel rules are the checklist itself (reviewed in its own diff), not an observation. What
the live stack decides is where the traced UTM parameters land: section ``properties``, the contact property
each of utm_source/medium/campaign maps to (``trace.properties``) as the CRM describes it, ``null`` when it is
gone. A checklist without ``form:`` traces nothing into the CRM and observes nothing (``{}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .channel_trace import settings_of

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist


def observe_utm(checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
    """The CRM's definitions of the contact properties the UTM parameters populate."""
    settings = settings_of(checklist.data)
    if settings is None:
        return {}
    described = {p.name: p for p in ctx.crm().properties("contacts")}
    out: dict[str, Any] = {}
    for name in sorted(set(settings.properties.values())):
        prop = described.get(name)
        out[f"contacts.{name}"] = None if prop is None else {"type": prop.type, "field_type": prop.field_type}
    return {"properties": out}
