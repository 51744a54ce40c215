"""The webhook events of the sandbox CRM's changes, a mixin of ``HubSpotSandbox`` (kept apart: hubspot.py is big).

Creation events for the records loaded from the scenario's CSVs (generated volume is not announced), property
changes as they happen, and ``account.updated`` for each company at start and whenever the company, or one
of its deals, changes. An account's ARR in the demo story is the sum of its closed-won deals (``amount`` of the
deals whose ``company_domain`` is the company's ``domain``). Sending and the log are the outbox's (outbox.py);
in-process, deliveries go straight to the scenario's receiver (receiver.py).
"""

from __future__ import annotations

from typing import Any

from .outbox import Outbox
from .receiver import Receiver, receiver_for
from .scenario import Scenario

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
ARR_INPUTS = {"amount", "dealstage", "company_domain"}  # deal properties an account's ARR is computed from


class CrmEvents:
    """What the sandbox CRM tells its webhook subscribers; the CRM provides the attributes declared here."""

    scenario: Scenario
    outbox: Outbox
    owners: list[dict[str, Any]]
    _objects: dict[str, dict[str, Any]]
    _receiver: Receiver | None

    def now_ms(self) -> int:
        """Wall time in ms as the sandbox sees it (the CRM's)."""
        raise NotImplementedError

    def _to_receiver(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """In-process delivery: straight to the scenario's receiver, arriving at the sandbox's now."""
        if self._receiver is None:
            self._receiver = receiver_for(self.scenario)
        verdict = self._receiver.receive("POST", url, headers, body, now_ms=self.now_ms())
        return verdict.status, verdict.reason

    def _announce(self, loaded: list[tuple[str, Any]]) -> None:
        """Creation events for the records loaded from the scenario's CSVs, and each account as it is."""
        for object_type, stored in loaded:
            self.outbox.hubspot_event(f"{SINGULAR[object_type]}.creation", stored.id, "IMPORT")
        if self.outbox.wants("account.updated"):
            arr = self._arr_by_domain()
            for stored in self._objects["companies"].values():
                self._account_event(stored, arr.get(stored.properties.get("domain", "").lower(), 0.0))

    def _arr_by_domain(self, domain: str | None = None) -> dict[str, float]:
        """Closed-won deal amounts per company domain (lowercase): the account's ARR in the demo story."""
        totals: dict[str, float] = {}
        for deal in self._objects["deals"].values():
            props = deal.properties
            key = props.get("company_domain", "").lower()
            if deal.archived or not key or props.get("dealstage") != "closedwon" or domain not in (None, key):
                continue
            try:
                totals[key] = totals.get(key, 0.0) + float(props.get("amount") or 0)
            except ValueError:
                continue
        return totals

    def _account_changed(self, company: Any | None, domain: str) -> None:
        """``account.updated`` for a company that changed, or for the company of a deal that changed."""
        if not self.outbox.wants("account.updated"):
            return
        if company is None:
            found = [c for c in self._objects["companies"].values()
                     if domain and not c.archived and c.properties.get("domain", "").lower() == domain.lower()]
            if not found:
                return
            company = found[0]
        key = company.properties.get("domain", "").lower()
        self._account_event(company, self._arr_by_domain(key).get(key, 0.0))

    def _account_event(self, company: Any, arr: float) -> None:
        owner = next((o for o in self.owners if o["id"] == company.properties.get("hubspot_owner_id")), None)
        self.outbox.account_updated(account_id=company.properties.get("source_id") or company.id,
                                    company=company.properties, arr=arr, owner_email=owner["email"] if owner else None)

    def flush_webhooks(self) -> None:
        """Send the queued webhook events (after each request; ``sandbox serve`` also once it listens)."""
        self.outbox.flush()
