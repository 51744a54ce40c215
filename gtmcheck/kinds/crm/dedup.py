"""CRM-DEDUP-ACTIVE: each declared duplicate rule is tested with a synthetic pair the CRM must refuse.

Per rule, one check (``writes: true`` only): a first synthetic record is created, then a second one equal to
it on the rule's ``match`` properties and different on everything else (so another rule cannot be what
catches it). The CRM must refuse the second: HubSpot answers ``409 CONFLICT`` ("Contact already exists.
Existing ID: 123"), Salesforce ``DUPLICATES_DETECTED``; both are ``DuplicateRecord``. A second record that is
created fails the check, naming both ids. Both records are synthetic (the run's tag; a contact's email on
gtmcheck.example.com, a company's domain a reserved host name, a deal's name the run's marker), are in the
run's ledger and are archived at the end of the run, passed, failed or interrupted. Matched properties other
than email, domain and name get the value ``gtmcheck-dedup-<run id>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from ...errors import CheckError, CheckFailed, DuplicateRecord, Evidence
from ...synthetic import NAME_PROPERTY, SALESFORCE_FIELDS, TAG_PROPERTY, synthetic_email, synthetic_name, tagged
from ..base import CRM, WRITES, Check
from .model import CrmSpec, DuplicateRule

if TYPE_CHECKING:
    from ...connectors.crm import Record
    from ...context import RunContext

DOD_ID = "CRM-DEDUP-ACTIVE"


def dedup_checks(spec: CrmSpec) -> Iterator[Check]:
    for rule in spec.duplicates:
        yield Check(DOD_ID, partial(check_rule, rule=rule), spec.location("duplicates", rule.index),
                    param=rule.label, description=f"the CRM refuses a second {rule.label}",
                    needs=frozenset({CRM, WRITES}))


def pair(rule: DuplicateRule, run_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """Two records' properties, equal on ``rule.match`` only; both synthetic by every test of synthetic.py."""
    rid = run_id.lower()
    label = f"dedup-{rule.index}"
    records = []
    for side in ("a", "b"):
        if rule.object == "contacts":
            props = {"email": synthetic_email(run_id, f"{label}-{side}"), "firstname": "gtmcheck",
                     "lastname": f"{label} {side}"}
        elif rule.object == "companies":
            props = {"domain": f"{side}.{label}.{rid}.example.com", "name": synthetic_name(run_id, f"{label} {side}")}
        else:
            props = {NAME_PROPERTY.get(rule.object, "name"): synthetic_name(run_id, f"{label} {side}")}
        records.append(props)
    first, second = records
    for name in rule.match:
        if name == "email":
            value = synthetic_email(run_id, label)
        elif name == "domain":
            value = f"{label}.{rid}.example.com"
        elif name in ("name", "dealname"):
            value = synthetic_name(run_id, label)
        else:
            value = f"gtmcheck-dedup-{rid}"
        first[name] = second[name] = value
    return tagged(first, run_id), tagged(second, run_id)


def _outgoing(vendor: str, object_type: str, props: dict[str, str]) -> dict[str, str]:
    """Salesforce's field names for a company's or deal's domain and name."""
    if vendor != "salesforce" or object_type == "contacts":
        return props
    return {SALESFORCE_FIELDS.get(k, k): v for k, v in props.items()}


def _shown(rule: DuplicateRule, props: dict[str, str]) -> str:
    return ", ".join(f"{name} {props[name]!r}" for name in rule.match)


def _own_record(ctx: RunContext, rule: DuplicateRule, record_id: str | None) -> Record | None:
    """The record ``record_id`` when this run created it (it carries the run's tag), else ``None``."""
    if record_id is None:
        return None
    record = ctx.crm().get(rule.object, record_id, [TAG_PROPERTY])
    return record if record.properties.get(TAG_PROPERTY) == ctx.run_id else None


def check_rule(ctx: RunContext, rule: DuplicateRule) -> Evidence:
    """Create the pair; the second must be refused as a duplicate."""
    ctx.require_writes(f"{DOD_ID} creates a synthetic pair per duplicate rule")
    if ctx.cancelled.is_set():
        raise CheckError("the run was interrupted before the pair was created")
    crm = ctx.crm()
    first_props, second_props = pair(rule, ctx.run_id)
    ctx.ledger.touch(rule.object, ctx.clock())  # a create whose answer is lost is found by the final search
    try:
        first: Record = crm.create(rule.object, _outgoing(crm.vendor, rule.object, first_props), auto_assign=False)
    except DuplicateRecord as exc:
        # a retried create whose first attempt was written (its answer lost) is refused as a duplicate of itself
        own = _own_record(ctx, rule, exc.existing_id)
        if own is None:
            raise CheckError(f"the first record of the pair ({_shown(rule, first_props)}) was refused as a "
                             f"duplicate of {exc.existing_id or 'an existing record'}, which this run did not "
                             f"create; the pair's values are unique to the run, so look at that record") from None
        first = own
    ctx.ledger.add(rule.object, first.id, ctx.clock())
    if ctx.cancelled.is_set():
        raise CheckError("the run was interrupted before the second record of the pair was sent")
    ctx.ledger.touch(rule.object, ctx.clock())
    try:
        second = crm.create(rule.object, _outgoing(crm.vendor, rule.object, second_props), auto_assign=False)
    except DuplicateRecord as exc:
        matched = exc.existing_id or first.id
        note = "" if matched == first.id else f" (the CRM matched it to {matched}, not to {first.id})"
        text = (f"a second {rule.object} record with {_shown(rule, second_props)} was refused as a duplicate of "
                f"{first.id}{note} ({exc.code or 'duplicate'})")
        return Evidence(text, {"rule": rule.label, "first": first.id, "matched": matched, "code": exc.code})
    ctx.ledger.add(rule.object, second.id, ctx.clock())
    text = (f"the CRM created a second {rule.object} record {second.id} with {_shown(rule, second_props)}, "
            f"which {first.id} already has: the {rule.label} duplicate rule is not active")
    raise CheckFailed(text, expected=f"the second record refused as a duplicate of {first.id}",
                      received=f"a second record {second.id}",
                      evidence=Evidence(text, {"rule": rule.label, "first": first.id, "second": second.id}))
