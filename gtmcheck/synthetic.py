"""Synthetic records: how gtmcheck marks what it creates, and how it removes every one of them.

A synthetic record carries the run id in ``gtmcheck_run_id`` and, for people, a reserved address on
``gtmcheck.example.com`` (RFC 2606: never a real inbox). Cleanup archives only records that carry both
marks where they apply, so a stray tag on a real contact can never get it deleted, and it never calls a
GDPR delete (HubSpot would blocklist the address for good).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .connectors.crm import CrmConnector, Filter, ObjectType, Record
from .errors import ConfigError

TAG_PROPERTY = "gtmcheck_run_id"
SYNTHETIC_DOMAIN = "gtmcheck.example.com"
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "deals", "companies")


def synthetic_email(run_id: str, label: str) -> str:
    """``lead-enterprise-emea.gtm-20261123t101500-3f9a1c@gtmcheck.example.com``."""
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in label.lower()).strip("-.") or "lead"
    return f"{safe}.{run_id.lower()}@{SYNTHETIC_DOMAIN}"


def tagged(properties: Mapping[str, str], run_id: str) -> dict[str, str]:
    """The properties with the run tag added."""
    return {**properties, TAG_PROPERTY: run_id}


def is_synthetic(object_type: ObjectType, record: Record) -> bool:
    """Both marks present: the tag, and for contacts a reserved address."""
    if not record.properties.get(TAG_PROPERTY):
        return False
    if object_type in ("contacts", "leads"):
        email = (record.properties.get("email") or "").lower()
        return email.endswith("@" + SYNTHETIC_DOMAIN)
    return True


def find_synthetic(
    crm: CrmConnector, run_id: str | None = None, object_types: Sequence[ObjectType] = OBJECT_TYPES
) -> Iterator[tuple[ObjectType, Record]]:
    """Every synthetic record (of one run, or of any run), found by its tag."""
    condition = Filter(TAG_PROPERTY, "EQ", run_id) if run_id else Filter(TAG_PROPERTY, "HAS_PROPERTY")
    for object_type in object_types:
        for record in crm.search(object_type, [[condition]], [TAG_PROPERTY, "email"]):
            if is_synthetic(object_type, record):
                yield object_type, record


@dataclass
class CleanupResult:
    """The ids cleanup archived (or would archive, on a dry run), per object type."""

    archived: dict[ObjectType, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.archived.values())


def cleanup(
    crm: CrmConnector,
    *,
    writes: bool,
    run_id: str | None = None,
    object_types: Sequence[ObjectType] = OBJECT_TYPES,
    dry_run: bool = False,
) -> CleanupResult:
    """Archive every synthetic record (of ``run_id``, or all); refuses where writes are not allowed."""
    if not writes and not dry_run:
        raise ConfigError("this environment does not allow writes (`writes: true`); nothing was archived")
    result = CleanupResult()
    for object_type, record in find_synthetic(crm, run_id, object_types):
        result.archived.setdefault(object_type, []).append(record.id)
    if not dry_run:
        for object_type, ids in result.archived.items():
            crm.archive_batch(object_type, ids)
    return result
