"""WEBHOOK-SIGNATURES-ENFORCED: five probes against receivers that verify strictly, not at all, or not the age.

Receivers are respx side effects (and one real local HTTP server) written in tests/webhook_receivers.py from
the vendors' descriptions of each scheme, not from gtmcheck's signing code.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import jsonschema
import pytest
import respx
from webhook_receivers import ACCOUNT_2_0, SECRET, SIGNING, URL, Model, Outcome, Receiver, context, run_all

import gtmcheck.sandbox
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, Evidence, Location, SpecError
from gtmcheck.kinds.base import WRITES
from gtmcheck.kinds.webhooks.signature_checks import PROBES, RUN_HEADER, checks_for


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[RunContext]:
    run = context(tmp_path)
    yield run
    run.close()


def probe(receiver: Receiver, signing: dict[str, Any], ctx: RunContext, url: str = URL) -> dict[str, Outcome]:
    with respx.mock(assert_all_called=False) as router:
        router.post(url).mock(side_effect=receiver.respx)
        return run_all(checks_for(Model({"url": url, "signing": signing})), ctx)


@pytest.mark.parametrize("scheme", ["hubspot-v3", "hmac-sha256"])
def test_all_five_probes_pass_against_a_strictly_verifying_receiver(scheme: str, ctx: RunContext) -> None:
    receiver = Receiver(scheme, SECRET)
    outcomes = probe(receiver, SIGNING[scheme], ctx)
    assert {name: type(o).__name__ for name, o in outcomes.items()} == {p: "Evidence" for p in PROBES}
    assert [r.status for r in receiver.log] == [401, 401, 401, 204, 409]  # unsigned, forged, stale, accepted, replay
    assert "accepted: 204" in outcomes["accepted"].as_text()  # type: ignore[union-attr]
    assert "refused: 409" in outcomes["replayed"].as_text()  # type: ignore[union-attr]
    accepted, replayed = receiver.log[3], receiver.log[4]
    assert replayed.body == accepted.body
    signature_headers = {k for k in accepted.headers if "signature" in k.lower() or "timestamp" in k.lower()}
    assert signature_headers and all(replayed.headers[k] == accepted.headers[k] for k in signature_headers)


@pytest.mark.parametrize("scheme", ["hubspot-v1", "hubspot-v2"])
def test_v1_and_v2_have_no_stale_probe_but_a_replay_must_still_be_refused(scheme: str, ctx: RunContext) -> None:
    receiver = Receiver(scheme, SECRET)
    outcomes = probe(receiver, SIGNING[scheme], ctx)
    assert "stale" not in outcomes  # no signed timestamp: nothing for a receiver to judge an old delivery by
    assert all(isinstance(o, Evidence) for o in outcomes.values()), outcomes
    assert [r.status for r in receiver.log] == [401, 401, 204, 409]  # unsigned, forged, accepted, replayed


@pytest.mark.parametrize("scheme", ["hubspot-v1", "hubspot-v2"])
def test_a_v1_or_v2_receiver_that_takes_a_replay_fails(scheme: str, ctx: RunContext) -> None:
    outcomes = probe(Receiver(scheme, SECRET, check_replay=False), SIGNING[scheme], ctx)
    assert isinstance(outcomes["replayed"], CheckFailed)
    assert isinstance(outcomes["accepted"], Evidence) and isinstance(outcomes["forged"], Evidence)


def test_a_receiver_that_accepts_everything_fails_each_refusing_probe_for_its_own_reason(ctx: RunContext) -> None:
    outcomes = probe(Receiver("hubspot-v3", SECRET, verify=False), SIGNING["hubspot-v3"], ctx)
    assert isinstance(outcomes["accepted"], Evidence)
    reasons = {"forged": "signed with a wrong secret", "stale": "timestamp is 330 s old",
               "replayed": "the accepted delivery sent again verbatim", "unsigned": "without a signature"}
    for name, reason in reasons.items():
        failure = outcomes[name]
        assert isinstance(failure, CheckFailed), (name, failure)
        assert failure.message.startswith(f"{name} probe: ")
        assert reason in failure.message and "but the receiver" in failure.message
        assert "accepted it" in failure.message
        assert failure.received == "204"
    assert outcomes["replayed"].expected == "401 or 403 or 409"  # type: ignore[union-attr]
    assert outcomes["forged"].expected == "401 or 403"  # type: ignore[union-attr]


def test_a_receiver_that_checks_the_signature_but_not_the_age_fails_only_the_stale_probe(ctx: RunContext) -> None:
    outcomes = probe(Receiver("hubspot-v3", SECRET, check_age=False), SIGNING["hubspot-v3"], ctx)
    failed = sorted(name for name, o in outcomes.items() if not isinstance(o, Evidence))
    assert failed == ["stale"]
    assert isinstance(outcomes["stale"], CheckFailed) and outcomes["stale"].received == "204"


def test_a_replay_the_receiver_accepts_fails_the_replay_probe(ctx: RunContext) -> None:
    outcomes = probe(Receiver("hmac-sha256", SECRET, check_replay=False), SIGNING["hmac-sha256"], ctx)
    assert sorted(n for n, o in outcomes.items() if not isinstance(o, Evidence)) == ["replayed"]


def test_without_writes_nothing_is_sent(tmp_path: Path) -> None:
    receiver = Receiver("hubspot-v3", SECRET)
    checks = checks_for(Model({"url": URL, "signing": SIGNING["hubspot-v3"]}))
    assert all(check.needs == {WRITES} for check in checks)  # preflight stops a run without `writes: true`
    read_only = context(tmp_path, writes=False)
    with respx.mock(assert_all_called=False) as router:
        route = router.post(URL).mock(side_effect=receiver.respx)
        outcomes = run_all(checks, read_only)
    assert route.call_count == 0 and receiver.log == []
    for name in PROBES:
        error = outcomes[name]
        assert isinstance(error, CheckError), name
        assert "does not allow writes" in error.message and "`writes: true`" in error.message


def test_probes_are_valid_payloads_marked_with_the_run_id(ctx: RunContext) -> None:
    receiver = Receiver("hmac-sha256", SECRET)
    outcomes = probe(receiver, SIGNING["hmac-sha256"], ctx)
    assert all(r.headers[RUN_HEADER] == ctx.run_id for r in receiver.log)
    payloads = receiver.payloads()
    for payload in payloads:
        jsonschema.validate(payload, ACCOUNT_2_0)
        assert payload["event"] == "account.updated" and payload["version"] == "2.0"
        assert payload["event_id"].startswith(ctx.run_id + "-")
    assert len({p["event_id"] for p in payloads[:4]}) == 4  # one id per probe; the replay repeats its original
    details = outcomes["accepted"].details  # type: ignore[union-attr]
    assert details["run_id_field"] == "event_id" and details["event"] == "account.updated"


def test_a_hubspot_delivery_is_an_array_of_events(ctx: RunContext) -> None:
    receiver = Receiver("hubspot-v3", SECRET)
    probe(receiver, SIGNING["hubspot-v3"], ctx)
    assert all(isinstance(p, list) and len(p) == 1 for p in receiver.payloads())


def test_a_receiver_with_another_secret_fails_the_accepted_probe_and_the_replay_cannot_be_judged(
        ctx: RunContext) -> None:
    outcomes = probe(Receiver("hubspot-v3", "another-secret-entirely"), SIGNING["hubspot-v3"], ctx)
    accepted = outcomes["accepted"]
    assert isinstance(accepted, CheckFailed)
    assert accepted.received == "401" and "secret or scheme differs from receiver.signing" in accepted.message
    replayed = outcomes["replayed"]
    assert isinstance(replayed, CheckError) and "proves nothing" in replayed.message
    assert all(isinstance(outcomes[n], Evidence) for n in ("forged", "stale", "unsigned"))


def test_redirects_are_not_followed(ctx: RunContext) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(return_value=httpx.Response(307, headers={"Location": "https://elsewhere.example/"}))
        outgoing = router.post("https://elsewhere.example/").mock(return_value=httpx.Response(204))
        outcomes = run_all(checks_for(Model({"url": URL, "signing": SIGNING["hubspot-v3"]})), ctx)
    assert outgoing.call_count == 0
    accepted = outcomes["accepted"]
    assert isinstance(accepted, CheckFailed) and "redirects are not followed" in accepted.message
    assert isinstance(outcomes["forged"], CheckFailed) and outcomes["forged"].received == "307"


def test_an_unreachable_receiver_is_an_error_not_a_failure(ctx: RunContext) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=httpx.ConnectError("connection refused"))
        outcomes = run_all(checks_for(Model({"url": URL, "signing": SIGNING["hubspot-v3"]})), ctx)
    for name in ("accepted", "forged", "stale", "unsigned"):
        error = outcomes[name]
        assert isinstance(error, CheckError) and "did not answer: connection refused" in error.message


def test_the_secret_never_appears_in_any_output(ctx: RunContext, caplog: pytest.LogCaptureFixture) -> None:
    def echo(status: int) -> str:
        return f"refused: expected the secret {SECRET} in {URL}?token={SECRET}"

    caplog.set_level(logging.DEBUG)
    for verify in (True, False):
        receiver = Receiver("hubspot-v3", SECRET, verify=verify, answer_text=echo)
        outcomes = probe(receiver, SIGNING["hubspot-v3"], ctx)
    texts = [caplog.text]
    for outcome in outcomes.values():
        if isinstance(outcome, Evidence):
            texts.append(outcome.summary + json.dumps(outcome.details))
        else:
            texts.append(str(outcome) + json.dumps(outcome.evidence.details))
            if isinstance(outcome, CheckFailed):
                texts.append(f"{outcome.expected} {outcome.received}")
    checks = checks_for(Model({"url": URL, "signing": SIGNING["hubspot-v3"]}))
    texts += [repr(checks), str(checks[0].description)]
    assert any("refused: expected the secret ***" in text for text in texts)  # the echo was shown, masked
    assert not [text for text in texts if SECRET in text or SECRET.upper() in text]


def test_over_a_real_local_http_server(ctx: RunContext) -> None:
    receiver = Receiver("hubspot-v3", SECRET)

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, receiver.wsgi, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/webhooks/hubspot?portal=4242"
        outcomes = run_all(checks_for(Model({"url": url, "signing": SIGNING["hubspot-v3"]})), ctx)
    finally:
        server.shutdown()
        server.server_close()
    assert {n: type(o).__name__ for n, o in outcomes.items()} == {p: "Evidence" for p in PROBES}
    assert [r.status for r in receiver.log] == [401, 401, 401, 204, 409]


def test_a_sandbox_environment_sends_to_the_sandbox_receiver(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver("hubspot-v3", SECRET)
    scenario = tmp_path / "scenario.yml"
    scenario.write_text("portal_id: 1\n")
    asked: list[Path] = []

    def receiver_transport(path: Path) -> httpx.BaseTransport:
        asked.append(path)
        return httpx.MockTransport(receiver.respx)

    monkeypatch.setattr(gtmcheck.sandbox, "receiver_transport", receiver_transport, raising=False)
    run = context(tmp_path, crm={"type": "sandbox", "scenario": "scenario.yml"})
    try:
        with respx.mock(assert_all_called=False) as network:  # nothing may leave for the real network
            outcomes = run_all(checks_for(Model({"url": URL, "signing": SIGNING["hubspot-v3"]})), run)
        assert network.calls.call_count == 0
    finally:
        run.close()
    assert asked == [scenario.resolve()]
    assert all(isinstance(o, Evidence) for o in outcomes.values())
    assert len(receiver.log) == 5


def test_no_receiver_means_no_checks() -> None:
    assert checks_for(Model(None)) == []


@pytest.mark.parametrize(("receiver", "message", "fix"), [
    ({"url": "hooks.acme.example/webhooks", "signing": SIGNING["hubspot-v3"]},
     "is not an absolute http(s) URL", "https://"),
    ({"url": URL, "signing": {"scheme": "hubspot-v4", "secret": SECRET}},
     "'hubspot-v4' is not a signing scheme", "did you mean `hubspot-v"),
    ({"url": URL, "signing": {"scheme": "hubspot-v3"}}, "has no secret", "${WEBHOOK_SECRET}"),
])
def test_bad_receiver_blocks_are_errors_at_their_line(receiver: dict[str, Any], message: str, fix: str) -> None:
    with pytest.raises(SpecError) as caught:
        checks_for(Model(receiver))
    text = str(caught.value)
    assert text.startswith("checks/webhooks.gtm.yml:12:1: ") and message in text and fix in text.split(". Fix: ")[1]


@dataclass(frozen=True)
class ReceiverBlock:
    url: str
    signing: dict[str, Any]
    location: Location


@dataclass(frozen=True)
class NamedEvent:
    name: str
    receiver: str
    event_pointer: str
    version_pointer: str

    @property
    def envelope(self) -> tuple[str, str]:
        return (self.event_pointer, self.version_pointer)


@dataclass
class Registry:
    schemas: dict[tuple[str, str], Any]

    def get(self, event: str, version: str) -> Any:
        return self.schemas.get((event, version))


@dataclass
class AttributeModel:
    """A model that keeps the receiver as an object with its own location and names events ``name``."""

    receiver: ReceiverBlock
    events: list[NamedEvent]
    registry: Registry

    def location(self, *path: str) -> Location:  # a method, not the receiver's line
        return Location("elsewhere.yml")


def test_a_model_of_attributes_with_a_registry_is_read_as_well(ctx: RunContext) -> None:
    where = Location("checks/webhooks.gtm.yml", 30, 1)
    model = AttributeModel(ReceiverBlock(URL, SIGNING["hubspot-v3"], where),
                           [NamedEvent("account.updated", "2.0", "/event", "/version")],
                           Registry({("account.updated", "2.0"): ACCOUNT_2_0}))
    receiver = Receiver("hubspot-v3", SECRET)
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=receiver.respx)
        checks = checks_for(model)
        outcomes = run_all(checks, ctx)
    assert {c.location for c in checks} == {where}
    assert all(isinstance(o, Evidence) for o in outcomes.values()), outcomes
    for payload in receiver.payloads():
        jsonschema.validate(payload[0], ACCOUNT_2_0)


def test_a_huge_answer_is_shown_short(ctx: RunContext) -> None:
    receiver = Receiver("hubspot-v3", SECRET, verify=False, answer_text=lambda status: "\x1b[31mok " * 400_000)
    failure = probe(receiver, SIGNING["hubspot-v3"], ctx)["forged"]
    assert isinstance(failure, CheckFailed) and failure.received is not None
    assert failure.received.startswith("204 \\x1b[31mok") and len(failure.received) < 400
    assert failure.received.endswith(" more characters)")  # of the first 4 KB: the rest is never read
    assert int(failure.received.rsplit("(", 1)[1].split()[0]) < 4096
    assert "\x1b" not in failure.message


@pytest.mark.parametrize("path", ["", "/in box/hubspot?portal=42&note=a b"])
def test_the_signed_url_is_the_url_on_the_wire(path: str, ctx: RunContext) -> None:
    receiver = Receiver("hubspot-v2", SECRET)  # v2 signs the URL and no timestamp

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, receiver.wsgi, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{path}"
        outcomes = run_all(checks_for(Model({"url": url, "signing": SIGNING["hubspot-v2"]})), ctx)
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(outcomes["accepted"], Evidence), outcomes["accepted"]
    assert receiver.log[-1].url.endswith("/" if not path else "/in%20box/hubspot?portal=42&note=a%20b")
