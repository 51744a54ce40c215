"""The sandbox CRM's outgoing webhooks: events queued as records change, sent signed, kept in a delivery log.

HubSpot's events (``contact.creation``, ``deal.propertyChange`` ...) have HubSpot's shape; ``account.updated``
has the custom envelope of the demo story, at the scenario's ``sender_version``::

    {"event": "account.updated", "version": "2.0", "event_id": "...", "occurred_at": "2026-...Z",
     "account_id": "c001", "properties": {"name": "Globex", "domain": "globex.example", "arr": 48000,
     "owner_email": "ben@acme.example", "country": "DE"}}

2.1 and later name the ARR ``annual_recurring_revenue``; 1.x is flat with the ARR as a string. A delivery body
is a JSON array of events of one subscription (at most 100, as HubSpot batches them; ``account.updated``
one per delivery, so each account gets its own verdict), signed with the
scenario's ``signature_version``. ``deliver(url, headers, body)`` sends it and returns the status, or
``(status, reason)``; the log keeps the latest ``MAX_DELIVERIES_KEPT`` deliveries without their headers (the
signature never leaves the sandbox).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import signatures
from .scenario import ACCOUNT_EVENT, Scenario, parse_version

Deliver = Callable[[str, dict[str, str], bytes], Any]

MAX_DELIVERIES_KEPT = 1000  # a long `sandbox serve` session keeps only the latest deliveries in memory
MAX_EVENTS_PER_DELIVERY = 100
DEFAULT_SENDER_VERSION = "2.0"


def iso(ms: int) -> str:
    """Epoch milliseconds as ``2026-11-26T10:00:00.000Z``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def account_payload(version: str, *, account_id: str, company: Mapping[str, str], arr: float,
                    owner_email: str | None, event_id: str, occurred_ms: int) -> dict[str, Any]:
    """The ``account.updated`` event at ``version`` (1.x flat; 2.0 ``arr``; 2.1+ ``annual_recurring_revenue``)."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")] + [0]
    if parts[0] <= 1:
        return {"event": ACCOUNT_EVENT, "version": version, "account_id": account_id,
                "name": company.get("name", ""), "domain": company.get("domain", ""), "arr": str(_number(arr)),
                "updated_at": iso(occurred_ms)}
    arr_name = "arr" if (parts[0], parts[1]) == (2, 0) else "annual_recurring_revenue"
    return {"event": ACCOUNT_EVENT, "version": version, "event_id": event_id, "occurred_at": iso(occurred_ms),
            "account_id": account_id,
            "properties": {"name": company.get("name", ""), "domain": company.get("domain", ""),
                           arr_name: _number(arr), "owner_email": owner_email,
                           "country": company.get("country") or None}}


class Outbox:
    """Queues events, sends them after each request (``flush``) and keeps the delivery log."""

    def __init__(self, scenario: Scenario, *, deliver: Deliver | None, now_ms: Callable[[], int],
                 url: str) -> None:
        hooks = scenario.webhooks
        self.hooks = hooks
        self.events: list[str] = list(hooks.get("events") or [])
        self.portal_id = scenario.portal_id
        self.deliver = deliver
        self.now_ms = now_ms
        self.url = str(hooks.get("url") or url)
        pinned = parse_version(hooks.get("sender_version"))
        self.sender_version = pinned[1] if pinned else DEFAULT_SENDER_VERSION
        self.deliveries: list[dict[str, Any]] = []  # url, headers, body, events, status, reason, id, sent_ms
        self.total = 0
        self._event_id = 100
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def wants(self, subscription: str, prop: str | None = None) -> bool:
        """True when the scenario subscribes to ``subscription`` (and, for a change, to ``prop``)."""
        if subscription not in self.events:
            return False
        wanted = self.hooks.get("properties")
        return prop is None or not wanted or prop in wanted

    def hubspot_event(self, subscription: str, object_id: str, source: str, prop: str | None = None,
                      value: str | None = None) -> None:
        """Queue one of HubSpot's events (creation, propertyChange, deletion) if subscribed."""
        if not self.wants(subscription, prop):
            return
        with self._lock:
            self._event_id += 1
            event: dict[str, Any] = {
                "eventId": self._event_id,
                "subscriptionId": 1000 + self.events.index(subscription),
                "portalId": self.portal_id,
                "appId": int(self.hooks.get("app_id", 424242)),
                "occurredAt": self.now_ms(),
                "subscriptionType": subscription,
                "attemptNumber": 0,
                "objectId": int(object_id),
                "changeSource": source,
            }
            if prop is not None:
                event["propertyName"] = prop
                event["propertyValue"] = value
            self._pending.append(event)

    def account_updated(self, *, account_id: str, company: Mapping[str, str], arr: float,
                        owner_email: str | None) -> None:
        """Queue ``account.updated`` at the sender's version, if subscribed."""
        if not self.wants(ACCOUNT_EVENT):
            return
        payload = account_payload(self.sender_version, account_id=account_id, company=company, arr=arr,
                                  owner_email=owner_email, event_id=str(uuid.uuid4()), occurred_ms=self.now_ms())
        with self._lock:
            self._pending.append(payload)

    def flush(self) -> None:
        """Send what is queued: one delivery per subscription and 100 events, in order."""
        with self._lock:
            events, self._pending = self._pending, []
        batches: list[list[dict[str, Any]]] = []
        for event in events:
            kind = event.get("subscriptionType")  # None: a custom envelope, one event per delivery
            if kind is not None and batches and len(batches[-1]) < MAX_EVENTS_PER_DELIVERY and \
                    batches[-1][0].get("subscriptionType") == kind:
                batches[-1].append(event)
            else:
                batches.append([event])
        for batch in batches:
            self._send(batch)

    def _send(self, events: list[dict[str, Any]]) -> None:
        url = self.url
        body = json.dumps(events, separators=(",", ":")).encode()
        sent_ms = self.now_ms()
        headers = {"Content-Type": "application/json",
                   **signatures.sign_headers(str(self.hooks.get("secret", "")), "POST", url, body,
                                             version=str(self.hooks.get("signature_version", "v3")),
                                             now_ms=sent_ms)}
        record: dict[str, Any] = {"url": url, "headers": headers, "body": body, "events": events, "status": None,
                                  "reason": "", "sent_ms": sent_ms}
        if self.deliver is not None:
            try:
                answer = self.deliver(url, headers, body)
            except Exception as exc:  # a receiver that is down must not break the CRM
                answer = f"error: {type(exc).__name__}"
            record["status"], record["reason"] = answer if isinstance(answer, tuple) else (answer, "")
        with self._lock:
            self.total += 1
            record["id"] = str(self.total)
            self.deliveries.append(record)
            del self.deliveries[:-MAX_DELIVERIES_KEPT]

    def log_json(self, limit: int) -> dict[str, Any]:
        """The delivery log as the sandbox API serves it: the latest ``limit`` deliveries, newest last."""
        with self._lock:
            kept = self.deliveries[-limit:] if limit > 0 else []
            total = self.total
        results = []
        for record in kept:
            status = record["status"]
            receiver = None
            if isinstance(status, int):
                receiver = {"status": status, "accepted": 200 <= status < 300, "reason": record["reason"]}
            results.append({"id": record["id"], "sent_at": iso(record["sent_ms"]), "url": record["url"],
                            "body": record["body"].decode("utf-8"), "status": status, "receiver": receiver})
        return {"total": total, "results": results}
