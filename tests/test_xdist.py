"""``pytest -n 2`` (pytest-xdist) reports what a serial run reports, and cleans up every synthetic record once.

The example project (``checks/`` against the embedded sandbox) is run serially and with two workers: the two
report.json files are the same apart from timings and run ids. Against ``gtmcheck sandbox serve`` (one CRM
that both workers write to), the workers share one run id, each archives the records it made, and the final
search of the tag finds nothing: the CRM holds, archived, exactly the records the cleanup line counts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_routing_interrupt import CLEANUP_LINE, Served, cleanup_line
from test_routing_interrupt import served as served  # noqa: F401  (the fixture)

from gtmcheck.synthetic import TAG_PROPERTY

pytest.importorskip("xdist")

REPO = Path(__file__).resolve().parent.parent
RUN_ID = re.compile(r"gtm-\d{8}T\d{6}-[0-9a-f]{6}", re.IGNORECASE)
# a synthetic lead's address: its label, the xdist worker and a sequence number, then the run id
SYNTHETIC_ADDRESS = re.compile(r"[a-z0-9.-]+\.gtm-\d{8}t\d{6}-[0-9a-f]{6}@", re.IGNORECASE)
# a mapping's marker value carries the run id's last six characters (kinds/crm/mappings.py)
RUN_MARKER = re.compile(r"gtmcheck_[0-9a-f]{6}_")
# the id the CRM gave a synthetic record: each worker's in-process sandbox numbers the records it creates, in
# the order its share of the checks creates them, so the same record has another id under xdist
RECORD_ID = re.compile(r"\b(contacts?|companies|company|deals?|record) \d+")
# a latency or duration: a timing, which differs between any two runs
SECONDS = re.compile(r"\b\d+(\.\d+)? s\b")
# since when a baseline drift has been seen: the run history says, and the serial run is in it before the other
# when the sandbox routed its real (inbound) leads: at load, relative to the clock, once per process
WHEN = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SINCE = re.compile(r"new tonight, since the baseline of \d{4}-\d{2}-\d{2}|seen every night since \d{4}-\d{2}-\d{2}")


def run_example(report_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider", "-q", "--gtm-env", "sandbox-drifted",
         "--gtm-report-dir", str(report_dir), *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


def comparable(report_file: Path) -> dict[str, Any]:
    """report.json without what differs between any two runs: timings, the run id in ids, addresses and markers,
    and the ids each worker's own sandbox gave the synthetic records."""
    report: dict[str, Any] = json.loads(report_file.read_text())
    for key in ("run_id", "started_at", "duration_s"):
        report["summary"].pop(key)
    # each worker's sandbox is a CRM of its own: two checks that share a record in one (a form submission
    # updates the contact its email already has) make one each in two; that none remains is what must agree
    cleanup = report["summary"].get("cleanup")
    if cleanup:
        assert cleanup["remaining"] == 0 and cleanup["clean"], cleanup
        cleanup["archived"] = "<n>" if cleanup["archived"] else 0
    for checklist in report["checklists"]:
        for lead in (checklist.get("routing_graph") or {}).get("leads", []):
            if isinstance(lead.get("expected"), list) and lead.get("ok"):  # a round robin's turn depends on what
                lead["received"] = "<a pool member>"  # else that sandbox routed before (other kinds' contacts)
        for item in checklist["items"]:
            item.pop("duration_s")
            item.pop("details", None)  # what each check recorded: record ids, latencies, run ids
            if item["dod"].startswith("WEBHOOK-"):  # each worker's in-process sandbox logs its own deliveries
                for key in [k for k in ("message", "evidence", "expected", "received") if k in item]:
                    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>",
                                  json.dumps(item[key]))  # event ids
                    item[key] = re.sub(r"\d+", "N", text)
    text = SYNTHETIC_ADDRESS.sub("<synthetic lead>@", json.dumps(report))
    text = SECONDS.sub("<t> s", RECORD_ID.sub(r"\1 <id>", RUN_MARKER.sub("gtmcheck_<run>_", text)))
    text = WHEN.sub("<when>", SINCE.sub("<since>", text))
    comparable: dict[str, Any] = json.loads(RUN_ID.sub("<run id>", text))
    return comparable


def test_two_workers_write_the_report_a_serial_run_writes(tmp_path: Path) -> None:
    serial = run_example(tmp_path / "serial")
    parallel = run_example(tmp_path / "xdist", "-n", "2")
    assert serial.returncode == parallel.returncode == 1, parallel.stdout + parallel.stderr  # the drifted demo
    assert "bringing up nodes" in parallel.stdout  # xdist ran it
    one, two = comparable(tmp_path / "serial" / "report.json"), comparable(tmp_path / "xdist" / "report.json")
    checklists = len(list((REPO / "checks").glob("*.gtm.yml")))
    assert two["summary"]["checklists"] == one["summary"]["checklists"] == checklists
    assert two["summary"]["failed"] > 0
    assert two["summary"]["cleanup"]["archived"] == one["summary"]["cleanup"]["archived"] == "<n>"  # some, both
    assert two == one
    # the terminal's gtmcheck line and cleanup line are the same too, once each
    for out in (serial.stdout, parallel.stdout):
        assert len(CLEANUP_LINE.findall(out)) == 1, out
    lines = [RUN_ID.sub("<run id>", next(line for line in out.splitlines() if line.startswith("gtmcheck (")))
             for out in (serial.stdout, parallel.stdout)]
    assert lines[0] == lines[1]


def test_two_workers_share_one_run_id_and_archive_each_record_once(served: Served) -> None:
    proc, out = served.start_run("--", "-n", "2", "-k", "not VOLUME")
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the run did not end:\n{out.text()}") from None
    output = out.drain()
    assert proc.returncode == 0, output
    assert "2 workers" in output and "Traceback" not in output

    archived, run_id = cleanup_line(output)
    assert len(CLEANUP_LINE.findall(output)) == 1  # one cleanup for the run, not one per worker
    assert "found by the final search" not in output  # each worker archived what it made; nothing was left
    served.assert_nothing_tagged_remains()  # the tag search finds nothing, and the list agrees
    gone = served.tagged(archived=True)
    assert {c["properties"][TAG_PROPERTY] for c in gone} == {run_id}  # both workers tagged with the one run id
    assert len({c["id"] for c in gone}) == len(gone) == archived > 10  # each record archived once, and counted once
    emails = [c["properties"]["email"] for c in gone]
    assert len(set(emails)) == len(emails)  # the workers' leads never collide on an address
    assert any("-gw0-" in e for e in emails) and any("-gw1-" in e for e in emails)  # both workers made leads
    report = json.loads((served.project / "out" / "report.json").read_text())
    assert report["summary"]["run_id"] == run_id
    assert report["summary"]["cleanup"] == {"run_id": run_id, "archived": archived, "remaining": 0, "clean": True}
    assert report["summary"]["failed"] == report["summary"]["error"] == 0


BROKEN = "kind: crm\nname: Broken\nowner: mops@acme.example\n"  # no built_by: a load error at line 1


@pytest.mark.parametrize("args", [(), ("-m", "reconcile or utm")], ids=["all", "narrowed"])
def test_load_errors_and_checks_left_out_reach_the_controller(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    """What only the workers see (a checklist that cannot be loaded, the checks -m left out) is in the report."""
    from test_plugin import ALL_ATTESTED as TOTALS
    from test_plugin import CRM
    from test_report_truth import PROJECT

    pytester.makefile(".yml", gtmcheck=PROJECT)
    checks = pytester.mkdir("checks")
    (checks / "crm.gtm.yml").write_text(CRM)
    (checks / "totals.gtm.yml").write_text(TOTALS)
    (checks / "broken.gtm.yml").write_text(BROKEN)
    common = ("checks", "-p", "no:cacheprovider", "--continue-on-collection-errors", *args)
    serial = pytester.runpytest_subprocess(*common, "--gtm-report-dir=serial")
    parallel = pytester.runpytest_subprocess(*common, "-n", "2", "--gtm-report-dir=xdist")
    assert serial.ret == parallel.ret == 1
    one = comparable(pytester.path / "serial" / "report.json")
    two = comparable(pytester.path / "xdist" / "report.json")
    assert two["summary"]["checklists"] == 3 and two["summary"]["error"] == 1  # the broken checklist
    assert two["summary"]["not_selected"] == (6 if args else 0)
    assert two == one
