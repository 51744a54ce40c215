"""Benchmark: the history of a year of nightly runs, appended and read back from the DuckDB file.

Fills the store to its retention (400 runs) with runs of ``--items`` checks and ``--metrics`` reconciled
totals each, then times what a nightly run adds: one more append (which also deletes the oldest run) and
the trends report.html and ``gtmcheck history`` read. Prints the figures and the file's size.

Run: python benchmarks/history.py [--items 200] [--metrics 20] [--runs 400]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gtmcheck.history.rows import ItemRow, MetricRow, RunRecord
from gtmcheck.history.store import KEEP_RUNS, HistoryStore
from gtmcheck.history.trends import build_trends

START = datetime(2025, 11, 1, 2, 0, tzinfo=UTC)


def night(n: int, items: int, metrics: int, rng: random.Random) -> RunRecord:
    at = START + timedelta(days=n)
    run_id = f"gtm-{at:%Y%m%dT%H%M%S}-{n % 0xFFFFFF:06x}"
    record = RunRecord(run_id, "production", at, at + timedelta(minutes=4))
    for i in range(items):
        status = "failed" if rng.random() < 0.05 else "passed"
        record.items.append(ItemRow(run_id, "production", at, record.finished_at, f"checks/c{i % 10}.gtm.yml",
                                    "reconcile", "revops@acme.example", f"CHECK-{i}", "CHECK", status,
                                    f"{rng.getrandbits(64):016x}" if status == "failed" else "0" * 16,
                                    "expected 428000, received 391000" if status == "failed" else ""))
    for m in range(metrics):
        record.metrics.append(MetricRow(run_id, "production", at, f"checks/c{m % 10}.gtm.yml", f"CHECK-{m}",
                                        "received", "", 428000 + rng.gauss(0, 500)))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--runs", type=int, default=KEEP_RUNS)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.duckdb"
        store = HistoryStore.for_file(path)
        try:
            began = time.perf_counter()
            for n in range(args.runs):
                store.append(night(n, args.items, args.metrics, rng))
            fill = time.perf_counter() - began
            began = time.perf_counter()
            store.append(night(args.runs, args.items, args.metrics, rng))  # the 401st: the oldest run goes
            append = time.perf_counter() - began
            began = time.perf_counter()
            trends = build_trends(store, "production", last=30)
            read = time.perf_counter() - began
            began = time.perf_counter()
            store.consecutive("production", "checks/c0.gtm.yml", "CHECK-0", "passed")
            streak = time.perf_counter() - began
            kept = len(store.runs("production", last=10_000))
        finally:
            store.close()
        size = path.stat().st_size
    rows = args.items + args.metrics
    print(f"{args.runs} runs of {args.items} checks and {args.metrics} totals ({rows} rows a run): "
          f"filled in {fill:.1f} s ({1000 * fill / args.runs:.0f} ms a run)")
    print(f"one more nightly append (deleting the oldest run): {1000 * append:.0f} ms; runs kept: {kept}")
    print(f"trends of the last 30 runs ({len(trends.statuses)} strips, "
          f"{sum(len(t) for t in trends.metrics.values())} verdicts): {1000 * read:.0f} ms")
    print(f"consecutive() for one check: {1000 * streak:.0f} ms; file: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
