"""Benchmark: `gtmcheck lint` on generated routing tables of 100, 200, 400 and 1,000 rules.

The tables look like real ones: territories (country lists, US states), employee and revenue bands
(gte/lt), industries, customer/partner email_domain lists from files, round robins, a fallback, plus the
mistakes real tables carry (a narrow rule below a broader one, a flipped band, deliberate overlaps).
For each size it prints the rules, the listed values, the wall time of `gtmcheck lint FILE` as a user runs it
(a subprocess), the in-process split (load and validate, kind lint, output) and the findings count.

Run: python benchmarks/routing_lint.py [--sizes 100,200,400,1000] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from gtmcheck.findings import Finding
from gtmcheck.kinds import get_kind
from gtmcheck.linter import lint_checklist
from gtmcheck.lintformat import format_text
from gtmcheck.spec import load_checklist

HEADER = """\
kind: routing
name: Benchmark routing table
owner: mops@acme.example
built_by: jane@acme.example
object: contacts
"""
US_STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
]
INDUSTRIES = ["software", "fintech", "healthcare", "retail", "manufacturing", "education", "media", "energy",
              "logistics", "telecom", "insurance", "government", "nonprofit", "hospitality", "automotive"]
EMPLOYEE_BANDS = [(None, 50), (50, 200), (200, 1000), (1000, 5000), (5000, None)]
REVENUE_BANDS = [(None, 10_000_000), (10_000_000, 100_000_000), (100_000_000, None)]


def _countries(rng: random.Random, region: int) -> list[str]:
    """A territory's country codes: regions are disjoint blocks of made-up three-letter codes, 4-12 each."""
    size = 4 + region % 9
    return [f"{chr(65 + region % 26)}{chr(65 + region // 26 % 26)}{chr(65 + k)}" for k in range(size)]


def _band(lo: float | None, hi: float | None) -> str:
    parts = ([f"gte: {lo}"] if lo is not None else []) + ([f"lt: {hi}"] if hi is not None else [])
    return "{" + ", ".join(parts) + "}"


def table(n: int, seed: int = 11) -> tuple[str, dict[str, str], int]:
    """A routing checklist of ``n`` rules, its list files and the number of values its rules list."""
    rng = random.Random(seed)
    customers = [f"customer{k}.example" for k in range(max(200, n * 2))]
    partners = [f"partner{k}.example" for k in range(max(50, n // 2))]
    files = {"customers.csv": "domain\n" + "\n".join(customers) + "\n", "partners.txt": "\n".join(partners) + "\n"}
    rules: list[str] = [
        "  - id: existing-customer\n    when: {email_domain: {in_list: customer_domains}}\n"
        "    assign: {owner_of: account}\n",
        "  - id: partners\n    when: {email_domain: {in_list: partner_domains}}\n"
        "    assign: {queue: partner-desk@acme.example}\n",
    ]
    listed = len(customers) + len(partners)
    k = 0
    while len(rules) < n - 1:
        k += 1
        region = k // 15
        rid = f"r{k}"
        owner = f"rep{k % 97}@acme.example"
        assign = (f"{{round_robin: [{owner}, rep{(k + 1) % 97}@acme.example, rep{(k + 2) % 97}@acme.example]}}"
                  if k % 5 == 0 else f"{{owner: {owner}}}")
        lo, hi = EMPLOYEE_BANDS[k % len(EMPLOYEE_BANDS)]
        when: list[str]
        if k % 4 == 0:  # a US territory: a block of states x an employee band x an industry group
            u = k // 4
            ulo, uhi = EMPLOYEE_BANDS[u % 5]
            block = (u // 5) % 10
            states = US_STATES[block * 5:block * 5 + 5]
            if k % 44 == 0:  # a state moved to another territory but left in this one too: they overlap
                states = [*states, US_STATES[(block * 5 + 7) % 50]]
            g = (u // 50) % 5
            inds = INDUSTRIES[g * 3:g * 3 + 3]
            when = ["country: {equals: US}", f"state: {{in: [{', '.join(states)}]}}",
                    f"employees: {_band(ulo, uhi)}", f"industry: {{in: [{', '.join(inds)}]}}"]
            listed += len(states) + len(inds)
        else:  # an international territory: countries, a band, an industry group
            countries = _countries(rng, region)
            g = (k // 5) % 5  # with the band: 25 distinct segments per region of 15 rules
            inds = INDUSTRIES[g * 3:g * 3 + 3]
            when = [f"country: {{in: [{', '.join(countries)}]}}", f"employees: {_band(lo, hi)}",
                    f"industry: {{in: [{', '.join(inds)}]}}"]
            listed += len(countries) + len(inds)
        if k % 40 == 0:  # strategic: a revenue band over a whole region, overlapping its territories
            rlo, rhi = REVENUE_BANDS[(k // 40) % len(REVENUE_BANDS)]
            countries = _countries(rng, region)
            when = [f"country: {{in: [{', '.join(countries)}]}}", f"annual_revenue: {_band(rlo, rhi)}"]
            listed += len(countries)
        if k % 97 == 0:  # a flipped band: no lead matches
            when = [when[0], "employees: {gte: 5000, lt: 50}"]
        if k % 61 == 0 and len(rules) > 3:  # a narrower copy of the rule above, added below it: shadowed
            prev = rules[-1].split("when: {", 1)[1].rsplit("}\n    assign", 1)[0]
            when = [prev, "job_title: {matches: \"(?i)vp|chief\"}"]
        rules.append(f"  - id: {rid}\n    when: {{{', '.join(when)}}}\n    assign: {assign}\n")
    rules.append("  - id: rest-of-world-enterprise\n    when: {employees: {gte: 5000}}\n"
                 "    assign: {round_robin: [ent1@acme.example, ent2@acme.example]}\n")
    text = (HEADER + "lists:\n  customer_domains: {file: customers.csv}\n  partner_domains: {file: partners.txt}\n"
            "rules:\n" + "".join(rules) + "fallback: {queue: inbound-queue@acme.example}\n"
            "edge_cases: {unmatched_territory: fallback, duplicate_contact: existing_owner,\n"
            "             existing_customer_domain: existing-customer}\n")
    return text, files, listed


def write(folder: Path, n: int) -> tuple[Path, int]:
    text, files, listed = table(n)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    path = folder / f"routing{n}.gtm.yml"
    path.write_text(text, encoding="utf-8")
    return path, listed


def in_process(path: Path) -> tuple[float, float, float, int]:
    """Seconds to load and validate, to lint (governance + kind), to render; and the findings count."""
    t0 = time.perf_counter()
    checklist = load_checklist(path)
    t1 = time.perf_counter()
    findings: list[Finding] = lint_checklist(checklist)
    t2 = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        print(format_text(sorted(findings, key=Finding.sort_key)))
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, len(findings)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,200,400,1000")
    ap.add_argument("--profile", type=int, default=0, help="print a cProfile summary of the kind lint at this size")
    args = ap.parse_args()
    gtmcheck = Path(sys.executable).with_name("gtmcheck")
    get_kind("routing")
    print(f"{'rules':>6} {'listed':>7} {'cli s':>7} {'load s':>7} {'lint s':>7} {'out s':>6} {'findings':>8} "
          f"{'ms/rule':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in [int(s) for s in args.sizes.split(",")]:
            path, listed = write(folder, n)
            if args.profile == n:
                prof = cProfile.Profile()
                prof.enable()
                in_process(path)
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            load, lint, out, count = min((in_process(path) for _ in range(2)), key=lambda t: sum(t[:3]))
            t0 = time.perf_counter()
            proc = subprocess.run([str(gtmcheck), "lint", str(path)], cwd=folder, capture_output=True, text=True,
                                  check=False)
            cli = time.perf_counter() - t0
            if proc.returncode == 2:
                sys.exit(f"gtmcheck lint failed on the generated table:\n{proc.stdout}{proc.stderr}")
            print(f"{n:>6} {listed:>7} {cli:>7.2f} {load:>7.2f} {lint:>7.2f} {out:>6.2f} {count:>8} "
                  f"{cli / n * 1000:>8.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
