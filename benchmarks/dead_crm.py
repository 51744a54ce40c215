"""Benchmark: how long a whole ``gtmcheck run`` takes to fail against a CRM that refuses connections.

A loopback port is bound and closed again, so every connection to it is refused at once. A project points a
``hubspot`` CRM at it (``writes: true``) and holds the demo routing checklist, ``--checklists N`` times, so the
run has 12 CRM items per copy. ``gtmcheck run`` is started in a subprocess exactly as a user starts it; the
wall time from start to exit is printed with how many items errored and how many of them dialled at all.

The time before the circuit breaker is computed for the whole run (it took minutes per item): the old policy
tried every request 8 times with backoff doubling from 0.5 s to 30 s, jittered to 50-100 %. ``--measure-before``
also times one request under that policy (8 connect attempts, no breaker) against the same kind of port.

Run: python benchmarks/dead_crm.py [--checklists N] [--runs R] [--measure-before]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gtmcheck.connectors.http import ApiClient, RetryPolicy
from gtmcheck.errors import TransportError

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-not-a-secret"


def refusing_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def write_project(root: Path, port: int, checklists: int) -> None:
    (root / "checks").mkdir()
    text = (REPO / "checks" / "routing.gtm.yml").read_text()
    for n in range(checklists):
        (root / "checks" / f"routing{n}.gtm.yml").write_text(text.replace("name: Inbound demo requests",
                                                                           f"name: Inbound demo requests {n}"))
    (root / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  dead:\n"
        f"    crm: {{type: hubspot, base_url: \"http://127.0.0.1:{port}\", token: \"${{BENCH_TOKEN}}\"}}\n"
        "    writes: true\ndefault_environment: dead\n"
    )


def one_run(checklists: int) -> tuple[float, int, int, int]:
    """Seconds, items, items in error, items that dialled the CRM."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root, refusing_port(), checklists)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", "out"], cwd=root,
                       capture_output=True, text=True, timeout=1800, env={**os.environ, "BENCH_TOKEN": TOKEN},
                       check=False)
        elapsed = time.perf_counter() - started
        report = json.loads((root / "out" / "report.json").read_text())
    items = [i for c in report["checklists"] for i in c["items"]]
    errors = [i for i in items if i["status"] == "error"]
    dialled = [i for i in errors if "not sent" not in i["message"]]
    return elapsed, len(items), len(errors), len(dialled)


def old_backoff_s(policy: RetryPolicy) -> tuple[float, float]:
    """The backoff one request used to wait before giving up (8 attempts, no breaker): (min, max) seconds."""
    delays = [min(policy.max_delay, policy.base_delay * 2.0 ** (n - 1)) for n in range(1, policy.max_attempts)]
    return sum(d / 2 for d in delays), sum(delays)


def one_request_before() -> float:
    """Seconds one request took to fail under the old policy: 8 attempts, no breaker."""
    old = RetryPolicy(connect_attempts=8, trip_after=10**9)
    with ApiClient(f"http://127.0.0.1:{refusing_port()}", vendor="hubspot", token=TOKEN, retry=old) as api:
        started = time.perf_counter()
        try:
            api.request("GET", "/crm/v3/owners/")
        except TransportError:
            pass
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checklists", type=int, default=1, help="copies of the demo routing checklist")
    parser.add_argument("--runs", type=int, default=3, help="runs; the best and worst are printed")
    parser.add_argument("--measure-before", action="store_true", help="also time one request under the old policy")
    args = parser.parse_args()
    policy = RetryPolicy()
    results = [one_run(args.checklists) for _ in range(args.runs)]
    times = sorted(r[0] for r in results)
    _, items, errors, dialled = results[0]
    print(f"refusing CRM, {args.checklists} routing checklist(s): {items} items, {errors} errored, "
          f"{dialled} dialled the CRM")
    print(f"whole run (start to exit, {args.runs} runs): best {times[0]:.2f} s, worst {times[-1]:.2f} s")
    print(f"  connect attempts per request: {policy.connect_attempts}; given up after {policy.trip_after} "
          f"attempts in a row without an answer")
    low, high = old_backoff_s(policy)
    print(f"before (computed): {policy.max_attempts} attempts per request, {low:.1f}-{high:.1f} s of backoff each; "
          f"{items} items: {items * low / 60:.1f}-{items * high / 60:.1f} min")
    if args.measure_before:
        print(f"before (measured): one request failed after {one_request_before():.1f} s")


if __name__ == "__main__":
    main()
