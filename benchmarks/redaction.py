"""Benchmark: ``secrets.redact`` over 1 MB of text, and a growth curve from 64 KB to 4 MB to show it is linear.

The text is log- and report-like (check messages, URLs with query strings, JSON error bodies with escapes,
percent-encoded values, ``&`` entities), with a registered token in several spellings every ~8 KB. Also timed:
the worst inputs of the old quadratic code (one long word; ``a:`` repeated), and 10 registered secrets.

Run: python benchmarks/redaction.py [--secrets N] [--repeat R]
"""

from __future__ import annotations

import argparse
import base64
import random
import time
import uuid
from collections.abc import Callable

from gtmcheck import secrets

KB = 1024
SIZES = [64 * KB, 256 * KB, 1024 * KB, 4096 * KB]
LINES = [
    "checks/routing.gtm.yml::ROUTING-VOLUME-TEST lead {n} assigned to anna@acme.example after 412 ms",
    "GET https://api.hubapi.com/crm/v3/objects/contacts/{n}?properties=email,hubspot_owner_id -> 200 (83 ms)",
    'hubspot: {{"status":"error","message":"Property \\"lifecyclestage\\" is invalid","correlationId":"{u}"}}',
    "https://www.acme.example/spring?utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_launch%20x&a=b",
    "expected 428000 ARR (warehouse), received 391000 ARR (CRM), diff -37000 (-8.6%) &amp; 12 records differ",
    "Authorization header sent; Bearer value hidden; the basic checks passed for {n} leads",
]


def make_text(size: int, token: str, rng: random.Random) -> str:
    """About ``size`` characters of log-like lines, with the token (plain, upper, base64) every ~8 KB."""
    parts: list[str] = []
    total = 0
    n = 0
    spellings = [token, token.upper(), base64.b64encode(token.encode()).decode()]
    while total < size:
        n += 1
        line = rng.choice(LINES).format(n=n, u=uuid.UUID(int=rng.getrandbits(128)))
        if n % 60 == 0:
            line += f" echoed {spellings[n // 60 % 3]}"
        parts.append(line)
        total += len(line) + 1
    return "\n".join(parts)[:size]


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def curve(label: str, make: Callable[[int], str], repeat: int) -> None:
    print(f"\n{label}")
    print(f"{'size':>8} {'seconds':>9} {'MB/s':>7} {'s per MB':>9}")
    for size in SIZES:
        text = make(size)
        seconds = best_time(lambda: secrets.redact(text), repeat)  # noqa: B023 - called at once
        mb = size / (1024 * KB)
        print(f"{size // KB:>6} KB {seconds:>9.3f} {mb / seconds:>7.1f} {seconds / mb:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=3, help="registered secrets (default 3: token, password, "
                        "webhook secret)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per size")
    args = parser.parse_args()
    rng = random.Random(8)
    token = f"pat-na1-{uuid.UUID(int=rng.getrandbits(128))}"
    secrets.register(token)
    secrets.register("postgresql://gtm:S3cret-Warehouse-pw@db.internal:5432/gtm")
    secrets.register("whsec_" + base64.b64encode(rng.randbytes(24)).decode())
    for _ in range(max(0, args.secrets - 3)):
        secrets.register(f"pat-na1-{uuid.UUID(int=rng.getrandbits(128))}")

    sample = make_text(1024 * KB, token, rng)
    masked = secrets.redact(sample)
    assert token not in masked and token.upper() not in masked
    print(f"secrets registered: {max(3, args.secrets)}; 1 MB sample: {masked.count(secrets.MASK)} masks")
    seconds = best_time(lambda: secrets.redact(sample), args.repeat)
    print(f"1 MB of log-like text: {seconds:.3f} s ({1 / seconds:.1f} MB/s)")

    curve("log-like text", lambda size: make_text(size, token, random.Random(size)), args.repeat)
    curve("one long word (the old code took 5.4 s for 40,000 letters, growing quadratically)",
          lambda size: "a" * size, args.repeat)
    curve("'a:' repeated", lambda size: "a:" * (size // 2), args.repeat)


if __name__ == "__main__":
    main()
