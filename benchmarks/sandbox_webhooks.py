"""Benchmark: what the sandbox's webhook deliveries cost a routing run, in-process.

The demo sandbox subscribes to contact, company and deal events and ``account.updated``; each CRM write is
followed by a signed delivery that the in-process receiver verifies and validates against the demo schemas.
This creates N contacts (the routing workflow assigns each an owner: a second event) and updates each once,
through the WSGI transport, with the demo's webhooks and with them removed, and prints both times and the cost
per delivery. Best of ``--repeat`` runs; building the sandbox is not timed.

Run: python benchmarks/sandbox_webhooks.py [--contacts N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time

import httpx

from gtmcheck.bundled import demo_scenario
from gtmcheck.sandbox import HubSpotSandbox, Scenario


def run(contacts: int, *, webhooks: bool) -> tuple[float, int]:
    """Seconds for ``contacts`` creates and updates, and the deliveries they caused."""
    scenario = Scenario.load(demo_scenario())
    if not webhooks:
        scenario.webhooks = {}
    app = HubSpotSandbox(scenario, rate_limit=False, search_lag_ms=0)
    app.knobs["latency_ms"] = 0
    start_deliveries = len(app.deliveries)
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://api.hubapi.com",
                          headers={"Authorization": "Bearer bench-token-not-a-secret"})
    started = time.perf_counter()
    for i in range(contacts):
        created = client.post("/crm/v3/objects/contacts",
                              json={"properties": {"email": f"bench.{i}@example.com", "country": "DE"}})
        client.patch(f"/crm/v3/objects/contacts/{created.json()['id']}",
                     json={"properties": {"lifecyclestage": "lead"}})
    elapsed = time.perf_counter() - started
    statuses = {d["status"] for d in app.deliveries[start_deliveries:]}
    assert statuses <= {204}, f"the receiver refused a delivery: {statuses}"
    return elapsed, app.outbox.total - start_deliveries if webhooks else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run(20, webhooks=True)  # warm-up: imports, schemas compiled once per scenario file
    without = min(run(args.contacts, webhooks=False)[0] for _ in range(args.repeat))
    timed = [run(args.contacts, webhooks=True) for _ in range(args.repeat)]
    with_hooks, deliveries = min(timed)
    requests = 2 * args.contacts
    print(f"{requests} CRM writes without webhooks: {without:.3f} s ({without / requests * 1000:.2f} ms each)")
    print(f"{requests} CRM writes with webhooks:    {with_hooks:.3f} s ({with_hooks / requests * 1000:.2f} ms each), "
          f"{deliveries} deliveries, all accepted")
    extra = with_hooks - without
    print(f"cost per delivery (sign, verify, validate, log): {extra / max(deliveries, 1) * 1000:.3f} ms; "
          f"{extra / without * 100:+.0f} % on the writes")


if __name__ == "__main__":
    main()
