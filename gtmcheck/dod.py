"""The built-in definitions of done: one template per kind, each item with a stable id.

The ids are a contract: reports, JUnit properties, ``manual:`` attestations and ``-k`` expressions refer
to them, so an id is never renamed or reused. The texts follow the practitioners' published DoDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class WorkType(StrEnum):
    """Who may sign a checklist off depends on where in the funnel the work sits."""

    PRE_PIPELINE = "pre_pipeline"
    IN_PIPELINE = "in_pipeline"
    CROSS_FUNCTIONAL = "cross_functional"


SIGNER_ROLES: dict[WorkType, tuple[str, ...]] = {
    WorkType.PRE_PIPELINE: ("gtm_engineer", "head_of_marketing_ops"),
    WorkType.IN_PIPELINE: ("revops", "head_of_revops"),
    WorkType.CROSS_FUNCTIONAL: ("cro", "vp_revenue"),
}


@dataclass(frozen=True)
class RoleRequirement:
    """One sign-off a checklist needs: a person, not its builder, in one of ``roles``.

    ``function`` names it in messages ("needs a sales ops signer"). Each requirement takes its own person:
    one signer never counts twice.
    """

    function: str
    roles: tuple[str, ...]


WORK_TYPE_SIGNER: dict[WorkType, RoleRequirement] = {
    WorkType.PRE_PIPELINE: RoleRequirement("marketing ops", SIGNER_ROLES[WorkType.PRE_PIPELINE]),
    WorkType.IN_PIPELINE: RoleRequirement("sales ops", SIGNER_ROLES[WorkType.IN_PIPELINE]),
    WorkType.CROSS_FUNCTIONAL: RoleRequirement("revenue leadership", SIGNER_ROLES[WorkType.CROSS_FUNCTIONAL]),
}
# Kinds whose work spans functions need one signer per function, whatever ``work_type:`` says (the published
# DoD: "sign-off from both marketing ops and sales ops"). Other kinds need one signer of their work type.
KIND_SIGNERS: dict[str, tuple[RoleRequirement, ...]] = {
    "crm": (WORK_TYPE_SIGNER[WorkType.PRE_PIPELINE], WORK_TYPE_SIGNER[WorkType.IN_PIPELINE]),
}
# What a kind returns from ``Kind.extra_signoff_roles`` for cross-functional parts (a lifecycle model, the
# data taxonomy revenue is reported by).
CROSS_FUNCTIONAL_SIGNER = WORK_TYPE_SIGNER[WorkType.CROSS_FUNCTIONAL]


@dataclass(frozen=True)
class DodItem:
    """One line of a definition of done."""

    id: str
    kind: str
    text: str


def _items(kind: str, *pairs: tuple[str, str]) -> tuple[DodItem, ...]:
    return tuple(DodItem(id=i, kind=kind, text=t) for i, t in pairs)


TEMPLATES: dict[str, tuple[DodItem, ...]] = {
    "crm": _items(
        "crm",
        ("CRM-FIELDS-MAPPED", "Custom fields mapped end-to-end and validated with test records"),
        ("CRM-TEST-RECORDS-FLUSHED", "Test records flushed from live before go-live"),
        ("CRM-LIFECYCLE-QA", "Lifecycle stage transitions QA'd against defined triggers"),
        ("CRM-DEDUP-ACTIVE", "Duplicate detection active and tested"),
        ("CRM-HANDOFF-SLA", "Sales handoff SLA documented"),
        ("CRM-SIGNOFF", "Sign-off from both marketing ops and sales ops"),
    ),
    "utm": _items(
        "utm",
        ("UTM-TAXONOMY-DOCUMENTED", "Parameter structure documented in one source of truth, and followed"),
        ("UTM-URLS-RESOLVE", "All active campaign URLs resolve and keep their UTM parameters through redirects"),
        ("UTM-CRM-POPULATES", "Source, medium and campaign populate in the CRM on form submission"),
        ("UTM-CHANNEL-TRACE", "One test lead per channel traced end-to-end"),
        ("UTM-REPORTING-SOURCE", "Reporting view reads the right source"),
    ),
    "routing": _items(
        "routing",
        ("ROUTING-RULES-EXPLICIT", "Every routing condition documented as explicit logic"),
        ("ROUTING-EDGE-CASES", "Edge cases defined: unmatched territory, duplicate contact, existing customer domain"),
        ("ROUTING-FALLBACK-OWNER", "Fallback owner named and confirmed"),
        ("ROUTING-VOLUME-TEST", "Volume test with synthetic leads across each branch"),
        ("ROUTING-ALERTS", "Alert on routing failures or default-queue accumulation"),
    ),
    "attribution": _items(
        "attribution",
        ("ATTR-MODEL-DOCUMENTED", "Model documented with rationale"),
        ("ATTR-CHANNELS-TRACKED", "All active channels tracked and attributed"),
        ("ATTR-BASELINE", "Historical baseline captured before go-live"),
        ("ATTR-BOARD-SIGNOFF", "Board-level view signed off by the CRO or VP Revenue"),
        ("ATTR-REVIEW-CADENCE", "Review cadence agreed (monthly at least)"),
    ),
    "webhooks": _items(
        "webhooks",
        ("WEBHOOK-SCHEMAS-VERSIONED", "Every event has versioned JSON Schemas"),
        ("WEBHOOK-SAMPLES-VALID", "Captured samples validate against their schemas"),
        ("WEBHOOK-VERSIONS-COMPATIBLE", "Sender and receiver schema versions are compatible"),
        ("WEBHOOK-SIGNATURES-ENFORCED", "Signature verification enforced by the receiver"),
    ),
    "reconcile": _items(
        "reconcile",
        ("RECONCILE-TOTALS", "Declared totals agree between CRM and warehouse within tolerance"),
        ("RECONCILE-HANDOFFS", "Every handoff event reached its destination within its SLA"),
    ),
}

DEFAULT_WORK_TYPE: dict[str, WorkType] = {
    "crm": WorkType.IN_PIPELINE,
    "utm": WorkType.PRE_PIPELINE,
    "routing": WorkType.PRE_PIPELINE,
    "attribution": WorkType.CROSS_FUNCTIONAL,
    "webhooks": WorkType.IN_PIPELINE,
    "reconcile": WorkType.IN_PIPELINE,
}

KINDS: tuple[str, ...] = tuple(TEMPLATES)


def dod_item(item_id: str) -> DodItem | None:
    """Look an item up by id across all kinds."""
    for items in TEMPLATES.values():
        for item in items:
            if item.id == item_id:
                return item
    return None
