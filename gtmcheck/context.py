"""What a running check may use: the environment, the run id, the CRM, and HTTP through the right transport."""

from __future__ import annotations

import secrets as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import httpx

from .connectors.http import USER_AGENT
from .errors import CheckError, ConfigError, EnvVarError
from .governance import SignerVerdict, check_attestation_date, review_signers, signoff_requirements
from .project import Environment, Project
from .synthetic import RunCleanup, SyntheticLedger, finish_run

if TYPE_CHECKING:
    from .baseline import BaselineEntry
    from .connectors.crm import CrmConnector
    from .dod import RoleRequirement
    from .spec import Checklist, ManualItem

DEFAULT_WORKERS = 8
HEARTBEAT_S = 4.0  # a wait that calls its heartbeat at least every 5 s (a poll) says something every <= 9 s


def _silent(message: str) -> None:
    """Progress goes nowhere unless the runner of the checks (the pytest plugin) says where."""


class Heartbeat:
    """Says how a long wait goes: at most once per ``every`` seconds of the run's clock, never in its first ``every``.

    Call it whenever the wait wakes up (it may be called from several threads); the message is built only
    when it is said. A short wait, as in the sandbox, says nothing.
    """

    def __init__(self, say: Callable[[str], None], clock: Callable[[], float], every: float = HEARTBEAT_S) -> None:
        self.say = say
        self.clock = clock
        self.every = every
        self._next = clock() + every
        self._lock = threading.Lock()

    def __call__(self, message: Callable[[], str | None]) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next:
                return
            self._next = now + self.every
        text = message()
        if text:
            self.say(text)


def new_run_id() -> str:
    """Sortable and unique: ``gtm-20261123T101500-3f9a1c``; tags every synthetic record of a run."""
    return f"gtm-{datetime.now(UTC):%Y%m%dT%H%M%S}-{_random.token_hex(3)}"


@dataclass
class RunContext:
    """Shared by every check of one run; owns the HTTP client and the CRM connector so connections are reused.

    It also keeps the run's ``ledger`` of synthetic records and a ``cancelled`` event that long checks watch
    (set on interrupt), and its ``clock``/``sleep`` are what checks time themselves with (tests drive them).
    ``progress`` takes one line about a long check (the plugin prints it; by default it goes nowhere): checks
    use it through ``heartbeat()``, never a terminal of their own.
    """

    project: Project
    environment: Environment
    run_id: str = field(default_factory=new_run_id)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    workers: int = DEFAULT_WORKERS
    crm_connector: CrmConnector | None = None
    search_lag_s: float | None = None
    worker: str = ""  # the pytest-xdist worker (gw0, ...): processes of one run share its id, not their counters
    ledger: SyntheticLedger = field(default_factory=SyntheticLedger)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cache: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str], None] = _silent
    _web: httpx.Client | None = None
    _transport: httpx.BaseTransport | None = None
    _webhooks: httpx.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cleanup: RunCleanup | None = None

    def web_transport(self) -> httpx.BaseTransport | None:
        """The sandbox site when the environment has one, else ``None`` for the real internet."""
        if self._transport is None:
            scenario = self.environment.site_scenario()
            if scenario is not None:
                from .sandbox.site import load_site

                self._transport = httpx.WSGITransport(app=load_site(scenario))
        return self._transport

    def web(self) -> httpx.Client:
        """An HTTP client for campaign URLs: no redirect following (checks walk the chain themselves)."""
        if self._web is None:
            timeout = float((self.environment.web or {}).get("timeout", 10.0))
            kwargs: dict[str, Any] = {}
            transport = self.web_transport()
            if transport is not None:
                kwargs["transport"] = transport
            self._web = httpx.Client(
                follow_redirects=False,
                timeout=timeout,
                headers={"User-Agent": USER_AGENT},
                **kwargs,
            )
        return self._web

    def webhook_client(self) -> httpx.Client:
        """An HTTP client for a webhook receiver: the sandbox's receiver in a sandbox environment, else the network.

        No redirect following: a receiver that redirects a delivery is answered as it answered.
        """
        with self._lock:
            if self._webhooks is None:
                kwargs: dict[str, Any] = {}
                scenario = self.environment.sandbox_scenario()
                if scenario is not None:
                    from . import sandbox

                    receiver_transport = getattr(sandbox, "receiver_transport", None)
                    if receiver_transport is None:
                        raise CheckError("this sandbox has no webhook receiver to send deliveries to")
                    kwargs["transport"] = receiver_transport(scenario)
                timeout = float((self.environment.web or {}).get("timeout", 10.0))
                self._webhooks = httpx.Client(follow_redirects=False, timeout=timeout,
                                              headers={"User-Agent": USER_AGENT}, **kwargs)
            return self._webhooks

    def crm(self) -> CrmConnector:
        """The environment's CRM connector, built on first use; an unusable ``crm:`` block errors the check."""
        with self._lock:
            if self.crm_connector is None:
                from .connectors import crm_for

                if not self.environment.crm:
                    raise CheckError(
                        f"environment {self.environment.name!r} has no `crm:`; add one in gtmcheck.yml"
                    )
                try:
                    self.crm_connector = crm_for(self.environment)
                except (ConfigError, EnvVarError) as exc:
                    raise CheckError(str(exc)) from None
            return self.crm_connector

    def today(self) -> date:
        """The environment's calendar date: a sandbox scenario's ``clock.today`` when it pins one, else UTC's.

        Checks that reason in days (a review cadence, a baseline's age, drift "since") ask here, so the demo's
        drifted stack can be "three months later" than the healthy one.
        """
        scenario = self.environment.sandbox_scenario()
        if scenario is not None:
            from .sandbox import scenario_today

            pinned = scenario_today(scenario)
            if pinned is not None:
                return pinned
        return datetime.now(UTC).date()

    def baseline(self, checklist: Checklist) -> BaselineEntry | None:
        """What ``gtmcheck baseline save`` recorded for this checklist, or ``None`` when nothing was saved."""
        from .baseline import read_entry

        key = f"baseline:{checklist.path}"  # read once a run: ATTR-BASELINE and BASELINE-DRIFT both ask
        with self._lock:
            if key not in self.cache:
                self.cache[key] = read_entry(self.project.root, checklist)
            entry: BaselineEntry | None = self.cache[key]
        return entry

    def heartbeat(self, every: float = HEARTBEAT_S) -> Heartbeat:
        """A throttle for a long wait's progress lines, on the run's clock (see ``Heartbeat``)."""
        return Heartbeat(self.progress, self.clock, every)

    def require_writes(self, what: str) -> None:
        """Writes happen only where the environment says ``writes: true``."""
        if not self.environment.writes:
            raise CheckError(
                f"environment {self.environment.name!r} does not allow writes, and {what}; set "
                f"`writes: true` for it in gtmcheck.yml (synthetic records are tagged and archived after the run)"
            )

    def review_signers(self, checklist: Checklist) -> tuple[tuple[RoleRequirement, ...], list[SignerVerdict]]:
        """The roles the checklist needs, and governance's verdict on each signer (gtmcheck.yml's ``max_age``).

        Here because a kind may not import governance: governance imports the kinds.
        """
        return signoff_requirements(checklist), review_signers(checklist, self.project.governance.max_age)[0]

    def check_attestation(self, checklist: Checklist, item: ManualItem) -> None:
        """Raise what a run makes of a ``manual:`` attestation's date, as an attested item does.

        For a check that verifies a human sign-off (ATTR-BOARD-SIGNOFF): stale is failed, a future date an error.
        """
        check_attestation_date(checklist, item, self.project.governance.max_age)

    def finish(self, *, search: bool = True) -> RunCleanup | None:
        """Archive every synthetic record of the run and check none remains (once; ``None`` if none was made).

        ``search=False``: archive what this process made, and leave the final tag search to the caller.
        """
        if self._cleanup is not None or not self.ledger.used or self.crm_connector is None:
            return self._cleanup
        self.cancelled.set()
        if self.search_lag_s is None:
            from .connectors import search_lag_for

            self.search_lag_s = search_lag_for(self.environment)
        self._cleanup = finish_run(self.crm_connector, self.ledger, self.run_id, search_lag_s=self.search_lag_s,
                                   clock=self.clock, sleep=self.sleep, search=search)
        return self._cleanup

    def close(self) -> None:
        if self._web is not None:
            self._web.close()
            self._web = None
        if self._webhooks is not None:
            self._webhooks.close()
            self._webhooks = None
        if self.crm_connector is not None:
            self.finish()
            self.crm_connector.close()
            self.crm_connector = None
