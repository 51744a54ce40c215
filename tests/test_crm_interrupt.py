"""No synthetic record of a crm run outlives it, even one interrupted half-way through its duplicate pairs.

As tests/test_routing_interrupt.py: ``gtmcheck sandbox serve`` plays HubSpot on a loopback port (slowed down so
the pairs are in flight long enough to interrupt), ``gtmcheck run`` talks to it over HTTP as a ``hubspot`` CRM
in its own process. The run is interrupted (SIGINT, as Ctrl-C) once the first synthetic record of a pair is in
the CRM; afterwards the served CRM is listed (the list endpoint never lags): no contact or company carries a
``gtmcheck_run_id`` any more, and every one the run created is archived.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_routing_interrupt import Lines, cleanup_line, stop

from gtmcheck.synthetic import TAG_PROPERTY, is_synthetic

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "gtmcheck" / "demo"
TOKEN = "pat-na1-crm-interrupt-0000-2222"
LATENCY_MS = 700  # every request of the served CRM takes this long: a pair is in flight for seconds
CHECKLIST = """kind: crm
name: CRM build-out
owner: revops@acme.example
built_by: jane@acme.example
duplicates:
  - {object: contacts, match: email}
  - {object: companies, match: domain}
  - {object: companies, match: name}
"""


@dataclass
class Served:
    base: str
    project: Path

    def listed(self, object_type: str, *, archived: bool = False) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after = None
        while True:
            response = httpx.get(f"{self.base}/crm/v3/objects/{object_type}", headers={
                "Authorization": f"Bearer {TOKEN}"}, params={"limit": 100, "archived": str(archived).lower(),
                                                              "properties": f"{TAG_PROPERTY},email,domain,name",
                                                              **({"after": after} if after else {})}, timeout=30)
            response.raise_for_status()
            page = response.json()
            out += page["results"]
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return out

    def tagged(self, *, archived: bool = False) -> list[tuple[str, dict[str, Any]]]:
        return [(t, r) for t in ("contacts", "companies") for r in self.listed(t, archived=archived)
                if r["properties"].get(TAG_PROPERTY)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    scenario = yaml.safe_load((DEMO / "healthy.yml").read_text())
    scenario["records"] = {t: str(DEMO / rel) for t, rel in scenario["records"].items()}
    scenario["inbound"] = {"file": str(DEMO / scenario["inbound"]["file"])}  # the recent leads, as for records
    scenario["knobs"]["latency_ms"] = LATENCY_MS
    scenario.pop("webhooks")  # nothing listens on the receiver's port here
    (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "crm.gtm.yml").write_text(CHECKLIST)
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--port", "0",
             "--scenario", str(tmp_path / "scenario.yml")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=log, text=True)
    assert server.stdout is not None
    banner = Lines(server.stdout)
    try:
        base = banner.wait_for(r"Sandbox HubSpot API on (http://127\.0\.0\.1:\d+)", timeout=20).group(1)
        (tmp_path / "gtmcheck.yml").write_text(
            "version: 1\nenvironments:\n  served:\n"
            f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{SERVE_TOKEN}}\", search_lag: 1s}}\n"
            "    writes: true\ndefault_environment: served\n")
        yield Served(base, tmp_path)
    finally:
        stop(server, banner)


def test_a_crm_run_interrupted_mid_pair_leaves_no_tagged_record(served: Served) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--env", "served", "--report-dir", "out"],
        cwd=served.project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "SERVE_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}, process_group=0)
    assert proc.stdout is not None
    out = Lines(proc.stdout)
    try:
        deadline = time.monotonic() + 60
        in_flight: list[tuple[str, dict[str, Any]]] = []
        while not in_flight:  # the first record of a pair is in the CRM: interrupt now
            assert proc.poll() is None and time.monotonic() < deadline, out.drain()
            in_flight = served.tagged()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        output = out.drain()
    finally:
        stop(proc, out)

    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert "Traceback" not in output and TOKEN not in output
    assert "KeyboardInterrupt" in output  # it was interrupted mid-check, not after the checks
    archived, run_id = cleanup_line(output)
    assert archived >= len(in_flight)
    assert served.tagged() == []  # nothing tagged is left live, contacts or companies
    gone = [(t, r) for t, r in served.tagged(archived=True) if r["properties"][TAG_PROPERTY] == run_id]
    assert {r["id"] for _, r in in_flight} <= {r["id"] for _, r in gone}
    assert len(gone) == archived
    from gtmcheck.connectors.crm import Record

    assert all(is_synthetic(t, Record(r["id"], r["properties"])) for t, r in gone)  # type: ignore[arg-type]
