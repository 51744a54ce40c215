"""Sending synthetic leads through the live CRM and judging who got them, within the SLA.

A lead is created (HubSpot contact; Salesforce Lead with ``Sforce-Auto-Assign: TRUE``) with the run's tag and a
reserved address, then its owner is read back from the object endpoint (search lags) until it appears or the
SLA runs out. Latency is the CRM's own "owner assigned" time minus the creation time where the CRM records it
(HubSpot), so our own backoff under 429s and 5xx can never fail a lead; elsewhere it is the time we saw it.
Leads run on a small thread pool; every request still goes through the connector's rate limiter.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...connectors.crm import Filter, ObjectType, Owner, Record, to_epoch_ms
from ...durations import format_duration
from ...errors import CheckError, ConnectorError, DuplicateRecord
from ...synthetic import SYNTHETIC_DOMAIN, is_reserved_domain, synthetic_email, tagged
from .leads import EMAIL_DOMAIN, Expectation, LeadPlan, crm_properties

if TYPE_CHECKING:
    from ...context import Heartbeat, RunContext
    from .kind import RoutingSpec

DEFAULT_SLA_S = 300.0
FIRST_POLL_S = 0.2
MAX_POLL_S = 5.0
LATENCY_WINDOW = 20  # recent leads whose median times the first read
BEAT_WAKE_S = 1.0  # real seconds between the pool's own heartbeat calls


class Cancelled(Exception):
    """The run was interrupted: stop sending and polling."""


@dataclass
class OwnerDirectory:
    """The CRM's owners by id and by email (lowercase), fetched once per run."""

    by_id: dict[str, Owner]
    by_email: dict[str, Owner]

    @classmethod
    def of(cls, owners: Iterable[Owner]) -> OwnerDirectory:
        listed = list(owners)
        return cls({o.id: o for o in listed}, {o.email.lower(): o for o in listed if o.email})

    def email(self, owner_id: str | None) -> str | None:
        owner = self.by_id.get(owner_id or "")
        return owner.email.lower() if owner and owner.email else None


def _run_lock(ctx: RunContext) -> threading.Lock:
    lock = ctx.cache.setdefault("routing_lock", threading.Lock())  # setdefault is atomic: one lock per run
    assert isinstance(lock, type(threading.Lock()))
    return lock


def owner_directory(ctx: RunContext) -> OwnerDirectory:
    """The CRM's owners, read once per run whichever check asks first."""
    with _run_lock(ctx):
        found = ctx.cache.get("owners")
        if not isinstance(found, OwnerDirectory):
            try:
                found = OwnerDirectory.of(ctx.crm().owners())
            except ConnectorError as exc:
                raise CheckError(f"could not read the CRM's owners: {exc}") from None
            ctx.cache["owners"] = found
        return found


@dataclass
class Outcome:
    """What happened to one lead."""

    plan: LeadPlan
    expected: tuple[str, ...] = ()  # resolved owner emails (any of them is right)
    expected_text: str = ""
    received_text: str = ""  # who got it and when: ``inbound-queue@acme.example (fallback) after 0.5 s``
    record_id: str | None = None
    email: str | None = None
    owner_id: str | None = None
    owner_email: str | None = None
    latency_s: float | None = None  # creation to owner assignment
    problem: str | None = None  # None: the lead went where it should, in time

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, object]:
        return {"lead": self.plan.label, "branch": self.plan.branch, "values": self.plan.describe(),
                "record": self.record_id, "owner": self.owner_email or self.owner_id,
                "latency_s": None if self.latency_s is None else round(self.latency_s, 3),
                "ok": self.ok, "problem": self.problem}


def fmt_span(seconds: float) -> str:
    """An age in its largest unit: ``19.0 h``, ``2.5 d``, ``40 s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class LeadRunner:
    """Sends leads for one routing checklist through one run's CRM."""

    ctx: RunContext
    spec: RoutingSpec
    sla_s: float = DEFAULT_SLA_S
    _halt: threading.Event = field(default_factory=threading.Event)
    _waiting: dict[int, float] = field(default_factory=dict)  # leads without an owner yet -> when their SLA began
    _waiting_lock: threading.Lock = field(default_factory=threading.Lock)
    _beat: Heartbeat | None = None

    @classmethod
    def for_checklist(cls, ctx: RunContext, spec: RoutingSpec) -> LeadRunner:
        ctx.require_writes("routing checks create synthetic leads")
        if spec.object_type == "leads" and ctx.crm().vendor == "hubspot":
            raise CheckError("HubSpot routes inbound people as contacts: set `object: contacts` in the checklist "
                             "(`object: leads` is for Salesforce Leads)")
        return cls(ctx, spec, spec.sla_seconds or DEFAULT_SLA_S)

    @property
    def object_type(self) -> ObjectType:
        return "leads" if self.spec.object_type == "leads" else "contacts"

    # --- owners -------------------------------------------------------------------------------------------

    def owners(self) -> OwnerDirectory:
        return owner_directory(self.ctx)

    def account_owner(self, domain: str) -> str | None:
        """The owner email of the company with ``domain`` (``None``: no such company, or it has no owner).

        Remembered for the run: the branch, the edge case and the volume test ask for the same accounts.
        """
        key = domain.lower()
        accounts = self.ctx.cache.setdefault("routing_accounts", {})
        with _run_lock(self.ctx):
            if key in accounts:
                return accounts[key]  # type: ignore[no-any-return]
        companies = self.ctx.crm().search("companies", [[Filter("domain", "EQ", key)]], ["domain", "owner_id"])
        owner = next((e for e in (self.owners().email(c.properties.get("owner_id")) for c in companies) if e), None)
        with _run_lock(self.ctx):
            accounts[key] = owner
        return owner

    def resolve(self, expect: Expectation, values: dict[str, object]) -> tuple[tuple[str, ...], str]:
        """The acceptable owner emails for a lead, and how to say them."""
        if "owner_of" in expect.assign:
            domain = str(values.get(EMAIL_DOMAIN) or "")
            owner = self.account_owner(domain) if domain else None
            if owner is None:
                raise CheckError(f"no company with the domain {domain or '(none)'} has an owner in the CRM, so "
                                 f"{expect.label} has no owner to expect; create the test account or fix the list")
            return (owner,), f"{owner} ({expect.label}, owner of {domain})"
        emails = expect.emails
        if not emails:
            raise CheckError(f"{expect.label} names no owner to expect")
        if len(emails) == 1:
            return emails, f"{emails[0]} ({expect.label})"
        return emails, f"one of {', '.join(emails)} ({expect.label})"

    def who(self, email: str | None, owner_id: str | None) -> str:
        """``inbound-queue@acme.example (fallback)``: the received owner, and which branch gives leads to it."""
        if email is None:
            return f"owner {owner_id} (not an owner the CRM lists)" if owner_id else "no owner"
        owner = self.owners().by_email.get(email)
        notes = []
        if owner is not None and not owner.active:
            notes.append("deactivated")
        if email in Expectation("fallback", self.spec.fallback_assign or {}).emails:
            notes.append("fallback")
        else:
            rules = [r.id for r, a in zip(self.spec.rules, self.spec.assignments, strict=True)
                     if email in Expectation(r.id, a).emails]
            if rules:
                notes.append(("rule " if len(rules) == 1 else "rules ") + ", ".join(rules[:3]))
        return f"{email} ({'; '.join(notes)})" if notes else email

    # --- one lead -----------------------------------------------------------------------------------------

    def properties(self, plan: LeadPlan) -> dict[str, str]:
        """The CRM properties of a lead: its values, a reserved email carrying the run id, names, the tag."""
        domain = str(plan.values.get(EMAIL_DOMAIN) or SYNTHETIC_DOMAIN)
        if not is_reserved_domain(domain):
            raise CheckError(
                f"the lead for {plan.expect.label} needs an address at {domain}, which is not a reserved domain; "
                "gtmcheck sends leads from reserved addresses only (RFC 2606). Add a test account on a domain "
                "such as acme-test.example to the CRM and to the checklist's list"
            )
        props = crm_properties(plan.values)
        seq = next(self.ctx.cache.setdefault("lead_seq", itertools.count(1)))  # unique across the run
        worker = f"{self.ctx.worker}-" if self.ctx.worker else ""  # xdist workers share the run id
        props["email"] = synthetic_email(self.ctx.run_id, f"{plan.label}-{worker}{seq}", domain)
        props.setdefault("firstname", "gtmcheck")
        props.setdefault("lastname", plan.label)
        if self.object_type == "leads":
            props.setdefault("company", "gtmcheck synthetic lead")
        return tagged(props, self.ctx.run_id)

    def create(self, properties: dict[str, str]) -> Record:
        """Create a record and put it in the run's ledger (a lost answer turned 409 still counts as ours)."""
        crm = self.ctx.crm()
        self.ctx.ledger.touch(self.object_type, self.ctx.clock())
        try:
            record = crm.create(self.object_type, properties, auto_assign=True)
        except DuplicateRecord as exc:
            if exc.existing_id is None:
                raise
            # our first attempt was written but its answer lost; the address is unique to this lead
            record = crm.get(self.object_type, exc.existing_id, ["email", "owner_id"])
            if (record.properties.get("email") or "").lower() != properties["email"].lower():
                raise
        self.ctx.ledger.add(self.object_type, record.id, self.ctx.clock())
        return record

    def wait_for_owner(self, record: Record, started: float) -> tuple[Record, float]:
        """Poll the record until it has an owner or the SLA is over (and one read after it)."""
        clock = self.ctx.clock
        deadline = started + self.sla_s
        wait = max(FIRST_POLL_S, self.typical_latency())  # the first read when owners usually appear
        interval = FIRST_POLL_S
        key = threading.get_ident()  # one lead per worker thread at a time
        with self._waiting_lock:
            self._waiting[key] = started
        try:
            while not record.properties.get("owner_id"):
                now = clock()
                if now > deadline:
                    break
                if self.stopped():
                    raise Cancelled()
                self.heartbeat()
                self.nap(max(0.0, min(wait, deadline - now)) or 0.001)
                wait = interval = min(interval * 1.5, MAX_POLL_S)
                record = self.ctx.crm().get(self.object_type, record.id, ["owner_id", "email"])
        finally:
            with self._waiting_lock:
                self._waiting.pop(key, None)
        return record, clock() - started

    def nap(self, seconds: float) -> None:
        """Sleep on the run's clock in steps of at most ``MAX_POLL_S``, beating and watching for a stop between.

        The first read of a lead may wait for the run's typical latency (up to the SLA): the heartbeat goes on.
        """
        while True:
            step = min(seconds, MAX_POLL_S)
            self.ctx.sleep(step)
            seconds -= step
            if seconds <= 0:
                return
            if self.stopped():
                raise Cancelled()
            self.heartbeat()

    def heartbeat(self) -> None:
        """``6 leads waiting for an owner, 40.0 s of the 5m SLA passed``: at most every few seconds of a wait."""
        if self._beat is None:
            self._beat = self.ctx.heartbeat()
        self._beat(self._waiting_line)

    def _waiting_line(self) -> str | None:
        with self._waiting_lock:
            started = list(self._waiting.values())
        if not started:
            return None
        passed = max(0.0, self.ctx.clock() - min(started))
        leads = f"{len(started)} lead{'s' if len(started) != 1 else ''}"
        return f"{leads} waiting for an owner, {fmt_seconds(passed)} of the {format_duration(self.sla_s)} SLA passed"

    def _latencies(self) -> collections.deque[float]:
        found = self.ctx.cache.setdefault("routing_latencies", collections.deque(maxlen=LATENCY_WINDOW))
        assert isinstance(found, collections.deque)
        return found

    def typical_latency(self) -> float:
        """The median assignment latency of the run's recent leads (0 before the first).

        Reading before it mostly finds no owner yet, and every read counts against the rate limit.
        """
        recent = sorted(self._latencies())
        return min(recent[len(recent) // 2], self.sla_s) if recent else 0.0

    def send(self, plan: LeadPlan) -> Outcome:
        """Create one lead, wait for its owner, and judge it."""
        if self.stopped():
            raise Cancelled()
        outcome = Outcome(plan)
        outcome.expected, outcome.expected_text = self.resolve(plan.expect, dict(plan.values))
        properties = self.properties(plan)
        outcome.email = properties["email"]
        try:
            record = self.create(properties)
        except ConnectorError as exc:  # a 400 "Property does not exist", a dead CRM: the lead was not sent
            raise CheckError(f"the CRM did not take the lead {plan.label} ({plan.describe()}): {exc}") from exc
        # the SLA runs from the CRM's creation, which is no earlier than the answer: time spent waiting for
        # our own rate limit or backing off a 429/5xx before the create landed is not the router's
        started = self.ctx.clock()
        outcome.record_id = record.id
        try:
            record, observed = self.wait_for_owner(record, started)
        except ConnectorError as exc:  # the record is in the ledger: cleanup still archives it
            raise CheckError(f"could not read the owner of the lead {plan.label} (record {record.id}, "
                             f"{plan.describe()}): {exc}") from exc
        self.judge(outcome, record, observed)
        return outcome

    def judge(self, outcome: Outcome, record: Record, observed: float) -> None:
        outcome.owner_id = record.properties.get("owner_id") or None
        outcome.owner_email = self.owners().email(outcome.owner_id)
        outcome.latency_s = assignment_latency(record) if outcome.owner_id else None
        if outcome.latency_s is None and outcome.owner_id:
            outcome.latency_s = observed
        if outcome.latency_s is not None:
            self._latencies().append(outcome.latency_s)
        lead = f"; lead {outcome.plan.describe()}"
        sla = format_duration(self.sla_s)
        if outcome.owner_id is None:
            outcome.received_text = f"no owner within the SLA of {sla} (waited {fmt_seconds(observed)})"
            outcome.problem = f"expected {outcome.expected_text}, received {outcome.received_text}{lead}"
            return
        assert outcome.latency_s is not None
        received = self.who(outcome.owner_email, outcome.owner_id)
        outcome.received_text = f"{received} after {fmt_seconds(outcome.latency_s)}"
        owner = self.owners().by_email.get(outcome.owner_email or "")
        if outcome.owner_email not in outcome.expected:
            outcome.problem = f"expected {outcome.expected_text}, received {outcome.received_text}{lead}"
        elif owner is not None and not owner.active:
            outcome.problem = f"assigned to {received}, who cannot work the lead{lead}"
        elif outcome.latency_s > self.sla_s:
            outcome.problem = (f"expected {outcome.expected_text} within {sla}, received it after "
                               f"{fmt_seconds(outcome.latency_s)}{lead}")

    # --- many leads ---------------------------------------------------------------------------------------

    def send_all(self, plans: Sequence[LeadPlan]) -> list[Outcome]:
        """Send every plan on the run's worker pool; the first hard error or an interrupt stops the rest."""
        self._halt.clear()
        self._beat = self.ctx.heartbeat()  # the first line only after a few seconds of waiting
        workers = max(1, min(self.ctx.workers, len(plans)))
        if workers == 1:
            return [self.send(plan) for plan in plans]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gtmcheck-lead")
        try:
            futures = [pool.submit(self.send, plan) for plan in plans]
            pending: set[Future[Outcome]] = set(futures)
            while pending:  # wake up every second to beat, even while every worker waits on a slow CRM
                done, pending = wait(pending, timeout=BEAT_WAKE_S, return_when=FIRST_EXCEPTION)
                if any(f.exception() is not None for f in done):
                    break
                self.heartbeat()
            failed = next((f.exception() for f in futures if f.done() and f.exception() is not None), None)
            if failed is not None:
                raise failed
            return [f.result() for f in futures]
        except BaseException as exc:
            self._halt.set()  # workers stop at their next poll; queued leads are never sent
            if isinstance(exc, KeyboardInterrupt):
                self.ctx.cancelled.set()
            raise
        finally:
            self._drain(pool)

    def _drain(self, pool: ThreadPoolExecutor) -> None:
        """Wait for the workers, even through more Ctrl-C: a lead created after cleanup would be left behind."""
        while True:
            try:
                pool.shutdown(wait=True, cancel_futures=True)
                return
            except KeyboardInterrupt:
                self._halt.set()
                self.ctx.cancelled.set()

    def stopped(self) -> bool:
        return self._halt.is_set() or self.ctx.cancelled.is_set()


def assignment_latency(record: Record) -> float | None:
    """Seconds from creation to owner assignment by the CRM's own clock, when it records both."""
    created = to_epoch_ms(record.created_at or record.properties.get("createdate"))
    assigned = to_epoch_ms(record.owner_assigned_at)
    if created is None or assigned is None or assigned < created:
        return None
    return (assigned - created) / 1000
