"""Benchmark: a full scan of 50,000 sandbox deals through the HubSpot connector under 190 requests per 10 s.

The sandbox enforces the same limit (190 per rolling 10 s), so the connector's own limiter has to pace the
scan: a 429 from the sandbox would show up in the printed count and cost a Retry-After wait.

Run: python benchmarks/crm_scan.py [--deals N] [--seed S] [--serve]

``--serve`` scans ``gtmcheck sandbox serve`` on a free loopback port (a subprocess, stopped at the end)
instead of the in-process WSGI transport.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx

from gtmcheck.connectors.http import RateLimiter
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.sandbox import hubspot_transport

PER_10S = 190
PERIOD_S = 10.0
TOKEN = "bench-token-not-a-secret"
START_TIMEOUT_S = 120.0  # generating the deals happens before the server prints its banner


def write_scenario(path: Path, deals: int, seed: int) -> None:
    path.write_text(
        "portal_id: 4242\n"
        "owners:\n"
        "  - {email: anna@acme.example, first_name: Anna}\n"
        "  - {email: ben@acme.example, first_name: Ben}\n"
        f"generate: {{deals: {deals}, seed: {seed}}}\n"
        f"knobs: {{rate_limit: {{per_10s: {PER_10S}, search_per_s: 5}}, latency_ms: 0, fault_rate: 0}}\n",
        encoding="utf-8",
    )


def fastest_time(requests: int) -> float:
    """The shortest span from the first to the last request that a rolling 190 per 10 s limit permits."""
    return PERIOD_S * ((requests - 1) // PER_10S) if requests > 0 else 0.0


@contextmanager
def served(scenario: Path) -> Iterator[str]:
    """``gtmcheck sandbox serve`` on a free loopback port; yields its base URL and stops it at the end."""
    cmd = [sys.executable, "-c", "import sys; from gtmcheck.cli import main; sys.exit(main())",
           "sandbox", "serve", "--scenario", str(scenario), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner: list[str] = []
        reader = threading.Thread(target=lambda: banner.append(proc.stdout.readline() if proc.stdout else ""),
                                  daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = banner[0] if banner else ""
        marker = "http://"
        if marker not in line:
            raise SystemExit(f"sandbox serve did not start within {START_TIMEOUT_S:.0f} s (got {line.strip()!r})")
        yield line[line.index(marker):].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def scan(connector: HubSpotConnector) -> tuple[int, Decimal, float]:
    records, won = 0, Decimal(0)
    t0 = time.perf_counter()
    for record in connector.scan("deals", ["amount", "dealstage"]):
        records += 1
        if record.properties.get("dealstage") == "closedwon":
            won += Decimal(record.properties.get("amount") or 0)
    return records, won, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serve", action="store_true", help="scan `gtmcheck sandbox serve` on loopback instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "bench.yml"
        write_scenario(scenario, args.deals, args.seed)
        limiters = {"default": RateLimiter(PER_10S, PERIOD_S, name="hubspot"),
                    "search": RateLimiter(5, 1.0, name="hubspot search")}
        if args.serve:
            with served(scenario) as base_url:
                with HubSpotConnector(TOKEN, base_url=base_url, limiters=limiters) as connector:
                    records, won, elapsed = scan(connector)
                    stats = connector.http.stats
            where = f"sandbox serve ({base_url})"
        else:
            t0 = time.perf_counter()
            transport: httpx.BaseTransport = hubspot_transport(scenario)  # builds the sandbox: generates the deals
            setup = time.perf_counter() - t0
            with HubSpotConnector(TOKEN, base_url="https://sandbox.invalid", transport=transport,
                                  limiters=limiters) as connector:
                records, won, elapsed = scan(connector)
                stats = connector.http.stats
            where = f"in-process sandbox (built in {setup:.1f} s)"
    allowed = PER_10S / PERIOD_S
    rate = stats.requests / elapsed
    best = fastest_time(stats.requests)
    print(f"{where}, limit {PER_10S} requests per {PERIOD_S:g} s ({allowed:g}/s) on both sides")
    print(f"requests:  {stats.requests:,} ({stats.rate_limited} answered 429, {stats.server_errors} 5xx, "
          f"{stats.retries} retries, {stats.backoff_s:.1f} s backoff)")
    print(f"records:   {records:,}")
    print(f"elapsed:   {elapsed:.2f} s; limiter waits {limiters['default'].waited_s:.2f} s")
    print(f"rate:      {rate:.2f} requests/s = {100 * rate / allowed:.0f}% of {allowed:g}/s (target >= 90%)")
    if best > 0:
        print(f"           burst-aware: the limit lets these {stats.requests:,} requests through in {best:.0f} s at "
              f"best (the first window's {PER_10S} go at once); {elapsed:.2f} s is {100 * best / elapsed:.0f}% "
              f"of that pace")
    else:
        print(f"           burst-aware: n/a ({stats.requests} requests fit in the first window; the limit never binds)")
    print(f"closed-won amount sum: {won:,}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
