"""Benchmark: validate 100,000 captured account.updated payloads with gtmcheck and with check-jsonschema.

Each payload is its own file (a realistic mix, about 3 % invalid in the ways drift shows up). gtmcheck's path
is the kind's: read the file, parse it, look up the schema by the event and version it claims, and
``validate_payload`` (the compiled fast path for valid payloads, jsonschema for the rest). check-jsonschema
runs as a subprocess on the same files (in batches, so argv stays short), with Python's regex dialect as
jsonschema uses it. Both must give the same verdict for every file. A third run without the fast path
(jsonschema alone) shows what the compiled validator earns.

Run: python benchmarks/webhook_validate.py [--payloads N] [--batch N] [--skip-slow]
Needs the bench extra: pip install -e '.[bench]'
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gtmcheck.kinds.webhooks import fastpath
from gtmcheck.kinds.webhooks.validate import SchemaRegistry, validate_payload

# The demo's account.updated 2.0 (gtmcheck/demo/schemas): closed objects, shared pieces in a sibling file.
COMMON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gtmcheck.example/demo/webhooks/account.updated/common.json",
    "$defs": {
        "event": {"const": "account.updated"},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "timestamp": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"},
        "account_id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "domain": {"type": "string", "pattern": r"^[a-z0-9.-]+\.[a-z]{2,}$"},
        "owner_email": {"type": ["string", "null"]},
        "country": {"type": ["string", "null"]},
    },
}
ACCOUNT_2_0 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gtmcheck.example/demo/webhooks/account.updated/2.0.json",
    "type": "object",
    "required": ["event", "version", "event_id", "occurred_at", "account_id", "properties"],
    "additionalProperties": False,
    "properties": {
        "event": {"$ref": "common.json#/$defs/event"},
        "version": {"type": "string", "pattern": r"^2\.\d+$"},
        "event_id": {"$ref": "common.json#/$defs/event_id"},
        "occurred_at": {"$ref": "common.json#/$defs/timestamp"},
        "account_id": {"$ref": "common.json#/$defs/account_id"},
        "properties": {
            "type": "object",
            "required": ["name", "domain", "arr"],
            "additionalProperties": False,
            "properties": {
                "name": {"$ref": "common.json#/$defs/name"},
                "domain": {"$ref": "common.json#/$defs/domain"},
                "arr": {"type": "number", "minimum": 0},
                "owner_email": {"$ref": "common.json#/$defs/owner_email"},
                "country": {"$ref": "common.json#/$defs/country"},
            },
        },
    },
}
NAMES = ["Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Soylent", "Acme GmbH"]
OWNERS = ["ben@acme.example", "anna@acme.example", "lee@acme.example", None]
COUNTRIES = ["DE", "FR", "GB", "US", "NL", None]


def _payload(rng: random.Random, i: int) -> dict[str, Any]:
    name = rng.choice(NAMES)
    millis = f".{rng.randint(0, 999):03d}" if rng.random() < 0.5 else ""
    return {
        "event": "account.updated", "version": "2.0", "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "occurred_at": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                       f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{millis}Z",
        "account_id": f"c{i:06d}",
        "properties": {"name": f"{name} {i % 997}", "domain": name.split()[0].lower() + ".example",
                       "arr": rng.choice([rng.randint(0, 500_000), round(rng.uniform(0, 500_000), 2)]),
                       "owner_email": rng.choice(OWNERS), "country": rng.choice(COUNTRIES)},
    }


# The ways a captured payload fails in practice: the 2.1 rename, a stringly number, a new field, a bad value.
FAULTS: list[Callable[[dict[str, Any]], None]] = [
    lambda p: p["properties"].update(annual_recurring_revenue=p["properties"].pop("arr")),
    lambda p: p["properties"].update(arr=str(p["properties"]["arr"])),
    lambda p: p["properties"].update(arr=-1),
    lambda p: p["properties"].update(domain=p["properties"]["domain"].title()),
    lambda p: p.update(source="crm-sync"),
    lambda p: p.update(event_id=""),
    lambda p: p.update(occurred_at=p["occurred_at"].replace("Z", "+00:00")),
    lambda p: p.pop("account_id"),
]


def generate(folder: Path, n: int, invalid: float, seed: int = 11) -> list[str]:
    """Write ``n`` payload files; about ``invalid`` of them carry one fault. Returns their names."""
    rng = random.Random(seed)
    names = []
    for i in range(n):
        payload = _payload(rng, i)
        if rng.random() < invalid:
            rng.choice(FAULTS)(payload)
        name = f"p{i:06d}.json"
        (folder / name).write_text(json.dumps(payload), encoding="utf-8")
        names.append(name)
    return names


def write_schemas(folder: Path) -> Path:
    event = folder / "account.updated"
    event.mkdir(parents=True)
    (event / "common.json").write_text(json.dumps(COMMON, indent=2), encoding="utf-8")
    (event / "2.0.json").write_text(json.dumps(ACCOUNT_2_0, indent=2), encoding="utf-8")
    return event / "2.0.json"


def gtmcheck_verdicts(payloads: Path, names: list[str], schemas: Path) -> dict[str, bool]:
    """The kind's path: read, parse, look the schema up by the payload's own event and version, validate."""
    registry = SchemaRegistry.from_folder(schemas)
    verdicts = {}
    for name in names:
        payload = json.loads((payloads / name).read_bytes())
        schema = registry.get(str(payload.get("event")), str(payload.get("version")))
        verdicts[name] = schema is not None and not validate_payload(schema, payload)
    return verdicts


def check_jsonschema_verdicts(payloads: Path, names: list[str], schema: Path, batch: int) -> dict[str, bool]:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    if tool is None:
        sys.exit("check-jsonschema is not installed: pip install -e '.[bench]'")
    failed: set[str] = set()
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        result = subprocess.run(
            [tool, "--schemafile", str(schema), "--base-uri", schema.as_uri(), "--regex-variant", "python",
             "-o", "json", *chunk], cwd=payloads, capture_output=True, text=True)
        if result.returncode not in (0, 1):
            sys.exit(f"check-jsonschema failed ({result.returncode}): {result.stderr[-2000:]}")
        report = json.loads(result.stdout)
        failed |= {e["filename"] for e in report["errors"]} | {e["filename"] for e in report["parse_errors"]}
    return {name: name not in failed for name in names}


def timed(run: Callable[[], dict[str, bool]]) -> tuple[float, float, dict[str, bool]]:
    """(wall seconds, CPU seconds of this process and of its finished children, verdicts)."""
    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    start, start_cpu = time.perf_counter(), cpu()
    verdicts = run()
    return time.perf_counter() - start, cpu() - start_cpu, verdicts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payloads", type=int, default=100_000)
    ap.add_argument("--invalid", type=float, default=0.03)
    ap.add_argument("--batch", type=int, default=5_000, help="files per check-jsonschema process")
    ap.add_argument("--skip-slow", action="store_true", help="skip the run without the fast path")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = write_schemas(folder / "schemas")
        payloads = folder / "payloads"
        payloads.mkdir()
        names = generate(payloads, args.payloads, args.invalid)
        gtmcheck_verdicts(payloads, names[:1000], folder / "schemas")  # warm-up: imports, page cache
        ours, ours_cpu, verdicts = min((timed(lambda: gtmcheck_verdicts(payloads, names, folder / "schemas"))
                                        for _ in range(3)), key=lambda t: t[0])
        theirs, theirs_cpu, reference = timed(lambda: check_jsonschema_verdicts(payloads, names, schema, args.batch))
        slow = slow_cpu = None
        if not args.skip_slow:
            compile_fast = fastpath.compile_fast
            fastpath.compile_fast = lambda schema: None  # type: ignore[assignment]  # jsonschema alone
            try:
                slow, slow_cpu, slow_verdicts = timed(lambda: gtmcheck_verdicts(payloads, names, folder / "schemas"))
            finally:
                fastpath.compile_fast = compile_fast
            assert slow_verdicts == verdicts
    invalid = sum(1 for ok in verdicts.values() if not ok)
    disagree = [name for name in names if verdicts[name] != reference[name]]
    n = args.payloads
    print(f"{n:,} payloads, {invalid:,} invalid ({invalid / n:.1%}); load average {os.getloadavg()[0]:.2f}")
    print(f"gtmcheck (fast path + jsonschema): {ours:6.2f} s wall, {ours_cpu:6.2f} s CPU, "
          f"{n / ours:,.0f} payloads/s (best of 3)")
    if slow is not None and slow_cpu is not None:
        print(f"gtmcheck, jsonschema alone:        {slow:6.2f} s wall, {slow_cpu:6.2f} s CPU, "
              f"{n / slow:,.0f} payloads/s")
    print(f"check-jsonschema, {-(-n // args.batch)} processes:     {theirs:6.2f} s wall, {theirs_cpu:6.2f} s CPU, "
          f"{n / theirs:,.0f} payloads/s")
    print(f"speed-up over check-jsonschema: {theirs / ours:.1f}x wall, {theirs_cpu / ours_cpu:.1f}x CPU "
          f"(target >= 5x); verdicts differ on {len(disagree)} of {n:,} files")
    assert not disagree, f"verdicts differ on {len(disagree)} files, e.g. {disagree[:5]}"


if __name__ == "__main__":
    main()
