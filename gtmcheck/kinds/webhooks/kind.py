"""The webhooks kind: versioned payload schemas, captured samples, sender against receiver, signatures.

Shape of a ``kind: webhooks`` checklist (the schema is in schema.py; docs/webhooks.md explains each key)::

    schemas: webhooks/schemas            # <event>/<version>.json, or a list of files whose $id names them
    envelope: {event: /event, version: /version}
    events:
      - {event: account.updated, sender: "2.0", receiver: "2.0", retired: ["1.0"]}
      - {event: contact.creation, sender: "1", receiver: "1", envelope: {event: /subscriptionType}}
    samples:
      - files: webhooks/samples/*.json
      - delivery_log: sandbox
      - {table: raw_webhooks, payload: body, key: id, where: "...", limit: 1000}
    receiver: {url: ..., signing: {scheme: hubspot-v3, secret: "${WEBHOOK_SECRET}"}}
    enum_additions: compatible

Checks: WEBHOOK-SCHEMAS-VERSIONED (offline), WEBHOOK-SAMPLES-VALID (one per sample source),
WEBHOOK-VERSIONS-COMPATIBLE (one per event), and WEBHOOK-SIGNATURES-ENFORCED (one per probe sent to the
``receiver:``, signature_checks.py; without a receiver the item is attested under ``manual:`` or not configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ...findings import Finding
from ..base import Check, KindBase, cached_spec
from .checks import check_compatible, check_samples, check_schemas
from .lint import lint_webhooks
from .model import CACHE_KEY, WebhooksSpec, compile_spec
from .observe import observe_webhooks
from .schema import SCHEMA
from .signature_checks import checks_for as signature_checks

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

SCHEMAS_ID = "WEBHOOK-SCHEMAS-VERSIONED"
SAMPLES_ID = "WEBHOOK-SAMPLES-VALID"
COMPATIBLE_ID = "WEBHOOK-VERSIONS-COMPATIBLE"


def spec_of(checklist: Checklist) -> WebhooksSpec:
    """The compiled spec, compiling on first use (``prepare`` normally did it at load time)."""
    return cached_spec(checklist, CACHE_KEY, compile_spec)


class WebhooksKind(KindBase):
    """Webhooks: schemas per event version, samples validated, drift between sender and receiver named."""

    name = "webhooks"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return lint_webhooks(spec_of(checklist))

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """The declared sender and receiver versions and the versions the samples show, per event."""
        return observe_webhooks(spec_of(checklist), ctx)

    def observe_needs(self, checklist: Checklist) -> frozenset[str]:
        return frozenset().union(*(s.needs for s in spec_of(checklist).samples))

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        if spec.events:
            yield Check(SCHEMAS_ID, partial(check_schemas, spec), spec.location("events", key=True),
                        description="every event has a schema for its sender and receiver version")
            needs = frozenset().union(*(s.needs for s in spec.samples))
            for event in spec.events:
                yield Check(COMPATIBLE_ID, partial(check_compatible, spec, event),
                            spec.location("events", event.index, "event"), param=event.name,
                            description=f"what {event.name}'s sender emits, its receiver accepts", needs=needs)
            for source in spec.samples:
                yield Check(SAMPLES_ID, partial(check_samples, spec, source), spec.location("samples", source.index),
                            param=source.label, description=f"payloads from {source.label} validate",
                            needs=source.needs)
        yield from signature_checks(spec)

