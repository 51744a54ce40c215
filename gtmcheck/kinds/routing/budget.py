"""The lead budget of a routing checklist: how many synthetic leads a run sends, per rule and in all.

``gtmcheck lint`` prints it (text format only: JSON and SARIF carry findings, and a budget is not one), so the
cost of the test-design leads (``leads:``) is seen before a run spends it against the CRM's rate limit.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .leads import LeadPlanner

if TYPE_CHECKING:
    from ...spec import Checklist

REQUESTS_PER_LEAD = 3  # a create, usually one read of the owner (the first waits for the median), an archive
RATE_PER_10S = 190  # HubSpot Professional; the sandbox's default too
MAX_RULES = 300  # past this, planning every rule's leads costs more than the lint itself: say so instead
WHY_TEXT = {"listed": "listed values", "boundary": "boundary", "outside": "outside lists", "band": "bands",
            "round-robin": "round-robin repeats"}


def budget_lines(checklist: Checklist) -> list[str]:
    """``lead budget of …:`` then one line per rule, the other checks, and the total with its time."""
    from .kind import spec_of

    spec = spec_of(checklist)
    opts = spec.lead_options
    outside = f"{opts.outside_lists} outside values per list" if opts.outside_lists else "no outside values"
    knobs = ", ".join(x for x in (f"max {opts.max}", "boundaries" if opts.boundaries else "no boundaries",
                                   "bands" if opts.bands else "no bands", outside))
    head = f"lead budget of {checklist.path} (leads: {knobs}):"
    if len(spec.rules) > MAX_RULES:
        return [head, f"  {len(spec.rules)} rules: not estimated (lint plans leads for up to {MAX_RULES} rules)"]
    planner = LeadPlanner(spec, search=False)  # an estimate: no hypothesis search for intricate patterns
    lines = [head]
    total = 0
    for i, rule in enumerate(spec.rules):
        plans = planner.branch(i)
        total += len(plans)
        kinds = Counter(p.why for p in plans)
        parts = ", ".join(f"{kinds[w]} {text}" for w, text in WHY_TEXT.items() if kinds[w])
        lines.append(f"  {rule.id} {len(plans)} leads" + (f" ({parts})" if parts else " (no lead: see the findings)"))
    other: list[str] = []
    if spec.fallback_assign and planner.fallback() is not None:
        other.append("fallback 1")
    edge = sum(2 if name == "duplicate_contact" else 1 for name, target in spec.edge_cases.items()
               if planner.edge_case_gap(name, target) is None)
    if edge:
        other.append(f"edge cases {edge}")
    for name, n in (("volume test", spec.volume_leads), ("fuzz", spec.fuzz_leads)):
        if n:
            other.append(f"{name} {n}")
    total += 1 if "fallback 1" in other else 0
    total += edge + (spec.volume_leads or 0) + (spec.fuzz_leads or 0)
    if other:
        lines.append("  " + ", ".join(other))
    requests = total * REQUESTS_PER_LEAD
    seconds = requests / RATE_PER_10S * 10
    lines.append(f"  total {total} leads, ~{requests} requests, ~{seconds:.0f} s at {RATE_PER_10S}/10 s "
                 "(HubSpot Professional)")
    return lines
