"""Offline lint of a webhooks checklist (``WEBHOOK1xx``): what the schemas alone say is wrong.

Unusable input (no schema for a declared version, a schema that is not one) is a ``SpecError`` in model.py,
exit 2. These findings are about a checklist that loads: the declared sender against the declared receiver,
the version rule, a retired version still declared, and a schema that pins another version than its file's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...findings import Finding, Severity, register
from .compat import describe, sender_breaks, version_rule
from .load import SchemaInputError, resolve_ref
from .model import EventSpec, WebhooksSpec
from .validate import LoadedSchema

E = Severity.ERROR

INCOMPATIBLE = register(
    "WEBHOOK101",
    "webhooks.incompatible",
    E,
    "The sender's version may emit payloads the receiver's version rejects.",
    "move the receiver to the sender's version, or have the sender emit one the receiver accepts",
    "Anti-pattern: the sender moves to account.updated 2.1 while the receiver still validates 2.0, and "
    "deliveries are rejected for weeks. Best practice: every change from the receiver's schema to the "
    "sender's only narrows (the receiver accepts all the sender emits).",
)
VERSION_RULE = register(
    "WEBHOOK102",
    "webhooks.version-rule",
    E,
    "A breaking change between two versions under a minor or patch bump.",
    "publish the change as a new major version, or make it compatible",
    "Anti-pattern: 2.0 -> 2.1 removes a required property; receivers pinned to 2.x trust it. Best "
    "practice: semantic versions: a change that breaks a receiver bumps the major version.",
)
RETIRED_DECLARED = register(
    "WEBHOOK103",
    "webhooks.retired-declared",
    E,
    "The sender or receiver version is listed as retired.",
    "declare a current version, or take it out of `retired`",
    "Anti-pattern: retiring 1.0 while the receiver still validates 1.0. Best practice: `retired` lists "
    "only versions nobody sends or reads.",
)
VERSION_MISMATCH = register(
    "WEBHOOK104",
    "webhooks.schema-pins-other-version",
    E,
    "A schema pins its payload's event or version to another value than its file says.",
    "set the const (or enum) at the envelope pointer to the file's event and version",
    "Anti-pattern: 2.1.json copied from 2.0.json with `version: {const: \"2.0\"}` left in, so 2.1 payloads "
    "fail it. Best practice: each schema pins the version it describes.",
)


def lint_webhooks(spec: WebhooksSpec) -> Iterator[Finding]:
    for event in spec.events:
        yield from _retired(spec, event)
        yield from lint_pins(spec, event)
        sender = spec.registry.get(event.name, event.sender)
        receiver = spec.registry.get(event.name, event.receiver)
        if sender is None or receiver is None:  # a SpecError at load; kept safe for a spec built by hand
            continue
        where = spec.location("events", event.index, "sender")
        breaks = sender_breaks(sender, receiver, spec.enum_additions, event.envelope)
        if breaks:
            shown = "; ".join(describe(c) for c in breaks[:3])
            more = f" (and {len(breaks) - 3} more)" if len(breaks) > 3 else ""
            yield INCOMPATIBLE.finding(where, f"{event.name} sender {event.sender} may emit what receiver "
                                       f"{event.receiver} rejects: {shown}{more}")
        rule = version_rule(event.name, sender, receiver, spec.enum_additions, event.envelope)
        if rule is not None:
            yield VERSION_RULE.finding(where, rule.message())


def _retired(spec: WebhooksSpec, event: EventSpec) -> Iterator[Finding]:
    for side in ("sender", "receiver"):
        version = getattr(event, side)
        if version in event.retired:
            index = event.retired.index(version)
            yield RETIRED_DECLARED.finding(spec.location("events", event.index, "retired", index),
                                           f"{event.name} {side} version {version} is listed as retired")


def lint_pins(spec: WebhooksSpec, event: EventSpec) -> Iterator[Finding]:
    """WEBHOOK104 for each schema of ``event`` whose envelope const/enum names another event or version."""
    for version in spec.registry.versions(event.name):
        schema = spec.registry.get(event.name, version)
        assert schema is not None
        for pointer, want in ((event.event_pointer, event.name), (event.version_pointer, version)):
            allowed = pinned_values(schema, pointer)
            if allowed is not None and want not in allowed:
                shown = ", ".join(repr(a) for a in allowed)
                yield VERSION_MISMATCH.finding(
                    spec.location("events", event.index, "event"),
                    f"{event.name}/{version}.json pins {pointer} to {shown}, not {want!r}")


def pinned_values(schema: LoadedSchema, pointer: str) -> list[str] | None:
    """The values the schema allows at ``pointer`` when it pins them (const or enum); ``None`` otherwise."""
    doc, node = schema.doc, schema.root
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    try:
        for token in [*tokens, None]:
            for _ in range(16):
                if not isinstance(node, dict) or "$ref" not in node:
                    break
                doc, node, _key = resolve_ref(doc, str(node["$ref"]), str(doc.path))
            if token is None or not isinstance(node, dict):
                break
            node = (node.get("properties") or {}).get(token)
    except SchemaInputError:
        return None
    if not isinstance(node, dict):
        return None
    values: list[Any] | None = [node["const"]] if "const" in node else node.get("enum")
    if not isinstance(values, list):
        return None
    return [_text(v) for v in values]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
