"""Benchmark: the reconcile drill-down against reladiff on two 5,000,000-row DuckDB tables, 25 seeded differences.

``left_deals`` and ``right_deals`` (``id BIGINT``, ``amount DECIMAL(18,2)``) are equal but for 25 seeded
differences: 8 ids missing on the right, 8 ids only on the right (missing on the left) and 9 amounts changed.
Each tool runs in its own fresh subprocess on the same file in the same run, so its time and peak memory
(``VmHWM`` of that process: Python, the driver and DuckDB inside it) are measured the same way. A tool
passes when it names all 25 keys with the right sort of difference and invents none.

``gtmcheck`` is ``diff_keys`` as the reconcile kind calls it (DuckDB's own ``HASH``); ``gtmcheck-md5`` the
same with the portable MD5 checksums that ``diff_records`` (CRM records against the warehouse) relies on.
reladiff runs twice: ``hashdiff`` (checksums and bisection, the algorithm the drill-down follows and the one
reladiff needs across databases) and ``joindiff`` (one outer join, which reladiff picks by itself when both
tables are in one database).

Run: pip install -e '.[bench]' && python benchmarks/reconcile.py [--rows N] [--seed S] [--db PATH] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOOLS = ("gtmcheck", "gtmcheck-md5", "reladiff-hashdiff", "reladiff-joindiff")
MEMORY_TARGET_MB = 500


def build(path: Path, rows: int, seed: int) -> dict[str, list[int]]:
    """Write both tables and return the seeded differences by sort."""
    import duckdb

    rng = random.Random(seed)
    picked = rng.sample(range(1, rows + 1), 17)
    seeded = {"missing_right": sorted(picked[:8]), "differing": sorted(picked[8:]),
              "missing_left": sorted(rng.sample(range(rows + 1, 10 * rows), 8))}
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE left_deals AS SELECT i AS id, CAST((i * 7919) % 1000000 AS DECIMAL(18, 2)) / 100 "
                "AS amount FROM range(1, ?) t(i)", [rows + 1])
    con.execute("CREATE TABLE right_deals AS SELECT * FROM left_deals ORDER BY hash(id)")  # another row order
    con.execute(f"DELETE FROM right_deals WHERE id IN ({', '.join(map(str, seeded['missing_right']))})")
    changed = ", ".join(map(str, seeded["differing"]))
    con.execute(f"UPDATE right_deals SET amount = amount + 0.01 WHERE id IN ({changed})")
    con.executemany("INSERT INTO right_deals VALUES (?, 42.00)", [[k] for k in seeded["missing_left"]])
    con.close()
    return seeded


def run_gtmcheck(db: Path, *, native: bool) -> dict[str, list[str]]:
    from gtmcheck.connectors.warehouse import Warehouse
    from gtmcheck.kinds.reconcile import drilldown
    from gtmcheck.kinds.reconcile.drilldown import KeyedSide, diff_keys

    drilldown.NATIVE_HASH = native  # gtmcheck-md5: the portable MD5 checksums diff_records relies on

    with Warehouse(f"duckdb:///{db.as_posix()}", read_only=True) as wh:
        diff = diff_keys(wh, KeyedSide("id", table="left_deals", value="amount"),
                         KeyedSide("id", table="right_deals", value="amount"), precision=2)
    return {"missing_left": diff.missing_left, "missing_right": diff.missing_right,
            "differing": [d.key for d in diff.differing] + [d.key for d in diff.duplicated]}


def run_reladiff(db: Path, algorithm: str) -> dict[str, list[str]]:
    from reladiff import Algorithm, connect_to_table, diff_tables

    uri = f"duckdb://main@{db.as_posix()}"
    left = connect_to_table(uri, "left_deals", "id", extra_columns=("amount",))
    right = connect_to_table(uri, "right_deals", "id", extra_columns=("amount",))
    signs: dict[str, set[str]] = {}
    for sign, row in diff_tables(left, right, algorithm=Algorithm(algorithm)):
        signs.setdefault(str(row[0]), set()).add(sign)
    return {"missing_left": sorted(k for k, s in signs.items() if s == {"+"}),
            "missing_right": sorted(k for k, s in signs.items() if s == {"-"}),
            "differing": sorted(k for k, s in signs.items() if s == {"+", "-"})}


def worker(tool: str, db: Path) -> None:
    """Run one tool in this (fresh) process and print its findings, time and peak RSS as JSON."""
    start = time.perf_counter()
    if tool.startswith("gtmcheck"):
        found = run_gtmcheck(db, native=tool == "gtmcheck")
    else:
        found = run_reladiff(db, tool.split("-", 1)[1])
    elapsed = time.perf_counter() - start
    print(json.dumps({"tool": tool, "seconds": elapsed, "peak_mb": peak_rss_mb(), "found": found}))


def peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM``, which starts afresh at exec.

    ``ru_maxrss`` does not: Linux carries the parent's peak over fork and exec into the child, so every
    worker would report at least what the parent used to build the tables.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; bytes on macOS


def measure(tool: str, db: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", tool, "--db", str(db)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"tool": tool, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def judge(found: dict[str, list[str]], seeded: dict[str, list[int]]) -> tuple[int, int, int]:
    """(named right, missed, invented) against the seeded differences."""
    want = {(sort, str(k)) for sort, keys in seeded.items() for k in keys}
    got = {(sort, str(k)) for sort, keys in found.items() for k in keys}
    return len(want & got), len(want - got), len(got - want)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--db", type=Path, help="the DuckDB file (built in a temporary directory if not given)")
    parser.add_argument("--only", choices=TOOLS, action="append", help="run only this tool (repeatable)")
    parser.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.db)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "reconcile.duckdb"
        start = time.perf_counter()
        seeded = build(db, args.rows, args.seed)
        print(f"built 2 x {args.rows:,} rows with {sum(map(len, seeded.values()))} seeded differences "
              f"in {time.perf_counter() - start:.1f} s ({db.stat().st_size / 2**20:.0f} MB)")
        failed = False
        for tool in args.only or TOOLS:
            result = measure(tool, db)
            if "error" in result:
                print(f"{tool:18} error: {result['error']}")
                failed = True
                continue
            named, missed, invented = judge(result["found"], seeded)
            ok = missed == 0 and invented == 0
            failed |= not ok or (tool == "gtmcheck" and result["peak_mb"] > MEMORY_TARGET_MB)
            print(f"{tool:18} {result['seconds']:7.2f} s  peak RSS {result['peak_mb']:6.0f} MB  "
                  f"named {named}/25  missed {missed}  invented {invented}  {'ok' if ok else 'WRONG'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
