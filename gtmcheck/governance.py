"""Governance rules shared by every kind: who built it, who signed it off, what was attested by whom.

A checklist that passes every automated check is still not live until the right person, who did not build
it, has accepted it. These rules make that part of the definition of done instead of a meeting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from .dod import SIGNER_ROLES
from .findings import Finding, Severity, register
from .spec import Checklist

SIGNOFF_MISSING = register(
    "GOV001", "signoff.missing", Severity.WARNING,
    "The checklist has no sign-off, so it cannot go live.",
    "add `signoff: {by: <email>, role: <role>, on: YYYY-MM-DD}` once the work is accepted",
    "Anti-pattern: a checklist that is green but was never accepted by anyone. Best practice: the "
    "accountable person signs off with their role and the date; until then the go-live gate stays shut.",
)
SIGNOFF_BY_BUILDER = register(
    "GOV002", "signoff.by-builder", Severity.ERROR,
    "The person who built the work signed it off.",
    "ask someone who did not build it to review and sign off",
    "Anti-pattern: the builder approving their own work. Best practice: sign-off comes from a second "
    "person in the role the work type calls for.",
)
SIGNOFF_ROLE = register(
    "GOV003", "signoff.role-mismatch", Severity.ERROR,
    "The signer's role does not fit the work type.",
    "have it signed by a role allowed for this work type, or set `work_type:`",
    "Pre-pipeline work (UTM, routing) is signed by a GTM engineer or the head of marketing ops; "
    "in-pipeline work (CRM, webhooks, reconciliation) by RevOps; cross-functional work (attribution, "
    "lifecycle model) by the CRO or VP Revenue.",
)
SIGNOFF_FUTURE = register(
    "GOV004", "signoff.future-date", Severity.WARNING,
    "The sign-off is dated in the future.",
    "use the date the sign-off actually happened",
    "A sign-off dated ahead records a decision that has not been made yet.",
)
MANUAL_NO_EVIDENCE = register(
    "GOV005", "manual.no-evidence", Severity.ERROR,
    "A manual item has no evidence.",
    "add `evidence:` with a link or a short record of what was checked",
    "Anti-pattern: 'done, trust me'. Best practice: every attested item links to what was seen (a "
    "screenshot, a ticket, a report URL) so the next person can check it again.",
)
MANUAL_NO_ATTESTER = register(
    "GOV006", "manual.no-attester", Severity.ERROR,
    "A manual item names nobody who attested it.",
    "add `attested_by:` with the email of the person who checked it",
    "An attestation without a name has nobody to ask when it turns out to be wrong.",
)
MANUAL_BY_BUILDER = register(
    "GOV007", "manual.self-attested", Severity.WARNING,
    "The builder attested a manual item of their own work.",
    "have someone else confirm it, or accept the risk explicitly in `note:`",
    "Self-attestation is better than nothing and worse than a second pair of eyes.",
)
MANUAL_SHADOWS_CHECK = register(
    "GOV008", "manual.overrides-check", Severity.WARNING,
    "A DoD item is attested by hand although the checklist also verifies it automatically.",
    "remove the `manual:` entry; the automated check decides",
    "When both exist the automated check wins; the attestation only adds confusion.",
)


def allowed_roles(checklist: Checklist) -> tuple[str, ...]:
    return SIGNER_ROLES[checklist.work_type]


def lint(checklist: Checklist, automated: set[str] | None = None, today: date | None = None) -> Iterator[Finding]:
    """Governance findings for one checklist; ``automated`` holds the DoD ids the kind verifies itself."""
    today = today or datetime.now(UTC).date()
    builder = checklist.built_by.lower()
    signoff = checklist.signoff
    if signoff is None:
        yield SIGNOFF_MISSING.finding(
            checklist.location(("name",)),
            f"{checklist.name!r} is not signed off; go-live is blocked",
        )
    else:
        if signoff.by.lower() == builder:
            yield SIGNOFF_BY_BUILDER.finding(
                checklist.location(("signoff", "by")),
                f"signed off by {signoff.by}, who built it",
            )
        roles = allowed_roles(checklist)
        if signoff.role not in roles:
            yield SIGNOFF_ROLE.finding(
                checklist.location(("signoff", "role")),
                f"role {signoff.role!r} cannot sign off {checklist.work_type.value.replace('_', '-')} work",
                hint=f"use one of: {', '.join(roles)}",
            )
        try:
            signed = date.fromisoformat(signoff.on)
        except ValueError:
            signed = None
        if signed is not None and signed > today:
            yield SIGNOFF_FUTURE.finding(checklist.location(("signoff", "on")), f"signed off on {signoff.on}")
    for item in checklist.manual.values():
        where = ("manual", item.index)
        if not item.evidence:
            yield MANUAL_NO_EVIDENCE.finding(checklist.location((*where, "id")), f"{item.id} has no evidence")
        if not item.attested_by:
            yield MANUAL_NO_ATTESTER.finding(checklist.location((*where, "id")), f"{item.id} names no attester")
        elif item.attested_by.lower() == builder:
            yield MANUAL_BY_BUILDER.finding(
                checklist.location((*where, "attested_by")), f"{item.id} attested by its builder"
            )
        if automated and item.id in automated:
            yield MANUAL_SHADOWS_CHECK.finding(
                checklist.location((*where, "id")), f"{item.id} is verified automatically by this checklist"
            )


_BLOCKING = (SIGNOFF_MISSING, SIGNOFF_BY_BUILDER, SIGNOFF_ROLE)


def blocking_reasons(checklist: Checklist) -> list[str]:
    """Why governance alone keeps this checklist from going live (empty when it does not)."""
    return [f"{checklist.display}: {f.message}" for f in lint(checklist) if f.rule in _BLOCKING]
