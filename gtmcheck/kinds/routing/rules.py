"""Routing lint rules (``ROUTE1xx``): dead, contradictory, overlapping and uncovered routing logic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...findings import Finding, Severity, register
from .leads import LeadPlanner
from .logic import Lead, Solver, format_lead

if TYPE_CHECKING:
    from ...spec import Checklist
    from .kind import RoutingSpec

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
SHOWN_OVERLAPS = 3  # rule ids named after the first overlap

SHADOWED = register(
    "ROUTE101",
    "rule.shadowed",
    E,
    "No lead can reach the rule: earlier rules take every lead it matches.",
    "move the rule above the rules that shadow it, or narrow those rules",
    "Anti-pattern: a broad rule (`employees >= 1000`) above a narrow one (`country DE, employees >= 1000`): "
    "the narrow rule never fires and its owner never gets a lead. Best practice: order rules from the most "
    "specific to the most general; first match wins.",
)
CONTRADICTORY = register(
    "ROUTE102",
    "rule.contradictory",
    E,
    "The rule's own conditions contradict each other: no lead can match it.",
    "fix the conditions so that some lead satisfies all of them",
    "Anti-pattern: `employees: {gt: 1000, lt: 500}` or `country: {equals: DE, not_in: [DE]}`, usually a typo "
    "or a flipped comparison. Best practice: every rule has at least one lead it routes.",
)
OVERLAP = register(
    "ROUTE103",
    "rule.overlap",
    INFO,
    "Two rules with different owners both match some leads; the earlier one wins.",
    "check that the earlier rule should win for these leads, or make the conditions disjoint",
    "Anti-pattern: two teams each believe they own enterprise DACH leads because both rules match them. "
    "Best practice: make overlaps deliberate; the example lead shows who gets it.",
)
NO_FALLBACK = register(
    "ROUTE104",
    "fallback.missing",
    E,
    "Some leads match no rule and there is no fallback owner.",
    "add `fallback: {owner: ...}` or `fallback: {queue: ...}`",
    "Anti-pattern: leads outside every territory sit unowned and nobody calls them. "
    "Best practice: a named fallback owner or queue catches every lead the rules miss.",
)
EDGE_CASE_MISSING = register(
    "ROUTE105",
    "edge-case.missing",
    W,
    "An edge case (unmatched territory, duplicate contact, existing customer domain) has no declared answer.",
    "declare it under `edge_cases:` as fallback, existing_owner or a rule id",
    "Anti-pattern: a duplicate contact re-routed to a new rep, or a customer's colleague sent to a new-business "
    "SDR. Best practice: decide each edge case explicitly, so it can be tested.",
)
CATCH_ALL = register(
    "ROUTE106",
    "rule.catch-all-not-last",
    E,
    "A rule with no conditions is not the last rule: every rule after it is unreachable.",
    "move the catch-all rule to the end, or use `fallback:` instead",
    "Anti-pattern: a rule without `when` in the middle of the list silently disables everything below it. "
    "Best practice: the catch-all is the fallback, declared once.",
)
RR_DUPLICATE = register(
    "ROUTE107",
    "round-robin.duplicate-member",
    E,
    "A round-robin pool lists the same person twice.",
    "list each member once",
    "Anti-pattern: a duplicated rep gets twice their share of the pool. "
    "Best practice: one entry per member; weight shares deliberately in the CRM if needed.",
)
DUPLICATE_ID = register(
    "ROUTE108",
    "rule.duplicate-id",
    E,
    "Two rules have the same id.",
    "give every rule a unique id",
    "Anti-pattern: two rules called `emea`: edge cases, reports and failures cannot say which one is meant. "
    "Best practice: unique, descriptive ids such as `enterprise-emea`.",
)
UNKNOWN_LIST = register(
    "ROUTE109",
    "list.unknown",
    E,
    "An `in_list` condition names a list that is not declared under `lists:`.",
    "declare the list under `lists:` (inline values or {file: path})",
    "Anti-pattern: `in_list: customer_domains` with no such list: the rule's meaning lives outside the "
    "checklist. Best practice: every list a rule uses is declared in the checklist or in a file beside it.",
)
EDGE_CASE_UNTESTABLE = register(
    "ROUTE110",
    "edge-case.untestable",
    W,
    "A declared edge case cannot be exercised: no synthetic lead reaches the answer the checklist gives it.",
    "add the rule the edge case needs (e.g. an `email_domain` rule with `owner_of: account`), or send the edge "
    "case to a rule or the fallback that a lead can reach",
    "Anti-pattern: `existing_customer_domain: existing_owner` with no rule on customer domains: nothing tells a "
    "customer's colleague from a new lead, so the answer cannot be tested and the DoD item stays not configured. "
    "Best practice: every edge case names a place that some lead reaches, so the live run can send one there.",
)


def lint_routing(checklist: Checklist, spec: RoutingSpec) -> Iterator[Finding]:
    rules = spec.rules
    locs = spec.rule_locations
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            yield DUPLICATE_ID.finding(locs[i], f"rule id {rule.id!r} is also used by rule #{seen[rule.id] + 1}")
        else:
            seen[rule.id] = i
    for name, where in spec.unknown_lists:
        known = ", ".join(sorted(spec.lists)) or "none declared"
        yield UNKNOWN_LIST.finding(where, f"list {name!r} is not declared under lists: (lists: {known})")
    for i, members in spec.round_robin:
        dups = sorted({m for m in members if members.count(m) > 1})
        if dups:
            where = checklist.location(("rules", i, "assign", "round_robin"))
            yield RR_DUPLICATE.finding(where, f"round-robin pool of rule {rules[i].id} lists {', '.join(dups)} twice")
    solver = Solver(rules)
    catch_all = next((i for i, r in enumerate(rules) if not r.atoms), None)
    if catch_all is not None and catch_all < len(rules) - 1:
        after = ", ".join(r.id for r in rules[catch_all + 1 :])
        yield CATCH_ALL.finding(
            locs[catch_all], f"rule {rules[catch_all].id} matches every lead; unreachable after it: {after}"
        )
    dead: set[int] = set()
    for i, rule in enumerate(rules):
        if solver.contradictory(i):
            dead.add(i)
            yield CONTRADICTORY.finding(locs[i], f"rule {rule.id} can match no lead: its conditions contradict")
            continue
        if catch_all is not None and i > catch_all:
            dead.add(i)
            continue
        if solver.reachable(i) is False:
            dead.add(i)
            takers = solver.shadowers(i)
            names = " and ".join(rules[j].id for j, _ in takers) or "earlier rules"
            example = next((lead for _, lead in takers if lead is not None), None)
            shown = f"; example {format_lead(example)}" if example is not None else ""
            yield SHADOWED.finding(
                locs[i], f"rule {rule.id} is shadowed by {names}: every lead it matches is taken earlier{shown}"
            )
    for i, rule in enumerate(rules):
        if i in dead or not rule.atoms:
            continue
        first: tuple[int, Lead] | None = None
        more: list[str] = []
        meets = solver.meets(i)  # the rules that can share a lead with this one: no other can overlap it
        for j in range(i):  # one finding per rule: the first overlap with its example, then the others' names
            other = rules[j]
            if not meets >> j & 1 or j in dead or not other.atoms or other.assign == rule.assign:
                continue
            lead = solver.overlap_example(i, j)
            if lead is None:
                continue
            if first is None:
                first = (j, lead)
            else:
                more.append(other.id)
        if first is not None:
            other = rules[first[0]]
            also = ""
            if more:
                shown = ", ".join(more[:SHOWN_OVERLAPS]) + (f" and {len(more) - SHOWN_OVERLAPS} more"
                                                            if len(more) > SHOWN_OVERLAPS else "")
                also = f"; it also overlaps {shown}"
            yield OVERLAP.finding(
                locs[i],
                f"rule {rule.id} ({rule.assign}) overlaps {other.id} ({other.assign}), which wins; "
                f"example {format_lead(first[1])}{also}",
            )
    if spec.has_rules and spec.fallback is None:
        lead = solver.unmatched_example()
        if lead is not None:
            yield NO_FALLBACK.finding(
                checklist.location(("rules",), key=True),
                f"a lead can match no rule and there is no fallback; example {format_lead(lead)}",
            )
    if spec.has_rules:
        where = (
            checklist.location(("edge_cases",), key=True)
            if "edge_cases" in checklist.data
            else checklist.location(("rules",), key=True)
        )
        for name in ("unmatched_territory", "duplicate_contact", "existing_customer_domain"):
            if name not in spec.edge_cases:
                yield EDGE_CASE_MISSING.finding(where, f"edge case {name} has no declared answer")
        planner = LeadPlanner(spec)
        for name, target in spec.edge_cases.items():
            gap = planner.edge_case_gap(name, target)
            if gap is not None:
                yield EDGE_CASE_UNTESTABLE.finding(checklist.location(("edge_cases", name)),
                                                   f"no synthetic lead can exercise edge case {name} -> {target}: "
                                                   f"{gap}")
