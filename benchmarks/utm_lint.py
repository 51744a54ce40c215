"""Benchmark: lint 100,000 campaign URLs (load + prepare + lint) and print URLs/s.

Run: python benchmarks/utm_lint.py [--urls N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import os
import pstats
import random
import tempfile
import time
from pathlib import Path

from gtmcheck.kinds import get_kind
from gtmcheck.spec import load_checklist

CHECKLIST = """\
kind: utm
name: Benchmark taxonomy
owner: mops@acme.example
built_by: jane@acme.example
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  case: lower
  separator: "_"
  max_length: 80
  banned: [test, draft, tbd]
  parameters:
    utm_source: {allowed: [google, bing, linkedin, facebook, youtube, newsletter, g2, hubspot]}
    utm_medium: {allowed: [cpc, paid_social, paid_video, social, email, referral]}
    utm_campaign: {pattern: "^fy[0-9]{2}q[1-4]_(emea|na|apac|global)_[a-z0-9]+(_[a-z0-9]+)*$"}
    utm_term: {}
    utm_content: {}
  combinations:
    google: [cpc]
    bing: [cpc]
    linkedin: [paid_social, social]
    facebook: [paid_social, social]
    youtube: [paid_video]
    newsletter: [email]
channels:
  expected: [Paid Search, Paid Social, Email]
url_files:
  - {path: urls.csv, id_column: id, url_column: url}
"""

PAIRS = [
    ("google", "cpc"),
    ("bing", "cpc"),
    ("linkedin", "paid_social"),
    ("facebook", "social"),
    ("youtube", "paid_video"),
    ("newsletter", "email"),
    ("g2", "referral"),
]
FAULTS = [
    lambda u: u.replace("utm_medium=", "utm_medium=Paid"),
    lambda u: u.replace("https://", "http://"),
    lambda u: u.replace("_launch", "%20launch"),
    lambda u: u + "&utm_source=bing",
    lambda u: u.replace("utm_campaign=", "utm_campaign=test_"),
    lambda u: u.replace("?", "#x?"),
    lambda u: u.replace("&utm_medium=", "&utm_mediun="),
    lambda u: u.replace("_launch", "-launch"),
]


def generate(path: Path, n: int, seed: int = 7) -> None:
    """Write ``n`` campaign URLs, about one in five with a typical fault."""
    rng = random.Random(seed)
    regions = ["emea", "na", "apac", "global"]
    names = ["launch", "pipeline_webinar", "pricing_retargeting", "ebook", "summer_promo", "saastr"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "url"])
        for i in range(n):
            src, med = rng.choice(PAIRS)
            camp = f"fy26q{rng.randint(1, 4)}_{rng.choice(regions)}_{rng.choice(names)}_{rng.randint(1, 400)}"
            url = (
                f"https://www.acme.example/p/{rng.randint(1, 300)}?utm_source={src}&utm_medium={med}"
                f"&utm_campaign={camp}&utm_content=v{rng.randint(1, 9)}"
            )
            if rng.random() < 0.2:
                url = rng.choice(FAULTS)(url)
            w.writerow([f"c{i}", url])


def run(folder: Path) -> int:
    checklist = load_checklist(folder / "bench.gtm.yml")
    return sum(1 for _ in get_kind("utm").lint(checklist))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", type=int, default=100_000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bench.gtm.yml").write_text(CHECKLIST, encoding="utf-8")
        generate(folder / "urls.csv", args.urls)
        run(folder)  # warm-up: imports, the GA4 source list
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        best, cpu, findings = float("inf"), float("inf"), 0
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            findings = run(folder)
            best = min(best, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
        if args.profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(20)
    print(
        f"{args.urls:,} URLs, {findings:,} findings: {best:.2f} s wall, {cpu:.2f} s CPU (best of 3), "
        f"{args.urls / best:,.0f} URLs/s; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
