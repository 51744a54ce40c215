"""Routing lint on long tables: the pruned solver finds what a plain pairwise search finds, deep in the table."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gtmcheck.findings import Finding
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.routing import spec_of
from gtmcheck.kinds.routing.logic import Solver
from gtmcheck.spec import load_checklist

HEADER = """\
kind: routing
name: Long table
owner: mops@acme.example
built_by: jane@acme.example
lists:
  customer_domains: [{domains}]
rules:
  - id: existing-customer
    when: {{email_domain: {{in_list: customer_domains}}}}
    assign: {{owner_of: account}}
"""
BANDS = ["{lt: 50}", "{gte: 50, lt: 200}", "{gte: 200, lt: 1000}", "{gte: 1000, lt: 5000}", "{gte: 5000}"]
SHADOWED = {40, 120, 250}  # a narrower copy of the rule above it
CONTRADICTORY = {77, 199}  # a flipped employee band


def long_table(n: int) -> str:
    """``n`` territory rules (country block x employee band x industry), with planted mistakes."""
    domains = ", ".join(f"customer{k}.example" for k in range(500))
    rules = [HEADER.format(domains=domains)]
    prev = ""
    for k in range(1, n):
        region, band, industry = k // 10, k % 5, (k // 5) % 2
        countries = ", ".join(f"C{region}x{c}" for c in range(4))
        when = f"country: {{in: [{countries}]}}, employees: {BANDS[band]}, industry: {{equals: ind{industry}}}"
        if k in SHADOWED:
            when = prev + ", title: {matches: \"(?i)vp|chief\"}"
        if k in CONTRADICTORY:
            when = f"country: {{in: [{countries}]}}, employees: {{gte: 5000, lt: 50}}"
        rules.append(f"  - id: r{k}\n    when: {{{when}}}\n    assign: {{owner: rep{k % 7}@acme.example}}\n")
        prev = when
    rules.append("fallback: {queue: inbound-queue@acme.example}\n")
    return "".join(rules)


def test_planted_mistakes_deep_in_a_long_table_are_found(tmp_path: Path) -> None:
    path = tmp_path / "long.gtm.yml"
    path.write_text(long_table(300), encoding="utf-8")
    findings = sorted(get_kind("routing").lint(load_checklist(path)), key=Finding.sort_key)
    shadowed = {f.message.split()[1] for f in findings if f.code == "ROUTE101"}
    contradictory = {f.message.split()[1] for f in findings if f.code == "ROUTE102"}
    assert shadowed == {f"r{k}" for k in SHADOWED}
    assert contradictory == {f"r{k}" for k in CONTRADICTORY}
    for k in SHADOWED:  # named with the rule right above it, which takes all its leads
        message = next(f.message for f in findings if f.code == "ROUTE101" and f.message.split()[1] == f"r{k}")
        assert f"shadowed by existing-customer and r{k - 1}:" in message
    overlaps = [f for f in findings if f.code == "ROUTE103"]
    assert len(overlaps) <= 300  # at most one per rule, however many rules it overlaps


@pytest.mark.parametrize("n", [25, 60])
def test_pruned_answers_equal_the_pairwise_reference(n: int, tmp_path: Path) -> None:
    """Overlaps and the first matching rule, against a test of every pair and every rule in order."""
    path = tmp_path / "long.gtm.yml"
    path.write_text(long_table(n), encoding="utf-8")
    rules = spec_of(load_checklist(path)).rules
    solver, reference = Solver(rules), Solver(rules)  # the reference never uses the index
    for i in range(len(rules)):
        for j in range(i):
            pairwise = reference.overlap_example(i, j) is not None
            assert pairwise <= bool(solver.meets(i) >> j & 1), (rules[i].id, rules[j].id)
    rng = random.Random(3)
    for _ in range(400):
        lead: dict[str, str | int] = {
                "country": f"C{rng.randrange(n // 10 + 1)}x{rng.randrange(5)}",
                "employees": rng.choice([10, 50, 199, 200, 4999, 5000, 9000]),
                "industry": rng.choice(["ind0", "ind1", "other"]), "title": rng.choice(["VP Sales", "intern"])}
        if rng.random() < 0.3:
            lead["email_domain"] = f"customer{rng.randrange(600)}.example"
        linear = next((i for i, r in enumerate(rules) if solver.matches(lead, r)), None)
        assert solver.first_match(lead) == linear, lead
