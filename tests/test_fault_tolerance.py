"""Faults never change a verdict: a scan through the real HubSpot connector, against the sandbox with 429
bursts and 10% 5xx answers, reads exactly what it reads with no faults (issue 3's acceptance test).

Time is virtual: the sandbox's rate limiter, the connector's limiter and its backoff all share one fake
clock, so the test keeps every wait the real thing would make and still runs in seconds.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fakes import FakeClock

from gtmcheck.connectors.http import RetryPolicy, hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.sandbox import HubSpotSandbox, Scenario

DEALS = 20_000


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_data({"generate": {"deals": DEALS, "seed": 11}})


def closed_won_scan(scenario: Scenario, **knobs: object) -> tuple[int, Decimal, int, int]:
    clock = FakeClock()
    app = HubSpotSandbox(scenario, clock=clock, sleep=clock.sleep, **knobs)  # type: ignore[arg-type]
    crm = HubSpotConnector(
        "pat-test", base_url="https://api.hubapi.com", transport=httpx.WSGITransport(app=app),
        limiters=hubspot_limits(clock=clock, sleep=clock.sleep), sleep=clock.sleep,
        retry=RetryPolicy(max_attempts=10),
    )
    try:
        count, total = 0, Decimal(0)
        for deal in crm.scan("deals", ["amount", "dealstage"]):
            count += 1
            if deal.properties.get("dealstage") == "closedwon":
                total += Decimal(deal.properties.get("amount") or "0")
        stats = crm.http.stats
        return count, total, stats.rate_limited, stats.server_errors
    finally:
        crm.close()


@pytest.fixture(scope="module")
def clean(scenario: Scenario) -> tuple[int, Decimal, int, int]:
    result = closed_won_scan(scenario, seed=0)
    assert result[0] == DEALS and result[2] == result[3] == 0
    return result


@pytest.mark.parametrize("seed", range(10))
def test_faults_and_429_bursts_give_the_same_sum(
    scenario: Scenario, clean: tuple[int, Decimal, int, int], seed: int
) -> None:
    count, total, rate_limited, server_errors = closed_won_scan(
        scenario, seed=seed, fault_rate=0.1, burst_429=9
    )
    assert (count, total) == clean[:2]
    assert rate_limited > 0 and server_errors > 0  # the faults really happened, and were absorbed
