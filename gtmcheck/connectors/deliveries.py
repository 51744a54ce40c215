"""The sandbox's webhook delivery log: what the sandbox CRM sent, and what its receiver answered.

``GET /gtmcheck/sandbox/v1/webhooks/deliveries?limit=N`` (the sandbox's own API, beside HubSpot's) answers
``{"total": T, "results": [{"id", "sent_at", "url", "body", "status", "receiver": {"status", "accepted",
"reason"}}]}``, newest last. ``read_deliveries`` reads it through the same transport as the CRM connector:
in-process for ``crm: {type: sandbox}``, over HTTP for ``crm: {type: hubspot, base_url: http://127.0.0.1:PORT}``
pointing at ``gtmcheck sandbox serve``. A real HubSpot has no such log: a ``ConfigError`` says so. The log
carries no headers, so no signature (and nothing derived from the webhook secret) ever leaves the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import ConfigError, NotFound
from . import crm_for
from .answers import Answer, read_json
from .hubspot import DEFAULT_BASE_URL, HubSpotConnector

if TYPE_CHECKING:
    from ..project import Environment

DELIVERIES_PATH = "/gtmcheck/sandbox/v1/webhooks/deliveries"
MAX_LIMIT = 1000  # the sandbox keeps its latest 1000 deliveries


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: its raw body (a JSON array of events), what the target answered and why."""

    id: str
    sent_at: str
    url: str
    body: str
    status: int | str | None  # the HTTP status, or why nothing answered ("error: ConnectError"), None: not sent
    receiver_status: int | None
    receiver_reason: str


def _not_here(environment: Environment, why: str) -> ConfigError:
    return ConfigError(
        f"environment {environment.name!r}: {why}; the webhook delivery log exists only in the gtmcheck sandbox "
        "(`crm: {type: sandbox}`, or `gtmcheck sandbox serve` as `crm: {type: hubspot, base_url: "
        "http://127.0.0.1:PORT}`). Fix: read captured payloads with `files:` or `table:` samples instead"
    )


def read_deliveries(environment: Environment, *, limit: int = 1000,
                    transport: httpx.BaseTransport | None = None) -> list[Delivery]:
    """The latest ``limit`` deliveries (at most 1000), oldest first; ``ConfigError`` outside the sandbox.

    ``transport`` replaces the network, as in ``crm_for`` (tests).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    crm = environment.crm
    kind = crm.get("type")
    base_url = str(crm.get("base_url") or "").rstrip("/")
    if kind not in ("sandbox", "hubspot"):
        raise _not_here(environment, f"a {kind} CRM keeps no delivery log")
    if kind == "hubspot" and (not base_url or base_url == DEFAULT_BASE_URL):
        raise _not_here(environment, "HubSpot's API keeps no log of webhook deliveries")
    connector = crm_for(environment, transport=transport)
    assert isinstance(connector, HubSpotConnector)  # sandbox and hubspot both talk HubSpot's API
    with connector:
        try:
            response = connector.http.request("GET", DELIVERIES_PATH, params={"limit": min(limit, MAX_LIMIT)},
                                              limiter=None)
        except NotFound:
            raise _not_here(environment, f"{base_url} answers 404 for {DELIVERIES_PATH}, so it is not a "
                            "gtmcheck sandbox") from None
    body, answer = read_json("sandbox", response)
    page = answer.obj(body)
    return [_delivery(item, answer, f"$.results[{i}]") for i, item in enumerate(answer.objects(page, "results", "$"))]


def _delivery(item: dict[str, Any], answer: Answer, path: str) -> Delivery:
    status = item.get("status")
    if status is not None and not isinstance(status, int | str) or isinstance(status, bool):
        raise answer.wrong(f"{path}.status", "a status (a number or a string)", status)
    receiver = answer.sub(item, "receiver", path)
    receiver_status = receiver.get("status")
    if receiver_status is not None and (not isinstance(receiver_status, int) or isinstance(receiver_status, bool)):
        raise answer.wrong(f"{path}.receiver.status", "an HTTP status", receiver_status)
    body = answer.get(item, "body", path)
    if not isinstance(body, str):
        raise answer.wrong(f"{path}.body", "the raw body (a string)", body)
    return Delivery(
        id=answer.ident(item, "id", path),
        sent_at=answer.text(item, "sent_at", path) or "",
        url=answer.text(item, "url", path) or "",
        body=body,
        status=status,
        receiver_status=receiver_status,
        receiver_reason=answer.text(receiver, "reason", f"{path}.receiver") or "",
    )
