"""Benchmark: the attribution check's recompute and compare in DuckDB against the same written as plain pandas.

A DuckDB file holds ``touchpoints`` (10,000,000 rows: id, contact_id, channel, occurred_at), ``conversions``
(1,000,000: id, contact_id, converted_at) and two attribution tables as a tool would export them,
``attribution_position_based`` and ``attribution_time_decay`` (credit per conversion and touch, a bucket row
for a conversion with no touch), each with the same 25 seeded faults: a conversion whose credits were shifted.
Everything is generated in SQL; touches fall mostly in the 120 days before their contact's conversion, so a
conversion has about seven in its 90-day window.

Each contender runs in its own fresh subprocess, so its time and peak memory (``VmHWM``: Python, pandas or
DuckDB inside it) are measured alike:

- ``gtmcheck``: ``compare_conversions`` and ``compare_channels`` of kinds/attribution/sql.py through the
  warehouse connector (push-down; only the differing rows come back, at most 1,000);
- ``pandas``: the touchpoints, conversions and attribution table read into DataFrames, the same model
  recomputed with merge/sort/groupby, compared per conversion and channel, then per channel.

A contender passes when it names exactly the 25 seeded conversions. The build is not timed.

Run: pip install -e '.[bench]' && python benchmarks/attribution.py [--touchpoints N] [--conversions N]
     [--models position_based,time_decay] [--only gtmcheck|pandas] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONTENDERS = ("gtmcheck", "pandas")
MODELS = ("position_based", "time_decay")
CHANNELS = ("Paid Search", "Paid Social", "Paid Video", "Organic Search", "Organic Social", "Email", "Referral",
            "Direct")
SEEDED = 25
TOLERANCE = 1e-6
LOOKBACK_DAYS = 90
HALF_LIFE_DAYS = 7.0
WEIGHTS = (0.4, 0.2, 0.4)
MAX_ROWS = 1000  # differing rows the check pulls, as the kind does


def _specs() -> tuple[Any, Any, Any]:
    from gtmcheck.kinds.attribution.models import Conversions, Lookback, Touchpoints

    return Touchpoints("touchpoints"), Conversions("conversions"), Lookback(days=LOOKBACK_DAYS)


def _model(name: str) -> Any:
    from gtmcheck.kinds.attribution.models import AttributionModel

    return AttributionModel(name, half_life_days=HALF_LIFE_DAYS, position_weights=WEIGHTS)


def build(path: Path, touchpoints: int, conversions: int, models: list[str]) -> list[int]:
    """Write the tables (in SQL) and return the seeded conversions' ids."""
    import duckdb
    from sqlalchemy import text

    from gtmcheck.connectors.warehouse import Warehouse
    from gtmcheck.kinds.attribution.sql import recompute

    path.unlink(missing_ok=True)
    contacts = int(conversions * 1.01)  # a few contacts touch but never convert
    channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    con = duckdb.connect(str(path))
    # A contact's conversion time: a pseudo-random second of 2026 (the same expression on both tables).
    conv_at = "TIMESTAMP '2026-01-01' + to_seconds(({c} * 2654435761) % 31536000)"
    con.execute(f"CREATE TABLE conversions AS SELECT i AS id, i AS contact_id, {conv_at.format(c='i')} AS "
                f"converted_at FROM range(1, {conversions + 1}) t(i)")
    con.execute(
        f"CREATE TABLE touchpoints AS SELECT i AS id, c AS contact_id, "
        f"{channels}[1 + (hash(i * 3) % {len(CHANNELS)})::INTEGER] AS channel, "
        f"{conv_at.format(c='c')} - to_seconds((hash(i * 5) % (130 * 86400))::BIGINT - 10 * 86400) AS occurred_at "
        f"FROM (SELECT i, 1 + (hash(i) % {contacts})::BIGINT AS c FROM range(1, {touchpoints + 1}) t(i))")
    con.close()
    seeded = sorted({1 + (k * 7919) % conversions for k in range(1, SEEDED + 1)})
    tp, conv, lookback = _specs()
    with Warehouse(f"duckdb:///{path.as_posix()}") as wh, wh.engine.begin() as conn:
        for name in models:
            sql = str(recompute(_model(name), tp, conv, lookback).compile(
                dialect=wh.engine.dialect, compile_kwargs={"literal_binds": True}))
            table = f"attribution_{name}"
            conn.execute(text(f"CREATE TABLE {table} AS SELECT conversion_id, touch_id AS touchpoint_id, channel, "
                              f"credit FROM ({sql}) r"))
            conn.execute(text(f"INSERT INTO {table} SELECT id, NULL, 'Unattributed', 1.0 FROM conversions c WHERE "
                              f"NOT EXISTS (SELECT 1 FROM {table} a WHERE a.conversion_id = c.id)"))
            conn.execute(text(f"UPDATE {table} SET credit = credit + 0.05 WHERE conversion_id IN "
                              f"({', '.join(map(str, seeded))})"))
    return seeded


def run_gtmcheck(db: Path, model: str) -> dict[str, Any]:
    from gtmcheck.connectors.warehouse import Warehouse
    from gtmcheck.kinds.attribution.models import AttributionTable
    from gtmcheck.kinds.attribution.sql import compare_channels, compare_conversions

    tp, conv, lookback = _specs()
    attr = AttributionTable(f"attribution_{model}")
    with Warehouse(f"duckdb:///{db.as_posix()}", read_only=True) as wh:
        _, rows = wh.select(compare_conversions(_model(model), tp, conv, lookback, attr, TOLERANCE),
                            limit=MAX_ROWS + 1)
        _, channels = wh.select(compare_channels(_model(model), tp, conv, lookback, attr, TOLERANCE))
    return {"conversions": sorted({int(r[0]) for r in rows}), "channels": len(channels)}


def run_pandas(db: Path, model: str) -> dict[str, Any]:
    """The same recompute and compare as plain pandas: read the tables, merge, sort, group."""
    import duckdb
    import numpy as np
    import pandas as pd

    with duckdb.connect(str(db), read_only=True) as con:
        touches = con.execute("SELECT id, contact_id, channel, occurred_at FROM touchpoints").df()
        convs = con.execute("SELECT id, contact_id, converted_at FROM conversions").df()
        actual = con.execute(f"SELECT conversion_id, channel, credit FROM attribution_{model}").df()
    m = convs.merge(touches, on="contact_id", suffixes=("_conv", "_touch"))
    age = (m["converted_at"] - m["occurred_at"]).dt.total_seconds() / 86400
    keep = (age >= 0) & (age < LOOKBACK_DAYS)
    m = m.loc[keep].assign(age=age[keep])
    m = m.sort_values(["id_conv", "occurred_at", "id_touch"], kind="stable")
    groups = m.groupby("id_conv", sort=False)
    if model == "position_based":
        pos = groups.cumcount().to_numpy() + 1
        n = groups["id_touch"].transform("size").to_numpy()
        first, middle, last = WEIGHTS
        with np.errstate(divide="ignore", invalid="ignore"):
            credit = np.select([n == 1, (n == 2) & (pos == 1), n == 2, pos == 1, pos == n],
                               [1.0, first / (first + last), last / (first + last), first, last],
                               middle / (n - 2))
    else:
        youngest = groups["age"].transform("min")
        weight = np.power(2.0, -(m["age"] - youngest) / HALF_LIFE_DAYS)
        credit = (weight / weight.groupby(m["id_conv"]).transform("sum")).to_numpy()
    m = m.assign(credit=credit)
    expected = m.groupby(["id_conv", "channel"], as_index=False)["credit"].sum().rename(
        columns={"id_conv": "conversion_id"})
    bucket = convs.loc[~convs["id"].isin(m["id_conv"]), ["id"]].rename(columns={"id": "conversion_id"})
    expected = pd.concat([expected, bucket.assign(channel="Unattributed", credit=1.0)], ignore_index=True)
    actual = actual.groupby(["conversion_id", "channel"], as_index=False)["credit"].sum()
    both = expected.merge(actual, on=["conversion_id", "channel"], how="outer", suffixes=("_exp", "_act")).fillna(
        {"credit_exp": 0.0, "credit_act": 0.0})
    differ = both[(both["credit_act"] - both["credit_exp"]).abs() > TOLERANCE]
    per_channel = both.groupby("channel")[["credit_exp", "credit_act"]].sum()
    channels = per_channel[(per_channel["credit_act"] - per_channel["credit_exp"]).abs() > TOLERANCE]
    return {"conversions": sorted(int(c) for c in differ["conversion_id"].unique()), "channels": len(channels)}


def worker(contender: str, db: Path, model: str) -> None:
    """Run one contender in this (fresh) process and print its findings, time and peak RSS as JSON."""
    start = time.perf_counter()
    found = run_gtmcheck(db, model) if contender == "gtmcheck" else run_pandas(db, model)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_rss_mb(), **found}))


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``, which starts afresh at exec, unlike ``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(contender: str, db: Path, model: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", contender, "--db", str(db), "--models", model],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--touchpoints", type=int, default=10_000_000)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: position_based,time_decay")
    parser.add_argument("--db", type=Path, help="the DuckDB file (built in a temporary directory if not given)")
    parser.add_argument("--only", choices=CONTENDERS, action="append", help="run only this contender")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    if any(m not in MODELS for m in models):
        parser.error(f"--models takes {', '.join(MODELS)}")
    if args.worker:
        worker(args.worker, args.db, models[0])
        return 0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "attribution.duckdb"
        start = time.perf_counter()
        seeded = build(db, args.touchpoints, args.conversions, models)
        print(f"built {args.touchpoints:,} touchpoints, {args.conversions:,} conversions and {len(models)} "
              f"attribution tables ({len(seeded)} seeded faults) in {time.perf_counter() - start:.1f} s "
              f"({db.stat().st_size / 2**20:.0f} MB)")
        print(f"{'model':15} {'contender':10} {'time':>9} {'peak RSS':>10}  result")
        for model in models:
            for contender in args.only or CONTENDERS:
                result = measure(contender, db, model)
                if "error" in result:
                    print(f"{model:15} {contender:10} error: {result['error']}")
                    failed = True
                    continue
                ok = result["conversions"] == seeded
                failed |= not ok
                print(f"{model:15} {contender:10} {result['seconds']:7.2f} s {result['peak_mb']:7.0f} MB  "
                      f"named {len(set(result['conversions']) & set(seeded))}/{len(seeded)}, "
                      f"{len(set(result['conversions']) - set(seeded))} invented, "
                      f"{result['channels']} channels differ  {'ok' if ok else 'WRONG'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
