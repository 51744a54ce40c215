r"""The crm kind: fields with their types and options, duplicates caught, test records flushed, the handoff SLA.

Shape of a ``kind: crm`` checklist (the schema is in schema.py; docs/crm.md explains each key)::

    properties: {contacts: [{name: lead_source_detail, type: enumeration, options: [webinar, ebook]}]}
    form: {portal_id: 4242, guid: 6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01}
    mappings: [{form_field: utm_source, property: contacts.utm_source, warehouse: contacts.utm_source}]
    sync_lag: 15m
    crm_lag: 1m
    lifecycle: {property: lifecyclestage, stages: [...], transitions: [...], recycle: {...}, audit: {...}}
    duplicates: [{object: contacts, match: email}, {object: companies, match: domain}]
    test_records: {domains: [test.example], names: ["^test\\b"]}
    handoff_sla: {team: sales, within: 4h, measured_by: lead-to-sales}

Checks: CRM-FIELDS-MAPPED (one per object with ``properties:``, fields.py; ``mappings:`` through
``mappings.mapping_checks``), CRM-LIFECYCLE-QA (``lifecycle.lifecycle_checks``), CRM-DEDUP-ACTIVE (one per
rule, dedup.py), CRM-TEST-RECORDS-FLUSHED (flush.py), CRM-HANDOFF-SLA (handoff.py). An item none of them
configures is attested under ``manual:`` or not configured. CRM-SIGNOFF is always checked (signoff.py, offline):
governance's review of the ``signoff:`` signers against the roles the checklist needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...dod import CROSS_FUNCTIONAL_SIGNER, RoleRequirement
from ...findings import Finding
from ..base import CRM, Check, KindBase, cached_spec
from .dedup import dedup_checks
from .fields import property_checks
from .flush import flush_checks
from .handoff import handoff_checks
from .lifecycle import lifecycle_checks
from .lint import lint_crm
from .mappings import mapping_checks
from .model import CACHE_KEY, CrmSpec, compile_spec
from .observe import observe_crm
from .schema import SCHEMA
from .signoff import signoff_checks

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist


def spec_of(checklist: Checklist) -> CrmSpec:
    """The compiled spec, compiling on first use (``prepare`` normally did it at load time)."""
    return cached_spec(checklist, CACHE_KEY, compile_spec)


class CrmKind(KindBase):
    """The CRM build-out: declared properties exist, duplicate rules bite, no test records, the SLA is met."""

    name = "crm"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return lint_crm(spec_of(checklist))

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        yield from property_checks(spec)
        yield from mapping_checks(spec)
        yield from lifecycle_checks(spec)
        yield from dedup_checks(spec)
        yield from flush_checks(spec)
        yield from handoff_checks(spec)
        yield from signoff_checks(spec)

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """The declared properties, lifecycle stages and duplicate-rule properties as the CRM has them now."""
        return observe_crm(spec_of(checklist), ctx)

    def observe_needs(self, checklist: Checklist) -> frozenset[str]:
        return frozenset({CRM})

    def extra_signoff_roles(self, checklist: Checklist) -> Iterable[RoleRequirement]:
        """A lifecycle model is cross-functional work: the CRO or VP Revenue signs too (DESIGN, governance)."""
        return [CROSS_FUNCTIONAL_SIGNER] if "lifecycle" in checklist.data else []
