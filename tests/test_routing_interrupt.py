"""No synthetic record outlives a run, even one interrupted half-way: SIGINT (issue 4), SIGTERM, SIGHUP (issue 8).

``gtmcheck sandbox serve`` plays a real HubSpot on a loopback port; ``gtmcheck run`` talks to it over HTTP as a
``hubspot`` CRM, in its own process, exactly as a user runs it. One run is interrupted while its synthetic
leads are in flight, one runs to its end; afterwards the served CRM is searched (once its search has caught
up) and listed (which never lags): no record carries a ``gtmcheck_run_id`` any more, and every one the run
created is archived.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml
from test_sandbox_serve import stop as stop_process

from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.synthetic import TAG_PROPERTY, find_synthetic, is_reserved_domain

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "gtmcheck" / "demo"
TOKEN = "pat-na1-interrupt-test-0000-1111"  # the served sandbox takes any bearer token; this one must not leak
ROUTING_DELAY_MS = 1500  # owners appear 1.5 s after creation: leads stay in flight long enough to interrupt
SEARCH_LAG_MS = 300
CLEANUP_LINE = re.compile(
    r"gtmcheck cleanup: archived (\d+) synthetic records of run (gtm-[\w-]+)(?:, [^;]*)?; none remain")


class Lines:
    """A child's output, read on a thread so it can be waited on with a deadline and never blocks the child."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._queue.put(line)
        except (OSError, ValueError):  # closed under us: the child is gone
            pass
        finally:
            self._queue.put(None)

    def join(self, timeout: float = 10) -> None:
        self._thread.join(timeout)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        for seen in self.lines:
            if match := regex.search(seen):
                return match
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{self.text()}")

    def drain(self, timeout: float = 10) -> str:
        """Everything up to the end of the stream (call once the child has exited)."""
        self.join(timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return self.text()

    def text(self) -> str:
        return "".join(self.lines)


def stop(proc: subprocess.Popen[str], lines: Lines) -> None:
    stop_process(proc, before_close=lines.join)  # the reader is at the end of the pipe before it is closed


@dataclass
class Served:
    """The served sandbox CRM, and a project in ``tmp_path`` whose ``served`` environment points at it."""

    base: str
    project: Path
    crm: HubSpotConnector
    runs: list[tuple[subprocess.Popen[str], Lines]] = field(default_factory=list)

    def http(self, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(self.base + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def contacts(self, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every contact (or every archived one) by the list endpoint, which reads the store: it never lags."""
        out: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.http("/crm/v3/objects/contacts", limit=100, archived=str(archived).lower(),
                             properties=f"{TAG_PROPERTY},email", **({"after": after} if after else {}))
            out += page["results"]
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return out

    def tagged(self, *, archived: bool = False, run_id: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.contacts(archived=archived)
                if (tag := c["properties"].get(TAG_PROPERTY)) and (run_id is None or tag == run_id)]

    def start_run(self, *args: str) -> tuple[subprocess.Popen[str], Lines]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gtmcheck.cli", "run", "--env", "served", "--report-dir", "out", *args],
            cwd=self.project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "SERVE_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"},
            process_group=0,  # a Ctrl-C in the terminal running these tests does not reach it; only ours does
        )
        assert proc.stdout is not None
        self.runs.append((proc, Lines(proc.stdout)))
        return self.runs[-1]

    def assert_nothing_tagged_remains(self) -> None:
        """The search (once caught up) and the list agree: no record of any run carries the tag."""
        time.sleep(SEARCH_LAG_MS / 1000 + 0.2)
        assert list(find_synthetic(self.crm)) == []
        assert self.tagged() == []


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    scenario = yaml.safe_load((DEMO / "healthy.yml").read_text())
    scenario["records"] = {t: str(DEMO / rel) for t, rel in scenario["records"].items()}
    scenario["inbound"] = {"file": str(DEMO / scenario["inbound"]["file"])}  # the recent leads, as for records
    scenario["routing"]["delay_ms"] = ROUTING_DELAY_MS
    scenario["knobs"]["search_lag_ms"] = SEARCH_LAG_MS
    scenario.pop("webhooks")  # nothing listens on the receiver's port here
    (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario, sort_keys=False))

    checklist = (REPO / "checks" / "routing.gtm.yml").read_text()
    assert "volume: {leads: 50}" in checklist
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "routing.gtm.yml").write_text(
        checklist.replace("volume: {leads: 50}", "volume: {leads: 100}"))

    with (tmp_path / "serve.log").open("w") as log:  # its request log: a file, so the pipe never fills
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
        (tmp_path / "gtmcheck.yml").write_text(
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


def cleanup_line(output: str) -> tuple[int, str]:
    match = CLEANUP_LINE.search(output)
    assert match, output
    return int(match.group(1)), match.group(2)


@pytest.mark.parametrize(("stop_signal", "args", "leads"), [
    (signal.SIGINT, (), 3), (signal.SIGINT, ("-k", "VOLUME"), 20),
    (signal.SIGTERM, (), 3), (signal.SIGHUP, (), 3),  # a CI runner's cancel, a closed terminal: as Ctrl-C
], ids=["first-branch", "volume-test", "sigterm-first-branch", "sighup-first-branch"])
def test_a_run_interrupted_half_way_leaves_no_tagged_record(
    served: Served, stop_signal: signal.Signals, args: tuple[str, ...], leads: int
) -> None:
    """Interrupted while the first branch's leads wait for owners, or while the volume test's 100 are sent."""
    proc, out = served.start_run(*args)
    deadline = time.monotonic() + 30
    in_flight: list[dict[str, Any]] = []
    while len(in_flight) < leads:  # leads are in the CRM and waiting for their owners: interrupt now
        assert proc.poll() is None and time.monotonic() < deadline, out.drain()
        time.sleep(0.2)
        in_flight = served.tagged()
    proc.send_signal(stop_signal)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the interrupted run did not end:\n{out.text()}") from None
    output = out.drain()

    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert "Traceback" not in output
    assert TOKEN not in output
    assert "KeyboardInterrupt" in output  # it was interrupted mid-check, not after the checks
    archived, run_id = cleanup_line(output)
    assert len(in_flight) <= archived < 100  # every lead sent is archived; the queued ones were never sent

    served.assert_nothing_tagged_remains()
    gone = served.tagged(archived=True, run_id=run_id)
    assert {c["id"] for c in in_flight} <= {c["id"] for c in gone}
    assert len(gone) == archived  # what the cleanup line says is what the CRM holds archived
    assert all(is_reserved_domain(c["properties"]["email"].rpartition("@")[2]) for c in gone)
    report = json.loads((served.project / "out" / "report.json").read_text())
    assert report["summary"]["cleanup"]["clean"] is True, report["summary"]["cleanup"]


def test_a_completed_run_leaves_no_tagged_record(served: Served) -> None:
    """The ordinary end of a run (one cheap check): every lead it sent is archived, none is left tagged."""
    proc, out = served.start_run("-m", "routing", "-k", "FALLBACK")
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the run did not end:\n{out.text()}") from None
    output = out.drain()

    assert proc.returncode == 0, output
    assert "Traceback" not in output and TOKEN not in output
    archived, run_id = cleanup_line(output)
    assert archived > 0
    served.assert_nothing_tagged_remains()
    assert len(served.tagged(archived=True, run_id=run_id)) == archived
