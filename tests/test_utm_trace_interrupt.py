"""No synthetic contact of the UTM trace outlives a run interrupted while it waits for the form to land.

As ``test_routing_interrupt.py`` does for routing: ``gtmcheck sandbox serve`` plays HubSpot (the CRM API and
the Forms API on one loopback port), ``gtmcheck run`` talks to it as a ``hubspot`` CRM in its own process. The
served form takes a minute to process a submission, so the run is interrupted while UTM-CRM-POPULATES polls its
six contacts; afterwards no contact carries a run tag and every one the run created is archived.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_routing_interrupt import DEMO, TOKEN, Lines, Served, cleanup_line, stop
from test_utm_trace import CHECKLIST

from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.synthetic import is_reserved_domain

SEARCH_LAG_MS = 300
CHANNELS = 3  # CHECKLIST expects Paid Search, Paid Social and Email


@pytest.fixture
def served_forms(tmp_path: Path) -> Iterator[Served]:
    scenario = yaml.safe_load((DEMO / "healthy.yml").read_text())
    scenario["records"] = {t: str(DEMO / rel) for t, rel in scenario["records"].items()}
    scenario["inbound"] = {"file": str(DEMO / scenario["inbound"]["file"])}  # the recent leads, as for records
    scenario.pop("warehouse")
    scenario.pop("sync")
    scenario["knobs"]["search_lag_ms"] = SEARCH_LAG_MS
    scenario["forms"][0]["delay_ms"] = 60_000  # the submissions stay in flight for the whole run
    scenario.pop("webhooks")  # nothing listens on the receiver's port here
    (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "utm.gtm.yml").write_text(
        CHECKLIST.replace("trace: {crm_lag: 2s, warehouse_lag: 3s}", "trace: {crm_lag: 5m}"))

    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--port", "0",
             "--scenario", str(tmp_path / "scenario.yml")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    assert server.stdout is not None
    banner = Lines(server.stdout)
    served = None
    try:
        base = banner.wait_for(r"Sandbox HubSpot API on (http://127\.0\.0\.1:\d+)", timeout=20).group(1)
        (tmp_path / "gtmcheck.yml").write_text(  # the Forms API's host defaults to a non-HubSpot base_url
            "version: 1\nenvironments:\n  served:\n"
            f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{SERVE_TOKEN}}\", search_lag: 1s}}\n"
            "    writes: true\n"
            "default_environment: served\n"
        )
        served = Served(base, tmp_path, HubSpotConnector(TOKEN, base_url=base))
        yield served
    finally:
        if served is not None:
            for proc, lines in served.runs:
                stop(proc, lines)
            served.crm.close()
        stop(server, banner)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_trace_interrupted_while_it_waits_for_the_form_leaves_no_tagged_contact(
    served_forms: Served, stop_signal: signal.Signals
) -> None:
    served = served_forms
    proc, out = served.start_run("-k", "UTM-CRM")
    deadline = time.monotonic() + 30
    in_flight: list[dict[str, object]] = []
    while len(in_flight) < CHANNELS:  # every channel's contact exists and its submission is queued
        assert proc.poll() is None and time.monotonic() < deadline, out.drain()
        time.sleep(0.2)
        in_flight = served.tagged()
    time.sleep(0.5)  # the last submission is sent: the run now polls the CRM
    proc.send_signal(stop_signal)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the interrupted run did not end:\n{out.text()}") from None
    output = out.drain()

    assert proc.returncode == 2, output
    assert "Traceback" not in output and TOKEN not in output
    assert "KeyboardInterrupt" in output  # interrupted mid-check, not after the checks
    archived, run_id = cleanup_line(output)
    assert archived == CHANNELS
    served.assert_nothing_tagged_remains()
    gone = served.tagged(archived=True, run_id=run_id)
    assert {c["id"] for c in in_flight} == {c["id"] for c in gone}
    assert all(is_reserved_domain(str(c["properties"]["email"]).rpartition("@")[2]) for c in gone)  # type: ignore[index]
    report = json.loads((served.project / "out" / "report.json").read_text())
    assert report["summary"]["cleanup"]["clean"] is True, report["summary"]["cleanup"]
