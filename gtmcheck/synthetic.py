"""Synthetic records: how gtmcheck marks what it creates, and how it removes every one of them.

A synthetic record carries the run id (``gtm-20261123T101500-3f9a1c``, nothing else) in ``gtmcheck_run_id``
and a second mark by type: a person (contact, lead) has one plain address on ``gtmcheck.example.com``, or on
another reserved domain (RFC 2606 and 6761: ``.example``, ``.test``, ``.invalid``, ``.localhost``,
``example.com/.net/.org``) with the run id in its local part when a routing branch needs a customer's test
domain; a company's domain is exactly a reserved one; a deal's (any other record's) name starts with the
run's marker (``synthetic_name``). Never a real inbox. Cleanup archives only records that pass every test; a
tagged record that fails one is doubtful and left alone, with the reason, so a stray or forged tag on a real
record can never get it deleted. It never calls a GDPR delete (HubSpot would blocklist the address for good).

A run keeps a ``SyntheticLedger`` of what it created; ``finish_run`` archives all of it at the end of the
run (passed, failed or interrupted), then searches the run's tag once the CRM's search has caught up, and
says what, if anything, remains.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from . import secrets
from .connectors.crm import CrmConnector, Filter, ObjectType, Record
from .errors import ConfigError, ConnectorError, TransportError

TAG_PROPERTY = "gtmcheck_run_id"
SYNTHETIC_DOMAIN = "gtmcheck.example.com"
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "deals", "companies")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
# ``context.new_run_id()`` makes these; a tag of any other shape was not set by gtmcheck
RUN_ID_PATTERN = r"gtm-\d{8}T\d{6}-[0-9a-f]{6}"
RUN_ID = re.compile(RUN_ID_PATTERN, re.ASCII)
NAME_PROPERTY: dict[ObjectType, str] = {"deals": "dealname", "companies": "name"}  # where a run's marker goes
DOMAIN_PROPERTY = "domain"
# the Salesforce fields of the HubSpot names above (the connector maps ``email`` and the tag itself)
SALESFORCE_FIELDS = {"dealname": "Name", "name": "Name", "domain": "Website"}
_LABEL = r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*", re.ASCII | re.I)
_LOCAL = re.compile(r"[a-z0-9](?:[a-z0-9._+-]*[a-z0-9])?", re.ASCII | re.I)


def is_reserved_domain(domain: str) -> bool:
    """True for domains that can never be a real inbox (RFC 2606, RFC 6761)."""
    d = domain.strip().lower().rstrip(".")
    if not d or "@" in d:
        return False
    return d.rsplit(".", 1)[-1] in RESERVED_TLDS or any(d == r or d.endswith("." + r) for r in RESERVED_DOMAINS)


def is_run_id(value: str | None) -> bool:
    """Exactly the shape ``new_run_id()`` makes: no spaces, no other text around it."""
    return value is not None and RUN_ID.fullmatch(value) is not None


def is_exact_reserved_domain(value: str) -> bool:
    """A bare host name (no spaces, scheme, path, port or trailing dot) that is reserved."""
    return _HOST.fullmatch(value) is not None and is_reserved_domain(value)


def synthetic_email(run_id: str, label: str, domain: str = SYNTHETIC_DOMAIN) -> str:
    """``enterprise-emea-1.gtm-20261123t101500-3f9a1c@gtmcheck.example.com``; ``domain`` must be reserved."""
    if not is_exact_reserved_domain(domain.strip()):
        raise ValueError(f"{domain} is not a reserved domain; synthetic leads use reserved addresses only")
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-." else "-" for c in label.lower()).strip("-.")
    return f"{safe or 'lead'}.{run_id.lower()}@{domain.strip().lower()}"


def synthetic_name(run_id: str, label: str) -> str:
    """``[gtmcheck gtm-20261123T101500-3f9a1c] Closed-won deal``: the name of a deal or company a run creates."""
    return f"{name_marker(run_id)}{' '.join(label.split()) or 'record'}"


def name_marker(run_id: str) -> str:
    """What the name of a record created by run ``run_id`` starts with."""
    return f"[gtmcheck {run_id}] "


def tagged(properties: Mapping[str, str], run_id: str) -> dict[str, str]:
    """The properties with the run tag added."""
    return {**properties, TAG_PROPERTY: run_id}


def _value(record: Record, name: str) -> str | None:
    """A property by its HubSpot name, or by its Salesforce field."""
    props = record.properties
    return props[name] if name in props else props.get(SALESFORCE_FIELDS.get(name, name))


def doubt(object_type: ObjectType, record: Record, run_id: str | None = None) -> str | None:
    """Why a tagged record may not be gtmcheck's own (``None``: it passes every test and is synthetic)."""
    tag = record.properties.get(TAG_PROPERTY)
    if tag is None or not is_run_id(tag):
        return "the tag is not a gtmcheck run id (gtm-YYYYMMDDTHHMMSS-xxxxxx)"
    if run_id is not None and tag != run_id:
        return f"the tag is not {run_id}"
    if object_type in ("contacts", "leads"):
        email = _value(record, "email") or ""
        local, at, domain = email.partition("@")
        if not at or not _LOCAL.fullmatch(local) or not _HOST.fullmatch(domain):
            return "the email is not one plain address"
        if domain.lower() == SYNTHETIC_DOMAIN:
            return None
        if not is_reserved_domain(domain):
            return f"the email is not on {SYNTHETIC_DOMAIN} or another reserved domain"
        if not re.fullmatch(_LABEL + re.escape("." + tag.lower()), local, re.ASCII | re.I):
            return "the email is on a reserved domain but does not carry the run id"
        return None
    if object_type == "companies":
        domain = _value(record, DOMAIN_PROPERTY) or ""
        if not is_exact_reserved_domain(domain):
            return f"the {DOMAIN_PROPERTY} is not exactly a reserved domain"
        return None
    name_property = NAME_PROPERTY.get(object_type, "name")
    name = _value(record, name_property) or ""
    if not name.startswith(name_marker(tag)):
        return f"the {name_property} does not start with {name_marker(tag).strip()!r}"
    return None


def is_synthetic(object_type: ObjectType, record: Record) -> bool:
    """Every mark present: a run-id tag, and by type a reserved address, a reserved domain or the name marker."""
    return doubt(object_type, record) is None


def _shown(value: str | None) -> str:
    """A CRM value for one line of output: quoted, with newlines and other controls escaped."""
    return json.dumps(value if value is not None else "", ensure_ascii=False)


@dataclass(frozen=True)
class Tagged:
    """A record carrying the tag, and ``doubt``: why it is left alone (``None``: synthetic, to be archived)."""

    object_type: ObjectType
    record: Record
    doubt: str | None = None

    @property
    def what(self) -> str:
        """The email, domain or name that identifies it, quoted."""
        if self.object_type in ("contacts", "leads"):
            return _shown(_value(self.record, "email"))
        if self.object_type == "companies":
            domain, name = _value(self.record, DOMAIN_PROPERTY), _value(self.record, "name")
            return _shown(domain) + (f" {_shown(name)}" if name else "")
        return _shown(_value(self.record, NAME_PROPERTY.get(self.object_type, "name")))

    def line(self) -> str:
        """``contacts 101 "x.gtm-…@gtmcheck.example.com" tag "gtm-…"`` (and the reason when doubtful)."""
        text = f"{self.object_type} {self.record.id} {self.what} tag {_shown(self.record.properties.get(TAG_PROPERTY))}"
        return f"{text}: {self.doubt}" if self.doubt else text


def _search_properties(vendor: str, object_type: ObjectType) -> list[str]:
    if object_type in ("contacts", "leads"):
        names = ["email"]
    elif object_type == "companies":
        names = [DOMAIN_PROPERTY, "name"]
    else:
        names = [NAME_PROPERTY.get(object_type, "name")]
    if vendor == "salesforce":
        names = list(dict.fromkeys(SALESFORCE_FIELDS.get(n, n) for n in names))
    return [TAG_PROPERTY, *names]


def find_tagged(
    crm: CrmConnector, run_id: str | None = None, object_types: Sequence[ObjectType] | None = None
) -> Iterator[Tagged]:
    """Every record carrying the tag (of one run, or any), each with its doubt, if any."""
    condition = Filter(TAG_PROPERTY, "EQ", run_id) if run_id else Filter(TAG_PROPERTY, "HAS_PROPERTY")
    if object_types is None:  # Salesforce routes inbound people as Leads too
        object_types = (*OBJECT_TYPES, "leads") if crm.vendor == "salesforce" else OBJECT_TYPES
    for object_type in object_types:
        for record in crm.search(object_type, [[condition]], _search_properties(crm.vendor, object_type)):
            yield Tagged(object_type, record, doubt(object_type, record, run_id))


def find_synthetic(
    crm: CrmConnector, run_id: str | None = None, object_types: Sequence[ObjectType] | None = None
) -> Iterator[tuple[ObjectType, Record]]:
    """Every synthetic record (of one run, or of any run), found by its tag and passing every test."""
    for found in find_tagged(crm, run_id, object_types):
        if found.doubt is None:
            yield found.object_type, found.record


@dataclass
class CleanupResult:
    """What cleanup archived (or would archive, on a dry run), and the tagged records it left alone, why."""

    archived: dict[ObjectType, list[str]] = field(default_factory=dict)
    records: list[Tagged] = field(default_factory=list)  # the archived ones, for the listing
    skipped: list[Tagged] = field(default_factory=list)  # tagged, but doubtful: never archived

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
    """Archive every synthetic record (of ``run_id``, or all); refuses where writes are not allowed.

    Only records that pass every test of ``doubt`` go; the other tagged ones are listed in ``skipped``.
    """
    if run_id is not None and not is_run_id(run_id):
        raise ConfigError(f"--run-id {_shown(run_id)} is not a gtmcheck run id. Fix: give one as the run printed "
                          "it, e.g. gtm-20261123T101500-3f9a1c, or leave --run-id out to clean up every run")
    if not writes and not dry_run:
        raise ConfigError("this environment does not allow writes (`writes: true`); nothing was archived")
    result = CleanupResult()
    for found in find_tagged(crm, run_id, object_types):
        if found.doubt is not None:
            result.skipped.append(found)
            continue
        result.records.append(found)
        result.archived.setdefault(found.object_type, []).append(found.record.id)
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
        """One line for the terminal and the report; the error text is the vendor's, so it is redacted."""
        return secrets.redact(self._summary())

    def _summary(self) -> str:
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
    search: bool = True,
) -> RunCleanup:
    """Archive what the run created, then search its tag until the search has caught up: nothing may remain.

    The search index lags writes by ``search_lag_s``, so each search waits for the last write (or archive) to
    reach it; a record whose create answer was lost is found there and archived too. ``search=False`` only
    archives the ledger: a pytest-xdist worker shares the run id with the others, so its search would find
    (and archive) their records still in use; the controller searches once every worker is done.
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
        if not search:
            return result
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
        result.error = secrets.redact(str(exc))
    return result
