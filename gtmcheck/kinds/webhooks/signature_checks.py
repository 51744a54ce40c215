"""WEBHOOK-SIGNATURES-ENFORCED: the receiver accepts a correctly signed delivery and refuses every bad one.

Five probes go to ``receiver.url``, each a synthetic delivery valid under the receiver's schema of one declared
event, so only its signature can make the receiver refuse it:

- ``accepted``: signed as the sender signs; must be answered 2xx.
- ``forged``: signed with a wrong secret; must be answered 401 or 403.
- ``stale``: correctly signed, timestamp ``STALE_AGE_S`` (330 s, past the 300 s window plus room for clock skew)
  ago; 401 or 403.
- ``replayed``: the accepted delivery again, byte for byte, headers included; 401, 403 or 409 (Conflict).
- ``unsigned``: no signature and no timestamp header; 401 or 403.

HubSpot v1 and v2 (and an ``hmac-sha256`` scheme that signs no timestamp) sign no timestamp, so no receiver
can refuse an old delivery by its signature: there is no ``stale`` probe for them (four checks, not five).
A replay can still be refused (by remembering signatures or event ids), so it is probed for every scheme, and
a v1/v2 receiver that takes the same delivery twice fails. What a receiver sees is in docs/webhooks.md.

Probes are sent only where the environment says ``writes: true``, once per run and receiver (the five checks
share them), marked with the run id (``X-Gtmcheck-Run`` header, and the ``event_id``-like field where the
schema allows a string). Redirects are not followed. Nothing shown includes the secret or a signature.
"""

from __future__ import annotations

import json
import secrets as random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import httpx

from ...errors import CheckError, CheckFailed, Evidence, Location, SpecError
from ...secrets import redact
from ...visible import shorten, visible
from ..base import WRITES, Check
from .probe_payload import UnbuildableSchema, example_payload
from .signing import SigningScheme

if TYPE_CHECKING:
    from ...context import RunContext

DOD_ID = "WEBHOOK-SIGNATURES-ENFORCED"
PROBES = ("accepted", "forged", "stale", "replayed", "unsigned")
TIMESTAMP_PROBES = frozenset({"stale"})  # a scheme that signs no time cannot refuse an old delivery
STALE_AGE_S = 330
REFUSED = frozenset({401, 403})
REPLAY_REFUSED = frozenset({401, 403, 409})
RUN_HEADER = "X-Gtmcheck-Run"
PROBE_HEADER = "X-Gtmcheck-Probe"
SHOWN_ANSWER_CHARS = 200
MAX_ANSWER_BYTES = 4096  # a receiver's answer is only shown, shortened: never read whole
DEFAULT_ENVELOPE = {"event": "/event", "version": "/version"}
NEEDS = frozenset({WRITES})
_WHY = {
    "accepted": "a delivery signed as the sender signs it must be accepted",
    "forged": "a delivery signed with a wrong secret must be refused",
    "stale": f"a correctly signed delivery whose timestamp is {STALE_AGE_S} s old must be refused (300 s window)",
    "replayed": "the accepted delivery sent again verbatim must be refused",
    "unsigned": "a delivery without a signature must be refused",
}


class ReceiverModel(Protocol):
    """What these checks read of the kind's model: ``receiver`` and ``events``.

    ``receiver`` has ``url`` and ``signing`` (``${ENV}`` expanded), as a mapping or as attributes, and may have
    a ``location``. Each event has its name (``event`` or ``name``) and ``receiver`` (the version the receiver
    validates), and may have an ``envelope`` (a mapping or an object with ``event``/``version`` pointers, or a
    ``(event, version)`` pair) or ``event_pointer``/``version_pointer``. The model's ``receiver_location``,
    ``envelope`` and ``schema_for(event, version)`` (or ``registry.get``) are used when it has them.
    """

    @property
    def receiver(self) -> Any: ...

    @property
    def events(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Declared:
    """One declared event as the probes need it: the receiver's version and where the envelope names both."""

    event: str
    receiver: str
    envelope: Mapping[str, str]


SchemaLookup = Callable[[str, str], Any]


def checks_for(model: ReceiverModel, *, schema_for: SchemaLookup | None = None) -> list[Check]:
    """One check per probe for the model's receiver; none without a ``receiver:``.

    ``schema_for(event, version)`` gives the receiver's schema (a node, a ``load.SchemaFile`` or the kind's
    ``LoadedSchema``); by default the model's own ``schema_for``, or its ``registry.get``.
    """
    receiver = model.receiver
    if not receiver:
        return []
    location = _location(model, receiver)
    url = _wire_url(_field(receiver, "url"))
    if url is None:
        raise SpecError(f"receiver.url {redact(str(_field(receiver, 'url')))!r} is not an absolute http(s) URL",
                        location, 'write `url: "${WEBHOOK_RECEIVER_URL}"` with the https:// address of the receiver')
    scheme = SigningScheme.from_mapping(_field(receiver, "signing"), location)
    declared = _declared(model)
    if not declared:
        raise SpecError("receiver: is set but no event is declared to send it", location,
                        "declare the events the receiver takes under `events:`")
    probes = ProbeSet(url, scheme, declared, schema_for or _lookup(model))
    return [Check(DOD_ID, _runner(probes, probe), location, param=probe, description=_WHY[probe], needs=NEEDS)
            for probe in PROBES if scheme.timestamped or probe not in TIMESTAMP_PROBES]


def _wire_url(url: Any) -> str | None:
    """The URL as it goes on the wire (percent-encoded; a bare host gets its ``/``), or ``None`` if not http(s).

    HubSpot v2 and v3 sign the URL, and a receiver checks against the URL it was called at.
    """
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        wire = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not wire.host:
        return None
    return str(wire.copy_with(path="/") if not parts.path else wire)


def _field(thing: Any, name: str) -> Any:
    return thing.get(name) if isinstance(thing, Mapping) else getattr(thing, name, None)


def _location(model: Any, receiver: Any) -> Location:
    """The receiver block's line: the receiver's own ``location``, else the model's, else the file's top."""
    for found in (_field(receiver, "location"), getattr(model, "receiver_location", None),
                  getattr(model, "location", None)):
        if isinstance(found, Location):
            return found
    return Location("?")


def _lookup(model: Any) -> SchemaLookup | None:
    found = getattr(model, "schema_for", None)
    if callable(found):
        return found  # type: ignore[no-any-return]
    registry = getattr(model, "registry", None)
    get = getattr(registry, "get", None)
    return get if callable(get) else None


def _declared(model: Any) -> list[Declared]:
    """Each event's name, receiver version and envelope (its own, else the model's, else /event and /version)."""
    default = _pointers(getattr(model, "envelope", None)) or DEFAULT_ENVELOPE
    out: list[Declared] = []
    for e in model.events:
        name = getattr(e, "event", None)
        name = name if isinstance(name, str) else getattr(e, "name", None)
        own = _pointers(getattr(e, "envelope", None)) or _pointers(
            (getattr(e, "event_pointer", None), getattr(e, "version_pointer", None)))
        if isinstance(name, str) and isinstance(e.receiver, str):
            out.append(Declared(name, e.receiver, own or default))
    return out


def _pointers(envelope: Any) -> dict[str, str]:
    """``{event, version}`` pointers from a mapping, an object with those attributes or an (event, version) pair."""
    if envelope is None:
        return {}
    if isinstance(envelope, tuple):
        envelope = dict(zip(("event", "version"), envelope, strict=False))
    out: dict[str, str] = {}
    for name in ("event", "version"):
        value = _field(envelope, name)
        if isinstance(value, str) and value:
            out[name] = value
    return out


def _runner(probes: ProbeSet, probe: str) -> Callable[[RunContext], Evidence]:
    def run(ctx: RunContext) -> Evidence:
        return probes.verdict(ctx, probe)

    return run


@dataclass
class Answer:
    """What the receiver answered one probe (``status`` None: no answer, ``error`` says why)."""

    status: int | None
    text: str = ""
    error: str = ""
    ms: int = 0
    request: httpx.Request | None = field(default=None, repr=False)

    def shown(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        body = visible(shorten(redact(self.text.strip()), SHOWN_ANSWER_CHARS))
        return f"{self.status}" + (f" {body}" if body else "")


class ProbeSet:
    """The five probes of one receiver: built and sent once per run (per run id), then judged one by one."""

    def __init__(self, url: str, scheme: SigningScheme, events: list[Declared], lookup: SchemaLookup | None) -> None:
        self.url = url
        self.scheme = scheme
        self.events = events
        self.lookup = lookup
        self._lock = threading.Lock()
        self._sent: dict[str, tuple[dict[str, Answer], dict[str, Any]]] = {}

    def verdict(self, ctx: RunContext, probe: str) -> Evidence:
        """Evidence that ``probe`` was answered as it must be; ``CheckFailed`` naming the answer otherwise."""
        ctx.require_writes("the webhook signature checks send synthetic deliveries to the receiver")
        answers, about = self.send(ctx)
        answer = answers.get(probe)
        details = {**about, "probe": probe, "status": None if answer is None else answer.status}
        if answer is None:  # the replay of a delivery that was never accepted
            raise CheckError(f"{probe}: the correctly signed delivery was not accepted "
                             f"({answers['accepted'].shown()}), so a replay of it proves nothing",
                             evidence=Evidence("not sent: nothing accepted to replay", details))
        if answer.status is None:
            raise CheckError(f"{probe}: the receiver {redact(self.url)} did not answer: {answer.error}",
                             evidence=Evidence(f"no answer: {answer.error}", details))
        details["answer"] = answer.shown()
        if probe == "accepted":
            return self._accepted(answer, details)
        allowed = REPLAY_REFUSED if probe == "replayed" else REFUSED
        if answer.status in allowed:
            return Evidence(f"{probe} delivery refused: {answer.status} in {answer.ms} ms", details)
        said = "accepted it" if 200 <= answer.status < 300 else f"answered {answer.shown()}"
        raise CheckFailed(
            f"{probe} probe: {_WHY[probe]}, but the receiver {redact(self.url)} {said}",
            expected=" or ".join(str(s) for s in sorted(allowed)),
            received=answer.shown(),
            evidence=Evidence(f"{probe} delivery not refused: {answer.status}", details),
        )

    def _accepted(self, answer: Answer, details: dict[str, Any]) -> Evidence:
        assert answer.status is not None
        if 200 <= answer.status < 300:
            return Evidence(f"correctly signed delivery accepted: {answer.status} in {answer.ms} ms", details)
        hint = {401: "; the receiver's secret or scheme differs from receiver.signing",
                403: "; the receiver's secret or scheme differs from receiver.signing",
                422: "; the receiver refused the payload itself: is it validating another schema version?"}.get(
            answer.status, "; redirects are not followed: point receiver.url at the final URL"
            if 300 <= answer.status < 400 else "")
        raise CheckFailed(
            f"accepted probe: {_WHY['accepted']}, but the receiver {redact(self.url)} answered "
            f"{answer.shown()}{hint}",
            expected="2xx",
            received=answer.shown(),
            evidence=Evidence(f"correctly signed delivery refused: {answer.status}", details),
        )

    def send(self, ctx: RunContext) -> tuple[dict[str, Answer], dict[str, Any]]:
        """Every probe's answer (sent on the first call of this run), and what was sent, for the evidence."""
        with self._lock:
            if ctx.run_id not in self._sent:
                self._sent[ctx.run_id] = self._send(ctx)
            return self._sent[ctx.run_id]

    def _send(self, ctx: RunContext) -> tuple[dict[str, Answer], dict[str, Any]]:
        event, version, bodies, marked = self._bodies(ctx.run_id)
        about = {"url": redact(self.url), "scheme": str(self.scheme), "event": event, "version": version,
                 "run_id": ctx.run_id, "run_id_field": marked}
        client = ctx.webhook_client()
        now = now_ms()
        base = {"Content-Type": "application/json", RUN_HEADER: ctx.run_id}
        forged = replace(self.scheme, secret=random.token_urlsafe(24))  # the same scheme, a wrong secret
        requests = {
            "unsigned": {**base},
            "forged": {**base, **forged.signed_headers(bodies["forged"], self.url, now)},
            "accepted": {**base, **self.scheme.signed_headers(bodies["accepted"], self.url, now)},
        }
        if self.scheme.timestamped:
            stale = now - STALE_AGE_S * 1000
            requests["stale"] = {**base, **self.scheme.signed_headers(bodies["stale"], self.url, stale)}
        answers: dict[str, Answer] = {}
        for probe in ("unsigned", "forged", "stale", "accepted"):
            if probe in requests:
                answers[probe] = _post(client, self.url, bodies[probe], {**requests[probe], PROBE_HEADER: probe})
        accepted = answers["accepted"]
        if accepted.status is not None and 200 <= accepted.status < 300:
            assert accepted.request is not None
            answers["replayed"] = _replay(client, accepted.request)
        return answers, about

    def _bodies(self, run_id: str) -> tuple[str, str, dict[str, bytes], str | None]:
        """(event, version, probe -> body, the field carrying the run id): the first event a payload fits."""
        problems: list[str] = []
        for declared in self.events:
            schema = self.lookup(declared.event, declared.receiver) if self.lookup else None
            envelope = declared.envelope
            values = {"event": declared.event, "version": declared.receiver}
            bodies: dict[str, bytes] = {}
            marked: str | None = None
            try:
                for probe in PROBES:
                    payload, marked, _ = example_payload(schema if schema is not None else _bare(envelope),
                                                         envelope=envelope, values=values,
                                                         marker=f"{run_id}-{probe}")
                    bodies[probe] = self._wrap(payload)
            except UnbuildableSchema as exc:
                problems.append(f"{declared.event} {declared.receiver}: {exc}")
                continue
            return declared.event, declared.receiver, bodies, marked
        raise CheckError("no synthetic delivery could be built from the receiver's schemas: " + "; ".join(problems),
                         evidence=Evidence("no probe payload", {"problems": problems}))

    def _wrap(self, payload: Any) -> bytes:
        """HubSpot delivers a JSON array of events; other senders one event per delivery."""
        body = [payload] if self.scheme.scheme.startswith("hubspot-") else payload
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _bare(envelope: Mapping[str, str]) -> dict[str, Any]:
    """Without a schema: an object holding the envelope fields, an event id and a time, all strings."""
    names = [p.rsplit("/", 1)[-1] for p in envelope.values() if p.count("/") == 1]
    return {"type": "object", "required": [*names, "event_id", "occurred_at"],
            "properties": {"occurred_at": {"type": "string", "format": "date-time"}}}


def now_ms() -> int:
    """Wall-clock milliseconds: signatures carry real time, which the receiver compares with its own."""
    return int(time.time() * 1000)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    request = client.build_request("POST", url, content=body, headers=headers)
    return _answer(client, request)


def _replay(client: httpx.Client, accepted: httpx.Request) -> Answer:
    """The accepted request again, byte for byte: same body, same signature and timestamp headers."""
    headers = {k: v for k, v in accepted.headers.items() if k.lower() != PROBE_HEADER.lower()}
    request = client.build_request("POST", accepted.url, content=accepted.content,
                                   headers={**headers, PROBE_HEADER: "replayed"})
    return _answer(client, request)


def _answer(client: httpx.Client, request: httpx.Request) -> Answer:
    """Send one probe; of the answer's body only the first ``MAX_ANSWER_BYTES`` are read (it is only shown)."""
    started = time.monotonic()
    try:
        response = client.send(request, stream=True)
        try:
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= MAX_ANSWER_BYTES:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Answer(None, error=redact(str(exc) or type(exc).__name__), request=request)
    ms = int((time.monotonic() - started) * 1000)
    text = head[:MAX_ANSWER_BYTES].decode(response.charset_encoding or "utf-8", errors="replace")
    return Answer(response.status_code, text, ms=ms, request=request)
