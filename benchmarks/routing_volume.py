"""Benchmark: the routing volume test (200 synthetic leads) through the sandbox CRM at 190 requests per 10 s.

It writes a sandbox scenario (owners, a routing workflow with an owner rule, two round-robin pools, a
single-owner rule and a default queue; the owner appears ``--delay-ms`` after creation) and a routing checklist
that declares the same routing with ``volume: {leads: N}``, then runs ``routing_checks.check_volume`` through a
``RunContext`` exactly as ``gtmcheck run`` does (the environment's sandbox CRM, ``writes: true``, the run's
worker pool, the connector's own limiter of 190 per 10 s) and finishes the run (archives every lead, searches
the run's tag). The sandbox enforces the same limit, so a 429 shows up in the printed count.

Run: python benchmarks/routing_volume.py [--leads N] [--workers W] [--delay-ms MS] [--serve]

``--serve`` sends the leads to ``gtmcheck sandbox serve`` on a free loopback port (a subprocess, stopped at
the end) instead of the in-process WSGI transport.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from crm_scan import PER_10S, PERIOD_S, TOKEN, fastest_time, served

from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.context import DEFAULT_WORKERS, RunContext
from gtmcheck.errors import CheckFailed, Evidence
from gtmcheck.kinds.routing import checks as routing_checks
from gtmcheck.kinds.routing import live as routing_live
from gtmcheck.kinds.routing import spec_of
from gtmcheck.kinds.routing.leads import LeadPlan
from gtmcheck.kinds.routing.live import percentile
from gtmcheck.project import Environment, Project
from gtmcheck.spec import load_checklist

OWNERS = """\
owners:
  - {email: anna@acme.example, first_name: Anna}
  - {email: ben@acme.example, first_name: Ben}
  - {email: carla@acme.example, first_name: Carla}
  - {email: dev@acme.example, first_name: Dev}
  - {email: inbound-queue@acme.example, first_name: Inbound, last_name: queue, type: QUEUE}
"""

SCENARIO = """\
portal_id: 4242
{owners}routing:
  delay_ms: {delay_ms}
  pools:
    emea: [ben@acme.example, anna@acme.example]
    na: [carla@acme.example, dev@acme.example]
  rules:
    - id: enterprise-emea
      when: {{country: {{in: [DE, FR, GB]}}, employees: {{gte: 1000}}}}
      assign: {{owner: anna@acme.example}}
    - id: emea
      when: {{country: {{in: [DE, FR, GB]}}}}
      assign: {{round_robin: emea}}
    - id: north-america
      when: {{country: {{in: [US, CA]}}}}
      assign: {{round_robin: na}}
    - id: apac
      when: {{country: {{in: [JP, AU]}}}}
      assign: {{owner: ben@acme.example}}
  default: {{queue: inbound-queue@acme.example}}
knobs: {{rate_limit: {{per_10s: {per_10s}, search_per_s: 5}}, latency_ms: 0, fault_rate: 0, search_lag_ms: {lag_ms}}}
"""

CHECKLIST = """\
kind: routing
name: Routing volume benchmark
owner: mops@acme.example
built_by: jane@acme.example
object: contacts
rules:
  - id: enterprise-emea
    when: {{country: {{in: [DE, FR, GB]}}, employees: {{gte: 1000}}}}
    assign: {{owner: anna@acme.example}}
  - id: emea
    when: {{country: {{in: [DE, FR, GB]}}}}
    assign: {{round_robin: [ben@acme.example, anna@acme.example]}}
  - id: north-america
    when: {{country: {{in: [US, CA]}}}}
    assign: {{round_robin: [carla@acme.example, dev@acme.example]}}
  - id: apac
    when: {{country: {{in: [JP, AU]}}}}
    assign: {{owner: ben@acme.example}}
fallback: {{queue: inbound-queue@acme.example}}
sla: {{assigned_within: 5m}}
volume: {{leads: {leads}}}
"""


def write_files(folder: Path, leads: int, delay_ms: int, lag_ms: int) -> tuple[Path, Path]:
    scenario = folder / "routing-bench.yml"
    scenario.write_text(SCENARIO.format(owners=OWNERS, delay_ms=delay_ms, per_10s=PER_10S, lag_ms=lag_ms),
                        encoding="utf-8")
    checklist = folder / "routing.gtm.yml"
    checklist.write_text(CHECKLIST.format(leads=leads), encoding="utf-8")
    return scenario, checklist


def _s(seconds: object) -> str:
    return f"{seconds:.3f} s" if isinstance(seconds, int | float) else "n/a"


class LeadTimes:
    """How long each lead took from being sent to its verdict (our side: includes the limiter's queueing)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._original = routing_live.LeadRunner.send

    def __enter__(self) -> LeadTimes:
        original, seconds = self._original, self.seconds

        def send(runner: routing_live.LeadRunner, plan: LeadPlan) -> routing_live.Outcome:
            t0 = time.perf_counter()
            outcome = original(runner, plan)
            seconds.append(time.perf_counter() - t0)
            return outcome

        routing_live.LeadRunner.send = send  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        routing_live.LeadRunner.send = self._original  # type: ignore[method-assign]


def run(folder: Path, checklist: Path, scenario: Path, workers: int, delay_ms: int, base_url: str | None) -> None:
    spec = spec_of(load_checklist(checklist))
    environment = Environment("bench", folder, crm={"type": "sandbox", "scenario": scenario.name}, writes=True)
    ctx = RunContext(Project(folder, None, None, []), environment, workers=workers)
    if base_url is not None:  # `sandbox serve`: the same connector and limits, over loopback
        ctx.crm_connector = HubSpotConnector(TOKEN, base_url=base_url)
    connector = ctx.crm()
    assert isinstance(connector, HubSpotConnector)
    stats, limiter = connector.http.stats, connector.http.limiters["default"]
    before_requests, before_429 = stats.requests, stats.rate_limited
    verdict = "passed"
    try:  # the leads are archived whatever happens (close() finishes the run)
        t0 = time.perf_counter()
        with LeadTimes() as lead_times:
            try:
                evidence = routing_checks.check_volume(ctx, spec)
            except CheckFailed as exc:
                verdict = f"FAILED: {exc}"
                evidence = exc.evidence or Evidence()
        elapsed = time.perf_counter() - t0
        requests, limited = stats.requests - before_requests, stats.rate_limited - before_429
        errors, retries, backoff, waited = stats.server_errors, stats.retries, stats.backoff_s, limiter.waited_s
        t1 = time.perf_counter()
        cleanup = ctx.finish()
        cleanup_s = time.perf_counter() - t1
        cleanup_requests = stats.requests - before_requests - requests
    finally:
        ctx.close()

    data = evidence.details
    leads = data.get("leads")
    leads = len(leads) if isinstance(leads, list) else int(leads or 0)
    allowed = PER_10S / PERIOD_S
    rate = requests / elapsed
    best = fastest_time(requests)
    where = f"sandbox serve ({base_url})" if base_url else "in-process sandbox"
    print(f"{where}, limit {PER_10S} requests per {PERIOD_S:g} s ({allowed:g}/s) on both sides; "
          f"{workers} workers; owner assigned {delay_ms} ms after creation")
    print(f"check:     ROUTING-VOLUME-TEST {verdict}")
    print(f"leads:     {leads} ({data.get('per_branch')})")
    print(f"requests:  {requests:,} ({requests / max(leads, 1):.2f} per lead; {limited} answered 429, "
          f"{errors} 5xx, {retries} retries, {backoff:.1f} s backoff)")
    print(f"elapsed:   {elapsed:.2f} s; limiter waits {waited:.1f} s summed over the workers")
    print(f"rate:      {rate:.2f} requests/s = {100 * rate / allowed:.0f}% of {allowed:g}/s; "
          f"{leads / elapsed:.2f} leads/s")
    if best > 0:
        print(f"           burst-aware: the limit lets these {requests:,} requests through in {best:.0f} s at best "
              f"(the first window's {PER_10S} go at once); {elapsed:.2f} s is {100 * best / elapsed:.0f}% of that "
              f"pace (target >= 90%)")
    else:
        print(f"           burst-aware: n/a ({requests} requests fit in the first window; the limit never binds)")
    print(f"latency:   assignment (creation to owner, CRM clock) p50 {_s(data.get('p50_s'))}, "
          f"p95 {_s(data.get('p95_s'))}")
    print(f"           per lead, sent to verdict (gtmcheck's side, limiter waits included): "
          f"p50 {_s(percentile(lead_times.seconds, 50))}, p95 {_s(percentile(lead_times.seconds, 95))}")
    print(f"cleanup:   {cleanup.summary() if cleanup else 'nothing to clean'} "
          f"({cleanup_requests} requests, {cleanup_s:.1f} s)")
    print(f"load average {os.getloadavg()[0]:.2f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=200)
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                    help=f"leads in flight at once (RunContext.workers; default {DEFAULT_WORKERS})")
    ap.add_argument("--delay-ms", type=int, default=500, help="the sandbox assigns the owner this long after creation")
    ap.add_argument("--search-lag-ms", type=int, default=1000)
    ap.add_argument("--serve", action="store_true", help="send to `gtmcheck sandbox serve` on loopback instead")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario, checklist = write_files(folder, args.leads, args.delay_ms, args.search_lag_ms)
        if args.serve:
            with served(scenario) as base_url:
                run(folder, checklist, scenario, args.workers, args.delay_ms, base_url)
        else:
            run(folder, checklist, scenario, args.workers, args.delay_ms, None)


if __name__ == "__main__":
    main()
