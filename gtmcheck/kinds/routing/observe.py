"""What a routing checklist's DoD rests on, read without writing, for the baseline (``Kind.observe``).

Two sections: ``owners``, each owner the checklist names (rules, pools, fallback) with ``active`` and ``teams`` as
the CRM reports them (a deactivated rep or a team move is drift); and ``outcomes``, per rule id (or
``fallback``) the sorted owner emails that real leads of the audit window got (audit.py). Owners, not counts:
how many leads came in is noise from night to night, who got them is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import CheckError, ConnectorError
from .audit import outcomes_per_rule
from .leads import Expectation
from .live import owner_directory

if TYPE_CHECKING:
    from ...context import RunContext
    from .kind import RoutingSpec

MISSING = "(not in the CRM)"


def named_owners(spec: RoutingSpec) -> list[str]:
    """Every owner email the checklist names, lowercase, sorted."""
    emails: set[str] = set()
    for rule, assign in zip(spec.rules, spec.assignments, strict=True):
        emails.update(Expectation(rule.id, assign).emails)
    if spec.fallback_assign:
        emails.update(Expectation("fallback", spec.fallback_assign).emails)
    return sorted(emails)


def observe_routing(ctx: RunContext, spec: RoutingSpec) -> Mapping[str, Any]:
    """``{"owners": {email: {"active", "teams"}}, "outcomes": {rule id: [owner emails]}}``; reads only."""
    directory = owner_directory(ctx)
    owners: dict[str, Any] = {}
    for email in named_owners(spec):
        owner = directory.by_email.get(email)
        owners[email] = {"active": owner.active, "teams": sorted(owner.teams)} if owner is not None else \
            {"active": False, "teams": [MISSING]}
    try:
        outcomes = outcomes_per_rule(ctx, spec) if spec.rules else {}
    except ConnectorError as exc:
        raise CheckError(f"could not read the leads of the audit window: {exc}") from None
    return {"owners": owners, "outcomes": outcomes}
