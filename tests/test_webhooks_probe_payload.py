"""The probes' payload: valid under the receiver's schema, the envelope filled in, the run id where it fits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import respx
from webhook_receivers import SECRET, URL, Event, Model, Receiver, context, run_all

from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, Evidence
from gtmcheck.kinds.webhooks.load import load_schema
from gtmcheck.kinds.webhooks.probe_payload import UnbuildableSchema, example_payload
from gtmcheck.kinds.webhooks.signature_checks import checks_for

HUBSPOT_ENVELOPE = {"event": "/subscriptionType"}
VERSIONED = {"event": "/event", "version": "/version"}
CONTACT_CREATION: dict[str, Any] = {
    "type": "object",
    "required": ["subscriptionType", "eventId", "portalId", "occurredAt", "objectId", "changeSource"],
    "properties": {
        "subscriptionType": {"const": "contact.creation"},
        "eventId": {"type": "integer", "minimum": 0},
        "portalId": {"type": "integer", "minimum": 1},
        "occurredAt": {"type": "integer", "minimum": 0},
        "objectId": {"type": "integer", "exclusiveMinimum": 0},
        "changeSource": {"type": "string", "minLength": 1},
    },
}


def test_a_hubspot_event_is_valid_and_keeps_its_integer_event_id() -> None:
    payload, marked, confirmed = example_payload(CONTACT_CREATION, envelope=HUBSPOT_ENVELOPE,
                                                 values={"event": "contact.creation", "version": "1"},
                                                 marker="gtm-20261126T101500-abcdef-accepted")
    jsonschema.validate(payload, CONTACT_CREATION)
    assert confirmed and marked is None  # the run id rides in the X-Gtmcheck-Run header only
    assert payload["subscriptionType"] == "contact.creation" and isinstance(payload["eventId"], int)


def test_the_envelope_is_written_even_where_the_schema_only_gives_a_pattern() -> None:
    schema = {"type": "object", "required": ["event", "version", "id", "at", "tags"],
              "properties": {"event": {"type": "string"}, "version": {"type": "string", "pattern": r"^3\.\d+$"},
                             "id": {"type": "string", "format": "uuid"}, "at": {"type": "string",
                                                                            "format": "date-time"},
                             "tags": {"type": "array", "minItems": 2, "items": {"enum": ["a", "b"]}}}}
    payload, marked, confirmed = example_payload(schema, envelope=VERSIONED,
                                                 values={"event": "deal.won", "version": "3.1"}, marker="gtm-x")
    assert confirmed and payload["event"] == "deal.won" and payload["version"] == "3.1"
    assert payload["id"] == "gtm-x" and marked == "id" and payload["tags"] == ["a", "a"]


def test_sibling_file_refs_are_followed(tmp_path: Path) -> None:
    (tmp_path / "common.json").write_text(json.dumps({"$defs": {
        "event_id": {"type": "string", "maxLength": 64},
        "domain": {"type": "string", "pattern": r"^[a-z0-9.-]+\.[a-z]{2,}$"}}}))
    (tmp_path / "2.0.json").write_text(json.dumps({
        "type": "object", "required": ["event", "event_id", "domain"],
        "properties": {"event": {"const": "account.updated"}, "event_id": {"$ref": "common.json#/$defs/event_id"},
                       "domain": {"$ref": "common.json#/$defs/domain"}}}))
    payload, marked, _ = example_payload(load_schema(tmp_path / "2.0.json"), envelope=VERSIONED,
                                         values={"event": "account.updated", "version": "2.0"}, marker="gtm-y")
    assert payload == {"event": "account.updated", "event_id": "gtm-y", "domain": "example.com"}
    assert marked == "event_id"


def test_a_pattern_no_probe_value_matches_asks_for_examples_and_examples_are_used() -> None:
    schema: dict[str, Any] = {"type": "object", "required": ["sku"],
                              "properties": {"sku": {"type": "string", "pattern": "^SKU-[0-9]{6}$"}}}
    with pytest.raises(UnbuildableSchema, match="add `examples`"):
        example_payload(schema, envelope=VERSIONED, values={}, marker="m")
    schema["properties"]["sku"]["examples"] = ["SKU-000123"]
    assert example_payload(schema, envelope=VERSIONED, values={}, marker="m")[0] == {"sku": "SKU-000123"}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[RunContext]:
    run = context(tmp_path)
    yield run
    run.close()


def test_the_first_event_a_payload_can_be_built_for_is_probed(ctx: RunContext) -> None:
    schemas = {("odd.event", "1"): {"type": "object", "required": ["x"],
                                    "properties": {"x": {"type": "string", "pattern": "^Q{9}$"}}},
               ("contact.creation", "1"): CONTACT_CREATION}

    class TwoEvents(Model):
        def schema_for(self, event: str, version: str) -> Any:
            return schemas.get((event, version))

    receiver = Receiver("hubspot-v3", SECRET)
    model = TwoEvents({"url": URL, "signing": {"scheme": "hubspot-v3", "secret": SECRET}},
                      [Event("odd.event", "1"), Event("contact.creation", "1")])
    model.envelope = HUBSPOT_ENVELOPE  # type: ignore[attr-defined]
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=receiver.respx)
        outcomes = run_all(checks_for(model), ctx)
    assert all(isinstance(o, Evidence) for o in outcomes.values())
    assert outcomes["accepted"].details["event"] == "contact.creation"  # type: ignore[union-attr]
    assert all(p[0]["subscriptionType"] == "contact.creation" for p in receiver.payloads())


def test_no_buildable_event_is_an_error_that_names_each_schema(ctx: RunContext) -> None:
    class Impossible(Model):
        def schema_for(self, event: str, version: str) -> Any:
            return {"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "pattern": "^Q{9}$"}}}

    with respx.mock(assert_all_called=False) as router:
        route = router.post(URL)
        outcomes = run_all(checks_for(Impossible({"url": URL, "signing": {"scheme": "hubspot-v3",
                                                                          "secret": SECRET}})), ctx)
    assert route.call_count == 0
    error = outcomes["accepted"]
    assert isinstance(error, CheckError)
    assert error.message.startswith("no synthetic delivery could be built from the receiver's schemas: "
                                    "account.updated 2.0: no probe value matches the pattern '^Q{9}$'")


def test_without_a_schema_the_probe_is_a_bare_envelope(ctx: RunContext) -> None:
    class NoSchemas(Model):
        def schema_for(self, event: str, version: str) -> Any:
            return None

    receiver = Receiver("hmac-sha256", SECRET)
    signing = {"scheme": "hmac-sha256", "secret": SECRET, "header": "X-Signature",
               "timestamp_header": "X-Signature-Timestamp"}
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=receiver.respx)
        run_all(checks_for(NoSchemas({"url": URL, "signing": signing})), ctx)
    first = receiver.payloads()[0]
    assert first["event"] == "account.updated" and first["version"] == "2.0"
    assert first["event_id"] == f"{ctx.run_id}-unsigned" and first["occurred_at"].endswith("Z")


def test_a_per_event_envelope_object_is_followed(ctx: RunContext) -> None:
    @dataclass
    class Envelope:
        event: str
        version: str | None = None

    @dataclass
    class HubSpotEvent(Event):
        envelope: Envelope | None = None

    class Contacts(Model):
        def schema_for(self, event: str, version: str) -> Any:
            return CONTACT_CREATION

    receiver = Receiver("hubspot-v3", SECRET)
    event = HubSpotEvent("contact.creation", "1", Envelope("/subscriptionType"))
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=receiver.respx)
        outcomes = run_all(checks_for(Contacts({"url": URL, "signing": {"scheme": "hubspot-v3", "secret": SECRET}},
                                               [event])), ctx)
    assert all(isinstance(o, Evidence) for o in outcomes.values())
    assert all(set(p[0]) == set(CONTACT_CREATION["required"]) for p in receiver.payloads())  # no stray `event`
