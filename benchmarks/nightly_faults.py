"""No flapping: 20 nightly runs of the healthy demo stack with 20% of CRM requests failing raise no alert.

Each night is a real ``gtmcheck run`` against the bundled healthy scenario with ``knobs.fault_rate`` set
(the sandbox answers that share of requests with 502/503/504 before any write), read-only (``--read-only``
when this gtmcheck has it, else an environment without writes and ``-m "not writes"``) and with
``--recheck``; its report goes to ``gtmcheck notify`` sending to a local HTTP receiver, with one state file
across the nights, as the nightly workflow keeps it. Prints the alerts raised (the target is 0), the
checks that needed their recheck, and the run times.

    python benchmarks/nightly_faults.py [--nights 20] [--fault-rate 0.2]

Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "gtmcheck" / "demo"


class Receiver(BaseHTTPRequestHandler):
    bodies: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def project(folder: Path, fault_rate: float) -> Path:
    """A project whose sandbox is the healthy demo with faults on: this repository's checklists and baseline."""
    scenario = yaml.safe_load((DEMO / "healthy.yml").read_text())
    scenario["knobs"]["fault_rate"] = fault_rate
    for entry in DEMO.iterdir():  # what the scenario names relative to itself: data/, schemas/, inbound.csv
        if entry.suffix != ".yml":
            (folder / entry.name).symlink_to(entry)
    (folder / "demo").symlink_to(DEMO)  # what the checklists name: ../gtmcheck/demo/... becomes ../demo/...
    (folder / "checks").mkdir()
    for checklist in (REPO / "checks").glob("*.gtm.yml"):
        (folder / "checks" / checklist.name).write_text(checklist.read_text().replace("../gtmcheck/demo/", "../demo/"))
    shutil.copytree(REPO / "gtmcheck-baseline", folder / "gtmcheck-baseline")  # ATTR-BASELINE, BASELINE-DRIFT
    (folder / "healthy-faulty.yml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    (folder / "gtmcheck.yml").write_text(yaml.safe_dump({
        "version": 1,
        "environments": {"faulty": {"crm": {"type": "sandbox", "scenario": "healthy-faulty.yml"}, "writes": False}},
        "default_environment": "faulty",
        "checks": ["checks"],
    }))
    return folder / "gtmcheck.yml"


def has_read_only() -> bool:
    help_text = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--help"], capture_output=True,
                               text=True, check=True).stdout
    return "--read-only" in help_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--no-recheck", action="store_true", help="for comparison: each first result stands")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"webhook:http://127.0.0.1:{server.server_address[1]}/hook"
    read_only = ["--read-only"] if has_read_only() else ["-m", "not writes"]
    recheck = [] if args.no_recheck else ["--recheck"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project_file = project(folder, args.fault_rate)
        times: list[float] = []
        alerts = flaky = failed_twice = checks = 0
        statuses: dict[str, int] = {}
        for night in range(1, args.nights + 1):
            report = folder / f"night-{night}"
            started = time.monotonic()
            run = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--project", str(project_file),
                                  "--report-dir", str(report), *recheck, "-q", *read_only],
                                 cwd=folder, capture_output=True, text=True)
            times.append(time.monotonic() - started)
            if not (report / "report.json").is_file():
                sys.exit(f"night {night}: the run wrote no report (exit {run.returncode}):\n{run.stdout}{run.stderr}")
            data = json.loads((report / "report.json").read_text())
            items = [i for c in data["checklists"] for i in c["items"]]
            checks += len(items)
            for item in items:
                statuses[item["status"]] = statuses.get(item["status"], 0) + 1
                flaky += item.get("recheck") == "passed on recheck (flaky)"
                failed_twice += item.get("recheck") == "failed twice"
            before = len(Receiver.bodies)
            sent = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "notify", "--project", str(project_file),
                                   "--report", str(report), "--to", hook], cwd=folder, capture_output=True, text=True)
            raised = sum(len(b["new"]) + len(b["changed"]) for b in Receiver.bodies[before:])
            alerts += raised
            print(f"night {night:2d}: run exit {run.returncode}, {times[-1]:5.1f} s, {len(items)} checks "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))} so far), notify exit "
                  f"{sent.returncode}, {raised} alert(s)", flush=True)
    server.shutdown()
    print()
    print(f"fault_rate {args.fault_rate}, {args.nights} nights, {checks} checks run, mode {' '.join(read_only)} "
          f"{' '.join(recheck) or 'without --recheck'}")
    print(f"checks that passed only on recheck (flaky): {flaky}; failed twice: {failed_twice}")
    print(f"alerts raised: {alerts} (target 0)")
    print(f"run time per night: median {statistics.median(times):.1f} s, max {max(times):.1f} s, "
          f"total {sum(times) / 60:.1f} min")


if __name__ == "__main__":
    main()
