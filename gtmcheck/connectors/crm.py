"""The one CRM interface every kind talks to; HubSpot, Salesforce and the sandbox sit behind it.

Kinds know the definition of done, connectors know vendors: a kind asks for "the owner of this contact"
or "every closed-won deal", never for ``/crm/v3/objects/contacts/{id}`` or a SOQL string. Values are
strings, as both vendors return them; object types use HubSpot's plural names (``contacts``,
``companies``, ``deals``), which the Salesforce connector maps to ``Lead``/``Contact``, ``Account`` and
``Opportunity``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

ObjectType = Literal["contacts", "companies", "deals", "leads"]
Operator = Literal[
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
]


@dataclass(frozen=True)
class Record:
    """A CRM object: its id and string properties (``hubspot_owner_id``/``OwnerId`` as ``owner_id``)."""

    id: str
    properties: dict[str, str | None] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    archived: bool = False
    owner_assigned_at: str | None = None  # when the CRM says the owner was set, where it says (HubSpot)


@dataclass(frozen=True)
class Owner:
    """A user or queue that can own records."""

    id: str
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    type: Literal["PERSON", "QUEUE"] = "PERSON"
    active: bool = True
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class Property:
    """A field definition of an object type."""

    name: str
    label: str
    type: str
    field_type: str | None = None
    options: tuple[str, ...] = ()
    hidden: bool = False
    calculated: bool = False
    vendor_defined: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One value a property held: since ``timestamp`` (ISO 8601 or epoch ms), written by ``source_type``.

    HubSpot's ``propertiesWithHistory`` entries (``sourceType`` such as ``CRM_UI``, ``AUTOMATION_PLATFORM``,
    ``IMPORT``, ``API``); Salesforce's field history rows (``NewValue``, ``CreatedDate``, ``CreatedById``).
    """

    value: str | None
    timestamp: str | None
    source_type: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class Filter:
    """One condition; filters in one ``FilterGroup`` are ANDed, groups are ORed (HubSpot semantics)."""

    property: str
    operator: Operator
    value: str | None = None
    values: tuple[str, ...] = ()  # IN / NOT_IN
    high_value: str | None = None  # BETWEEN


FilterGroup = Sequence[Filter]


@runtime_checkable
class CrmConnector(Protocol):
    """What gtmcheck needs from a CRM. Every method may raise ``ConnectorError`` subclasses."""

    vendor: str

    def create(self, object_type: ObjectType, properties: Mapping[str, str], *,
               auto_assign: bool = True) -> Record:
        """Create a record (Salesforce: ``auto_assign`` sends ``Sforce-Auto-Assign``)."""

    def get(self, object_type: ObjectType, record_id: str, properties: Sequence[str] = ()) -> Record:
        """One record by id, read from the object endpoint (not search: it lags)."""

    def update(self, object_type: ObjectType, record_id: str, properties: Mapping[str, str]) -> Record:
        """Change properties of a record."""

    def archive(self, object_type: ObjectType, record_id: str) -> None:
        """Archive (HubSpot) or delete (Salesforce) one record. Never a GDPR delete."""

    def archive_batch(self, object_type: ObjectType, record_ids: Sequence[str]) -> None:
        """Archive many records, in the vendor's batch sizes."""

    def search(self, object_type: ObjectType, groups: Sequence[FilterGroup], properties: Sequence[str] = (),
               *, sort: str | None = None, date_property: str = "createdate") -> Iterator[Record]:
        """Every record matching the filter groups, past any result cap (partitioned on ``date_property``)."""

    def scan(self, object_type: ObjectType, properties: Sequence[str] = ()) -> Iterator[Record]:
        """Every record of a type through the list endpoint (more throughput than search)."""

    def aggregate(self, object_type: ObjectType, filters: Sequence[Filter], measure: Measure,
                  group_by: GroupBy | None = None) -> dict[Any, Decimal | int]:
        """A count, sum or average of the records matching ``filters`` (ANDed), per group (key ``None``: none).

        Computed by the CRM where it can (search totals, aggregate SOQL); otherwise from one scan of only the
        properties needed, shared by every call of the run over the same object, filters and properties.
        """

    def history(self, object_type: ObjectType, record_ids: Sequence[str],
                property: str) -> dict[str, list[HistoryEntry]]:
        """The values ``property`` held on each record, newest first (records the CRM does not have are left out).

        HubSpot: batch read with ``propertiesWithHistory``, 50 records a request; Salesforce: the object's
        field history (``ContactHistory``, ``LeadHistory``...), which keeps changes only, not the first value.
        """

    def owners(self) -> list[Owner]:
        """Every owner, people and queues, active or not."""

    def properties(self, object_type: ObjectType) -> list[Property]:
        """The field definitions of an object type (HubSpot properties, Salesforce describe)."""

    def close(self) -> None:
        """Release connections."""


def to_epoch_ms(value: str | None) -> int | None:
    """A CRM date value (epoch ms, ISO 8601 datetime or date; UTC when no zone) as epoch milliseconds."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class Measure:
    """What ``CrmConnector.aggregate`` computes: a count of records, or the sum or average of a property."""

    kind: Literal["count", "sum", "avg"]
    property: str | None


@dataclass(frozen=True)
class GroupBy:
    """Group by a property's value, or by a UTC date bucket of a date property."""

    property: str
    bucket: Literal["day", "week", "month", "quarter", "year"] | None
