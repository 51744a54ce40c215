"""Benchmark: the CRM-LIFECYCLE-QA audit of 10,000 contacts' stage history under HubSpot's rate limits.

A sandbox scenario with N contacts (a CSV, created ten days ago, stages spread from lead to customer; the
sandbox gives each a history walking lead -> ... -> its stage, a day a step; every 100th contact declared as
lead -> customer, a skip) is audited through the HubSpot connector with HubSpot's limits on both sides (190
requests per rolling 10 s, 5 searches per second): one search for the contacts changed in the window (200 a
page), then batch reads with ``propertiesWithHistory`` (50 a request). Only the audit is timed.

Run: python benchmarks/lifecycle_audit.py [--contacts N] [--max-records M]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gtmcheck.connectors.http import hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.kinds.crm.lifecycle import Lifecycle
from gtmcheck.kinds.crm.lifecycle_live import audit
from gtmcheck.sandbox import hubspot_transport

STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
PER_10S = 190
TOKEN = "bench-token-not-a-secret"


def write_scenario(folder: Path, contacts: int) -> None:
    created = (date.today() - timedelta(days=10)).isoformat()
    rows = ["id,email,lifecyclestage,createdate"]
    rows += [f"c{i},bench.{i}@example.com,{STAGES[1 + i % 5]},{created}" for i in range(contacts)]
    (folder / "contacts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    skips = "".join(f"    c{i}: [{{value: lead, ago: 9d}}, {{value: customer, ago: 2d}}]\n"
                    for i in range(0, contacts, 100))
    (folder / "bench.yml").write_text(
        "records: {contacts: contacts.csv}\n"
        f"lifecycle:\n  entry: lead\n  step_days: 1\n  history:\n{skips}"
        f"knobs: {{rate_limit: {{per_10s: {PER_10S}, search_per_s: 5}}, latency_ms: 0, fault_rate: 0}}\n",
        encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--max-records", type=int, default=10_000)
    args = ap.parse_args()
    machine = Lifecycle("lifecyclestage", "contacts", STAGES, (), "lead",
                        frozenset({"marketingqualifiedlead", "salesqualifiedlead"}), 30 * 86_400.0,
                        args.max_records)
    with tempfile.TemporaryDirectory() as tmp:
        write_scenario(Path(tmp), args.contacts)
        t0 = time.perf_counter()
        transport = hubspot_transport(Path(tmp) / "bench.yml")
        setup = time.perf_counter() - t0
        limiters = hubspot_limits()  # what a run uses: 190 per 10 s and 5 searches per second, with margins
        with HubSpotConnector(TOKEN, base_url="https://sandbox.invalid", transport=transport,
                              limiters=limiters) as connector:
            t0 = time.perf_counter()
            result = audit(machine, connector, datetime.now(UTC))
            elapsed = time.perf_counter() - t0
            stats = connector.http.stats
    bad = sum(len(ids) for _why, ids in result.bad.values())
    print(f"in-process sandbox with {args.contacts:,} contacts (built in {setup:.1f} s); limit {PER_10S} requests "
          "per 10 s and 5 searches per second on both sides")
    print(f"requests:  {stats.requests:,} ({stats.rate_limited} answered 429, {stats.retries} retries)")
    print(f"records:   {result.records:,} read{' (capped)' if result.truncated else ''}; {result.moves:,} moves, "
          f"{bad:,} disallowed ({', '.join(f'{a} -> {b}' for a, b in result.bad)})")
    print(f"elapsed:   {elapsed:.2f} s ({result.records / elapsed:,.0f} records/s); limiter waits "
          f"{limiters['default'].waited_s:.2f} s, search limiter {limiters['search'].waited_s:.2f} s")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
