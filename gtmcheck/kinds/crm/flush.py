"""CRM-TEST-RECORDS-FLUSHED: no record in the target CRM looks like a test record. Read-only.

Three ways a record is a test record, each named in the message with the record ids:

- **domain**: a contact's email or a company's domain is on a declared test domain (or a subdomain of one),
  found by CRM search (HubSpot ``CONTAINS_TOKEN *@test.example``; Salesforce ``LIKE``), then checked exactly;
- **synthetic tag**: the record carries ``gtmcheck_run_id`` from an earlier run (a run id sorts by its start
  time; this run's own records, in use by other checks, do not count; a tag that is no run id does);
- **name**: a contact's first, last or full name, a company's or deal's name matches a declared pattern (RE2,
  any case). A CRM cannot search by regular expression, so names are read through the list endpoint, at most
  ``scan_limit`` records per object: an object with more is an error (not verified), never a pass.

Every request goes through the connector's rate limiter (search has its own); the run's ``cancelled`` event
stops the check between requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from ...connectors.crm import Filter, ObjectType, Record
from ...errors import CheckError, CheckFailed, Evidence, NotFound
from ...synthetic import RUN_ID, SALESFORCE_FIELDS, TAG_PROPERTY
from ..base import CRM, Check
from .model import CrmSpec, TestRecords

if TYPE_CHECKING:
    from ...connectors.crm import CrmConnector
    from ...context import RunContext

DOD_ID = "CRM-TEST-RECORDS-FLUSHED"
SHOWN = 20  # records named in the message; the evidence keeps up to MAX_KEPT
MAX_KEPT = 500
MAX_CONFIRMED = 200  # search hits read back by id (search lags: a record archived a moment ago still shows)
NAME_PROPERTIES: dict[str, tuple[str, ...]] = {"contacts": ("firstname", "lastname"), "companies": ("name",),
                                               "deals": ("dealname",)}
DOMAIN_PROPERTY: dict[str, str] = {"contacts": "email", "companies": "domain"}


def flush_checks(spec: CrmSpec) -> Iterator[Check]:
    if spec.test_records is not None:
        yield Check(DOD_ID, partial(check_flushed, patterns=spec.test_records), spec.location("test_records"),
                    description="no test record is left in the CRM", needs=frozenset({CRM}))


@dataclass
class Found:
    """Test records found, by (object, id), each with why."""

    reasons: dict[tuple[ObjectType, str], list[str]] = field(default_factory=dict)
    what: dict[tuple[ObjectType, str], str] = field(default_factory=dict)

    def add(self, object_type: ObjectType, record: Record, what: str, reason: str) -> None:
        key = (object_type, record.id)
        self.what.setdefault(key, what)
        reasons = self.reasons.setdefault(key, [])
        if reason not in reasons:
            reasons.append(reason)

    def lines(self) -> list[str]:
        return [f"{o} {i} {self.what[(o, i)]} ({', '.join(r)})" for (o, i), r in self.reasons.items()]


def _value(record: Record, name: str) -> str:
    """A property by its HubSpot name, or by its Salesforce field (any case)."""
    props = record.properties
    if props.get(name):
        return str(props[name])
    wanted = SALESFORCE_FIELDS.get(name, name).lower()
    return next((str(v) for k, v in props.items() if k.lower() in (wanted, name.lower()) and v), "")


def _fields(vendor: str, names: Sequence[str]) -> list[str]:
    return [SALESFORCE_FIELDS.get(n, n) for n in names] if vendor == "salesforce" else list(names)


def on_domain(value: str, domain: str) -> bool:
    """``value`` (an email or a host) is on ``domain`` or one of its subdomains."""
    host = value.rpartition("@")[2].strip().lower()
    host = host.split("://", 1)[-1].split("/", 1)[0].rstrip(".")  # a Salesforce Website is often a URL
    return host == domain or host.endswith("." + domain)


def older_run(tag: str | None, run_id: str) -> bool:
    """A tag of an earlier run (or one that is no run id at all); never this run's or a later one's."""
    if not tag:
        return False
    if RUN_ID.fullmatch(tag) is None:
        return True
    return tag[4:19] < run_id[4:19]  # gtm-YYYYMMDDTHHMMSS-xxxxxx: the start time sorts as text


def _describe(object_type: str, record: Record) -> str:
    if object_type == "contacts":
        names = (_value(record, n) for n in NAME_PROPERTIES[object_type])
        return _value(record, "email") or " ".join(n for n in names if n)
    return _value(record, NAME_PROPERTIES[object_type][0]) or _value(record, "domain")


def _by_domain(crm: CrmConnector, object_type: ObjectType, domains: Sequence[str], found: Found,
               ctx: RunContext) -> None:
    prop = DOMAIN_PROPERTY[object_type]
    field_name = _fields(crm.vendor, [prop])[0]
    for domain in domains:
        if ctx.cancelled.is_set():
            raise CheckError("the run was interrupted while the CRM was searched")
        if crm.vendor == "salesforce":
            groups = [[Filter(prop if object_type == "contacts" else field_name, "CONTAINS_TOKEN", domain)]]
        elif object_type == "contacts":
            groups = [[Filter(prop, "CONTAINS_TOKEN", f"*@{domain}")], [Filter(prop, "CONTAINS_TOKEN", f"*.{domain}")]]
        else:
            groups = [[Filter(prop, "EQ", domain)], [Filter(prop, "CONTAINS_TOKEN", f"*.{domain}")]]
        names = [prop, *NAME_PROPERTIES[object_type]]
        for record in crm.search(object_type, groups, _fields(crm.vendor, names)):
            if on_domain(_value(record, prop), domain):
                found.add(object_type, record, _describe(object_type, record), f"on {domain}")


def _by_tag(crm: CrmConnector, object_type: ObjectType, found: Found, ctx: RunContext) -> None:
    names = [TAG_PROPERTY, *NAME_PROPERTIES[object_type], *([DOMAIN_PROPERTY[object_type]]
                                                             if object_type in DOMAIN_PROPERTY else [])]
    for record in crm.search(object_type, [[Filter(TAG_PROPERTY, "HAS_PROPERTY")]], _fields(crm.vendor, names)):
        tag = _value(record, TAG_PROPERTY)
        if older_run(tag, ctx.run_id):
            found.add(object_type, record, _describe(object_type, record), f"synthetic tag {tag!r} of an earlier run")


def _by_name(crm: CrmConnector, object_type: ObjectType, patterns: TestRecords, found: Found,
             ctx: RunContext) -> int:
    names = NAME_PROPERTIES[object_type]
    wanted = [*names, *([DOMAIN_PROPERTY[object_type]] if object_type in DOMAIN_PROPERTY else [])]
    read = 0
    for record in crm.scan(object_type, _fields(crm.vendor, wanted)):
        read += 1
        if read > patterns.scan_limit:
            raise CheckError(f"{object_type} has more than {patterns.scan_limit} records; names are matched on "
                             f"every record read, so this check reads at most `test_records.scan_limit`: raise it")
        if read % 100 == 0 and ctx.cancelled.is_set():
            raise CheckError("the run was interrupted while the CRM was read")
        values = [_value(record, n) for n in names]
        texts = [v for v in values if v] + ([" ".join(v for v in values if v)] if len(names) > 1 else [])
        for rx in patterns.names:
            if any(rx.search(t) for t in texts):
                found.add(object_type, record, _describe(object_type, record), f"name matches {rx.pattern!r}")
                break
    return read


def _confirm(crm: CrmConnector, found: Found) -> None:
    """Drop hits the object endpoint no longer has (archived since search indexed them)."""
    for object_type, record_id in list(found.reasons)[:MAX_CONFIRMED]:
        try:
            crm.get(object_type, record_id)
        except NotFound:
            del found.reasons[(object_type, record_id)]


def check_flushed(ctx: RunContext, patterns: TestRecords) -> Evidence:
    """Search (and, for names, read) each object; any test record fails the item, named by id."""
    crm = ctx.crm()
    found = Found()
    read = 0
    for object_type in patterns.objects:
        if object_type in DOMAIN_PROPERTY and patterns.domains:
            _by_domain(crm, object_type, patterns.domains, found, ctx)
        _by_tag(crm, object_type, found, ctx)
        if patterns.names:
            read += _by_name(crm, object_type, patterns, found, ctx)
    _confirm(crm, found)
    searched = ", ".join(patterns.objects)
    looked_for = [f"domains {', '.join(patterns.domains)}" if patterns.domains else "",
                  f"{len(patterns.names)} name patterns" if patterns.names else "", "earlier runs' synthetic tags"]
    criteria = "; ".join(x for x in looked_for if x)
    if not found.reasons:
        return Evidence(f"no test records in {searched} ({criteria}; {read} names read)",
                        {"objects": list(patterns.objects), "names_read": read})
    lines = found.lines()
    more = f" (and {len(lines) - SHOWN} more)" if len(lines) > SHOWN else ""
    text = f"{len(lines)} test records left in the CRM: {'; '.join(lines[:SHOWN])}{more}"
    ids = [f"{o}/{i}" for o, i in found.reasons]
    raise CheckFailed(text, expected=f"no record matching the test patterns ({criteria})",
                      received=f"{len(lines)} test records: {', '.join(ids[:SHOWN])}{more}",
                      evidence=Evidence(text, {"records": lines[:MAX_KEPT], "ids": ids[:MAX_KEPT],
                                               "count": len(lines)}))
