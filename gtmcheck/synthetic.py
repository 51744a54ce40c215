"""Synthetic records: how gtmcheck marks what it creates, and how it removes every one of them.

A synthetic record carries the run id in ``gtmcheck_run_id`` and, for people, a reserved address: on
``gtmcheck.example.com``, or on another reserved domain (RFC 2606 and 6761: ``.example``, ``.test``,
``.invalid``, ``.localhost``, ``example.com/.net/.org``) when a routing branch needs a customer's test
domain. Never a real inbox. Cleanup archives only records that carry both marks where they apply, so a stray
tag on a real contact can never get it deleted, and it never calls a GDPR delete (HubSpot would blocklist
the address for good).

A run keeps a ``SyntheticLedger`` of what it created; ``finish_run`` archives all of it at the end of the
run (passed, failed or interrupted), then searches the run's tag once the CRM's search has caught up, and
says what, if anything, remains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .connectors.crm import CrmConnector, Filter, ObjectType, Record
from .errors import ConfigError, ConnectorError, TransportError

TAG_PROPERTY = "gtmcheck_run_id"
SYNTHETIC_DOMAIN = "gtmcheck.example.com"
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "deals", "companies")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def is_reserved_domain(domain: str) -> bool:
    """True for domains that can never be a real inbox (RFC 2606, RFC 6761)."""
    d = domain.strip().lower().rstrip(".")
    if not d or "@" in d:
        return False
    return d.rsplit(".", 1)[-1] in RESERVED_TLDS or any(d == r or d.endswith("." + r) for r in RESERVED_DOMAINS)


def synthetic_email(run_id: str, label: str, domain: str = SYNTHETIC_DOMAIN) -> str:
    """``enterprise-emea-1.gtm-20261123t101500-3f9a1c@gtmcheck.example.com``; ``domain`` must be reserved."""
    if not is_reserved_domain(domain):
        raise ValueError(f"{domain} is not a reserved domain; synthetic leads use reserved addresses only")
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in label.lower()).strip("-.") or "lead"
    return f"{safe}.{run_id.lower()}@{domain.lower()}"


def tagged(properties: Mapping[str, str], run_id: str) -> dict[str, str]:
    """The properties with the run tag added."""
    return {**properties, TAG_PROPERTY: run_id}


def is_synthetic(object_type: ObjectType, record: Record) -> bool:
    """Both marks present: the tag, and for people a reserved address (carrying the tag, off our own domain)."""
    tag = record.properties.get(TAG_PROPERTY)
    if not tag:
        return False
    if object_type in ("contacts", "leads"):
        email = (record.properties.get("email") or "").lower()
        if email.endswith("@" + SYNTHETIC_DOMAIN):
            return True
        local, _, domain = email.rpartition("@")
        # on another reserved domain (a customer's test domain) the address must also carry the run's tag
        return is_reserved_domain(domain) and local.endswith("." + tag.lower())
    return True


def find_synthetic(
    crm: CrmConnector, run_id: str | None = None, object_types: Sequence[ObjectType] | None = None
) -> Iterator[tuple[ObjectType, Record]]:
    """Every synthetic record (of one run, or of any run), found by its tag."""
    condition = Filter(TAG_PROPERTY, "EQ", run_id) if run_id else Filter(TAG_PROPERTY, "HAS_PROPERTY")
    if object_types is None:  # Salesforce routes inbound people as Leads too
        object_types = (*OBJECT_TYPES, "leads") if crm.vendor == "salesforce" else OBJECT_TYPES
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
    object_types: Sequence[ObjectType] | None = None,
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


class SyntheticLedger:
    """What one run created, so it can all be archived: thread-safe, filled as each create returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[ObjectType, list[str]] = {}
        self.types: list[ObjectType] = []  # every type the run wrote to (searched at the end)
        self.created = 0
        self.last_write: float | None = None

    def touch(self, object_type: ObjectType, at: float) -> None:
        """About to create: remember the type even if the answer is lost, so the final search covers it."""
        with self._lock:
            if object_type not in self.types:
                self.types.append(object_type)
            self.last_write = at

    def add(self, object_type: ObjectType, record_id: str, at: float) -> None:
        with self._lock:
            if object_type not in self.types:
                self.types.append(object_type)
            ids = self._pending.setdefault(object_type, [])
            if record_id not in ids:
                ids.append(record_id)
                self.created += 1
            self.last_write = at

    def take(self) -> dict[ObjectType, list[str]]:
        """Every created id not archived yet, and forget them."""
        with self._lock:
            out, self._pending = self._pending, {}
            return out

    @property
    def used(self) -> bool:
        return bool(self.types)


@dataclass
class RunCleanup:
    """How the end-of-run cleanup went: what was archived and what a search still finds."""

    run_id: str
    archived: int = 0
    found_by_search: int = 0
    remaining: list[tuple[ObjectType, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return not self.remaining and self.error is None

    def summary(self) -> str:
        if self.error:
            return (f"cleanup of run {self.run_id} failed ({self.error}); archived {self.archived} synthetic "
                    f"records; remove the rest with `gtmcheck cleanup --run-id {self.run_id}`")
        if self.remaining:
            ids = ", ".join(f"{t}/{i}" for t, i in self.remaining[:10])
            return (f"{len(self.remaining)} synthetic records of run {self.run_id} remain after cleanup ({ids}); "
                    f"remove them with `gtmcheck cleanup --run-id {self.run_id}`")
        extra = f", {self.found_by_search} of them found by the final search" if self.found_by_search else ""
        return f"archived {self.archived} synthetic records of run {self.run_id}{extra}; none remain"


def finish_run(
    crm: CrmConnector,
    ledger: SyntheticLedger,
    run_id: str,
    *,
    search_lag_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RunCleanup:
    """Archive what the run created, then search its tag until the search has caught up: nothing may remain.

    The search index lags writes by ``search_lag_s``, so each search waits for the last write (or archive) to
    reach it; a record whose create answer was lost is found there and archived too.
    """
    result = RunCleanup(run_id)
    if not ledger.used:
        return result

    def archive(ids_by_type: Mapping[ObjectType, list[str]]) -> int:
        for object_type, ids in ids_by_type.items():
            crm.archive_batch(object_type, ids)
        return sum(len(ids) for ids in ids_by_type.values())

    def search_settled(since: float) -> list[tuple[ObjectType, Record]]:
        given_up = getattr(crm, "given_up", None)  # the CRM is no longer dialled: waiting for its search is moot
        if isinstance(given_up, str):
            raise TransportError(given_up)
        wait = since + search_lag_s - clock()
        if wait > 0:
            sleep(wait)
        return list(find_synthetic(crm, run_id, ledger.types))

    try:
        result.archived = archive(ledger.take())
        found = search_settled(max(ledger.last_write or 0.0, clock()))
        if found:  # created, but the answer was lost: only the search knows them
            by_type: dict[ObjectType, list[str]] = {}
            for object_type, record in found:
                by_type.setdefault(object_type, []).append(record.id)
            result.found_by_search = archive(by_type)
            result.archived += result.found_by_search
            found = search_settled(clock())
        result.remaining = [(object_type, record.id) for object_type, record in found]
    except ConnectorError as exc:
        result.error = str(exc)
    return result
