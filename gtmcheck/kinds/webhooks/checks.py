"""The run's webhooks checks: schemas versioned, samples valid, sender and receiver versions compatible.

A sample is matched to a declared event by that event's envelope pointer, and claims the version at its
version pointer (none: the event's ``sender``). It is validated against the version it claims; claiming a
version with no schema, a retired one, or another than the declared sender is its own finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import CheckFailed, Evidence
from ...findings import Finding, Severity
from ...lintconfig import settle
from .compat import counterexample, describe, sender_breaks, show_payload, version_rule
from .lint import lint_pins
from .model import EventSpec, SampleSource, WebhooksSpec
from .samples import Sample, read_samples
from .validate import SampleError, mask, validate_payload

if TYPE_CHECKING:
    from ...context import RunContext

SHOWN = 5
RECORDED = 50
ERRORS_PER_SAMPLE = 3


@dataclass
class Verdict:
    """What one sample is: its event and claimed version, and every finding on it."""

    sample: Sample
    event: EventSpec | None = None
    version: str | None = None
    findings: list[str] = field(default_factory=list)


def resolve_pointer(payload: Any, pointer: str) -> Any:
    """The value at ``pointer`` in ``payload``, or ``None`` when there is none."""
    node = payload
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _version_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return value if isinstance(value, str) else str(value)


def judge(spec: WebhooksSpec, sample: Sample) -> Verdict:
    """The sample's event, claimed version and findings (schema errors against the claimed version)."""
    verdict = Verdict(sample)
    if sample.problem:
        verdict.findings.append(f"{sample.name} {sample.problem}")
        return verdict
    payload = sample.payload
    event = next((e for e in spec.events if resolve_pointer(payload, e.event_pointer) == e.name), None)
    if event is None:
        pointers = sorted({e.event_pointer for e in spec.events}) or ["/event"]
        named = [v for p in pointers if (v := resolve_pointer(payload, p)) is not None]
        what = f"names event {named[0]!r}, which is not declared in `events`" if named \
            else f"names no event at {' or '.join(pointers)}"
        verdict.findings.append(f"{sample.name} {what}")
        return verdict
    verdict.event = event
    claimed = _version_text(resolve_pointer(payload, event.version_pointer))
    version = claimed if claimed is not None else event.sender
    verdict.version = version
    schema = spec.registry.get(event.name, version)
    if version in event.retired:
        verdict.findings.append(f"{sample.name} claims {event.name} {version}, a retired version")
    elif schema is None:
        have = ", ".join(spec.registry.versions(event.name))
        verdict.findings.append(f"{sample.name} claims {event.name} {version}, which has no schema (have {have})")
    elif version != event.sender:
        verdict.findings.append(f"{sample.name} claims {event.name} {version}, but the sender is declared "
                                f"to emit {event.sender}")
    if schema is not None:
        errors = validate_payload(schema, payload)
        verdict.findings += [_error_text(sample, event, version, e) for e in errors[:ERRORS_PER_SAMPLE]]
        if len(errors) > ERRORS_PER_SAMPLE:
            verdict.findings.append(f"{sample.name}: {len(errors) - ERRORS_PER_SAMPLE} more schema errors")
    if verdict.findings and sample.note:
        verdict.findings[-1] += f" ({mask(sample.note)})"
    return verdict


def judged(spec: WebhooksSpec, source: SampleSource, ctx: RunContext) -> list[Verdict]:
    """Each sample of ``source`` judged once per run (the samples check and each event's compatibility share it)."""
    key = f"webhooks.verdicts:{spec.checklist.path}:{source.index}"
    verdicts = ctx.cache.get(key)
    if verdicts is None:
        verdicts = [judge(spec, s) for s in read_samples(spec, source, ctx)]
        ctx.cache[key] = verdicts
    return list(verdicts)


def _error_text(sample: Sample, event: EventSpec, version: str, error: SampleError) -> str:
    return (f"{sample.name} {event.name} {version} {error.pointer} ({error.keyword}): value {error.value}: "
            f"{error.message}")


def check_schemas(spec: WebhooksSpec, ctx: RunContext | None = None) -> Evidence:
    """Each declared event has schemas for its sender and receiver versions (load made sure) that pin them."""
    findings: list[Finding] = [f for e in spec.events for f in lint_pins(spec, e)]
    findings, _ = settle(findings, spec.checklist.doc, ctx.project.lint if ctx is not None else None)
    errors = [f for f in findings if f.severity >= Severity.ERROR]
    listing = {e.name: _listing(spec, e) for e in spec.events}
    if errors:
        raise CheckFailed(
            f"{len(errors)} schema(s) pin another event or version than their file: "
            + "; ".join(f"{f.location}: {f.message}" for f in errors[:SHOWN]),
            expected="each <event>/<version>.json pins its own event and version",
            received=f"{len(errors)} mismatch(es)",
            evidence=Evidence("schemas pin other versions", {"schemas": listing,
                                                              "findings": [f.as_dict() for f in errors[:RECORDED]]}),
        )
    summary = "; ".join(f"{name}: {text}" for name, text in listing.items())
    return Evidence(f"{len(spec.registry)} schema(s) for {len(spec.events)} event(s): {summary}",
                    {"schemas": listing})


def _listing(spec: WebhooksSpec, event: EventSpec) -> str:
    parts = []
    for version in spec.registry.versions(event.name):
        roles = [r for r, v in (("sender", event.sender), ("receiver", event.receiver)) if v == version]
        if version in event.retired:
            roles.append("retired")
        parts.append(f"{version} ({', '.join(roles)})" if roles else version)
    return ", ".join(parts)


def check_samples(spec: WebhooksSpec, source: SampleSource, ctx: RunContext) -> Evidence:
    """Every payload of one source validates against the version it claims, which the sender should emit."""
    verdicts = judged(spec, source, ctx)
    samples = [v.sample for v in verdicts]
    if not samples:
        raise CheckFailed(f"{source.label} holds no samples, so nothing was validated",
                          expected="at least one captured payload", received="none")
    bad = [v for v in verdicts if v.findings]
    if bad:
        lines = [line for v in bad for line in v.findings]
        raise CheckFailed(
            f"{len(bad)} of {len(samples)} samples from {source.label} fail: " + "; ".join(lines[:SHOWN])
            + (f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""),
            expected="every sample valid against the version it claims, the version the sender emits",
            received=f"{len(bad)} invalid sample(s)",
            evidence=Evidence(f"{len(bad)} of {len(samples)} samples invalid",
                              {"samples": len(samples), "invalid": len(bad), "findings": lines[:RECORDED]}),
        )
    counts = Counter(f"{v.event.name} {v.version}" for v in verdicts if v.event is not None)
    shown = ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))
    return Evidence(f"{len(samples)} samples from {source.label} valid ({shown})",
                    {"samples": len(samples), "by_version": dict(sorted(counts.items()))})


def check_compatible(spec: WebhooksSpec, event: EventSpec, ctx: RunContext) -> Evidence:
    """The declared sender and every version seen in the samples against the receiver's version."""
    receiver = spec.registry.get(event.name, event.receiver)
    assert receiver is not None  # load refused a receiver version without a schema
    observed: dict[str, list[Sample]] = {}
    for source in spec.samples:
        for verdict in judged(spec, source, ctx):
            if verdict.event is event and verdict.version is not None:
                observed.setdefault(verdict.version, []).append(verdict.sample)
    problems: list[str] = []
    notes: list[str] = []  # what the property-based search could not cover
    for version in dict.fromkeys([event.sender, *sorted(observed)]):
        seen = f"observed in {len(observed[version])} sample(s)" if version in observed else "not observed"
        role = "declared" if version == event.sender else "not declared"
        sender = spec.registry.get(event.name, version)
        if sender is None:
            problems.append(f"the sender emits {version} ({seen}), which has no schema to compare")
            continue
        breaks = sender_breaks(sender, receiver, spec.enum_additions, event.envelope)
        rejected = _rejected(observed.get(version, []), receiver) if version != event.receiver else None
        rule = version_rule(event.name, sender, receiver, spec.enum_additions, event.envelope)
        generated, skipped = (counterexample(sender, receiver, event.envelope) if version != event.receiver
                              else (None, None))
        if skipped:
            notes.append(f"{version}: {skipped}")
        if not breaks and rejected is None and rule is None and generated is None:
            continue
        text = f"sender {version} ({role}; {seen}) against receiver {event.receiver}"
        if breaks:
            text += ": " + "; ".join(describe(c) for c in breaks[:3])
            if len(breaks) > 3:
                text += f" (and {len(breaks) - 3} more)"
        if rule is not None:
            text += f". Version rule: {rule.message()}"
        if not breaks and generated:
            text += ": the keyword comparison finds no break, but a generated payload shows one"
        example = rejected or generated
        if example:
            text += f". Example: {example}"
        problems.append(text)
    if problems:
        raise CheckFailed(
            f"{event.name}: the sender may emit what the receiver rejects: " + " | ".join(problems)
            + "".join(f" ({n})" for n in notes),
            expected=f"every version the sender emits accepted by receiver {event.receiver}",
            received=f"{len(problems)} incompatible version(s)",
            evidence=Evidence(f"{event.name} incompatible", {"problems": problems, "notes": notes,
                                                              "observed": sorted(observed)}),
        )
    seen_text = ", ".join(f"{v} x{len(s)}" for v, s in sorted(observed.items())) or "no samples"
    note = f"; {'; '.join(notes)}" if notes else ""
    return Evidence(f"{event.name}: sender {event.sender} and receiver {event.receiver} compatible "
                    f"(observed {seen_text}){note}", {"observed": {v: len(s) for v, s in observed.items()},
                                                      "notes": notes})


def _rejected(samples: list[Sample], receiver: Any) -> str | None:
    """The first real sample the receiver's schema rejects, shown with its first error."""
    for sample in samples:
        errors = validate_payload(receiver, sample.payload)
        if errors:
            first = errors[0]
            note = f" ({mask(sample.note)})" if sample.note else ""
            return (f"{sample.name} {show_payload(sample.payload)} is rejected by {receiver.version} at "
                    f"{first.pointer} ({first.keyword}): {first.message}{note}")
    return None
