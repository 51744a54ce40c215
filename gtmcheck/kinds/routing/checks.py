"""The live routing checks: each DoD item of a routing checklist as synthetic leads through the CRM.

- ``ROUTING-RULES-EXPLICIT[<rule>]``: the rule's leads (every listed value, round robin twice per member) reach
  the declared owner within the SLA; a round-robin pool is checked by its distribution.
- ``ROUTING-EDGE-CASES[<case>]``: unmatched territory, duplicate contact, existing customer domain.
- ``ROUTING-FALLBACK-OWNER``: the fallback owner exists, is active, and gets a lead no rule matches.
- ``ROUTING-VOLUME-TEST``: ``volume.leads`` leads across every branch; p50/p95 latency and success per branch.
- ``ROUTING-ALERTS``: the fallback owner's pile of leads against ``alerts.default_queue``.
- ``ROUTING-RULES-EXPLICIT[fuzz]`` (opt-in ``fuzz:``): random leads, the rules predict, the CRM answers.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...connectors.crm import Filter, to_epoch_ms
from ...errors import CheckError, CheckFailed, ConnectorError, DuplicateRecord, Evidence, NotConfigured
from ...synthetic import is_synthetic
from .graphdata import GRAPH_KEY, routing_graph
from .leads import Expectation, LeadPlan, LeadPlanner, expectation_for
from .live import LeadRunner, Outcome, fmt_seconds, fmt_span, owner_directory, percentile
from .logic import format_lead
from .probes import is_country

if TYPE_CHECKING:
    from ...context import RunContext
    from .kind import RoutingSpec

SHOWN_PROBLEMS = 3
MIN_SETTLE_S = 1.0


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else fmt_seconds(seconds)


def _latencies(outcomes: Sequence[Outcome]) -> list[float]:
    return [o.latency_s for o in outcomes if o.latency_s is not None]


def _fail_on_problems(outcomes: Sequence[Outcome], what: str, data: dict[str, Any]) -> None:
    bad = [o for o in outcomes if not o.ok]
    if not bad:
        return
    first = bad[0]
    # Each lead shown once: the first, then the next few by label, then how many are not shown.
    shown = "".join(f" · {o.plan.label}: {o.problem}" for o in bad[1:SHOWN_PROBLEMS])
    more = f" (and {len(bad) - SHOWN_PROBLEMS} more)" if len(bad) > SHOWN_PROBLEMS else ""
    raise CheckFailed(
        f"{len(bad)} of {len(outcomes)} {what} misrouted: {first.problem}{shown}{more}",
        expected=first.expected_text,
        received=first.received_text,
        evidence=Evidence(f"{len(outcomes) - len(bad)} of {len(outcomes)} {what} routed as declared",
                          {**data, "leads": [o.as_dict() for o in outcomes]}),
    )


def _summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    lat = _latencies(outcomes)
    return {"leads": len(outcomes), "p50_s": percentile(lat, 50), "p95_s": percentile(lat, 95)}


def check_branch(ctx: RunContext, spec: RoutingSpec, i: int) -> Evidence:
    """A rule's leads reach its owner (or its pool, evenly enough) within the SLA."""
    rule = spec.rules[i]
    runner = LeadRunner.for_checklist(ctx, spec)
    plans = LeadPlanner(spec, _property_options(runner, spec, i)).branch(i)
    if not plans:
        raise CheckError(f"no lead could be constructed for rule {rule.id} (see `gtmcheck lint`)")
    outcomes = runner.send_all(plans)
    data = {**_summary(outcomes), "sent": _sent(outcomes), GRAPH_KEY: routing_graph(spec, outcomes)}
    _fail_on_problems(outcomes, f"leads of rule {rule.id}", data)
    pool = [str(e).lower() for e in spec.assignments[i].get("round_robin") or []]
    if pool:  # the distribution of the rule's own leads (a boundary or outside lead goes elsewhere)
        own = [o for o in outcomes if o.plan.expect.source == rule.id]
        counts = Counter(o.owner_email for o in own)
        missing = [m for m in pool if counts.get(m, 0) == 0]
        shares = ", ".join(f"{m} {counts.get(m, 0)}" for m in pool)
        if missing:
            raise CheckFailed(
                f"round robin of rule {rule.id} never assigned {', '.join(missing)} over {len(own)} leads "
                f"(distribution: {shares})",
                expected=f"every member of the pool gets leads ({', '.join(pool)})",
                received=shares,
                evidence=Evidence(f"distribution {shares}", {**data, "distribution": dict(counts)}),
            )
        data["distribution"] = {m: counts.get(m, 0) for m in pool}
        return Evidence(f"{len(outcomes)} leads of rule {rule.id} reached the pool within the SLA "
                        f"(distribution {shares}; p95 {_ms(data['p95_s'])})", data)
    return Evidence(f"{len(outcomes)} leads of rule {rule.id} reached {outcomes[0].expected_text} within the "
                    f"SLA (p95 {_ms(data['p95_s'])})", data)


def _sent(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What was tested, for a reviewer: each lead's values, why it was chosen, where it should go and went."""
    return [{"lead": o.plan.label, "why": o.plan.why, "values": dict(o.plan.values),
             "expected": o.plan.expect.source, "owner": o.owner_email, "ok": o.ok} for o in outcomes]


def _property_options(runner: LeadRunner, spec: RoutingSpec, i: int) -> dict[str, list[str]]:
    """The CRM's options of the enumeration properties rule ``i`` lists values of: values to try outside its lists.

    A CRM that cannot say (or a free-text property) leaves the domain to ISO 3166 (a country) or nothing.
    """
    props = {a.prop for a in spec.rules[i].atoms if a.op in ("in", "in_list") and a.value and not is_country(a.prop)}
    if not props or not spec.lead_options.outside_lists:  # a country's domain is ISO 3166: no request
        return {}
    try:
        fields = runner.ctx.crm().properties(runner.object_type)
    except (ConnectorError, NotImplementedError):
        return {}
    return {f.name: list(f.options) for f in fields if f.name in props and f.options}


def check_fallback(ctx: RunContext, spec: RoutingSpec) -> Evidence:
    """The fallback owner exists, is active, and a lead no rule matches reaches it."""
    runner = LeadRunner.for_checklist(ctx, spec)
    expect = expectation_for(spec, "fallback")
    email = expect.emails[0] if expect.emails else ""
    owner = runner.owners().by_email.get(email)
    if owner is None:
        raise CheckFailed(f"the fallback owner {email} is not an owner in the CRM",
                          expected=f"{email} exists in the CRM", received="no such owner")
    if not owner.active:
        raise CheckFailed(f"the fallback owner {email} is deactivated in the CRM: nobody works its leads",
                          expected=f"{email} active", received="deactivated")
    plan = LeadPlanner(spec).fallback()
    if plan is None:
        raise CheckError("every lead matches some rule, so no lead can reach the fallback (see `gtmcheck lint`)")
    (outcome,) = runner.send_all([plan])
    graph = {GRAPH_KEY: routing_graph(spec, [outcome])}
    _fail_on_problems([outcome], "fallback leads", graph)
    return Evidence(f"{email} ({owner.type.lower()}) is active and got the unmatched lead "
                    f"{plan.describe()} after {_ms(outcome.latency_s)}", {**outcome.as_dict(), **graph})


def check_edge_case(ctx: RunContext, spec: RoutingSpec, name: str) -> Evidence:
    target = spec.edge_cases.get(name)
    if target is None:
        raise NotConfigured(f"edge case {name} has no declared answer; add it under `edge_cases:` "
                            "(fallback, existing_owner or a rule id)")
    planner = LeadPlanner(spec)
    gap = planner.edge_case_gap(name, target)
    if gap is not None:  # the checklist gives this edge case no lead: lint says so too (ROUTE110)
        raise NotConfigured(f"no synthetic lead can exercise edge case {name} -> {target}: {gap} "
                            "(ROUTE110 in `gtmcheck lint`)")
    runner = LeadRunner.for_checklist(ctx, spec)
    if name == "duplicate_contact":
        return _duplicate(runner, planner, target)
    plan = planner.unmatched_territory(target) if name == "unmatched_territory" else \
        planner.customer_domain_lead(target)
    if plan is None:  # edge_case_gap said there is one: a planner bug, not the user's
        raise CheckError(f"no lead could be constructed for edge case {name} -> {target}")
    (outcome,) = runner.send_all([plan])
    graph = {GRAPH_KEY: routing_graph(spec, [outcome])}
    _fail_on_problems([outcome], f"{name.replace('_', ' ')} leads", graph)
    return Evidence(f"{plan.describe()} reached {outcome.expected_text} after {_ms(outcome.latency_s)}",
                    {**outcome.as_dict(), **graph})


def _duplicate(runner: LeadRunner, planner: LeadPlanner, target: str) -> Evidence:
    """A second submission of a known contact, routed elsewhere on its own, keeps the existing owner."""
    pair = planner.duplicate_pair()
    if pair is None:
        raise CheckError("no two rules route plain leads to different places, so the duplicate test has no lead")
    first_plan, second_values = pair
    (first,) = runner.send_all([first_plan])
    if first.owner_email is None:
        _fail_on_problems([first], "first submissions", {})
    crm, ctx = runner.ctx.crm(), runner.ctx
    props = runner.properties(LeadPlan(first_plan.label, second_values, first_plan.expect, first_plan.branch))
    props["email"] = first.email or props["email"]  # the same person again
    try:
        second = crm.create(runner.object_type, props, auto_assign=True)
    except DuplicateRecord as exc:
        record_id = exc.existing_id or first.record_id
    except ConnectorError as exc:
        raise CheckError(f"the CRM did not take the second submission of the lead {first_plan.label} "
                         f"({props['email']}): {exc}") from exc
    else:
        ctx.ledger.add(runner.object_type, second.id, ctx.clock())
        raise CheckFailed(
            f"the CRM created a second record ({second.id}) for {props['email']}, which already exists as "
            f"{first.record_id}: duplicate detection is not active",
            expected=f"the existing record {first.record_id} keeps {first.owner_email}",
            received=f"a duplicate record {second.id}",
        )
    if record_id != first.record_id:
        raise CheckFailed(f"the CRM matched the duplicate to record {record_id}, not to {first.record_id}",
                          expected=str(first.record_id), received=str(record_id))
    assert record_id is not None
    # the re-submission updates the existing record, as a form would; routing must not run again
    crm.update(runner.object_type, record_id, {k: v for k, v in props.items() if k != "email"})
    settle = max(MIN_SETTLE_S, 2 * (first.latency_s or 0.0))
    ctx.sleep(min(settle, runner.sla_s))
    record = crm.get(runner.object_type, record_id, ["owner_id", "email"])
    owner = runner.owners().email(record.properties.get("owner_id"))
    if target == "existing_owner":
        expected: tuple[str, ...] = (first.owner_email or "",)
        text = f"{first.owner_email} (the existing owner)"
    else:
        expected, text = runner.resolve(expectation_for(runner.spec, target), dict(second_values))
    if owner not in expected:
        raise CheckFailed(
            f"expected {text}, received {runner.who(owner, record.properties.get('owner_id'))} after the "
            f"duplicate submission {format_lead(second_values)}",
            expected=text, received=owner or "no owner",
        )
    return Evidence(f"a second submission of {props['email']} ({format_lead(second_values)}) was refused as a "
                    f"duplicate and the record kept {text}", {"record": record_id})


def check_volume(ctx: RunContext, spec: RoutingSpec) -> Evidence:
    """N leads across every branch at the CRM's rate limit: all routed as declared; p50/p95 per run."""
    n = spec.volume_leads or 0
    plans = LeadPlanner(spec).volume(n)
    if not plans:
        raise CheckError("no branch has a lead to send (see `gtmcheck lint`)")
    runner = LeadRunner.for_checklist(ctx, spec)
    started = ctx.clock()
    outcomes = runner.send_all(plans)
    elapsed = ctx.clock() - started
    per_branch: dict[str, list[int]] = {}
    for o in outcomes:
        ok_total = per_branch.setdefault(o.plan.branch, [0, 0])
        ok_total[0] += int(o.ok)
        ok_total[1] += 1
    branches = ", ".join(f"{b} {ok}/{total}" for b, (ok, total) in per_branch.items())
    data = {**_summary(outcomes), "elapsed_s": round(elapsed, 3), "per_branch": per_branch,
            "leads_per_s": round(len(outcomes) / elapsed, 2) if elapsed > 0 else None,
            GRAPH_KEY: routing_graph(spec, outcomes)}
    _fail_on_problems(outcomes, "volume leads", data)
    return Evidence(f"{len(outcomes)} leads in {elapsed:.1f} s, all routed as declared; assignment latency "
                    f"p50 {_ms(data['p50_s'])}, p95 {_ms(data['p95_s'])}; per branch: {branches}", data)


def _age(text: str | None, now_ms: int) -> float | None:
    created = to_epoch_ms(text)
    return None if created is None else max(0.0, (now_ms - created) / 1000)


def check_alerts(ctx: RunContext, spec: RoutingSpec) -> Evidence:
    """Leads held by the fallback owner (ours excluded): how many, and how long the oldest has waited."""
    expect: Expectation = expectation_for(spec, "fallback")
    if not expect.emails:
        raise NotConfigured("the default-queue alert needs a `fallback:` owner or queue to watch")
    runner = LeadRunner(ctx, spec)
    email = expect.emails[0]
    owner = owner_directory(ctx).by_email.get(email)
    if owner is None:
        raise CheckFailed(f"the fallback owner {email} is not an owner in the CRM",
                          expected=f"{email} exists", received="no such owner")
    try:
        held = [r for r in ctx.crm().search(runner.object_type, [[Filter("owner_id", "EQ", owner.id)]],
                                             ["createdate", "email", "gtmcheck_run_id"])
                if not is_synthetic(runner.object_type, r)]
    except ConnectorError as exc:
        raise CheckError(f"could not count the leads held by {email}: {exc}") from None
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    ages = [a for a in (_age(r.properties.get("createdate") or r.created_at, now_ms) for r in held) if a is not None]
    oldest = max(ages, default=None)
    problems = []
    if spec.alert_max_count is not None and len(held) > spec.alert_max_count:
        problems.append(f"holds {len(held)} {runner.object_type} (max {spec.alert_max_count})")
    if spec.alert_max_age is not None and oldest is not None and oldest > spec.alert_max_age:
        problems.append(f"the oldest has waited {fmt_span(oldest)} (max {fmt_span(spec.alert_max_age)})")
    data = {"owner": email, "count": len(held), "oldest_s": oldest, "ids": [r.id for r in held[:20]]}
    if problems:
        raise CheckFailed(f"{email} " + "; ".join(problems), expected="the default queue within its thresholds",
                          received=f"{len(held)} held, oldest {fmt_span(oldest or 0)}",
                          evidence=Evidence(f"{len(held)} leads held by {email}", data))
    age = f", the oldest {fmt_span(oldest)} old" if oldest is not None else ""
    return Evidence(f"{email} holds {len(held)} {runner.object_type}{age}: within the alert thresholds", data)


def check_fuzz(ctx: RunContext, spec: RoutingSpec) -> Evidence:
    """Model-based fuzz: hypothesis draws leads, the rules predict the owner, the CRM is compared; shrinks."""
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample
    except ImportError:
        raise CheckError("the routing fuzz needs hypothesis: pip install 'gtmcheck[fuzz]'") from None
    from .leads import lead_strategy

    budget = spec.fuzz_leads or 0
    planner = LeadPlanner(spec)
    runner = LeadRunner.for_checklist(ctx, spec)
    sent: list[Outcome] = []
    seen: dict[str, bool] = {}  # lead -> mismatch: hypothesis replays its finding, which must not cost a lead

    def mismatch(values: dict[str, Any]) -> bool:
        key = repr(sorted(values.items()))
        if key not in seen:
            seen[key] = send(values)
        return seen[key]

    def send(values: dict[str, Any]) -> bool:
        if len(sent) >= budget:
            return False  # the budget is spent: no more leads, hypothesis stops here
        i = planner.solver.first_match(values)
        target = "fallback" if i is None else spec.rules[i].id
        if target == "fallback" and not spec.fallback_assign:
            return False
        plan = LeadPlan(f"fuzz-{len(sent) + 1}", dict(values), expectation_for(spec, target), target)
        try:
            outcome = runner.send(plan)
        except CheckError:
            return False  # a lead we may not send (a non-reserved domain): not a finding
        sent.append(outcome)
        return not outcome.ok

    seeds = [plan.values for i in range(len(spec.rules)) for plan in planner.branch(i)]
    try:
        found = find(lead_strategy(planner.solver, seeds), mismatch, settings=settings(
            max_examples=budget, database=None, derandomize=False, phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck), deadline=None), random=random.Random(spec.fuzz_seed))
    except NoSuchExample:
        data = {**_summary(sent), "budget": budget}
        return Evidence(f"{len(sent)} random leads all routed as the rules predict", data)
    bad = [o for o in sent if not o.ok]
    minimal = next((o for o in reversed(bad) if o.plan.values == found), bad[-1] if bad else None)
    problem = minimal.problem if minimal else "mismatch"
    raise CheckFailed(
        f"the live router disagrees with the declared rules on {format_lead(found)} (minimal after "
        f"{len(sent)} leads): {problem}",
        expected=minimal.expected_text if minimal else "",
        received=minimal.received_text if minimal else "",
        evidence=Evidence(f"{len(bad)} of {len(sent)} random leads misrouted",
                          {"minimal": format_lead(found), "leads": [o.as_dict() for o in sent[-20:]]}),
    )
