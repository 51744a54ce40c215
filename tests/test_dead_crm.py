"""A dead CRM fails fast: a few attempts without an answer, then the run stops dialling it (issue 8).

The HTTP client's circuit breaker on respx and a fake clock, then a real ``gtmcheck run`` of the demo routing
checklist in a subprocess against a loopback port that refuses connections (bound, then closed): every CRM
item is an error within seconds, and one message says the CRM was given up and why.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import respx
from fakes import FakeClock

from gtmcheck.connectors.http import ApiClient, RetryPolicy
from gtmcheck.errors import TransportError, UnexpectedAnswer

REPO = Path(__file__).resolve().parent.parent
BASE = "https://api.hubapi.com"
TOKEN = "pat-na1-dead-crm-0000-SECRET"
RUN_TIMEOUT_S = 120  # the run used to take 11 minutes; it must end long before this


def client(clock: FakeClock, **retry: float) -> ApiClient:
    return ApiClient(BASE, vendor="hubspot", token=TOKEN, retry=RetryPolicy(jitter=False, **retry),  # type: ignore[arg-type]
                     sleep=clock.sleep)


def test_a_refused_connection_is_tried_three_times_not_eight(clock: FakeClock) -> None:
    with respx.mock(base_url=BASE) as router:
        route = router.get("/x").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
        with pytest.raises(TransportError) as info:
            client(clock).request("GET", "/x")
    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]  # 1.5 s in all, where 8 attempts backed off for about a minute
    assert "no answer from hubspot after 3 attempt(s): [Errno 111] Connection refused" in str(info.value)


def test_after_three_attempts_without_an_answer_the_host_is_not_dialled_again(clock: FakeClock) -> None:
    api = client(clock)
    with respx.mock(base_url=BASE) as router:
        route = router.route().mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
        with pytest.raises(TransportError) as first:
            api.request("GET", "/crm/v3/owners/")
        waited = sum(clock.sleeps)
        later = []
        for path in ("/crm/v3/objects/contacts", "/crm/v3/objects/companies/search", "/x"):
            with pytest.raises(TransportError) as info:
                api.request("POST", path, json={})
            later.append(str(info.value))
    assert route.call_count == 3  # the three of the first request; none after
    assert sum(clock.sleeps) == waited  # and no more waiting
    given_up = ("hubspot at api.hubapi.com gave no answer to 3 connection attempts in a row "
                "(last: [Errno 111] Connection refused); not dialled again in this run")
    assert given_up in str(first.value)
    assert all(given_up in text and "not sent" in text for text in later)
    assert api.given_up == given_up
    assert api.stats.refused_locally == 3
    assert TOKEN not in str(first.value) + "".join(later)


def test_the_count_runs_across_requests_and_an_answer_resets_it(clock: FakeClock) -> None:
    api = client(clock, connect_attempts=2)  # every request gives up after two refusals
    refused = httpx.ConnectError("refused")
    with respx.mock(base_url=BASE) as router:
        route = router.get("/x").mock(side_effect=[refused, refused, httpx.Response(503), httpx.Response(200, json={}),
                                                   refused, refused, refused, refused])
        outcomes = []
        for _ in range(5):
            try:
                api.request("GET", "/x")
                outcomes.append("ok")
            except TransportError as exc:
                outcomes.append("not sent" if "not sent" in str(exc) else
                                "given up" if "not dialled again" in str(exc) else "refused")
    # two refusals, then an answer (a 503, retried into a 200) starts the count again; then two requests'
    # refusals make four in a row, and the second request's retry trips the breaker
    assert outcomes == ["refused", "ok", "refused", "given up", "not sent"]
    assert route.call_count == 8
    assert api.given_up is not None and "gave no answer to 4 connection attempts in a row" in api.given_up


def test_a_blip_failing_parallel_first_attempts_does_not_give_the_host_up() -> None:
    """Eight workers hit a reset at once: eight failures in a row, but their retries find the host back."""
    workers = 8
    barrier = threading.Barrier(workers)
    lock = threading.Lock()
    calls = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            calls["n"] += 1
            first = calls["n"] <= workers
        if first:
            barrier.wait(timeout=10)  # all first attempts fail together
            raise httpx.ConnectError("[Errno 104] Connection reset by peer")
        return httpx.Response(200, json={"ok": True})

    api = ApiClient(BASE, vendor="hubspot", token=TOKEN, retry=RetryPolicy(jitter=False, base_delay=0.01),
                    sleep=time.sleep)
    with respx.mock(base_url=BASE) as router:
        router.get("/x").mock(side_effect=answer)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda _: api.request("GET", "/x").json(), range(workers)))
    assert results == [{"ok": True}] * workers
    assert api.given_up is None
    assert calls["n"] == 2 * workers


def test_read_timeouts_count_too(clock: FakeClock) -> None:
    """A host that accepts and never answers is given up after three timeouts, not eight per request."""
    api = client(clock)
    with respx.mock(base_url=BASE) as router:
        route = router.get("/x").mock(side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(TransportError, match="gave no answer to 3 connection attempts in a row"):
            api.request("GET", "/x")
    assert route.call_count == 3


def test_429_and_5xx_retries_are_unchanged(clock: FakeClock) -> None:
    """Answers are not failures to connect: eight 503s are eight attempts, and the breaker never trips."""
    api = client(clock)
    with respx.mock(base_url=BASE) as router:
        route = router.get("/x").mock(side_effect=[httpx.Response(503)] * 7 + [httpx.Response(200, json={})])
        api.request("GET", "/x")
    assert route.call_count == 8
    assert api.given_up is None


def test_a_redirect_from_the_api_is_an_unexpected_answer_naming_the_location(clock: FakeClock) -> None:
    with respx.mock(base_url=BASE) as router:
        route = router.get("/x").respond(307, headers={"Location": f"https://proxy.acme.example/auth?key={TOKEN}"})
        with pytest.raises(UnexpectedAnswer) as info:
            client(clock).request("GET", "/x")
    assert route.call_count == 1
    assert info.value.status == 307
    assert "redirect to 'https://proxy.acme.example/auth?key=***'" in str(info.value)
    assert TOKEN not in str(info.value)


# -- a whole run against a refusing port ------------------------------------------------------------------


def refusing_port() -> int:
    """A loopback port nothing listens on: bound to get a free number, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_crm_project(root: Path, port: int) -> Path:
    (root / "checks").mkdir()
    (root / "checks" / "routing.gtm.yml").write_text((REPO / "checks" / "routing.gtm.yml").read_text())
    (root / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  dead:\n"
        f"    crm: {{type: hubspot, base_url: \"http://127.0.0.1:{port}\", token: \"${{DEAD_CRM_TOKEN}}\"}}\n"
        "    writes: true\n"
        "default_environment: dead\n"
    )
    return root


def test_a_run_against_a_refusing_crm_errors_every_crm_item_in_seconds(tmp_path: Path) -> None:
    port = refusing_port()
    project = dead_crm_project(tmp_path, port)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", "out"], cwd=project, capture_output=True,
        text=True, timeout=RUN_TIMEOUT_S, env={**os.environ, "DEAD_CRM_TOKEN": TOKEN},
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "a bug in gtmcheck" not in output
    assert TOKEN not in output

    report = json.loads((project / "out" / "report.json").read_text())
    items = [i for c in report["checklists"] for i in c["items"]]
    crm_items = [i for i in items if i["status"] not in ("attested", "not_configured")]
    assert len(crm_items) >= 10
    assert {i["status"] for i in crm_items} == {"error"}, [(i["id"], i["status"], i["message"]) for i in crm_items]
    given_up = (f"hubspot at 127.0.0.1:{port} gave no answer to 3 connection attempts in a row (last: "
                f"[Errno 111] Connection refused); not dialled again in this run")
    assert all(given_up in i["message"] for i in crm_items), [i["message"] for i in crm_items]
    dialled = [i for i in crm_items if "not sent" not in i["message"]]
    assert len(dialled) == 1  # only the first item ever dialled; it tried three times
    assert "after 3 attempt(s)" in dialled[0]["message"]
    assert elapsed < 60, f"the run took {elapsed:.0f} s"  # was 11 minutes; now the 1.5 s of backoff + startup
